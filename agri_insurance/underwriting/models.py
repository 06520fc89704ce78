"""Underwriting lists (承保清单): the per-farmer rows behind a subsidy claim, and what the cross-checks found."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from agri_insurance.clock import utcnow
from agri_insurance.data_keys import Encrypted
from agri_insurance.db_types import Money, enum_type
from agri_insurance.extensions import db
from agri_insurance.farmer_notices.models import NoticePeriodColumns, NoticePhotoColumns


class UnderwritingList(db.Model):
    """The current valid list of a claim. Only a file without a single error is ever stored."""

    __tablename__ = "underwriting_lists"

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(sa.ForeignKey("subsidy_claims.id"), unique=True)
    filename: Mapped[str] = mapped_column(sa.String(255))
    sha256: Mapped[str] = mapped_column(sa.String(64))
    rows: Mapped[int]
    households: Mapped[int]
    total_quantity: Mapped[Decimal] = mapped_column(sa.Numeric(18, 2))
    total_sum_insured: Mapped[Decimal] = mapped_column(Money)
    total_premium: Mapped[Decimal] = mapped_column(Money)
    total_farmer_premium: Mapped[Decimal] = mapped_column(Money)
    flag_count: Mapped[int] = mapped_column(default=0)
    uploaded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)

    claim = relationship("SubsidyClaim", backref=sa.orm.backref("underwriting_list", uselist=False))


class UnderwritingRow(db.Model):
    """One insured household. Keyed by (list, row number in the file): two indexes only, so a million rows
    load fast; the person index, covering list_id, answers the city-wide double-insurance question alone.

    `product_id`, `year` and `insurer_id` repeat the list's claim's (the person index needs them; the importer
    writes them from the claim) and have no foreign keys of their own: the claim's keys hold the product and the
    insurer, and its list the row (fk to underwriting_lists). Two keys more were two look-ups for each row stored,
    about a third of the server's time in a million-row COPY (migration 0043)."""

    __tablename__ = "underwriting_rows"
    __table_args__ = (
        sa.Index("ix_underwriting_rows_person", "product_id", "year", "id_hash", "list_id"),
    )

    list_id: Mapped[int] = mapped_column(sa.ForeignKey("underwriting_lists.id", ondelete="CASCADE"),
                                         primary_key=True)
    row_no: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(sa.String(100))
    id_kind: Mapped[str] = mapped_column(sa.String(1))  # P: resident ID (person), O: credit code (organisation)
    id_number: Mapped[str] = mapped_column(Encrypted(120))  # AES-GCM sealed (data_keys.py): shown, never matched
    id_hash: Mapped[str] = mapped_column(sa.String(64))  # HMAC-SHA256 of the ID number: what matching compares
    township: Mapped[str] = mapped_column(sa.String(50))
    village: Mapped[str] = mapped_column(sa.String(50))
    product_id: Mapped[int]
    year: Mapped[int]
    insurer_id: Mapped[int]
    quantity: Mapped[Decimal] = mapped_column(sa.Numeric(14, 2))
    sum_insured: Mapped[Decimal] = mapped_column(sa.Numeric(16, 2))
    premium: Mapped[Decimal] = mapped_column(sa.Numeric(14, 2))
    farmer_premium: Mapped[Decimal] = mapped_column(sa.Numeric(14, 2))
    bank_account: Mapped[str | None] = mapped_column(Encrypted(120))


class UnderwritingVillage(db.Model):
    """One village of a list: its households (distinct ID numbers), rows and totals, summed once when the list is
    stored (a stored list never changes: a new file is a new list), so the list page and its notices read a row per
    village instead of grouping the list's hundreds of thousands of rows on every request."""

    __tablename__ = "underwriting_villages"

    list_id: Mapped[int] = mapped_column(sa.ForeignKey("underwriting_lists.id", ondelete="CASCADE"),
                                         primary_key=True)
    township: Mapped[str] = mapped_column(sa.String(50), primary_key=True)
    village: Mapped[str] = mapped_column(sa.String(50), primary_key=True)
    households: Mapped[int]
    rows: Mapped[int]
    quantity: Mapped[Decimal] = mapped_column(sa.Numeric(18, 2))
    premium: Mapped[Decimal] = mapped_column(Money)
    farmer_premium: Mapped[Decimal] = mapped_column(Money)


class FlagKind(enum.StrEnum):
    DUPLICATE_IN_LIST = "duplicate_in_list"
    DUPLICATE_SAME_INSURER = "duplicate_same_insurer"
    DUPLICATE_OTHER_INSURER = "duplicate_other_insurer"
    OVER_HOUSEHOLD_MAX = "over_household_max"

    @property
    def label(self) -> str:
        return str(FLAG_LABELS[self])


FLAG_LABELS = {
    FlagKind.DUPLICATE_IN_LIST: _l("清单内重复"),
    FlagKind.DUPLICATE_SAME_INSURER: _l("本机构其他申请中重复投保"),
    FlagKind.DUPLICATE_OTHER_INSURER: _l("其他机构重复投保"),
    FlagKind.OVER_HOUSEHOLD_MAX: _l("超过每户承保上限"),
}


class UnderwritingFlag(db.Model):
    """A row the county bureau should look at before verifying: possible fraud or error."""

    __tablename__ = "underwriting_flags"
    __table_args__ = (
        sa.ForeignKeyConstraint(["list_id", "row_no"], ["underwriting_rows.list_id", "underwriting_rows.row_no"],
                                ondelete="CASCADE", name="fk_underwriting_flags_row"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(sa.ForeignKey("underwriting_lists.id", ondelete="CASCADE"), index=True)
    row_no: Mapped[int]
    kind: Mapped[FlagKind] = mapped_column(enum_type(FlagKind))
    other_list_id: Mapped[int | None] = mapped_column(sa.ForeignKey("underwriting_lists.id", ondelete="CASCADE"))
    detail: Mapped[str | None] = mapped_column(sa.String(200))

    row = relationship(
        "UnderwritingRow", viewonly=True, uselist=False,
        primaryjoin="and_(UnderwritingFlag.list_id == foreign(UnderwritingRow.list_id), "
                    "UnderwritingFlag.row_no == foreign(UnderwritingRow.row_no))")
    other_list = relationship("UnderwritingList", foreign_keys=[other_list_id])


# --- the list's notice to farmers (承保公示) ---------------------------------------------------------------

class UnderwritingNotice(NoticePeriodColumns, db.Model):
    """The period of the list's village notices (承保公示), as the insurer posting them entered it. Goes with the
    list: a new list is a new notice (the posted sheets show the old figures)."""

    __tablename__ = "underwriting_notices"
    __table_args__ = (sa.CheckConstraint("days > 0", name="days_positive"),)

    list_id: Mapped[int] = mapped_column(sa.ForeignKey("underwriting_lists.id", ondelete="CASCADE"),
                                         primary_key=True)


class UnderwritingNoticePhoto(NoticePhotoColumns, db.Model):
    """A photo of the notice posted in one village of the list (张贴照片): the evidence the county bureau sees."""

    __tablename__ = "underwriting_notice_photos"

    list_id: Mapped[int] = mapped_column(sa.ForeignKey("underwriting_lists.id", ondelete="CASCADE"), index=True)


class UnderwritingNoticeRule(db.Model):
    """Whether a subsidy claim for this product and year is verified only with photos of its notice posted in every
    village of its list. Without a row it is not required: the city turns the requirement on, product by product."""

    __tablename__ = "underwriting_notice_rules"
    __table_args__ = (sa.UniqueConstraint("product_id", "year", name="uq_underwriting_notice_rules_product_year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id"))
    year: Mapped[int]
    evidence_required: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    product = relationship("Product")
