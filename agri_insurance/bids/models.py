"""Bids (投标): an insurer's sealed submission for a selection round, grouped by the seven factors of R4."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from agri_insurance.bids.signals import bid_readers
from agri_insurance.clock import utcnow
from agri_insurance.db_types import Money, Percent, enum_type
from agri_insurance.extensions import db
from agri_insurance.roles import Role
from agri_insurance.tenders.models import OPENED_STATES, SelectionRound


class BidStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    WITHDRAWN = "withdrawn"
    INVALIDATED = "invalidated"  # lots or rules changed after submission: the insurer must re-confirm

    @property
    def label(self) -> str:
        return str(BID_STATUS_LABELS[self])


BID_STATUS_LABELS = {
    BidStatus.DRAFT: _l("草稿"),
    BidStatus.SUBMITTED: _l("已提交"),
    BidStatus.WITHDRAWN: _l("已撤回"),
    BidStatus.INVALIDATED: _l("待重新确认"),
}
EDITABLE_BID_STATES = (BidStatus.DRAFT, BidStatus.WITHDRAWN, BidStatus.INVALIDATED)


class RiskRating(enum.StrEnum):
    """Integrated risk rating of the solvency regime (偿二代 综合风险评级)."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"

    @property
    def label(self) -> str:
        return self.value


SERVICE_RATINGS = ("AA", "A", "B", "C", "D")  # regulator's insurance service rating

bid_lots = sa.Table(
    "bid_lots",
    db.metadata,
    sa.Column("bid_id", sa.ForeignKey("bids.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("lot_id", sa.ForeignKey("lots.id", ondelete="CASCADE"), primary_key=True),
)


class Bid(db.Model):
    __tablename__ = "bids"
    __table_args__ = (
        sa.UniqueConstraint("round_id", "insurer_id", name="uq_bids_round_insurer"),
        sa.CheckConstraint("status != 'submitted' OR submitted_at IS NOT NULL", name="submitted_has_time"),
        sa.CheckConstraint("status != 'invalidated' OR invalidation_reason IS NOT NULL",
                           name="invalidated_has_reason"),
        sa.CheckConstraint("on_time_settlement_pct IS NULL OR (on_time_settlement_pct >= 0 "
                           "AND on_time_settlement_pct <= 100)", name="on_time_pct_range"),
        sa.CheckConstraint("avg_settlement_days IS NULL OR avg_settlement_days >= 0", name="days_non_negative"),
        sa.CheckConstraint("complaints_per_10k IS NULL OR complaints_per_10k >= 0", name="complaints_non_negative"),
        sa.CheckConstraint("catastrophe_reserve IS NULL OR catastrophe_reserve >= 0", name="reserve_non_negative"),
        sa.CheckConstraint("comprehensive_solvency_pct IS NULL OR comprehensive_solvency_pct >= 0",
                           name="solvency_non_negative"),
        sa.CheckConstraint("core_solvency_pct IS NULL OR core_solvency_pct >= 0", name="core_solvency_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("selection_rounds.id"), index=True)
    insurer_id: Mapped[int] = mapped_column(sa.ForeignKey("insurers.id"), index=True)
    status: Mapped[BidStatus] = mapped_column(enum_type(BidStatus), default=BidStatus.DRAFT)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None]
    withdrawn_at: Mapped[datetime | None]
    invalidated_at: Mapped[datetime | None]
    invalidation_reason: Mapped[str | None] = mapped_column(sa.Text)
    # What changed since the bid was submitted, old and new, as data (items of agri_insurance.tenders.changes;
    # None before they were kept): the bid page words them in the reader's language. Cleared on re-submission.
    invalidation_changes: Mapped[list | None] = mapped_column(sa.JSON)

    # 2 claims service (理赔服务水平)
    avg_settlement_days: Mapped[Decimal | None] = mapped_column(sa.Numeric(8, 2))
    on_time_settlement_pct: Mapped[Decimal | None] = mapped_column(Percent)
    complaints_per_10k: Mapped[Decimal | None] = mapped_column(sa.Numeric(10, 4))
    # 3 service record and rating (服务业绩和评级): agri premium income of the 3 years before the term
    premium_income_y1: Mapped[Decimal | None] = mapped_column(Money)  # term_start_year - 3
    premium_income_y2: Mapped[Decimal | None] = mapped_column(Money)  # term_start_year - 2
    premium_income_y3: Mapped[Decimal | None] = mapped_column(Money)  # term_start_year - 1
    service_rating: Mapped[str | None] = mapped_column(sa.String(4))
    # 6 risk control (风险管控能力)
    reinsurance_arrangement: Mapped[str | None] = mapped_column(sa.Text)
    catastrophe_reserve: Mapped[Decimal | None] = mapped_column(Money)
    # 7 solvency (偿付能力)
    comprehensive_solvency_pct: Mapped[Decimal | None] = mapped_column(sa.Numeric(9, 2))
    core_solvency_pct: Mapped[Decimal | None] = mapped_column(sa.Numeric(9, 2))
    risk_rating: Mapped[RiskRating | None] = mapped_column(enum_type(RiskRating, 1))
    # declaration of the parent company (common control)
    parent_company: Mapped[str | None] = mapped_column(sa.String(120))
    control_declaration: Mapped[str | None] = mapped_column(sa.Text)

    round = relationship("SelectionRound")
    insurer = relationship("Insurer", lazy="joined")
    lots = relationship("Lot", secondary=bid_lots, order_by="Lot.code")
    county_setups = relationship("BidCountySetup", back_populates="bid", cascade="all, delete-orphan",
                                 order_by="BidCountySetup.region_id")
    innovations = relationship("BidInnovation", back_populates="bid", cascade="all, delete-orphan",
                               order_by="BidInnovation.id")
    penalties = relationship("BidPenalty", back_populates="bid", cascade="all, delete-orphan",
                             order_by="BidPenalty.id")
    attachments = relationship("BidAttachment", back_populates="bid", cascade="all, delete-orphan",
                               order_by="BidAttachment.id")
    receipts = relationship("BidReceipt", back_populates="bid", order_by="BidReceipt.id")

    @property
    def is_invalidated(self) -> bool:
        """The round's lots or rules changed after submission: the insurer must re-confirm before the deadline."""
        return self.status is BidStatus.INVALIDATED

    @property
    def editable(self) -> bool:
        return self.status in EDITABLE_BID_STATES

    @property
    def latest_receipt(self):
        return self.receipts[-1] if self.receipts else None

    def income_years(self) -> tuple[int, int, int]:
        start = self.round.term_start_year
        return start - 3, start - 2, start - 1

    @classmethod
    def visible_to(cls, user):
        """SEALED: an insurer's users see their own bids; the city bureau sees submitted bids only once the
        round's bids have been opened (the opening time is re-checked on the server clock); nobody else."""
        if user.role is Role.INSURER:
            return cls.insurer_id == user.insurer_id
        if user.role in (Role.ADMIN, Role.CITY_AGRI):
            opened_rounds = sa.select(SelectionRound.id).where(
                SelectionRound.status.in_(OPENED_STATES), SelectionRound.opened_at.is_not(None),
                SelectionRound.opening_time <= utcnow())
            return sa.and_(cls.status == BidStatus.SUBMITTED, cls.round_id.in_(opened_rounds))
        return sa.false()

    def __repr__(self) -> str:
        return f"<Bid {self.id} {self.status.value}>"


class BidCountySetup(db.Model):
    """1 institution set-up (机构设置情况), per county: the allocation uses a county-specific score."""

    __tablename__ = "bid_county_setups"
    __table_args__ = (
        sa.UniqueConstraint("bid_id", "region_id", name="uq_bid_county_setups_bid_region"),
        sa.CheckConstraint("township_stations >= 0 AND agri_staff >= 0", name="counts_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    bid_id: Mapped[int] = mapped_column(sa.ForeignKey("bids.id", ondelete="CASCADE"), index=True)
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("regions.id"))
    has_county_branch: Mapped[bool] = mapped_column(default=False)
    township_stations: Mapped[int] = mapped_column(default=0)
    agri_staff: Mapped[int] = mapped_column(default=0)

    bid = relationship("Bid", back_populates="county_setups")
    region = relationship("Region", lazy="joined")


class BidInnovation(db.Model):
    """4 product innovation (产品创新): a product filed in the last 3 years."""

    __tablename__ = "bid_innovations"

    id: Mapped[int] = mapped_column(primary_key=True)
    bid_id: Mapped[int] = mapped_column(sa.ForeignKey("bids.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    filed_on: Mapped[date]

    bid = relationship("Bid", back_populates="innovations")


class BidPenalty(db.Model):
    """5 compliance (合规经营能力): an administrative penalty in the last 3 years."""

    __tablename__ = "bid_penalties"
    __table_args__ = (sa.CheckConstraint("amount >= 0", name="amount_non_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bid_id: Mapped[int] = mapped_column(sa.ForeignKey("bids.id", ondelete="CASCADE"), index=True)
    decided_on: Mapped[date]
    amount: Mapped[Decimal] = mapped_column(Money)
    authority: Mapped[str | None] = mapped_column(sa.String(120))
    reason: Mapped[str | None] = mapped_column(sa.Text)

    bid = relationship("Bid", back_populates="penalties")


class BidAttachment(db.Model):
    __tablename__ = "bid_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    bid_id: Mapped[int] = mapped_column(sa.ForeignKey("bids.id", ondelete="CASCADE"), index=True)
    stored_file_id: Mapped[int] = mapped_column(sa.ForeignKey("stored_files.id"))
    title: Mapped[str] = mapped_column(sa.String(200))

    bid = relationship("Bid", back_populates="attachments")
    stored_file = relationship("StoredFile", lazy="joined")

    @classmethod
    def visible_to(cls, user):
        """Whoever sees the bid, and the readers the modules above name for the bids they need (`bid_readers`:
        an expert, the bids it may score once they are opened)."""
        own = cls.bid_id.in_(sa.select(Bid.id).where(Bid.visible_to(user)))
        readable = bid_readers.collect(user)
        return sa.or_(own, cls.bid_id.in_(readable)) if readable else own


class BidReceipt(db.Model):
    """Issued on every submission: the time and the SHA-256 of the bid's canonical content."""

    __tablename__ = "bid_receipts"

    id: Mapped[int] = mapped_column(primary_key=True)
    bid_id: Mapped[int] = mapped_column(sa.ForeignKey("bids.id", ondelete="CASCADE"), index=True)
    receipt_no: Mapped[str] = mapped_column(sa.String(40), unique=True)
    submitted_at: Mapped[datetime]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    submitted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    bid = relationship("Bid", back_populates="receipts")


class BidOpening(db.Model):
    """The opening record (开标记录), frozen at the opening: bidders, lots bid, receipt hashes, time."""

    __tablename__ = "bid_openings"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("selection_rounds.id"), unique=True)
    opened_at: Mapped[datetime]
    opened_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    # [{"bid_id", "insurer_id", "insurer", "lots": [codes], "receipt_no", "sha256", "submitted_at"}]
    entries: Mapped[list] = mapped_column(sa.JSON, default=list)

    round = relationship("SelectionRound")
