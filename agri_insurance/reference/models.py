"""Reference data: regions, products, insurers, subsidy schemes."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from agri_insurance.clock import utcnow
from agri_insurance.db_types import Percent, enum_type
from agri_insurance.extensions import db
from agri_insurance.i18n import pick


class RegionLevel(enum.StrEnum):
    CITY = "city"
    COUNTY = "county"


class Region(db.Model):
    """Shangrao city and its county-level divisions (区/县/市), keyed by administrative code."""

    __tablename__ = "regions"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(6), unique=True)
    name: Mapped[str] = mapped_column(sa.String(50))
    name_en: Mapped[str | None] = mapped_column(sa.String(80))
    level: Mapped[RegionLevel] = mapped_column(enum_type(RegionLevel))
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("regions.id"))
    # A county bureau's office and phone where farmers object to a notice of a list in the county (承保公示,
    # 理赔公示): printed on the notices posted in its villages.
    bureau_contact: Mapped[str | None] = mapped_column(sa.String(200))

    parent = relationship("Region", remote_side=[id])

    @property
    def label(self) -> str:
        return pick(self.name, self.name_en)

    @classmethod
    def visible_to(cls, user):
        """County users see only their own county's pages."""
        if user.role.needs_county:
            return cls.id == user.region_id
        return sa.true()

    def __repr__(self) -> str:
        return f"<Region {self.code} {self.name}>"


class ProductCategory(enum.StrEnum):
    CENTRAL = "central"      # 中央政策性农险 (R5)
    SPECIALTY = "specialty"  # 地方特色农业保险 (R6)

    @property
    def label(self) -> str:
        return str(CATEGORY_LABELS[self])


class ProductKind(enum.StrEnum):
    PLANTING = "planting"
    LIVESTOCK = "livestock"
    FORESTRY = "forestry"
    INDEX = "index"

    @property
    def label(self) -> str:
        return str(KIND_LABELS[self])


CATEGORY_LABELS = {ProductCategory.CENTRAL: _l("中央政策性"), ProductCategory.SPECIALTY: _l("地方特色")}
KIND_LABELS = {
    ProductKind.PLANTING: _l("种植业"),
    ProductKind.LIVESTOCK: _l("养殖业"),
    ProductKind.FORESTRY: _l("林业"),
    ProductKind.INDEX: _l("指数保险"),
}


class Product(db.Model):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name: Mapped[str] = mapped_column(sa.String(50))
    name_en: Mapped[str] = mapped_column(sa.String(80))
    category: Mapped[ProductCategory] = mapped_column(enum_type(ProductCategory))
    kind: Mapped[ProductKind] = mapped_column(enum_type(ProductKind))
    unit: Mapped[str] = mapped_column(sa.String(10))
    # The most one household may insure (e.g. 亩 of rice); above it the underwriting list flags the row.
    household_limit: Mapped[Decimal | None] = mapped_column(sa.Numeric(14, 2))
    active: Mapped[bool] = mapped_column(default=True)

    @property
    def label(self) -> str:
        return pick(self.name, self.name_en)

    def __repr__(self) -> str:
        return f"<Product {self.code}>"


class Insurer(db.Model):
    __tablename__ = "insurers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)
    short_name: Mapped[str] = mapped_column(sa.String(40))
    credit_code: Mapped[str] = mapped_column(sa.String(18), unique=True)
    # Declared parent company: two bidders with the same parent are under common control.
    parent_company: Mapped[str | None] = mapped_column(sa.String(120))
    contact_person: Mapped[str | None] = mapped_column(sa.String(50))
    contact_phone: Mapped[str | None] = mapped_column(sa.String(30))
    address: Mapped[str | None] = mapped_column(sa.String(200))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def label(self) -> str:
        return self.name

    @classmethod
    def visible_to(cls, user):
        """An insurer's users see only their own insurer."""
        if user.role.needs_insurer:
            return cls.id == user.insurer_id
        return sa.true()

    def __repr__(self) -> str:
        return f"<Insurer {self.short_name}>"


SHARE_LEVELS = ("central", "provincial", "city", "county", "farmer")


class SubsidyScheme(db.Model):
    """Premium shares by level for one product and year, in percent; they sum to exactly 100.

    region_id NULL is the city-wide scheme; a county may have its own scheme for the same product and year.
    """

    __tablename__ = "subsidy_schemes"
    __table_args__ = (
        sa.UniqueConstraint("product_id", "year", "region_id", name="uq_subsidy_schemes_product_year_region"),
        # The service checks the exact Decimal sum; the database guards against gross errors only,
        # because SQLite compares NUMERIC as floating point.
        sa.CheckConstraint(
            "ABS(central_pct + provincial_pct + city_pct + county_pct + farmer_pct - 100) < 0.00005", name="shares_sum_100"
        ),
        sa.CheckConstraint(
            "central_pct >= 0 AND provincial_pct >= 0 AND city_pct >= 0 AND county_pct >= 0 AND farmer_pct >= 0",
            name="shares_non_negative",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id"), index=True)
    region_id: Mapped[int | None] = mapped_column(sa.ForeignKey("regions.id"))
    year: Mapped[int]
    central_pct: Mapped[Decimal] = mapped_column(Percent)
    provincial_pct: Mapped[Decimal] = mapped_column(Percent)
    city_pct: Mapped[Decimal] = mapped_column(Percent)
    county_pct: Mapped[Decimal] = mapped_column(Percent)
    farmer_pct: Mapped[Decimal] = mapped_column(Percent)
    # Why a specialty scheme departs from the city 15 % / county 30 % default (R6).
    deviation_reason: Mapped[str | None] = mapped_column(sa.Text)
    notes: Mapped[str | None] = mapped_column(sa.Text)

    product = relationship("Product", lazy="joined")
    region = relationship("Region", lazy="joined")

    def shares(self) -> dict[str, Decimal]:
        return {level: getattr(self, f"{level}_pct") for level in SHARE_LEVELS}

    @property
    def local_pct(self) -> Decimal:
        return self.city_pct + self.county_pct
