"""What changed in an open round's rules, lots or county limits: kept as data, shown in the reader's language.

A change to an open round invalidates the bids submitted so far (`tenders.signals.round_rules_changed`); the
bidders must see what changed before they re-confirm. The change travels with the announcement as a list of
items, plain JSON (a bid keeps it with its invalidation):

    {"kind": "rules", "fields": {"bid_deadline": [old, new], ...}}        a rule of the round edited
    {"kind": "lot_added", "lot": {...}, "fields": {"products": [None, ["rice"]], ...}}
    {"kind": "lot_changed", "lot": {...}, "fields": {"expected_premium": ["1000000.00", "2000000.00"], ...}}
    {"kind": "lot_deleted", "lot": {...}}
    {"kind": "county_limit", "region_id": 7, "fields": {"max_insurers": [3, 4]}}

where a lot is {"code", "name", "region_id"} and values are as `audit.changes` stores them (datetimes in ISO
form and naive UTC, Decimals as strings, products by code). Nothing is stored as text: `describe` words the
items for the reader (labels, local times, money, products and counties in the reader's language).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from agri_insurance.db_types import jsonable
from agri_insurance.extensions import db
from agri_insurance.i18n import join_names, with_note
from agri_insurance.reference.models import Product, Region

RULES = "rules"
LOT_ADDED = "lot_added"
LOT_CHANGED = "lot_changed"
LOT_DELETED = "lot_deleted"
COUNTY_LIMIT = "county_limit"

# What a new lot shows of itself (its other fields are in the round's lot list)
NEW_LOT_FIELDS = ("products", "expected_premium", "loss_ratio_pct", "townships")


# --- the items, built where the change is made (tenders.service) -------------------------------------------

def _lot_ref(lot) -> dict[str, Any]:
    return {"code": lot.code, "name": lot.name, "region_id": lot.region_id}


def rules_edited(diff: dict[str, list[Any]]) -> dict[str, Any]:
    """The round's rules changed: `diff` as `audit.changes` gives it ({field: [old, new]})."""
    return {"kind": RULES, "fields": jsonable(diff)}


def lot_added(lot) -> dict[str, Any]:
    values = {"products": sorted(p.code for p in lot.products),
              "expected_premium": lot.expected_premium, "loss_ratio_pct": lot.loss_ratio_pct,
              "townships": lot.townships}
    return {"kind": LOT_ADDED, "lot": _lot_ref(lot),
            "fields": jsonable({name: [None, values[name]] for name in NEW_LOT_FIELDS if values[name] is not None})}


def lot_changed(lot, diff: dict[str, list[Any]]) -> dict[str, Any]:
    """`lot` as it is now; `diff` its changed fields ({field: [old, new]}, products by code)."""
    return {"kind": LOT_CHANGED, "lot": _lot_ref(lot), "fields": jsonable(diff)}


def lot_deleted(lot) -> dict[str, Any]:
    return {"kind": LOT_DELETED, "lot": _lot_ref(lot)}


def county_limit_changed(region, old: int, new: int) -> dict[str, Any]:
    """A county's most insurers changed (an exception recorded or deleted)."""
    return {"kind": COUNTY_LIMIT, "region_id": region.id, "fields": {"max_insurers": [old, new]}}


# --- the items, worded for the reader -------------------------------------------------------------------------

@dataclass(frozen=True)
class FieldChange:
    label: str
    old: str | None   # None: a new lot's field, shown without "old → new"
    new: str


@dataclass(frozen=True)
class ChangeView:
    title: str
    fields: list[FieldChange]


def _text(value: Any) -> str:
    return "—" if value in (None, "") else str(value)


def _local_time(value: Any) -> str:
    if not value:
        return "—"
    try:
        return format_datetime(datetime.fromisoformat(str(value)), "yyyy-MM-dd HH:mm")
    except ValueError:
        return str(value)


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if value not in (None, "") else None
    except InvalidOperation:
        return None


def _money(value: Any) -> str:
    amount = _decimal(value)
    return "—" if amount is None else f"{amount:,.2f}"


def _pct(value: Any) -> str:
    amount = _decimal(value)
    return "—" if amount is None else f"{amount.normalize():f}%"


def _days(value: Any) -> str:
    return "—" if value is None else _("%(n)s 个工作日", n=value)


class _Names:
    """Counties and products named in the reader's language, each looked up once per `describe`."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        region_ids: set[int] = set()
        product_codes: set[str] = set()
        for item in items:
            if "region_id" in item:
                region_ids.add(item["region_id"])
            if "lot" in item:
                region_ids.add(item["lot"].get("region_id"))
            fields = item.get("fields") or {}
            for value in fields.get("region_id") or ():
                region_ids.add(value)
            for value in fields.get("products") or ():
                product_codes.update(value or ())
        region_ids.discard(None)
        self.regions = {r.id: r for r in db.session.scalars(sa.select(Region).where(Region.id.in_(region_ids)))} \
            if region_ids else {}
        self.products = {p.code: p for p in db.session.scalars(sa.select(Product).where(
            Product.code.in_(product_codes)))} if product_codes else {}

    def region(self, region_id: Any) -> str:
        region = self.regions.get(region_id)
        return region.label if region is not None else _text(region_id)

    def products_of(self, codes: Any) -> str:
        if codes is None:
            return "—"
        return join_names(self.products[c].label if c in self.products else c for c in codes) or "—"


Formatter = Callable[[Any, _Names], str]


def _plain(fmt: Callable[[Any], str]) -> Formatter:
    return lambda value, _names: fmt(value)


ROUND_FIELDS: dict[str, tuple[Any, Formatter]] = {
    "name": (_l("名称"), _plain(_text)),
    "term_start_year": (_l("服务期起始年度"), _plain(_text)),
    "bid_deadline": (_l("投标截止时间"), _plain(_local_time)),
    "opening_time": (_l("开标时间"), _plain(_local_time)),
    "notice_working_days": (_l("公示期"), _plain(_days)),
    "notice_short_reason": (_l("公示期缩短理由"), _plain(_text)),
    "min_insurers": (_l("每县承保机构下限"), _plain(_text)),
    "max_insurers": (_l("每县承保机构上限"), _plain(_text)),
    "market_share_cap_pct": (_l("单家市场份额上限"), _plain(_pct)),
    "contact": (_l("联系人及电话"), _plain(_text)),
    "notes": (_l("说明"), _plain(_text)),
}
LOT_FIELDS: dict[str, tuple[Any, Formatter]] = {
    "region_id": (_l("县（市、区）"), lambda value, names: names.region(value)),
    "code": (_l("标段编号"), _plain(_text)),
    "name": (_l("标段名称"), _plain(_text)),
    "products": (_l("险种"), lambda value, names: names.products_of(value)),
    "townships": (_l("乡镇"), _plain(_text)),
    "expected_premium": (_l("预计年保费（元）"), _plain(_money)),
    "loss_ratio_pct": (_l("历史赔付率"), _plain(_pct)),
    "notes": (_l("备注"), _plain(_text)),
}
LIMIT_FIELDS: dict[str, tuple[Any, Formatter]] = {
    "max_insurers": (_l("承保机构上限（家）"), _plain(_text)),
}


def _fields(changed: dict[str, Any], known: dict[str, tuple[Any, Formatter]], names: _Names,
            added: bool = False) -> list[FieldChange]:
    """The changed fields in the order the form shows them (`added`: a new lot's, without an old value); a
    field this version does not know is skipped."""
    shown = []
    for name, (label, fmt) in known.items():
        if name in changed:
            old, new = changed[name]
            shown.append(FieldChange(str(label), None if added else fmt(old, names), fmt(new, names)))
    return shown


def _lot_name(lot: dict[str, Any], names: _Names) -> str:
    return with_note(f"{lot.get('code', '')} {lot.get('name', '')}".strip(), names.region(lot.get("region_id")))


def describe(items: Iterable[dict[str, Any]] | None) -> list[ChangeView]:
    """The change items (see the module's docstring), worded for the reader; an item of an unknown kind is
    skipped (the invalidation's reason still says that something changed)."""
    items = [item for item in (items or []) if isinstance(item, dict)]
    names = _Names(items)
    views = []
    for item in items:
        kind, fields = item.get("kind"), item.get("fields") or {}
        if kind == RULES:
            views.append(ChangeView(_("修改遴选规则"), _fields(fields, ROUND_FIELDS, names)))
        elif kind == LOT_ADDED:
            views.append(ChangeView(_("新增标段：%(lot)s", lot=_lot_name(item["lot"], names)),
                                    _fields(fields, LOT_FIELDS, names, added=True)))
        elif kind == LOT_CHANGED:
            views.append(ChangeView(_("修改标段：%(lot)s", lot=_lot_name(item["lot"], names)),
                                    _fields(fields, LOT_FIELDS, names)))
        elif kind == LOT_DELETED:
            views.append(ChangeView(_("删除标段：%(lot)s", lot=_lot_name(item["lot"], names)), []))
        elif kind == COUNTY_LIMIT:
            views.append(ChangeView(_("县级承保机构上限：%(county)s", county=names.region(item.get("region_id"))),
                                    _fields(fields, LIMIT_FIELDS, names)))
    return views
