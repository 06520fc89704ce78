"""Premium subsidy claims, their shares per level, payments, budgets and underwriting assignments."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from agri_insurance import clock
from agri_insurance.clock import utcnow
from agri_insurance.db_types import Money, Percent, enum_type
from agri_insurance.extensions import db
from agri_insurance.roles import CITY_ROLES, Role


class ShareLevel(enum.StrEnum):
    CENTRAL = "central"
    PROVINCIAL = "provincial"
    CITY = "city"
    COUNTY = "county"
    FARMER = "farmer"

    @property
    def label(self) -> str:
        return str(LEVEL_LABELS[self])


LEVEL_LABELS = {
    ShareLevel.CENTRAL: _l("中央财政"),
    ShareLevel.PROVINCIAL: _l("省级财政"),
    ShareLevel.CITY: _l("市级财政"),
    ShareLevel.COUNTY: _l("县级财政"),
    ShareLevel.FARMER: _l("农户自缴"),
}
# Levels a finance bureau pays (or receives and passes on) to the underwriter; the farmer pays directly.
GOVERNMENT_LEVELS = (ShareLevel.CENTRAL, ShareLevel.PROVINCIAL, ShareLevel.CITY, ShareLevel.COUNTY)
# A claim is settled when these are fully paid (R7: local finance pays on time and in full).
LOCAL_LEVELS = (ShareLevel.CITY, ShareLevel.COUNTY)


class ClaimStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    VERIFIED = "verified"
    PAYING = "paying"
    SETTLED = "settled"

    @property
    def label(self) -> str:
        return str(STATUS_LABELS[self])


STATUS_LABELS = {
    ClaimStatus.DRAFT: _l("草稿"),
    ClaimStatus.SUBMITTED: _l("已提交待核验"),
    ClaimStatus.RETURNED: _l("已退回"),
    ClaimStatus.VERIFIED: _l("已核验待拨付"),
    ClaimStatus.PAYING: _l("拨付中"),
    ClaimStatus.SETTLED: _l("已结清"),
}
COMMITTED = (ClaimStatus.VERIFIED, ClaimStatus.PAYING, ClaimStatus.SETTLED)


class UnderwritingAssignment(db.Model):
    """Which insurer underwrites which product in which county, for which years.

    Recorded by hand by the bureau until awards of a selection round exist; adopted awards add rows too. A mid-term
    change of an award (awards: 终止 / 替补) bounds rows by date: `ends_on` is the old underwriter's last day,
    `starts_on` the new one's first; a claim is made on a day within them (`may_claim`).
    """

    __tablename__ = "underwriting_assignments"
    __table_args__ = (
        sa.UniqueConstraint("insurer_id", "region_id", "product_id", "start_year",
                            name="uq_underwriting_assignments_scope"),
        sa.CheckConstraint("end_year >= start_year", name="year_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    insurer_id: Mapped[int] = mapped_column(sa.ForeignKey("insurers.id"), index=True)
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("regions.id"), index=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id"))
    start_year: Mapped[int]
    end_year: Mapped[int]
    source: Mapped[str] = mapped_column(sa.String(20), default="manual")
    notes: Mapped[str | None] = mapped_column(sa.String(500))
    starts_on: Mapped[date | None]
    ends_on: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    insurer = relationship("Insurer", lazy="joined")
    region = relationship("Region", lazy="joined")
    product = relationship("Product", lazy="joined")

    @classmethod
    def visible_to(cls, user):
        if user.role is Role.INSURER:
            return cls.insurer_id == user.insurer_id
        if user.role.needs_county:
            return cls.region_id == user.region_id
        return sa.true()


class SubsidyClaim(db.Model):
    __tablename__ = "subsidy_claims"
    __table_args__ = (
        # One live claim per insurer, county, product and period; a returned claim frees the slot.
        sa.Index("uq_subsidy_claims_open_period", "insurer_id", "region_id", "product_id", "year", "period",
                 unique=True, postgresql_where=sa.text("status <> 'returned'"),
                 sqlite_where=sa.text("status <> 'returned'")),
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint("total_premium > 0", name="premium_positive"),
        sa.CheckConstraint("farmer_premium >= 0 AND farmer_premium <= total_premium", name="farmer_within_premium"),
        sa.CheckConstraint("status NOT IN ('verified', 'paying', 'settled') OR "
                           "(verified_by_id IS NOT NULL AND verified_at IS NOT NULL)", name="verified_has_verifier"),
        sa.CheckConstraint("status <> 'returned' OR returned_reason IS NOT NULL", name="returned_has_reason"),
        sa.CheckConstraint("status NOT IN ('verified', 'paying', 'settled') OR verification_opinion IS NOT NULL",
                           name="verified_has_opinion"),
        # A returned claim is filed again once (a later return of that claim is filed again in its turn).
        sa.UniqueConstraint("corrects_id", name="uq_subsidy_claims_corrects"),
        # The ledger's year in its order (county, product, period): one page read without sorting the year's claims.
        sa.Index("ix_subsidy_claims_ledger_order", "year", "region_id", "product_id", "period", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    insurer_id: Mapped[int] = mapped_column(sa.ForeignKey("insurers.id"), index=True)
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("regions.id"), index=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id"), index=True)
    year: Mapped[int] = mapped_column(index=True)
    period: Mapped[str] = mapped_column(sa.String(30))
    quantity: Mapped[Decimal] = mapped_column(sa.Numeric(18, 2))
    unit: Mapped[str] = mapped_column(sa.String(10))
    sum_insured: Mapped[Decimal] = mapped_column(Money)
    premium_rate: Mapped[Decimal] = mapped_column(Percent)  # percent of the sum insured
    total_premium: Mapped[Decimal] = mapped_column(Money)
    farmer_premium: Mapped[Decimal] = mapped_column(Money)
    # The government shares' amount and paid summed (central, provincial, city, county): the ledger's totals are a
    # sum of these over a year's claims. Kept by the database (triggers on claim_shares, migration 0038), never
    # written here: read them in SQL, not from a loaded claim, which may predate its last payment.
    gov_due: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"), server_default="0")
    gov_paid: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"), server_default="0")
    households: Mapped[int] = mapped_column(default=0)
    list_rows: Mapped[int] = mapped_column(default=0)
    notes: Mapped[str | None] = mapped_column(sa.Text)
    scheme_id: Mapped[int | None] = mapped_column(sa.ForeignKey("subsidy_schemes.id"))
    status: Mapped[ClaimStatus] = mapped_column(enum_type(ClaimStatus), default=ClaimStatus.DRAFT, index=True)
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None]
    verified_at: Mapped[datetime | None]
    verified_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    # Payments are due this many days after verification (R7); kept on the claim so later changes of the
    # setting do not move past due dates.
    due_days: Mapped[int | None]
    over_budget_confirmed: Mapped[bool] = mapped_column(default=False)
    # What the county bureau found when it verified (核验意见): on the verification sheet it signs and seals.
    verification_opinion: Mapped[str | None] = mapped_column(sa.Text)
    returned_reason: Mapped[str | None] = mapped_column(sa.Text)
    settled_at: Mapped[datetime | None]
    # The returned claim this one files again, corrected (from the returned claim's page; its county, product, year
    # or period may differ). A claim filed for a returned claim's scope without it follows it all the same.
    corrects_id: Mapped[int | None] = mapped_column(sa.ForeignKey("subsidy_claims.id"))
    # Any change of the row (a status change included: transition's UPDATE sets it too): the API's change feed
    # (/api/v1/subsidies/claims/changes) lists claims in this order so a province system can mirror the city.
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, index=True)

    insurer = relationship("Insurer", lazy="joined")
    region = relationship("Region", lazy="joined")
    product = relationship("Product", lazy="joined")
    scheme = relationship("SubsidyScheme")
    shares = relationship("ClaimShare", back_populates="claim", order_by="ClaimShare.id",
                          cascade="all, delete-orphan")
    payments = relationship("Payment", back_populates="claim", order_by="Payment.id")
    verified_by = relationship("User", foreign_keys=[verified_by_id])

    @classmethod
    def visible_to(cls, user):
        if user.role is Role.INSURER:
            return cls.insurer_id == user.insurer_id
        if user.role is Role.ADMIN:
            return sa.true()  # support: the administrator sees every claim, drafts too
        # a draft is the insurer's own work until it is submitted: no bureau sees it, or counts it as owed
        submitted = cls.status != ClaimStatus.DRAFT
        if user.role.needs_county:
            return sa.and_(submitted, cls.region_id == user.region_id)
        if user.role in CITY_ROLES:
            return submitted
        return sa.false()

    def share(self, level: ShareLevel) -> ClaimShare | None:
        return next((s for s in self.shares if s.level is level), None)

    @property
    def due_date(self) -> date | None:
        if self.verified_at is None or self.due_days is None:
            return None
        return clock.days_after(self.verified_at, self.due_days)

    @property
    def was_submitted(self) -> bool:
        """Sent to the county bureau (whatever happened since): it has a verification sheet."""
        return self.submitted_at is not None

    @property
    def title(self) -> str:
        return f"{self.region.name} {self.product.name} {self.year} {self.period}"


OWING_GOVERNMENT_SHARE = "amount > paid AND level IN ('central', 'provincial', 'city', 'county')"


class ClaimShare(db.Model):
    """One level's share of a claim's premium, fixed when the claim is submitted; `paid` grows with payments."""

    __tablename__ = "claim_shares"
    __table_args__ = (
        sa.UniqueConstraint("claim_id", "level", name="uq_claim_shares_claim_level"),
        sa.CheckConstraint("paid >= 0 AND paid <= amount", name="paid_within_share"),
        sa.CheckConstraint("from_advance >= 0 AND from_advance <= paid", name="advance_within_paid"),
        # The government shares still owed (overdue lists and counts, payments waiting): a small part of the table
        # once the years' claims are paid (the farmer's share, never paid through the system, is not in it).
        sa.Index("ix_claim_shares_owing", "claim_id", "level", postgresql_where=sa.text(OWING_GOVERNMENT_SHARE),
                 sqlite_where=sa.text(OWING_GOVERNMENT_SHARE)),
        # The same shares by due date: the overdue list worst first is a walk of this index (no sort of every
        # overdue share), its count and sum a range of it, read from the index alone on PostgreSQL (INCLUDE).
        sa.Index("ix_claim_shares_owing_due", "due_on", "claim_id", postgresql_where=sa.text(OWING_GOVERNMENT_SHARE),
                 sqlite_where=sa.text(OWING_GOVERNMENT_SHARE), postgresql_include=["amount", "paid"]),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(sa.ForeignKey("subsidy_claims.id", ondelete="CASCADE"), index=True)
    level: Mapped[ShareLevel] = mapped_column(enum_type(ShareLevel))
    pct: Mapped[Decimal] = mapped_column(Percent)
    amount: Mapped[Decimal] = mapped_column(Money)
    paid: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    # Of `paid`, what was drawn from the underwriter's advance (预拨) for the year, county and level: money it
    # already had, so no payment carries it.
    from_advance: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"), server_default="0")
    # The claim's `due_date` (verification's local day + its due days), kept on each share when the claim is
    # verified (`service.keep_due_date`) so the overdue rule is a comparison of an indexed column; None before.
    due_on: Mapped[date | None]

    claim = relationship("SubsidyClaim", back_populates="shares")

    @property
    def outstanding(self) -> Decimal:
        return self.amount - self.paid


class Payment(db.Model):
    __tablename__ = "payments"
    __table_args__ = (
        # The same voucher cannot be recorded twice for a claim's level (a double click, a second clerk).
        sa.UniqueConstraint("claim_id", "level", "voucher_no", name="uq_payments_voucher"),
        sa.CheckConstraint("amount > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(sa.ForeignKey("subsidy_claims.id"), index=True)
    level: Mapped[ShareLevel] = mapped_column(enum_type(ShareLevel))
    amount: Mapped[Decimal] = mapped_column(Money)
    paid_on: Mapped[date]
    voucher_no: Mapped[str] = mapped_column(sa.String(60))
    recorded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A top-up of a closed year's settlement (补差): the one way money is paid on a closed year's claims.
    settlement_id: Mapped[int | None] = mapped_column(sa.ForeignKey("subsidy_settlements.id"), index=True)

    claim = relationship("SubsidyClaim", back_populates="payments")
    recorded_by = relationship("User")


class Budget(db.Model):
    """The subsidy a level (the city, or one county) has budgeted for a year."""

    __tablename__ = "subsidy_budgets"
    __table_args__ = (
        sa.UniqueConstraint("year", "region_id", name="uq_subsidy_budgets_year_region"),
        sa.CheckConstraint("amount >= 0", name="amount_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int]
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("regions.id"))
    amount: Mapped[Decimal] = mapped_column(Money)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    region = relationship("Region", lazy="joined")


class Advance(db.Model):
    """Money a finance bureau pays an underwriter ahead of its verified claims (预拨) for one year, county and level.

    Claims of that scope verified later draw it down (ClaimShare.from_advance) before any new money is paid; what
    is left at the year's close is set against what is still owed (year-end settlement). One advance per scope,
    edited rather than repeated: a second submission of the form is refused, not recorded twice.
    """

    __tablename__ = "subsidy_advances"
    __table_args__ = (
        sa.UniqueConstraint("year", "insurer_id", "region_id", "level", name="uq_subsidy_advances_scope"),
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.CheckConstraint("drawn >= 0 AND drawn <= amount", name="drawn_within_amount"),
        sa.CheckConstraint("level <> 'farmer'", name="government_level"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(index=True)
    insurer_id: Mapped[int] = mapped_column(sa.ForeignKey("insurers.id"), index=True)
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("regions.id"), index=True)   # the county
    level: Mapped[ShareLevel] = mapped_column(enum_type(ShareLevel))
    amount: Mapped[Decimal] = mapped_column(Money)
    drawn: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    # How the default amount was computed: last year's verified shares of the scope × the percentage (kept to
    # show on the page; the bureau may have typed another amount).
    basis: Mapped[Decimal | None] = mapped_column(Money)
    pct: Mapped[Decimal | None] = mapped_column(Percent)
    paid_on: Mapped[date]
    voucher_no: Mapped[str] = mapped_column(sa.String(60))
    recorded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    insurer = relationship("Insurer", lazy="joined")
    region = relationship("Region", lazy="joined")

    @property
    def undrawn(self) -> Decimal:
        return self.amount - self.drawn

    @classmethod
    def visible_to(cls, user):
        return _money_scope(cls, user)


def _money_scope(cls, user):
    """Advances and settlements: an underwriter's own, a county's own, all for the city's users."""
    if user.role is Role.INSURER:
        return cls.insurer_id == user.insurer_id
    if user.role.needs_county:
        return cls.region_id == user.region_id
    if user.role in CITY_ROLES:
        return sa.true()
    return sa.false()


class SubsidyYear(db.Model):
    """A subsidy year closed by the city finance bureau (年度清算): its settlements are drawn up and it takes no
    new payment, advance or verification; money still moves only through a settlement's recorded transfers."""

    __tablename__ = "subsidy_years"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    closed_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))


class SettlementStatus(enum.StrEnum):
    AWAITING = "awaiting"       # drawn up; one side or both still to confirm
    CONFIRMED = "confirmed"     # both sides confirmed; the top-up or refund is owed
    DONE = "done"               # nothing left to transfer

    @property
    def label(self) -> str:
        return str(SETTLEMENT_STATUS_LABELS[self])


SETTLEMENT_STATUS_LABELS = {
    SettlementStatus.AWAITING: _l("待双方确认"),
    SettlementStatus.CONFIRMED: _l("已确认待结算"),
    SettlementStatus.DONE: _l("已结清"),
}


class Settlement(db.Model):
    """The year-end settlement (清算单) of one underwriter, county and level: verified shares against the advance
    and the payments, as they stood at the close; `balance` > 0 is a top-up the bureau owes (补拨), < 0 a refund
    the underwriter owes (退回). Confirmed by the paying bureau and by the underwriter; `transferred` grows with
    the recorded top-ups or refunds until it reaches the balance."""

    __tablename__ = "subsidy_settlements"
    __table_args__ = (
        sa.UniqueConstraint("year", "insurer_id", "region_id", "level", name="uq_subsidy_settlements_scope"),
        # Within half a fen rather than equal: SQLite keeps NUMERIC as a float (PostgreSQL compares exactly).
        sa.CheckConstraint("abs(balance - (verified - advanced - paid)) < 0.005", name="balance_adds_up"),
        sa.CheckConstraint("transferred >= 0 AND transferred < abs(balance) + 0.005",
                           name="transferred_within_balance"),
        sa.CheckConstraint("level <> 'farmer'", name="government_level"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(sa.ForeignKey("subsidy_years.year"), index=True)
    insurer_id: Mapped[int] = mapped_column(sa.ForeignKey("insurers.id"), index=True)
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("regions.id"), index=True)
    level: Mapped[ShareLevel] = mapped_column(enum_type(ShareLevel))
    verified: Mapped[Decimal] = mapped_column(Money)    # the scope's shares of verified claims
    advanced: Mapped[Decimal] = mapped_column(Money)    # its advance (0 without one)
    paid: Mapped[Decimal] = mapped_column(Money)        # its payments before the close
    balance: Mapped[Decimal] = mapped_column(Money)
    transferred: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    bureau_confirmed_at: Mapped[datetime | None]
    bureau_confirmed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    insurer_confirmed_at: Mapped[datetime | None]
    insurer_confirmed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    insurer = relationship("Insurer", lazy="joined")
    region = relationship("Region", lazy="joined")
    transfers = relationship("SettlementTransfer", back_populates="settlement", order_by="SettlementTransfer.id")

    @property
    def is_refund(self) -> bool:
        return self.balance < 0

    @property
    def remaining(self) -> Decimal:
        return abs(self.balance) - self.transferred

    @property
    def status(self) -> SettlementStatus:
        if self.bureau_confirmed_at is None or self.insurer_confirmed_at is None:
            return SettlementStatus.AWAITING
        return SettlementStatus.DONE if self.remaining == 0 else SettlementStatus.CONFIRMED

    @property
    def title(self) -> str:
        return f"{self.year} {self.insurer.short_name} {self.region.name} {self.level.label}"

    @classmethod
    def visible_to(cls, user):
        return _money_scope(cls, user)


class SettlementTransfer(db.Model):
    """A top-up paid or a refund received on a settlement (补拨 / 退回), recorded like a payment."""

    __tablename__ = "subsidy_settlement_transfers"
    __table_args__ = (
        sa.UniqueConstraint("settlement_id", "voucher_no", name="uq_subsidy_settlement_transfers_voucher"),
        sa.CheckConstraint("amount > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    settlement_id: Mapped[int] = mapped_column(sa.ForeignKey("subsidy_settlements.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    paid_on: Mapped[date]
    voucher_no: Mapped[str] = mapped_column(sa.String(60))
    recorded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    settlement = relationship("Settlement", back_populates="transfers")


# Levels whose money comes from above (R14): allocated by the centre and the province to the city or a county
# finance bureau (下达), and passed on by the city to the counties (转拨). The city and county shares are the
# bureaus' own budgets (Budget).
FUND_LEVELS = (ShareLevel.CENTRAL, ShareLevel.PROVINCIAL)


class FundAllocation(db.Model):
    """Subsidy funds moving down to a finance bureau (资金下达): received from above (`from_region_id` None: a
    central or provincial allocation document, 文号) or passed on by the city to a county (转拨). For one year and
    level, optionally one product."""

    __tablename__ = "subsidy_funds"
    __table_args__ = (
        sa.UniqueConstraint("to_region_id", "document_no", "level", "product_id", name="uq_subsidy_funds_document"),
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.CheckConstraint("level IN ('central', 'provincial')", name="fund_level"),
        sa.CheckConstraint("from_region_id IS NULL OR from_region_id <> to_region_id", name="moves"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(index=True)
    level: Mapped[ShareLevel] = mapped_column(enum_type(ShareLevel))
    product_id: Mapped[int | None] = mapped_column(sa.ForeignKey("products.id"))
    from_region_id: Mapped[int | None] = mapped_column(sa.ForeignKey("regions.id"))   # None: from above
    to_region_id: Mapped[int] = mapped_column(sa.ForeignKey("regions.id"), index=True)
    document_no: Mapped[str] = mapped_column(sa.String(100))
    issued_on: Mapped[date]
    amount: Mapped[Decimal] = mapped_column(Money)
    notes: Mapped[str | None] = mapped_column(sa.String(500))
    recorded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    product = relationship("Product", lazy="joined")
    from_region = relationship("Region", foreign_keys=[from_region_id], lazy="joined")
    to_region = relationship("Region", foreign_keys=[to_region_id], lazy="joined")

    @property
    def passed_on(self) -> bool:
        return self.from_region_id is not None

    @classmethod
    def visible_to(cls, user):
        """The city's users every movement; a county's users what reached their county."""
        if user.role.needs_county:
            return cls.to_region_id == user.region_id
        if user.role in CITY_ROLES:
            return sa.true()
        return sa.false()
