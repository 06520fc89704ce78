"""Rules for reference data: insurers' credit codes and subsidy-scheme shares (R5, R6)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from agri_insurance.audit import service as audit
from agri_insurance.errors import DomainError, require
from agri_insurance.extensions import db
from agri_insurance.reference.codes import is_valid_credit_code
from agri_insurance.reference.models import (
    SHARE_LEVELS,
    Insurer,
    Product,
    ProductCategory,
    ProductKind,
    Region,
    SubsidyScheme,
)
from agri_insurance.reference.signals import insurer_identity_changing

HUNDRED = Decimal("100")
# Shares are stored as Numeric(7, 4): at most four decimal places.
PCT_QUANTUM = Decimal("0.0001")
# R5: city + county together subsidise 5 %–30 % of the premium of a central product.
LOCAL_SHARE_MIN = Decimal("5")
LOCAL_SHARE_MAX = Decimal("30")
# National rule for central products in central/western provinces: the province pays at least 25 %.
PROVINCIAL_SHARE_MIN = Decimal("25")
# R6: specialty insurance is subsidised 15 % by the city and 30 % by the county unless a reason is recorded.
SPECIALTY_CITY_DEFAULT = Decimal("15")
SPECIALTY_COUNTY_DEFAULT = Decimal("30")

# National central shares by product kind (central/western provinces such as Jiangxi): form defaults.
CENTRAL_SHARE_DEFAULTS = {
    ProductKind.PLANTING: Decimal("45"),
    ProductKind.LIVESTOCK: Decimal("50"),
    ProductKind.FORESTRY: Decimal("30"),
}


# --- insurers ---------------------------------------------------------------------------------

def normalise_credit_code(code: str) -> str:
    return (code or "").strip().upper()


def validate_credit_code(code: str) -> str:
    code = normalise_credit_code(code)
    require(len(code) == 18, _("统一社会信用代码应为18位"), "credit_code")
    require(is_valid_credit_code(code), _("统一社会信用代码校验位不正确"), "credit_code")
    return code


INSURER_FIELDS = ["name", "short_name", "credit_code", "parent_company", "contact_person", "contact_phone",
                  "address", "active"]


def save_insurer(insurer: Insurer | None, data: dict[str, Any], actor) -> Insurer:
    """Create (insurer None) or update an insurer from validated form data. Caller commits."""
    data = dict(data)
    data["credit_code"] = validate_credit_code(data["credit_code"])
    data["name"] = data["name"].strip()
    clash = db.session.scalar(
        sa.select(Insurer).where(
            sa.or_(Insurer.name == data["name"], Insurer.credit_code == data["credit_code"]),
            Insurer.id != (insurer.id if insurer else -1),
        )
    )
    if clash is not None:
        field = "name" if clash.name == data["name"] else "credit_code"
        raise DomainError(_("已有相同名称或信用代码的承保机构：%(name)s", name=clash.name), field)
    if insurer is not None and (data["name"], data["credit_code"]) != (insurer.name, insurer.credit_code):
        insurer_identity_changing.send(insurer, name=data["name"], credit_code=data["credit_code"])
    return _save(Insurer, insurer, data, INSURER_FIELDS, actor, "insurer", data["name"])


# --- regions and products ------------------------------------------------------------------------

REGION_FIELDS = ["code", "name", "name_en", "level", "parent_id", "bureau_contact"]
PRODUCT_FIELDS = ["code", "name", "name_en", "category", "kind", "unit", "household_limit", "active"]


def save_region(region: Region | None, data: dict[str, Any], actor) -> Region:
    code = (data.get("code") or "").strip()
    require(len(code) == 6 and code.isdigit(), _("行政区划代码应为6位数字"), "code")
    clash = db.session.scalar(sa.select(Region).where(Region.code == code, Region.id != (region.id if region else -1)))
    require(clash is None, _("行政区划代码 %(code)s 已存在", code=code), "code")
    if "bureau_contact" in data:
        data = {**data, "bureau_contact": (data["bureau_contact"] or "").strip() or None}
    return _save(Region, region, {**data, "code": code}, REGION_FIELDS, actor, "region", data["name"])


def save_product(product: Product | None, data: dict[str, Any], actor) -> Product:
    code = (data.get("code") or "").strip()
    clash = db.session.scalar(
        sa.select(Product).where(Product.code == code, Product.id != (product.id if product else -1))
    )
    require(clash is None, _("险种代码 %(code)s 已存在", code=code), "code")
    if product is not None and data.get("category") not in (None, product.category):
        # its schemes were checked against the old category's rules (R5, R6), and claims use them
        schemes = db.session.scalar(sa.select(sa.func.count(SubsidyScheme.id))
                                    .where(SubsidyScheme.product_id == product.id))
        require(not schemes, _("该险种已有 %(n)s 个补贴方案，不能再改变类别；请新建险种", n=schemes), "category")
    return _save(Product, product, {**data, "code": code}, PRODUCT_FIELDS, actor, "product", data["name"])


# --- subsidy schemes -------------------------------------------------------------------------------

SCHEME_FIELDS = ["product_id", "region_id", "year"] + [f"{lvl}_pct" for lvl in SHARE_LEVELS] + [
    "deviation_reason", "notes"]


def validate_shares(category: ProductCategory, shares: dict[str, Decimal], deviation_reason: str | None) -> None:
    """Raise DomainError unless the shares obey the policy rules for the product's category."""
    for level in SHARE_LEVELS:
        value = shares[level]
        # Checked before the sum: a fifth decimal would be rounded on storing and break the 100 % total.
        require(value.is_finite() and value == value.quantize(PCT_QUANTUM), _("比例最多保留4位小数"),
                f"{level}_pct")
        require(Decimal(0) <= value <= HUNDRED, _("各级分担比例应在0到100之间"), f"{level}_pct")
    total = sum((shares[level] for level in SHARE_LEVELS), Decimal(0))
    require(total == HUNDRED, _("各级分担比例合计应为100%%，当前为%(total)s%%", total=_pct(total)), "farmer_pct")
    local = shares["city"] + shares["county"]
    if category is ProductCategory.CENTRAL:
        require(
            LOCAL_SHARE_MIN <= local <= LOCAL_SHARE_MAX,
            _("中央政策性险种的市县补贴合计应在5%%至30%%之间，当前为%(local)s%%", local=_pct(local)),
            "city_pct",
        )
        require(
            shares["provincial"] >= PROVINCIAL_SHARE_MIN,
            _("中央政策性险种的省级补贴不应低于25%"),
            "provincial_pct",
        )
    else:
        is_default = shares["city"] == SPECIALTY_CITY_DEFAULT and shares["county"] == SPECIALTY_COUNTY_DEFAULT
        require(
            is_default or (deviation_reason or "").strip(),
            _("地方特色险种默认市级15%、县级30%，调整比例须填写理由"),
            "deviation_reason",
        )
        require(shares["central"] == 0, _("地方特色险种没有中央补贴"), "central_pct")


def _pct(value: Decimal) -> str:
    return f"{value.normalize():f}"


def save_scheme(scheme: SubsidyScheme | None, data: dict[str, Any], actor) -> SubsidyScheme:
    product = db.session.get(Product, data["product_id"])
    require(product is not None, _("请选择险种"), "product_id")
    shares = {level: Decimal(data[f"{level}_pct"]) for level in SHARE_LEVELS}
    validate_shares(product.category, shares, data.get("deviation_reason"))
    duplicate = db.session.scalar(
        sa.select(SubsidyScheme).where(
            SubsidyScheme.product_id == product.id,
            SubsidyScheme.year == data["year"],
            SubsidyScheme.region_id.is_(None) if data.get("region_id") is None
            else SubsidyScheme.region_id == data["region_id"],
            SubsidyScheme.id != (scheme.id if scheme else -1),
        )
    )
    require(duplicate is None, _("该险种、年度和地区的补贴方案已存在"), "year")
    return _save(SubsidyScheme, scheme, data, SCHEME_FIELDS, actor, "subsidy_scheme",
                 f"{product.name} {data['year']}")


def scheme_defaults(product: Product) -> dict[str, Decimal]:
    """Suggested shares for a new scheme: national central share, provincial 25 %, local per R5/R6."""
    zero = Decimal(0)
    if product.category is ProductCategory.SPECIALTY:
        return {"central": zero, "provincial": zero, "city": SPECIALTY_CITY_DEFAULT,
                "county": SPECIALTY_COUNTY_DEFAULT, "farmer": Decimal(55)}
    central = CENTRAL_SHARE_DEFAULTS.get(product.kind, Decimal(45))
    city, county = Decimal(5), Decimal(5)
    return {"central": central, "provincial": PROVINCIAL_SHARE_MIN, "city": city, "county": county,
            "farmer": HUNDRED - central - PROVINCIAL_SHARE_MIN - city - county}


# --- shared create/update with audit ---------------------------------------------------------------

def _save(model, obj, data: dict[str, Any], fields: list[str], actor, kind: str, title: str):
    values = {name: data[name] for name in fields if name in data}
    if obj is None:
        obj = model(**values)
        db.session.add(obj)
        db.session.flush()
        audit.record(actor, f"{kind}.created", obj, _l("新建：%(title)s", title=title), **values)
    else:
        diff = audit.changes(obj, list(values), values)
        for name, value in values.items():
            setattr(obj, name, value)
        db.session.flush()
        if diff:
            audit.record(actor, f"{kind}.updated", obj, _l("修改：%(title)s", title=title), changes=diff)
    return obj
