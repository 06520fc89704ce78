"""Funds by level and year (R14): the central and provincial money a finance bureau receives from above (下达, with
the allocation document's number, 文号, and date), what the city passes on to the counties (转拨), and what reached
the underwriters, so the money's path city ↔ county ↔ underwriter can be read for a year:

    received from above (the city's and the counties' own) = paid to underwriters (net) + held by the bureaus

where "paid to underwriters (net)" is the level's payments on the year's claims (a settlement's top-ups included)
plus its advances, less the refunds received on its settlements. The city cannot pass on more of a level than it
has received for the year less what it has already passed on (the city's row is locked first, so two clerks
passing on at once are checked one after the other). Amounts are Decimal, entered to the fen and summed exactly.
A closed year still takes funds: the centre's and the province's own settlements reach the bureaus after the city's
close.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from agri_insurance import clock
from agri_insurance.audit import service as audit
from agri_insurance.db_types import FEN, to_fen
from agri_insurance.errors import require
from agri_insurance.extensions import db, lock_for_update
from agri_insurance.reference.models import Product, Region, RegionLevel
from agri_insurance.roles import Role
from agri_insurance.subsidies import service
from agri_insurance.subsidies.models import (
    FUND_LEVELS,
    LEVEL_LABELS,
    Advance,
    FundAllocation,
    Payment,
    Settlement,
    SettlementTransfer,
    ShareLevel,
    SubsidyClaim,
)

ZERO = Decimal("0.00")
DOCUMENT_MAX = 100


def city() -> Region:
    return db.session.scalar(sa.select(Region).where(Region.level == RegionLevel.CITY).limit(1))


def bureau_label(region: Region) -> str:
    return _("%(region)s财政局", region=region.label)


def may_record(user) -> bool:
    return user.role in (Role.CITY_FINANCE, Role.COUNTY_FINANCE)


def recipients(user) -> list[Region]:
    """The bureaus `user` records money for: the city finance bureau the city and every county (what the province
    allocated to each, what the city passed on); a county's its own county (what reached it from above)."""
    if user.role is Role.COUNTY_FINANCE:
        return [user.region] if user.region is not None else []
    if user.role is Role.CITY_FINANCE:
        return list(db.session.scalars(sa.select(Region).where(Region.level.in_((RegionLevel.CITY,
                                                                                  RegionLevel.COUNTY)))
                                       .order_by(Region.level, Region.code)))
    return []


def passed_on_total(year: int, level: ShareLevel) -> Decimal:
    return _sum(FundAllocation.amount, FundAllocation.year == year, FundAllocation.level == level,
                FundAllocation.from_region_id.is_not(None))


def received_by_city(year: int, level: ShareLevel, city_id: int) -> Decimal:
    return _sum(FundAllocation.amount, FundAllocation.year == year, FundAllocation.level == level,
                FundAllocation.from_region_id.is_(None), FundAllocation.to_region_id == city_id)


def _sum(column, *clauses) -> Decimal:
    return Decimal(db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(column), 0)).where(*clauses))
                   ).quantize(FEN)


def record_allocation(data: dict[str, Any], actor) -> FundAllocation:
    """Record money received from above (`passed_on` false) or passed on by the city to a county (`passed_on`
    true). `data`: year, level, product_id (optional), to_region_id, passed_on, document_no, issued_on, amount,
    notes. Caller commits. Every refusal names its field; nothing is saved."""
    require(may_record(actor), _("只有财政部门可以登记资金下达"))
    passed_on = bool(data.get("passed_on"))
    year = data.get("year")
    require(isinstance(year, int) and 2000 <= year <= 2100, _("请填写年度"), "year")
    try:
        level = ShareLevel(data.get("level"))
    except ValueError:
        level = None
    require(level in FUND_LEVELS, _("请选择中央财政或省级财政资金"), "level")
    to_region = db.session.get(Region, data["to_region_id"]) if data.get("to_region_id") else None
    require(to_region is not None and to_region in recipients(actor), _("请选择收款的财政部门"), "to_region_id")
    the_city = city()
    if passed_on:
        require(actor.role is Role.CITY_FINANCE, _("只有市财政局可以登记转拨"), "passed_on")
        require(to_region.level is RegionLevel.COUNTY, _("转拨只能拨给县（市、区）"), "to_region_id")
    product_id = data.get("product_id") or None
    require(product_id is None or db.session.get(Product, product_id) is not None, _("请选择险种"), "product_id")
    document_no = (data.get("document_no") or "").strip()
    require(document_no, _("请填写文号"), "document_no")
    require(len(document_no) <= DOCUMENT_MAX, _("文号最多%(n)s个字", n=DOCUMENT_MAX), "document_no")
    issued_on = data.get("issued_on")
    require(isinstance(issued_on, date), _("请填写日期"), "issued_on")
    require(issued_on <= clock.local_today(), _("日期不能晚于今天"), "issued_on")
    amount = data.get("amount")
    service.require_amount(amount, "amount")
    require(amount is not None and amount >= FEN, _("金额至少为0.01元"), "amount")
    require(amount == to_fen(amount), _("金额最多两位小数"), "amount")
    notes = (data.get("notes") or "").strip() or None
    require(notes is None or len(notes) <= 500, _("备注最多500字"), "notes")
    # the city's row serialises what is passed on: two clerks at once are checked one after the other
    lock_for_update(the_city)
    duplicate = db.session.scalar(sa.select(FundAllocation.id).where(
        FundAllocation.to_region_id == to_region.id, FundAllocation.document_no == document_no,
        FundAllocation.level == level,
        FundAllocation.product_id.is_(None) if product_id is None else FundAllocation.product_id == product_id))
    require(duplicate is None, _("文号 %(doc)s 的此级次资金已登记过", doc=document_no), "document_no")
    if passed_on:
        available = received_by_city(year, level, the_city.id) - passed_on_total(year, level)
        require(amount <= available,
                _("转拨金额超出市本级%(year)s年度收到的%(level)s资金余额 %(left)s 元", year=year,
                  level=LEVEL_LABELS[level], left=f"{available:,.2f}"), "amount")
    allocation = FundAllocation(year=year, level=level, product_id=product_id, to_region_id=to_region.id,
                                from_region_id=the_city.id if passed_on else None, document_no=document_no,
                                issued_on=issued_on, amount=amount, notes=notes, recorded_by_id=actor.id)
    db.session.add(allocation)
    db.session.flush()
    if passed_on:
        summary = _l("登记资金转拨：%(year)s年度%(level)s资金 %(amount)s 元转拨%(to)s（%(doc)s）", year=year,
                     level=LEVEL_LABELS[level], amount=f"{amount:,.2f}", to=to_region.name, doc=document_no)
    else:
        summary = _l("登记上级资金下达：%(year)s年度%(level)s资金 %(amount)s 元下达%(to)s（%(doc)s）", year=year,
                     level=LEVEL_LABELS[level], amount=f"{amount:,.2f}", to=to_region.name, doc=document_no)
    audit.record(actor, "funds.passed_on" if passed_on else "funds.received", allocation, summary,
                 year=year, level=level.value, amount=amount, to_region_id=to_region.id, document_no=document_no,
                 issued_on=issued_on, product_id=product_id)
    return allocation


def allocations(scope_clause, year: int) -> list[FundAllocation]:
    return list(db.session.scalars(
        sa.select(FundAllocation).where(scope_clause, FundAllocation.year == year)
        .order_by(FundAllocation.issued_on, FundAllocation.id)))


# --- the path: received, passed on, paid to the underwriters -------------------------------------------------------

@dataclass
class PathLine:
    """One bureau's part of a level's money in a year. For the city: `from_city` is what it passed on (out); for a
    county: what it received from the city (in). `to_underwriters`: net paid to underwriters on the claims of the
    county (for the city: of every county, as the city pays these levels)."""

    region: Region
    from_above: Decimal = ZERO
    from_city: Decimal = ZERO
    to_underwriters: Decimal = ZERO

    @property
    def received(self) -> Decimal:
        """What reached this bureau (for the city: kept after passing on)."""
        return self.from_above + (-self.from_city if self.region.level is RegionLevel.CITY else self.from_city)


@dataclass
class LevelPath:
    level: ShareLevel
    city: PathLine | None    # None for a county's users: they read their county's line
    counties: list[PathLine] = field(default_factory=list)

    @property
    def from_above(self) -> Decimal:
        city_part = self.city.from_above if self.city is not None else ZERO
        return city_part + sum((c.from_above for c in self.counties), ZERO)

    @property
    def to_underwriters(self) -> Decimal:
        return sum((c.to_underwriters for c in self.counties), ZERO)

    @property
    def held(self) -> Decimal:
        """Received from above and not (yet) with the underwriters (negative: paid ahead of the allocations)."""
        return self.from_above - self.to_underwriters


def _sums_by_level_and_region(year: int) -> dict[tuple[str, ShareLevel, int], Decimal]:
    """{(what, level, region id): amount} of the year's money of the fund levels, for `path`: received from above
    ("above"), passed on by the city ("from_city"), paid on the claims of a county ("paid"), advanced ("advanced"),
    refunded on settlements ("refunded"). One query (grouped sums), whatever the number of claims."""
    def part(what: str, level, region_id, amount, *clauses, joined=None):
        stmt = sa.select(sa.literal(what).label("what"), level.label("level"), region_id.label("region_id"),
                         sa.func.sum(amount).label("amount"))
        if joined is not None:
            stmt = stmt.join(*joined)
        return stmt.where(level.in_(FUND_LEVELS), *clauses).group_by(level, region_id)

    above = FundAllocation.from_region_id.is_(None)
    union = sa.union_all(
        part("above", FundAllocation.level, FundAllocation.to_region_id, FundAllocation.amount,
             FundAllocation.year == year, above),
        part("from_city", FundAllocation.level, FundAllocation.to_region_id, FundAllocation.amount,
             FundAllocation.year == year, ~above),
        part("paid", Payment.level, SubsidyClaim.region_id, Payment.amount, SubsidyClaim.year == year,
             joined=(SubsidyClaim, SubsidyClaim.id == Payment.claim_id)),
        part("advanced", Advance.level, Advance.region_id, Advance.amount, Advance.year == year),
        part("refunded", Settlement.level, Settlement.region_id, SettlementTransfer.amount, Settlement.year == year,
             Settlement.balance < 0, joined=(Settlement, Settlement.id == SettlementTransfer.settlement_id)),
    ).subquery()
    return {(what, ShareLevel(level), region_id): Decimal(amount).quantize(FEN)
            for what, level, region_id, amount in db.session.execute(sa.select(union))}


def path(year: int, county_id: int | None = None) -> list[LevelPath]:
    """Per level (central, provincial): the city's line and each county's (only `county_id`'s, without the city's,
    when given). Three queries (the city, the counties, the sums), whatever the number of claims."""
    the_city = city()
    counties = list(db.session.scalars(
        sa.select(Region).where(Region.level == RegionLevel.COUNTY,
                                sa.true() if county_id is None else Region.id == county_id)
        .order_by(Region.code)))
    sums = _sums_by_level_and_region(year)
    result = []
    for level in FUND_LEVELS:
        def amount(what: str, region_id: int, level=level) -> Decimal:
            return sums.get((what, level, region_id), ZERO)

        lines = [PathLine(c, amount("above", c.id), amount("from_city", c.id),
                          amount("paid", c.id) + amount("advanced", c.id) - amount("refunded", c.id))
                 for c in counties]
        city_line = None
        if county_id is None:
            passed_on = sum((v for (what, lvl, _r), v in sums.items() if what == "from_city" and lvl is level), ZERO)
            city_line = PathLine(the_city, amount("above", the_city.id), passed_on,
                                 sum((line.to_underwriters for line in lines), ZERO))
        result.append(LevelPath(level, city_line, lines))
    return result


def path_for(user, year: int) -> list[LevelPath]:
    """The path as `user` may read it: a county's users their county's lines (and the city's)."""
    return path(year, user.region_id if user.role.needs_county else None)
