"""The lists of claims that grow every year (the claims page, the ledger and its download): the filters a user
sets, read from the query string, as SQL; the ledger's government shares due and paid summed in SQL."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import pgettext

from agri_insurance.extensions import db
from agri_insurance.paging import ListFilters, Option, options, record_number, text_matches
from agri_insurance.reference.models import Insurer, Product, Region, RegionLevel
from agri_insurance.roles import Role
from agri_insurance.subsidies.models import GOVERNMENT_LEVELS, ClaimShare, ClaimStatus, SubsidyClaim

YEARS = (2000, 2100)


@dataclass
class ClaimFilters:
    """What a claims list is filtered by, and the choices its selects offer (empty: the select is not shown,
    the user's organisation already decides it)."""

    counties: list[Option] = field(default_factory=list)
    insurers: list[Option] = field(default_factory=list)
    products: list[Option] = field(default_factory=list)
    statuses: list[ClaimStatus] = field(default_factory=list)
    region_id: int | None = None
    insurer_id: int | None = None
    product_id: int | None = None
    year: int | None = None
    status: ClaimStatus | None = None
    text: str | None = None

    def clauses(self) -> list:
        """The WHERE clauses of the filters in use (the user's scope is added by the caller)."""
        clauses = []
        if self.region_id:
            clauses.append(SubsidyClaim.region_id == self.region_id)
        if self.insurer_id:
            clauses.append(SubsidyClaim.insurer_id == self.insurer_id)
        if self.product_id:
            clauses.append(SubsidyClaim.product_id == self.product_id)
        if self.year:
            clauses.append(SubsidyClaim.year == self.year)
        if self.status:
            clauses.append(SubsidyClaim.status == self.status)
        if self.text:
            clauses.append(claim_text_matches(self.text))
        return clauses

    @property
    def county_label(self) -> str | None:
        """The name of the county filtered by, if one is."""
        return next((o.label for o in self.counties if o.value == str(self.region_id)), None)


def claim_text_matches(text: str):
    """A claim whose number is `text` ("12", "#12"), or whose insurer, product or period contains it."""
    insurers = sa.select(Insurer.id).where(text_matches(text, Insurer.name, Insurer.short_name))
    products = sa.select(Product.id).where(text_matches(text, Product.name, Product.name_en))
    found = [SubsidyClaim.insurer_id.in_(insurers), SubsidyClaim.product_id.in_(products),
             text_matches(text, SubsidyClaim.period)]
    if (number := record_number(text)) is not None:
        found.append(SubsidyClaim.id == number)
    return sa.or_(*found)


def county_options() -> list[Option]:
    return options(db.session.scalars(sa.select(Region).where(Region.level == RegionLevel.COUNTY)
                                      .order_by(Region.code)))


def read_claim_filters(filters: ListFilters, user, statuses: Iterable[ClaimStatus] = tuple(ClaimStatus)
                       ) -> ClaimFilters:
    """The claim filters of the query string for `user`: a county user is not offered other counties, an insurer
    not other insurers (their scope limits the list anyway, and a value in the query string is not even read)."""
    chosen = ClaimFilters(statuses=list(statuses))
    if not user.role.needs_county:
        chosen.counties = county_options()
        chosen.region_id = filters.record_id("region_id", pgettext("field", "县（市、区）"), chosen.counties)
    if user.role is not Role.INSURER:
        chosen.insurers = options(db.session.scalars(sa.select(Insurer).order_by(Insurer.name)),
                                  label=lambda insurer: insurer.short_name)
        chosen.insurer_id = filters.record_id("insurer_id", pgettext("field", "承保机构"), chosen.insurers)
    chosen.products = options(db.session.scalars(sa.select(Product).order_by(Product.category, Product.code)))
    chosen.product_id = filters.record_id("product_id", pgettext("field", "险种"), chosen.products)
    chosen.year = filters.integer("year", _("年度"), *YEARS)
    chosen.status = filters.choice("status", _("状态"), chosen.statuses)
    chosen.text = filters.text("q")
    return chosen


def ledger_statement(clauses: Iterable) -> sa.Select:
    """Per claim the government shares (central, provincial, city, county) due and paid, as columns `due` and
    `paid` next to the claim, in the ledger's order (county, product, period)."""
    government = (ClaimShare.claim_id == SubsidyClaim.id, ClaimShare.level.in_(GOVERNMENT_LEVELS))
    due = sa.select(sa.func.coalesce(sa.func.sum(ClaimShare.amount), 0)).where(*government).scalar_subquery()
    paid = sa.select(sa.func.coalesce(sa.func.sum(ClaimShare.paid), 0)).where(*government).scalar_subquery()
    return (sa.select(SubsidyClaim, due.label("due"), paid.label("paid")).where(*clauses)
            .order_by(SubsidyClaim.region_id, SubsidyClaim.product_id, SubsidyClaim.period, SubsidyClaim.id))
