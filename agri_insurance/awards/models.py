"""Awards (中标), backup underwriters (后备机构), holidays, the public notice (公示) and objections (质疑)."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from agri_insurance.clock import utcnow
from agri_insurance.db_types import enum_type
from agri_insurance.extensions import db
from agri_insurance.roles import Role
from agri_insurance.tenders.models import RoundStatus, SelectionRound

Score = sa.Numeric(9, 4)
# Rounds whose results are public (the notice has started): the public page and the award list show them.
PUBLISHED_STATES = (RoundStatus.PUBLICISED, RoundStatus.AWARDED, RoundStatus.IN_FORCE, RoundStatus.EXPIRED)


class Award(db.Model):
    """A lot's underwriter, created when an allocation run is adopted."""

    __tablename__ = "awards"
    __table_args__ = (sa.UniqueConstraint("lot_id", name="uq_awards_lot"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("selection_rounds.id"), index=True)
    lot_id: Mapped[int] = mapped_column(sa.ForeignKey("lots.id"))
    insurer_id: Mapped[int] = mapped_column(sa.ForeignKey("insurers.id"), index=True)
    run_id: Mapped[int | None] = mapped_column(sa.ForeignKey("allocation_runs.id"))
    score: Mapped[Decimal | None] = mapped_column(Score)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    round = relationship("SelectionRound")
    lot = relationship("Lot", lazy="joined")
    insurer = relationship("Insurer", lazy="joined")

    @classmethod
    def visible_to(cls, user):
        """The bureau always; everybody else once the result is published."""
        if user.role in (Role.ADMIN, Role.CITY_AGRI):
            return sa.true()
        return cls.round_id.in_(sa.select(SelectionRound.id).where(SelectionRound.status.in_(PUBLISHED_STATES)))


class BackupUnderwriter(db.Model):
    """后备机构: per county, the best-ranked eligible insurers not awarded there, in order."""

    __tablename__ = "backup_underwriters"
    __table_args__ = (
        sa.UniqueConstraint("round_id", "region_id", "insurer_id", name="uq_backup_underwriters_insurer"),
        sa.UniqueConstraint("round_id", "region_id", "rank", name="uq_backup_underwriters_rank"),
        sa.CheckConstraint("rank >= 1", name="rank_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("selection_rounds.id"), index=True)
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("regions.id"))
    insurer_id: Mapped[int] = mapped_column(sa.ForeignKey("insurers.id"))
    rank: Mapped[int]
    score: Mapped[Decimal | None] = mapped_column(Score)

    region = relationship("Region", lazy="joined")
    insurer = relationship("Insurer", lazy="joined")

    @classmethod
    def visible_to(cls, user):
        """As the awards: the bureau always; everybody else once the result is published."""
        if user.role in (Role.ADMIN, Role.CITY_AGRI):
            return sa.true()
        return cls.round_id.in_(sa.select(SelectionRound.id).where(SelectionRound.status.in_(PUBLISHED_STATES)))


class Holiday(db.Model):
    """A public holiday (not a working day) of the working-day calendar; weekends are never working days."""

    __tablename__ = "holidays"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PublicNotice(db.Model):
    """One publication (公示) of a round's adopted result, for the round's notice period in working days."""

    __tablename__ = "public_notices"
    __table_args__ = (
        sa.CheckConstraint("ends_on >= starts_on", name="period_order"),
        sa.CheckConstraint("(closed_at IS NULL) = (outcome IS NULL)", name="closed_has_outcome"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("selection_rounds.id"), index=True)
    run_id: Mapped[int | None] = mapped_column(sa.ForeignKey("allocation_runs.id"))
    starts_on: Mapped[date]
    ends_on: Mapped[date]          # the last working day of the period
    working_days: Mapped[int]
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    opened_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    closed_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(sa.String(20))  # "finalised" or "reopened"

    round = relationship("SelectionRound")


class ObjectionStatus(enum.StrEnum):
    PENDING = "pending"
    REJECTED = "rejected"   # answered, not upheld
    UPHELD = "upheld"       # answered, upheld: the round goes back to evaluation
    CLOSED = "closed"       # not examined on its own: the result it was about was withdrawn (the answer says why)

    @property
    def label(self) -> str:
        return str(OBJECTION_STATUS_LABELS[self])

    @property
    def badge(self) -> str:
        """Waiting for an answer stands out; answered or closed does not."""
        return "text-bg-warning" if self is ObjectionStatus.PENDING else "text-bg-secondary"


OBJECTION_STATUS_LABELS = {ObjectionStatus.PENDING: _l("待答复"), ObjectionStatus.REJECTED: _l("已答复（不成立）"),
                           ObjectionStatus.UPHELD: _l("已答复（成立）"),
                           ObjectionStatus.CLOSED: _l("已终止（未单独审查）")}


class Objection(db.Model):
    """A bidder's written objection (质疑) during the public notice, with its PDF, and the bureau's answer."""

    __tablename__ = "objections"
    __table_args__ = (
        sa.CheckConstraint("(status = 'pending') = (answer IS NULL)", name="answered_has_answer"),
        sa.CheckConstraint("status = 'pending' OR answered_at IS NOT NULL", name="answered_has_time"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("selection_rounds.id"), index=True)
    notice_id: Mapped[int] = mapped_column(sa.ForeignKey("public_notices.id"))
    insurer_id: Mapped[int] = mapped_column(sa.ForeignKey("insurers.id"), index=True)
    subject: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    document_id: Mapped[int] = mapped_column(sa.ForeignKey("stored_files.id"))
    filed_at: Mapped[datetime] = mapped_column(default=utcnow)
    filed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    status: Mapped[ObjectionStatus] = mapped_column(enum_type(ObjectionStatus), default=ObjectionStatus.PENDING)
    answer: Mapped[str | None] = mapped_column(sa.Text)
    answered_at: Mapped[datetime | None]
    answered_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    round = relationship("SelectionRound")
    notice = relationship("PublicNotice")
    insurer = relationship("Insurer", lazy="joined")
    document = relationship("StoredFile", lazy="joined")

    @classmethod
    def visible_to(cls, user):
        """The objecting insurer's users and the bureau."""
        if user.role is Role.INSURER:
            return cls.insurer_id == user.insurer_id
        if user.role in (Role.ADMIN, Role.CITY_AGRI):
            return sa.true()
        return sa.false()


class NoticeNumber(db.Model):
    """文号 of a final award or non-award notice, in the bureau's convention (饶农险遴〔2026〕3号: the prefix
    setting NOTICE_NUMBER_PREFIX, the year of finalisation, a sequence within that year). Assigned once, when the
    result is finalised, one per notice, and kept: a number is never given twice (unique year and sequence) and
    never changes when the prefix setting does."""

    __tablename__ = "notice_numbers"
    __table_args__ = (
        sa.UniqueConstraint("year", "sequence", name="uq_notice_numbers_year_sequence"),
        sa.UniqueConstraint("round_id", "insurer_id", name="uq_notice_numbers_round_insurer"),
        sa.CheckConstraint("sequence >= 1", name="sequence_positive"),
        sa.CheckConstraint("kind IN ('award', 'non_award')", name="kind_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("selection_rounds.id"), index=True)
    insurer_id: Mapped[int] = mapped_column(sa.ForeignKey("insurers.id"))
    kind: Mapped[str] = mapped_column(sa.String(10))  # "award" or "non_award"
    year: Mapped[int]
    sequence: Mapped[int]
    number: Mapped[str] = mapped_column(sa.String(100))
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)


class AwardChange(db.Model):
    """终止 / 替补: the city bureau ended an award before its term was over (reason, decision document, effective
    date) and the lot passed to a backup underwriter or to a new allocation run with every other award fixed.
    `new_insurer_id` is empty while the replacement is still being computed; the award row always names the
    lot's underwriter now, this row what it was before."""

    __tablename__ = "award_changes"
    __table_args__ = (
        sa.CheckConstraint("method IN ('backup', 'run')", name="method_known"),
        sa.CheckConstraint("(new_insurer_id IS NULL) = (replaced_at IS NULL)", name="replaced_has_insurer"),
        sa.CheckConstraint("method = 'backup' OR run_id IS NOT NULL", name="run_has_run"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("selection_rounds.id"), index=True)
    award_id: Mapped[int] = mapped_column(sa.ForeignKey("awards.id"), index=True)
    lot_id: Mapped[int] = mapped_column(sa.ForeignKey("lots.id"))
    old_insurer_id: Mapped[int] = mapped_column(sa.ForeignKey("insurers.id"))
    new_insurer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("insurers.id"))
    method: Mapped[str] = mapped_column(sa.String(10))  # "backup" or "run"
    run_id: Mapped[int | None] = mapped_column(sa.ForeignKey("allocation_runs.id"))
    reason: Mapped[str] = mapped_column(sa.Text)
    doc_no: Mapped[str] = mapped_column(sa.String(100))
    document_id: Mapped[int] = mapped_column(sa.ForeignKey("stored_files.id"))
    effective_on: Mapped[date]
    new_score: Mapped[Decimal | None] = mapped_column(Score)
    terminated_at: Mapped[datetime] = mapped_column(default=utcnow)
    terminated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    replaced_at: Mapped[datetime | None]
    replaced_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    round = relationship("SelectionRound")
    award = relationship("Award")
    lot = relationship("Lot", lazy="joined")
    old_insurer = relationship("Insurer", foreign_keys=[old_insurer_id], lazy="joined")
    new_insurer = relationship("Insurer", foreign_keys=[new_insurer_id], lazy="joined")
    run = relationship("AllocationRun")
    document = relationship("StoredFile", lazy="joined")

    @property
    def pending(self) -> bool:
        return self.new_insurer_id is None

    @classmethod
    def visible_to(cls, user):
        """Like the award: the bureau always, everybody else once the round's result is published."""
        if user.role in (Role.ADMIN, Role.CITY_AGRI):
            return sa.true()
        return cls.round_id.in_(sa.select(SelectionRound.id).where(SelectionRound.status.in_(PUBLISHED_STATES)))
