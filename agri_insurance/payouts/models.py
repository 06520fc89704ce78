"""Claim payout lists (理赔清单): the per-farmer payouts of an underwriter for one loss event in a county, product
and year, each row matched to the farmer's row in a stored underwriting list, and the flags the county reviews."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from agri_insurance.clock import utcnow
from agri_insurance.data_keys import Encrypted
from agri_insurance.db_types import Money, enum_type
from agri_insurance.extensions import db
from agri_insurance.farmer_notices.models import NoticePeriodColumns, NoticePhotoColumns
from agri_insurance.roles import Role


class PayoutList(db.Model):
    """The current list of an underwriter's payouts for one loss event (a new upload replaces it). Only a file
    without a single error, every row matched to the underwriting list, is ever stored."""

    __tablename__ = "payout_lists"
    __table_args__ = (
        sa.UniqueConstraint("insurer_id", "region_id", "product_id", "year", "event",
                            name="uq_payout_lists_scope_event"),
        # what the rows' one foreign key refers to (PayoutRow): a row's scope is its list's
        sa.UniqueConstraint("id", "insurer_id", "region_id", "product_id", "year", name="uq_payout_lists_id_scope"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    insurer_id: Mapped[int] = mapped_column(sa.ForeignKey("insurers.id"))
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("regions.id"))
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id"))
    year: Mapped[int]
    event: Mapped[str] = mapped_column(sa.String(100))  # the loss event (e.g. "2025年6月洪涝")
    filename: Mapped[str] = mapped_column(sa.String(255))
    sha256: Mapped[str] = mapped_column(sa.String(64))
    rows: Mapped[int]
    total_agreed: Mapped[Decimal] = mapped_column(Money)
    total_paid: Mapped[Decimal] = mapped_column(Money)
    flag_count: Mapped[int] = mapped_column(default=0)
    uploaded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)

    insurer = relationship("Insurer")
    region = relationship("Region")
    product = relationship("Product")

    @classmethod
    def visible_to(cls, user):
        """Insurers their own lists, a county bureau its county's, the city all; finance none (aggregates only)."""
        if user.role is Role.INSURER:
            return cls.insurer_id == user.insurer_id
        if user.role is Role.COUNTY_AGRI:
            return cls.region_id == user.region_id
        if user.role in (Role.ADMIN, Role.CITY_AGRI):
            return sa.true()
        return sa.false()


class PayoutRow(db.Model):
    """One farmer's payout. The scope (insurer, county, product, year) is repeated from the list so the measured
    figures are one grouped query; `uw_list_id`/`uw_row_no` is the farmer's underwriting row it was matched to;
    `settle_days` (report → payment) and `pay_days` (agreement → payment) are kept for the percentiles.

    One foreign key holds the list and the scope together (fk_payout_rows_list_scope, migration 0040): the list
    exists and the row's insurer, county, product and year are its list's (the list's own keys check that those
    exist). Four keys checked each of them apart, four look-ups per row stored: half of the server's time in a
    100,000-row COPY."""

    __tablename__ = "payout_rows"
    __table_args__ = (
        sa.ForeignKeyConstraint(
            ["list_id", "insurer_id", "region_id", "product_id", "year"],
            ["payout_lists.id", "payout_lists.insurer_id", "payout_lists.region_id", "payout_lists.product_id",
             "payout_lists.year"], ondelete="CASCADE", name="fk_payout_rows_list_scope"),
        sa.Index("ix_payout_rows_scope", "insurer_id", "region_id", "product_id", "year"),
        sa.CheckConstraint("(paid_amount IS NULL) = (paid_date IS NULL)", name="paid_amount_and_date"),
    )

    list_id: Mapped[int] = mapped_column(primary_key=True)
    row_no: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(sa.String(100))
    id_kind: Mapped[str] = mapped_column(sa.String(1))
    id_number: Mapped[str] = mapped_column(Encrypted(120))  # AES-GCM sealed (data_keys.py): shown, never matched
    id_hash: Mapped[str] = mapped_column(sa.String(64))  # HMAC-SHA256 of the ID number: what matching compares
    insurer_id: Mapped[int]
    region_id: Mapped[int]
    product_id: Mapped[int]
    year: Mapped[int]
    # no foreign key: an underwriting list deleted announces it, and payouts unmatches these (unmatch_underwriting_list)
    uw_list_id: Mapped[int | None]
    uw_row_no: Mapped[int | None]
    loss_date: Mapped[date]
    reported_date: Mapped[date]
    survey_date: Mapped[date]
    agreed_amount: Mapped[Decimal] = mapped_column(sa.Numeric(14, 2))
    agreed_date: Mapped[date]
    paid_amount: Mapped[Decimal | None] = mapped_column(sa.Numeric(14, 2))
    paid_date: Mapped[date | None]
    settle_days: Mapped[int | None]
    pay_days: Mapped[int | None]
    bank_account: Mapped[str | None] = mapped_column(Encrypted(120))


class PayoutVillage(db.Model):
    """One village of a payout list (the village of the underwriting rows its payouts were matched to): households
    paid (distinct ID numbers), rows and totals, summed once when the list is stored (a stored list never changes: a
    new upload is a new list), so the list page and its notices read a row per village instead of joining and
    grouping the list's rows on every request (2.7 s for a million rows). Kept as stored: an underwriting list
    replaced later does not take the payouts out of their villages' notice."""

    __tablename__ = "payout_villages"

    list_id: Mapped[int] = mapped_column(sa.ForeignKey("payout_lists.id", ondelete="CASCADE"), primary_key=True)
    township: Mapped[str] = mapped_column(sa.String(50), primary_key=True)
    village: Mapped[str] = mapped_column(sa.String(50), primary_key=True)
    households: Mapped[int]
    rows: Mapped[int]
    agreed: Mapped[Decimal] = mapped_column(Money)
    paid: Mapped[Decimal] = mapped_column(Money)


class PayoutFlagKind(enum.StrEnum):
    OVER_SUM_INSURED = "over_sum_insured"
    NAME_NOT_IN_LIST = "name_not_in_list"
    PAID_LATE = "paid_late"
    SLOW_SETTLEMENT = "slow_settlement"
    PAID_TWICE = "paid_twice"

    @property
    def label(self) -> str:
        return str(PAYOUT_FLAG_LABELS[self])


PAYOUT_FLAG_LABELS = {
    PayoutFlagKind.OVER_SUM_INSURED: _l("赔款超过保险金额"),
    PayoutFlagKind.NAME_NOT_IN_LIST: _l("承保清单中无此姓名的农户"),
    PayoutFlagKind.PAID_LATE: _l("达成协议后超过10日支付"),
    PayoutFlagKind.SLOW_SETTLEMENT: _l("报案至支付时间过长"),
    PayoutFlagKind.PAID_TWICE: _l("同一事故重复赔付"),
}


class PayoutFlag(db.Model):
    """A row the county bureau should look at (not a refusal); it accepts it with a comment.

    One foreign key, to its row (fk_payout_flags_row): the row's own key holds its list, and a list's deletion
    reaches its flags through its rows. A second key to the list alone was a look-up more for each flag stored
    (a million-row payout list has about 260,000 flags), checking nothing the first does not (migration 0042)."""

    __tablename__ = "payout_flags"
    __table_args__ = (
        sa.ForeignKeyConstraint(["list_id", "row_no"], ["payout_rows.list_id", "payout_rows.row_no"],
                                ondelete="CASCADE", name="fk_payout_flags_row"),
        # by row, not by list alone: deleting a list's rows checks each row's flags (180 s for 100,000 rows)
        sa.Index("ix_payout_flags_row", "list_id", "row_no"),
        sa.CheckConstraint("(reviewed_at IS NULL) = (reviewed_by_id IS NULL)", name="reviewed_by_and_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int]
    row_no: Mapped[int]
    kind: Mapped[PayoutFlagKind] = mapped_column(enum_type(PayoutFlagKind))
    detail: Mapped[str | None] = mapped_column(sa.String(200))
    comment: Mapped[str | None] = mapped_column(sa.String(500))
    reviewed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None]

    list = relationship("PayoutList", viewonly=True, primaryjoin="foreign(PayoutFlag.list_id) == PayoutList.id")
    reviewed_by = relationship("User")
    row = relationship(
        "PayoutRow", viewonly=True, uselist=False,
        primaryjoin="and_(PayoutFlag.list_id == foreign(PayoutRow.list_id), "
                    "PayoutFlag.row_no == foreign(PayoutRow.row_no))")

    @property
    def reviewed(self) -> bool:
        return self.reviewed_at is not None


class PayoutNotice(NoticePeriodColumns, db.Model):
    """The period of the list's village notices (理赔公示), as the insurer posting them entered it. Goes with the
    list: a new upload for the event is a new notice (the posted sheets show the old payouts)."""

    __tablename__ = "payout_notices"
    __table_args__ = (sa.CheckConstraint("days > 0", name="days_positive"),)

    list_id: Mapped[int] = mapped_column(sa.ForeignKey("payout_lists.id", ondelete="CASCADE"), primary_key=True)


class PayoutNoticePhoto(NoticePhotoColumns, db.Model):
    """A photo of the list's notice posted in one village (张贴照片): the evidence the county bureau sees on the list
    page. Goes with the list (a new upload for the event is a new notice)."""

    __tablename__ = "payout_notice_photos"

    list_id: Mapped[int] = mapped_column(sa.ForeignKey("payout_lists.id", ondelete="CASCADE"), index=True)
