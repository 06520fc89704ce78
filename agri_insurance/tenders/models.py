"""Selection rounds (遴选轮次), their lots (标段) and county exceptions to the 3-insurer limit (R3)."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from agri_insurance.clock import utcnow
from agri_insurance.db_types import Money, Percent, enum_type
from agri_insurance.extensions import db
from agri_insurance.i18n import join_names
from agri_insurance.roles import Role

TERM_YEARS = 3  # R1
# The public notice (公示) of the result runs at least 5 working days; a shorter one records why.
MIN_NOTICE_WORKING_DAYS = 5


class RoundStatus(enum.StrEnum):
    DRAFT = "draft"
    OPEN = "open"              # accepting bids until the deadline
    CLOSED = "closed"          # deadline passed (derived from the server clock, advanced on access)
    OPENED = "opened"          # bids opened (开标) at or after the opening time
    EVALUATION = "evaluation"
    ALLOCATED = "allocated"
    PUBLICISED = "publicised"  # 公示
    AWARDED = "awarded"
    IN_FORCE = "in_force"
    EXPIRED = "expired"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return str(ROUND_STATUS_LABELS[self])


ROUND_STATUS_LABELS = {
    RoundStatus.DRAFT: _l("草稿"),
    RoundStatus.OPEN: _l("投标中"),
    RoundStatus.CLOSED: _l("已截标"),
    RoundStatus.OPENED: _l("已开标"),
    RoundStatus.EVALUATION: _l("评审中"),
    RoundStatus.ALLOCATED: _l("已分配"),
    RoundStatus.PUBLICISED: _l("公示中"),
    RoundStatus.AWARDED: _l("已中标"),
    RoundStatus.IN_FORCE: _l("执行中"),
    RoundStatus.EXPIRED: _l("已到期"),
    RoundStatus.CANCELLED: _l("已取消"),
}

# States in which the bids have been opened (the opening record exists).
OPENED_STATES = (RoundStatus.OPENED, RoundStatus.EVALUATION, RoundStatus.ALLOCATED, RoundStatus.PUBLICISED,
                 RoundStatus.AWARDED, RoundStatus.IN_FORCE, RoundStatus.EXPIRED)
_OPENED_SQL = ", ".join(f"'{s.value}'" for s in OPENED_STATES)

lot_products = sa.Table(
    "lot_products",
    db.metadata,
    sa.Column("lot_id", sa.ForeignKey("lots.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("product_id", sa.ForeignKey("products.id"), primary_key=True),
)


class SelectionRound(db.Model):
    """One tender for a 3-year term (R1). Times are naive UTC; pages show Asia/Shanghai."""

    __tablename__ = "selection_rounds"
    __table_args__ = (
        sa.CheckConstraint("term_start_year BETWEEN 2000 AND 2100", name="term_year_range"),
        sa.CheckConstraint("opening_time >= bid_deadline", name="opening_after_deadline"),
        sa.CheckConstraint("min_insurers >= 1 AND max_insurers >= min_insurers", name="insurer_limits"),
        sa.CheckConstraint("notice_working_days >= 0", name="notice_days_non_negative"),
        sa.CheckConstraint(f"notice_working_days >= {MIN_NOTICE_WORKING_DAYS} OR (notice_short_reason IS NOT NULL "
                           "AND length(trim(notice_short_reason)) > 0)", name="short_notice_has_reason"),
        sa.CheckConstraint("market_share_cap_pct IS NULL OR (market_share_cap_pct > 0 AND market_share_cap_pct <= 100)",
                           name="market_share_cap_range"),
        sa.CheckConstraint("(status = 'cancelled') = (cancel_reason IS NOT NULL)", name="cancel_reason_iff_cancelled"),
        sa.CheckConstraint(f"status NOT IN ({_OPENED_SQL}) OR opened_at IS NOT NULL", name="opened_has_time"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    term_start_year: Mapped[int]
    bid_deadline: Mapped[datetime]
    opening_time: Mapped[datetime]
    notice_working_days: Mapped[int] = mapped_column(default=MIN_NOTICE_WORKING_DAYS)
    # Why the public notice is shorter than MIN_NOTICE_WORKING_DAYS (required then, None otherwise)
    notice_short_reason: Mapped[str | None] = mapped_column(sa.Text)
    min_insurers: Mapped[int] = mapped_column(default=2)   # R3: at least 2 underwriters per county
    max_insurers: Mapped[int] = mapped_column(default=3)   # R3: in principle at most 3
    market_share_cap_pct: Mapped[Decimal | None] = mapped_column(Percent)
    contact: Mapped[str | None] = mapped_column(sa.String(200))
    notes: Mapped[str | None] = mapped_column(sa.Text)
    status: Mapped[RoundStatus] = mapped_column(enum_type(RoundStatus), default=RoundStatus.DRAFT, index=True)
    status_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    opened_at: Mapped[datetime | None]
    opened_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    publicised_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(sa.Text)
    # Bumped whenever lots or rules change while the round is open (submitted bids are then invalidated).
    rules_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    lots = relationship("Lot", back_populates="round", order_by="Lot.code", cascade="all, delete-orphan")
    exceptions = relationship("CountyException", back_populates="round", cascade="all, delete-orphan")

    @property
    def term_end_year(self) -> int:
        return self.term_start_year + TERM_YEARS - 1

    @property
    def bids_opened(self) -> bool:
        """True once the bids have been opened; before that every bid is sealed."""
        return self.opened_at is not None and self.status in OPENED_STATES and utcnow() >= self.opening_time

    @property
    def changes_invalidate_bids(self) -> bool:
        """Open for bids: a change to its lots or rules invalidates the bids submitted so far."""
        return self.status is RoundStatus.OPEN

    @property
    def has_provisional_result(self) -> bool:
        """An adopted allocation that is not final yet (allocated or under public notice): cancelling the round
        withdraws it."""
        return self.status in (RoundStatus.ALLOCATED, RoundStatus.PUBLICISED)

    def counties(self) -> list:
        """The counties the round covers: those with at least one lot, by code."""
        seen = {lot.region.id: lot.region for lot in self.lots}
        return sorted(seen.values(), key=lambda r: r.code)

    @classmethod
    def visible_to(cls, user):
        """Drafts are the city bureau's working papers; published rounds are visible to every role."""
        if user.role in (Role.ADMIN, Role.CITY_AGRI):
            return sa.true()
        return cls.status != RoundStatus.DRAFT

    def __repr__(self) -> str:
        return f"<SelectionRound {self.id} {self.status.value}>"


class Lot(db.Model):
    """A county's bundle of products (and optionally townships) awarded to one underwriter (R2)."""

    __tablename__ = "lots"
    __table_args__ = (
        sa.UniqueConstraint("round_id", "code", name="uq_lots_round_code"),
        sa.CheckConstraint("expected_premium >= 0", name="premium_non_negative"),
        sa.CheckConstraint("loss_ratio_pct IS NULL OR loss_ratio_pct >= 0", name="loss_ratio_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("selection_rounds.id"), index=True)
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("regions.id"), index=True)
    code: Mapped[str] = mapped_column(sa.String(40))
    name: Mapped[str] = mapped_column(sa.String(200))
    townships: Mapped[str | None] = mapped_column(sa.Text)
    expected_premium: Mapped[Decimal] = mapped_column(Money)  # expected annual premium, yuan
    loss_ratio_pct: Mapped[Decimal | None] = mapped_column(Percent)  # historical loss ratio, percent
    notes: Mapped[str | None] = mapped_column(sa.Text)

    round = relationship("SelectionRound", back_populates="lots")
    region = relationship("Region", lazy="joined")
    # subquery: a page listing a round's lots loads all their products in one query, not one per lot, however many
    # lots (a select-in load takes 500 lots a statement: bench/web's 600-lot round paid a statement more)
    products = relationship("Product", secondary=lot_products, order_by="Product.code", lazy="subquery")

    @classmethod
    def visible_to(cls, user):
        return cls.round_id.in_(sa.select(SelectionRound.id).where(SelectionRound.visible_to(user)))

    @property
    def product_labels(self) -> str:
        return join_names(p.label for p in self.products)

    def __repr__(self) -> str:
        return f"<Lot {self.code}>"


class CountyException(db.Model):
    """R3: a county allowed more insurers than the round's maximum, with the provincial approval on file."""

    __tablename__ = "county_exceptions"
    __table_args__ = (
        sa.UniqueConstraint("round_id", "region_id", name="uq_county_exceptions_round_region"),
        sa.CheckConstraint("max_insurers >= 1", name="max_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("selection_rounds.id"), index=True)
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("regions.id"))
    max_insurers: Mapped[int]
    approval_doc_no: Mapped[str] = mapped_column(sa.String(100))   # 省农业工作领导小组 document number
    approval_date: Mapped[date]
    document_id: Mapped[int] = mapped_column(sa.ForeignKey("stored_files.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    round = relationship("SelectionRound", back_populates="exceptions")
    region = relationship("Region", lazy="joined")
    document = relationship("StoredFile", lazy="joined")

    @classmethod
    def visible_to(cls, user):
        return cls.round_id.in_(sa.select(SelectionRound.id).where(SelectionRound.visible_to(user)))
