"""Premium subsidy rules: shares (R5, R6), who may claim, the claim workflow, payments, budgets, overdue (R7).

Rounding rule (split_premium is the one place shares are rounded):
1. The farmers' share is what they pay: the claim's farmer premium, which must be within a fen of the scheme's
   farmer percentage (premium × percent / 100, rounded half-up to the fen), because it must match what farmers
   actually paid, row by row in the underwriting list.
2. Each government level (central, provincial, city, county) gets premium × percent / 100 rounded half-up to
   the fen.
3. What is left over (at most a few fen, either way) goes to the government level with the largest percentage;
   on a tie the first of central, provincial, city, county. A level with 0 % so never owes a fen, and no share
   is negative (if taking back fen would push the largest level below zero, the next largest gives the rest).
So the government shares and the farmer premium always add up exactly to the claim's premium.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import current_app, g, has_app_context
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from agri_insurance import clock
from agri_insurance.access import scope_clause
from agri_insurance.actions import Action, Actions
from agri_insurance.audit import service as audit
from agri_insurance.clock import utcnow
from agri_insurance.db_types import FEN, MAX_MONEY, to_fen
from agri_insurance.errors import DomainError, require
from agri_insurance.extensions import db, lock_for_update
from agri_insurance.i18n import join_sentences, pick
from agri_insurance.reference.models import Insurer, Product, Region, RegionLevel, SubsidyScheme
from agri_insurance.roles import CITY_ROLES, Role
from agri_insurance.subsidies.models import (
    COMMITTED,
    GOVERNMENT_LEVELS,
    LEVEL_LABELS,
    LOCAL_LEVELS,
    Advance,
    Budget,
    ClaimShare,
    ClaimStatus,
    Payment,
    ShareLevel,
    SubsidyClaim,
    SubsidyYear,
    UnderwritingAssignment,
)
from agri_insurance.subsidies.signals import (
    claim_actions,
    claim_list_actions,
    claim_scope_changing,
    claim_submitting,
    claim_verifying,
    draft_changing,
    draft_deleting,
)

HUNDRED = Decimal(100)
ZERO = Decimal("0.00")
OPINION_MAX = 2000  # characters of a verification opinion, as of a return's reason


# --- shares ---------------------------------------------------------------------------------------

def split_premium(premium: Decimal, pcts: dict[ShareLevel, Decimal],
                  farmer: Decimal | None = None) -> dict[ShareLevel, Decimal]:
    """Amounts per level for `premium` (see the module docstring for the rounding rule).

    `farmer`: what the farmers pay (the claim's farmer premium, between 0 and the premium); None: their share
    by the scheme. The government levels share exactly the rest.
    """
    amounts = {level: to_fen(premium * pcts[level] / HUNDRED) for level in GOVERNMENT_LEVELS}
    amounts[ShareLevel.FARMER] = to_fen(premium * pcts[ShareLevel.FARMER] / HUNDRED) if farmer is None else farmer
    remainder = premium - sum(amounts.values(), ZERO)
    # Largest percentage first; sorted() is stable, so ties keep the order central, provincial, city, county.
    absorbers = sorted(GOVERNMENT_LEVELS, key=lambda level: -pcts[level])
    if remainder > 0:
        amounts[absorbers[0]] += remainder
    for level in absorbers:  # a negative remainder is taken back, largest level first, never below zero
        if remainder >= 0:
            break
        taken = min(amounts[level], -remainder)
        amounts[level] -= taken
        remainder += taken
    return {level: amounts[level] for level in ShareLevel}


def applicable_scheme(product_id: int, region_id: int, year: int) -> SubsidyScheme | None:
    """The county's own scheme for the product and year, else the city-wide one."""
    schemes = db.session.scalars(sa.select(SubsidyScheme).where(
        SubsidyScheme.product_id == product_id, SubsidyScheme.year == year,
        sa.or_(SubsidyScheme.region_id == region_id, SubsidyScheme.region_id.is_(None)),
    )).all()
    return min(schemes, key=lambda s: s.region_id is None, default=None)


def scheme_pcts(scheme: SubsidyScheme) -> dict[ShareLevel, Decimal]:
    return {level: getattr(scheme, f"{level.value}_pct") for level in ShareLevel}


# --- who may claim ----------------------------------------------------------------------------------

def _assignments_for(insurer_id: int, region_id: int, product_id: int, year: int):
    UA = UnderwritingAssignment
    return sa.select(UA).where(UA.insurer_id == insurer_id, UA.region_id == region_id, UA.product_id == product_id,
                               UA.start_year <= year, UA.end_year >= year)


def may_claim(insurer_id: int, region_id: int, product_id: int, year: int, on: date | None = None) -> bool:
    """An insurer claims only for a (county, product) it underwrites in that year, on a day (`on`, default today)
    within the assignment's dates, if it has any: an award changed mid-term (awards: 终止 / 替补) ends the old
    underwriter's assignment the day before the change takes effect and starts the new one's on that day."""
    return claim_refusal(insurer_id, region_id, product_id, year, on) is None


def claim_refusal(insurer_id: int, region_id: int, product_id: int, year: int, on: date | None = None) -> str | None:
    """Why the insurer may not claim for the county, product and year on day `on` (default today), in words, or
    None when it may. Two queries at most."""
    on = on or clock.local_today()
    rows = db.session.scalars(_assignments_for(insurer_id, region_id, product_id, year)).all()
    if any((a.starts_on is None or a.starts_on <= on) and (a.ends_on is None or on <= a.ends_on) for a in rows):
        return None
    ended = max((a.ends_on for a in rows if a.ends_on is not None and a.ends_on < on), default=None)
    if ended is not None:
        return _("贵机构在该县（市、区）此险种的中标已变更，承保资格于%(day)s终止，此后不能再申请%(year)s年度的补贴",
                 day=ended.isoformat(), year=year)
    starts = min((a.starts_on for a in rows if a.starts_on is not None and a.starts_on > on), default=None)
    if starts is not None:
        return _("贵机构在该县（市、区）此险种的承保资格自%(day)s起生效，届时方可申请补贴", day=starts.isoformat())
    return _("贵机构在该县（市、区）%(year)s年度不承保此险种，不能申请补贴", year=year)


def lock_assignments(insurer_id: int, region_id: int, product_id: int) -> None:
    """Wait for a change of the insurer's assignments for the county and product being committed (an award
    terminated mid-term updates them), so the check that follows reads what it committed: a claim and a change
    at once have one outcome, in one order. PostgreSQL row locks (FOR SHARE); SQLite has one writer anyway."""
    UA = UnderwritingAssignment
    db.session.execute(sa.select(UA.id).where(UA.insurer_id == insurer_id, UA.region_id == region_id,
                                              UA.product_id == product_id).with_for_update(read=True))


def holds_assignment_in(insurer_id: int, region_id: int) -> bool:
    """Whether the insurer underwrites anything in the county, any year."""
    return db.session.scalar(sa.select(UnderwritingAssignment.id).where(
        UnderwritingAssignment.insurer_id == insurer_id, UnderwritingAssignment.region_id == region_id,
    ).limit(1)) is not None


@dataclass
class ClaimScopes:
    """What a claim form offers an insurer: the counties, products and years of its underwriting assignments,
    and which combinations hold (`combos`: region id, product id, first and last year), for the page to narrow
    the products to the county and year chosen."""

    counties: list[Region]
    products: list[Product]
    years: list[int]
    combos: list[tuple[int, int, int, int]]


def claim_scopes(insurer_id: int) -> ClaimScopes:
    assignments = db.session.scalars(sa.select(UnderwritingAssignment).where(
        UnderwritingAssignment.insurer_id == insurer_id)).all()
    counties = sorted({a.region for a in assignments}, key=lambda r: r.code)
    products = sorted({a.product for a in assignments}, key=lambda p: (p.category.value, p.code))
    years = sorted({year for a in assignments for year in range(a.start_year, a.end_year + 1)})
    combos = sorted((a.region_id, a.product_id, a.start_year, a.end_year) for a in assignments)
    return ClaimScopes(counties, products, years, combos)


def save_assignment(data: dict[str, Any], actor) -> UnderwritingAssignment:
    require(data["end_year"] >= data["start_year"], _("结束年度不能早于开始年度"), "end_year")
    region = db.session.get(Region, data["region_id"])
    require(region is not None and region.level is RegionLevel.COUNTY, _("请选择县（市、区）"), "region_id")
    overlap = db.session.scalar(sa.select(UnderwritingAssignment).where(
        UnderwritingAssignment.insurer_id == data["insurer_id"],
        UnderwritingAssignment.region_id == data["region_id"],
        UnderwritingAssignment.product_id == data["product_id"],
        UnderwritingAssignment.start_year <= data["end_year"],
        UnderwritingAssignment.end_year >= data["start_year"]))
    require(overlap is None, _("该机构在此县此险种已有重叠年度的承保安排"), "start_year")
    assignment = UnderwritingAssignment(**{k: data[k] for k in (
        "insurer_id", "region_id", "product_id", "start_year", "end_year", "notes")}, source="manual")
    db.session.add(assignment)
    db.session.flush()
    audit.record(actor, "assignment.created", assignment,
                 _l("登记承保安排：%(insurer)s %(county)s %(product)s %(start)s–%(end)s",
                   insurer=assignment.insurer.short_name, county=assignment.region.name,
                   product=assignment.product.name, start=assignment.start_year, end=assignment.end_year))
    return assignment


def delete_assignment(assignment: UnderwritingAssignment, actor) -> None:
    used = db.session.scalar(sa.select(SubsidyClaim.id).where(
        SubsidyClaim.insurer_id == assignment.insurer_id, SubsidyClaim.region_id == assignment.region_id,
        SubsidyClaim.product_id == assignment.product_id,
        SubsidyClaim.year.between(assignment.start_year, assignment.end_year)).limit(1))
    require(used is None, _("已有补贴申请依据此承保安排，不能删除"))
    audit.record(actor, "assignment.deleted", assignment, _l("删除承保安排"),
                 insurer_id=assignment.insurer_id, region_id=assignment.region_id,
                 product_id=assignment.product_id, start_year=assignment.start_year, end_year=assignment.end_year)
    db.session.delete(assignment)


# --- the claim's life -------------------------------------------------------------------------------

C = ClaimStatus
# The whole state machine in one table: from-status → the statuses it may move to. A returned claim stays as it
# is (the insurer files a new claim for the period); payments move a verified claim on until the city and county
# shares are paid.
CLAIM_TRANSITIONS: dict[ClaimStatus, frozenset[ClaimStatus]] = {
    C.DRAFT: frozenset({C.SUBMITTED}),
    C.SUBMITTED: frozenset({C.VERIFIED, C.RETURNED}),
    C.RETURNED: frozenset(),
    C.VERIFIED: frozenset({C.PAYING}),
    C.PAYING: frozenset({C.SETTLED}),
    C.SETTLED: frozenset(),
}
# The insurer's own work until it is submitted: edited, given its documents (the underwriting list), deleted.
EDITABLE = frozenset({C.DRAFT})
# A claim takes payments once verified; a settled claim (local shares paid) still takes the central and
# provincial shares passed on later.
PAYABLE = frozenset(COMMITTED)


def may_move(claim: SubsidyClaim, target: ClaimStatus) -> bool:
    return target in CLAIM_TRANSITIONS[claim.status]


def is_editable(claim: SubsidyClaim) -> bool:
    return claim.status in EDITABLE


def transition(claim: SubsidyClaim, target: ClaimStatus, actor, action: str | None = None, summary=None, *,
               values: dict[str, Any] | None = None, **details: Any) -> None:
    """Move `claim` to `target` if CLAIM_TRANSITIONS allows it, writing `values` (the fields the new status needs,
    which the database checks with it: who verified and when, why it was returned); otherwise DomainError.

    The caller holds the claim's row lock (lock_for_update), taken before it checked its own rules: a second
    request moving the same claim at once (a verification and a return) waits for this one's commit and then
    finds the claim moved. Audited as `action` with `summary` (a lazy string, see audit.record) and `details`;
    a move that is part of another audited change (the first payment makes a verified claim "paying") passes no
    action: that change's entry records it."""
    if not may_move(claim, target):
        raise DomainError(_("补贴申请当前状态为“%(current)s”，不能变更为“%(target)s”",
                            current=claim.status.label, target=target.label))
    for key, value in {**(values or {}), "status": target}.items():
        setattr(claim, key, value)
    if action is not None:
        audit.record(actor, action, claim, summary, **details)


def payment_levels(claim: SubsidyClaim, user) -> list[ShareLevel]:
    """The levels `user` may record a payment for on `claim` now: its own levels with something outstanding."""
    if claim.status not in PAYABLE or (user.role is Role.COUNTY_FINANCE and user.region_id != claim.region_id):
        return []
    return [level for level in payable_levels(user)
            if claim.share(level) is not None and claim.share(level).outstanding > 0]


def available_actions(claim: SubsidyClaim, user) -> Actions:
    """What `user` may do on `claim` now: the transition table and the rules the views enforce (an insurer on its
    own drafts, the county bureau on its county's submitted claims, each finance bureau on its levels), plus what
    other modules offer on a claim (signals.claim_actions: underwriting's list page)."""
    params = {"claim_id": claim.id}
    actions = []
    if user.role is Role.INSURER and user.insurer_id == claim.insurer_id and is_editable(claim):
        actions.append(Action("edit", _l("修改"), "subsidies.edit_claim", params, style="outline-primary", order=10))
        if may_move(claim, C.SUBMITTED):
            actions.append(Action("submit", _l("提交申请"), "subsidies.submit_claim", params, post=True,
                                  style="success", element_id="submit-claim", order=20))
        actions.append(Action("delete", _l("删除草稿"), "subsidies.delete_claim", params, post=True,
                              style="outline-danger", confirm=_l("删除这份草稿及其承保清单？删除后不能恢复。"), order=30))
    if may_file_again(claim, user):   # with the returned claim's choices and figures, to correct
        actions.append(Action("file-again", _l("修改后重新申报"), "subsidies.new_claim", {"from_claim": claim.id},
                              style="success", element_id="file-again", order=20))
    if user.role is Role.COUNTY_AGRI and user.region_id == claim.region_id:
        if may_move(claim, C.VERIFIED):
            actions.append(Action("verify", _l("核验通过"), "subsidies.verify_claim", params, post=True,
                                  style="success", element_id="verify-claim", order=40))
        if may_move(claim, C.RETURNED):
            actions.append(Action("return", _l("退回"), "subsidies.return_claim", params, post=True,
                                  style="outline-danger", order=50))
    if payment_levels(claim, user):
        actions.append(Action("pay", _l("确认拨付"), "subsidies.add_payment", params, post=True, style="success",
                              element_id="confirm-payment", order=60))
    if claim.was_submitted:   # anyone who may read the claim may print its sheet (the view checks who that is)
        actions.append(Action("verification-sheet", _l("核验单"), "subsidies.verification_sheet", params,
                              element_id="verification-sheet", order=80))
    return Actions([*actions, *claim_actions.collect(claim, user=user)])


def list_actions(user, year: int | None = None) -> Actions:
    """What `user` may start from the claims list: an insurer files a new claim and downloads its statement; other
    modules offer more (signals.claim_list_actions: underwriting's new claim from an underwriting list)."""
    actions = []
    if user.role is Role.INSURER:
        actions += [
            Action("statement", _l("下载对账单"), "subsidies.statement_xlsx", {"year": year or ""}, order=10),
            Action("new", _l("新建申请"), "subsidies.new_claim", style="success", order=20),
        ]
    return Actions([*actions, *claim_list_actions.collect(None, user=user)])


# --- claims -----------------------------------------------------------------------------------------

CLAIM_FIELDS = ("region_id", "product_id", "year", "period", "quantity", "unit", "sum_insured", "premium_rate",
                "total_premium", "farmer_premium", "households", "list_rows", "notes")
# What the claim is for: documents filed for it (its underwriting list, whose rows carry the product and year and
# were collected in the county) do not carry over to another county, product or year.
SCOPE_FIELDS = ("region_id", "product_id", "year")
MONEY_FIELDS = ("quantity", "sum_insured", "premium_rate", "total_premium", "farmer_premium")


def require_amount(value: Decimal | None, field: str) -> None:
    """Refuse NaN, ±Infinity (Decimal parses them) and amounts no Money column holds, naming the field."""
    if value is None:
        return
    require(value.is_finite(), _("应为数字"), field)
    require(abs(value) <= MAX_MONEY, _("数值过大"), field)


def save_claim(claim: SubsidyClaim | None, data: dict[str, Any], insurer: Insurer, actor,
               notices: list | None = None, corrects: SubsidyClaim | None = None) -> SubsidyClaim:
    """Create or edit a draft claim after checking every rule; computes its shares. Caller commits.

    `notices`: filled with what other modules say the edit did beyond the claim (a list dropped with the old
    county, product or year), for the page to tell the user. `corrects`: the returned claim a new claim files
    again."""
    if claim is not None:
        # an edit must not land on a claim submitted (or deleted) meanwhile from another tab
        claim = _lock_draft(claim, _("只有草稿可以修改"), actor)
    data, scheme, amounts = _checked_claim(data, insurer, claim)

    if claim is None:
        _require_correctable(corrects.id if corrects is not None else None, insurer)
        claim = SubsidyClaim(insurer_id=insurer.id, created_by_id=actor.id, status=ClaimStatus.DRAFT,
                             corrects_id=corrects.id if corrects is not None else None, **data)
        db.session.add(claim)
        action = "claim.created"
    else:
        changes = audit.changes(claim, list(data), data)
        if any(key in changes for key in SCOPE_FIELDS):
            # A list for another county, product or year must not be submitted as this claim's: it goes now,
            # in this transaction, and the insurer uploads the right one (the page says so).
            dropped = claim_scope_changing.collect(claim, actor=actor, changes=changes)
            if notices is not None:
                notices.extend(dropped)
        for key, value in data.items():
            setattr(claim, key, value)
        action = "claim.updated"
    claim.scheme_id = scheme.id
    _set_shares(claim, scheme, amounts)
    db.session.flush()
    details = {"premium": data["total_premium"]} if action == "claim.created" else {"changes": changes}
    if action == "claim.created" and claim.corrects_id is not None:
        details["corrects"] = claim.corrects_id
    summary = _l("新建补贴申请：%(title)s", title=claim.title) if action == "claim.created" \
        else _l("修改补贴申请：%(title)s", title=claim.title)
    audit.record(actor, action, claim, summary, **details)
    return claim


def _checked_claim(data: dict[str, Any], insurer: Insurer, claim: SubsidyClaim | None
                   ) -> tuple[dict[str, Any], SubsidyScheme, dict[ShareLevel, Decimal]]:
    """Every rule a draft's figures obey (`claim`: the draft being edited, None for a new one): the claim's fields
    (period trimmed), the scheme in force and the shares. DomainError naming the field otherwise."""
    data = {k: data.get(k) for k in CLAIM_FIELDS}
    data["period"] = (data["period"] or "").strip()
    require(data["period"], _("请填写申请期间"), "period")
    _require_scope(data, insurer)
    product = db.session.get(Product, data["product_id"])
    for key in MONEY_FIELDS:
        require_amount(data[key], key)
    require(data["quantity"] is not None and data["quantity"] > 0, _("承保数量必须大于0"), "quantity")
    require(data["total_premium"] is not None and data["total_premium"] > 0, _("保费必须大于0"),
            "total_premium")
    require(data["sum_insured"] is not None and data["sum_insured"] > 0, _("保险金额必须大于0"), "sum_insured")
    for key in ("sum_insured", "total_premium", "farmer_premium"):
        require(data[key] is None or data[key] == to_fen(data[key]), _("最多两位小数"), key)
    farmer = data["farmer_premium"]
    require(farmer is not None and farmer >= 0, _("不能为负数"), "farmer_premium")
    require(farmer <= data["total_premium"], _("农户自缴保费不能大于保费"), "farmer_premium")
    expected = data["sum_insured"] * data["premium_rate"] / HUNDRED
    require(abs(expected - data["total_premium"]) <= FEN,
            _("保费应等于保险金额×费率（%(expected)s 元），相差不得超过1分", expected=f"{to_fen(expected):,.2f}"),
            "total_premium")
    scheme, amounts = _scheme_and_shares(product.id, data["region_id"], data["year"], data["total_premium"], farmer)
    _require_free_period(data, insurer, claim)
    return data, scheme, amounts


def _require_scope(data: dict[str, Any], insurer: Insurer) -> None:
    """The county, product and year are ones the insurer underwrites (its underwriting assignments): the form
    offers no other, and a post naming another county is refused here, naming the field."""
    require(data.get("region_id") is not None and holds_assignment_in(insurer.id, data["region_id"]),
            _("贵机构在所选县（市、区）没有承保安排，只能为承保安排中的县（市、区）申请补贴"), "region_id")
    require(data.get("product_id") is not None and db.session.get(Product, data["product_id"]) is not None,
            _("请选择险种"), "product_id")
    require(data.get("year") is not None, _("请填写年度"), "year")
    refusal = claim_refusal(insurer.id, data["region_id"], data["product_id"], data["year"])
    require(refusal is None, refusal, "product_id")


def _require_free_period(data: dict[str, Any], insurer: Insurer, claim: SubsidyClaim | None) -> None:
    duplicate = db.session.scalar(sa.select(SubsidyClaim.id).where(
        SubsidyClaim.insurer_id == insurer.id, SubsidyClaim.region_id == data["region_id"],
        SubsidyClaim.product_id == data["product_id"], SubsidyClaim.year == data["year"],
        SubsidyClaim.period == data["period"], SubsidyClaim.status != ClaimStatus.RETURNED,
        SubsidyClaim.id != (claim.id if claim else -1)))
    require(duplicate is None, _("该县、险种、期间已有补贴申请（编号 %(id)s），退回后才能重新申请", id=duplicate),
            "period")


# --- a claim whose figures come from its underwriting list ----------------------------------------------

# Filled in by the list (its totals): the rest of a claim the insurer chooses or types.
LIST_FIGURES = ("quantity", "sum_insured", "total_premium", "farmer_premium", "households", "list_rows")
# What the draft holds while its list is read, in the same transaction: the database's checks accept it, no page
# ever shows it (the transaction ends with the list's figures in its place, or rolls back with the list).
_PLACEHOLDER = {"quantity": Decimal("1"), "sum_insured": Decimal("1.00"), "total_premium": Decimal("1.00"),
                "farmer_premium": ZERO, "households": 0, "list_rows": 0}


def check_claim_from_list(data: dict[str, Any], insurer: Insurer) -> dict[str, Any]:
    """What a claim from its underwriting list can be checked for before the list is read (county, product and
    year the insurer underwrites, a scheme in force, the period still free, the rate, the returned claim it files
    again if any: `corrects_id`): the checked choices. DomainError naming the field otherwise."""
    data = {k: data.get(k) for k in ("region_id", "product_id", "year", "period", "premium_rate", "notes",
                                     "corrects_id")}
    data["period"] = (data["period"] or "").strip()
    require(data["period"], _("请填写申请期间"), "period")
    _require_scope(data, insurer)
    _require_correctable(data["corrects_id"], insurer)
    rate = data["premium_rate"]
    require_amount(rate, "premium_rate")
    require(rate is not None and ZERO < rate <= HUNDRED, _("费率应大于0且不超过100"), "premium_rate")
    require(applicable_scheme(data["product_id"], data["region_id"], data["year"]) is not None,
            _("%(year)s年度尚无该险种的补贴方案", year=data["year"]), "year")
    _require_free_period(data, insurer, None)
    return data


def start_claim_from_list(data: dict[str, Any], insurer: Insurer, actor) -> SubsidyClaim:
    """The first half of a claim whose figures come from its underwriting list (underwriting imports the list
    in the same transaction, then calls `complete_claim_from_list`): the choices checked, the draft added so the
    list can belong to it. Its figures are a placeholder until then and nothing is audited: if the list fails,
    the caller rolls back and the claim never existed. Caller commits."""
    data = check_claim_from_list(data, insurer)
    product = db.session.get(Product, data["product_id"])
    claim = SubsidyClaim(insurer_id=insurer.id, created_by_id=actor.id, status=ClaimStatus.DRAFT,
                         unit=product.unit, **data, **_PLACEHOLDER)
    db.session.add(claim)
    db.session.flush()
    return claim


def complete_claim_from_list(claim: SubsidyClaim, figures: dict[str, Any], actor) -> SubsidyClaim:
    """The second half: the claim takes the list's totals (`figures`: LIST_FIGURES, as the list adds them up,
    already to the fen) and every rule of a typed claim is checked on them; its shares are computed as for any
    claim. Audited as the claim's creation. DomainError (the caller rolls back the claim and its list)."""
    data = {**{k: getattr(claim, k) for k in CLAIM_FIELDS}, **{k: figures[k] for k in LIST_FIGURES}}
    try:
        data, scheme, amounts = _checked_claim(data, claim.insurer, claim)
    except DomainError as e:
        raise DomainError(_("按清单合计新建申请未成功，未保存任何数据：%(msg)s", msg=e.message), e.field) from e
    for key in LIST_FIGURES:
        setattr(claim, key, data[key])
    claim.scheme_id = scheme.id
    _set_shares(claim, scheme, amounts)
    db.session.flush()
    audit.record(actor, "claim.created", claim, _l("按承保清单新建补贴申请：%(title)s", title=claim.title),
                 premium=claim.total_premium, from_list=True,
                 **({"corrects": claim.corrects_id} if claim.corrects_id is not None else {}))
    return claim


def _scheme_and_shares(product_id: int, region_id: int, year: int, premium: Decimal,
                       farmer: Decimal) -> tuple[SubsidyScheme, dict[ShareLevel, Decimal]]:
    """The scheme in force for the claim and its shares of `premium`; the farmer premium must match it."""
    scheme = applicable_scheme(product_id, region_id, year)
    require(scheme is not None, _("%(year)s年度尚无该险种的补贴方案", year=year), "year")
    pcts = scheme_pcts(scheme)
    expected_farmer = split_premium(premium, pcts)[ShareLevel.FARMER]
    # A fen of leeway (the list's rows are rounded one by one), unless no government level pays anything.
    leeway = FEN if any(pcts[level] > 0 for level in GOVERNMENT_LEVELS) else ZERO
    require(abs(farmer - expected_farmer) <= leeway,
            _("农户自缴保费应为 %(expected)s 元（按补贴方案计算），相差不得超过1分",
              expected=f"{expected_farmer:,.2f}"), "farmer_premium")
    # The farmers' share is the farmer premium as entered (what they paid, as the list shows); the government
    # levels share premium − farmer premium. Shares computed from the scheme's farmer share instead could
    # leave the government shares and the farmer premium a fen above or below the premium.
    return scheme, split_premium(premium, pcts, farmer=farmer)


def _set_shares(claim: SubsidyClaim, scheme: SubsidyScheme, amounts: dict[ShareLevel, Decimal]) -> None:
    pcts = scheme_pcts(scheme)
    existing = {s.level: s for s in claim.shares}
    for level in ShareLevel:
        share = existing.get(level)
        if share is None:
            claim.shares.append(ClaimShare(level=level, pct=pcts[level], amount=amounts[level], paid=ZERO))
        else:
            share.pct, share.amount = pcts[level], amounts[level]


def submit_claim(claim: SubsidyClaim, actor) -> None:
    # Locked: an import job re-checks the claim under the same lock before it stores a list, so the list checked
    # here is the one the claim is submitted with.
    claim = _lock_draft(claim, _("只有草稿可以提交"), actor)
    require_open_year(claim.year)
    lock_assignments(claim.insurer_id, claim.region_id, claim.product_id)
    refusal = claim_refusal(claim.insurer_id, claim.region_id, claim.product_id, claim.year)
    require(refusal is None, refusal)
    # The shares as the scheme in force now says (it may have changed, or a county scheme been added, since the
    # draft was saved): a claim goes to the finance bureaus with the shares they will be asked to pay.
    scheme, amounts = _scheme_and_shares(claim.product_id, claim.region_id, claim.year, claim.total_premium,
                                         claim.farmer_premium)
    claim.scheme_id = scheme.id
    _set_shares(claim, scheme, amounts)
    # What must go with a submitted claim (its underwriting list, checked against the claim's figures as they are
    # now: the claim may have been edited since the list was imported); a listener refuses otherwise.
    claim_submitting.send(claim, actor=actor)
    transition(claim, C.SUBMITTED, actor, "claim.submitted", _l("提交补贴申请：%(t)s", t=claim.title),
               values={"submitted_at": utcnow()}, premium=claim.total_premium)


# --- a returned claim, filed again ---------------------------------------------------------------------------

def follows(later, earlier) -> sa.ColumnElement[bool]:
    """`later` (a SubsidyClaim class or alias) files `earlier` (a class, alias or instance) again: it names it
    (filed from the returned claim's page, whatever it changed), or it is a later claim of its insurer for the same
    county, product, year and period (one typed afresh)."""
    return sa.or_(later.corrects_id == earlier.id, sa.and_(
        later.id > earlier.id, later.insurer_id == earlier.insurer_id, later.region_id == earlier.region_id,
        later.product_id == earlier.product_id, later.year == earlier.year, later.period == earlier.period))


def filed_again_as(claim: SubsidyClaim) -> SubsidyClaim | None:
    """The claim its insurer filed after `claim` was returned (the latest one); None while the returned claim
    still waits to be corrected, and for a claim not returned."""
    if claim.status is not C.RETURNED:
        return None
    return db.session.scalar(sa.select(SubsidyClaim).where(follows(SubsidyClaim, claim))
                             .order_by(SubsidyClaim.id.desc()).limit(1))


def returned_before(claim: SubsidyClaim) -> list[SubsidyClaim]:
    """The returned claims `claim` files again (oldest first): what it corrects, and why they came back. One
    query."""
    earlier = sa.orm.aliased(SubsidyClaim)
    return list(db.session.scalars(sa.select(earlier).where(earlier.status == C.RETURNED, earlier.id < claim.id,
                                                            follows(claim, earlier)).order_by(earlier.id)))


def _require_correctable(corrects_id: int | None, insurer: Insurer) -> None:
    """A new claim that files a returned claim again names one of the insurer's returned claims still waiting.
    The returned claim's row is locked first: of two filings at once (two tabs, two list imports), the second waits
    for the first's commit and finds the claim filed again."""
    if corrects_id is None:
        return
    returned = db.session.get(SubsidyClaim, corrects_id)
    if returned is not None:
        returned = lock_for_update(returned)
    require(returned is not None and returned.insurer_id == insurer.id and returned.status is C.RETURNED
            and filed_again_as(returned) is None,
            _("补贴申请 #%(id)s 不是本机构待重新申报的退回申请", id=corrects_id))


def may_file_again(claim: SubsidyClaim, user) -> bool:
    """Whether `user` may file `claim` again, corrected: its insurer, once the county bureau returned it and until
    it is filed again (`follows`; the returned claim itself stays as it was)."""
    return (user.role is Role.INSURER and user.insurer_id == claim.insurer_id and claim.status is C.RETURNED
            and filed_again_as(claim) is None)


def _lock_draft(claim: SubsidyClaim, not_a_draft: str, actor) -> SubsidyClaim:
    """The draft, locked, that no other module holds back (refused with `not_a_draft` once it is not a draft).

    The other modules are asked before the lock too (signals.draft_changing): on PostgreSQL a running list
    import's new list holds a share lock on the claim's row (its foreign key) until the job commits, so the lock
    would wait for the whole import. And after it: an upload may have started in between."""
    draft_changing.send(claim, actor=actor)
    claim = lock_for_update(claim)
    require(is_editable(claim), not_a_draft)
    draft_changing.send(claim, actor=actor)
    return claim


def delete_draft(claim: SubsidyClaim, actor) -> None:
    """Delete a draft claim and what other modules hold on it (its underwriting list), if any. Caller commits."""
    claim = _lock_draft(claim, _("只有草稿可以删除"), actor)
    draft_deleting.send(claim, actor=actor)
    audit.record(actor, "claim.deleted", claim, _l("删除补贴申请草稿：%(t)s", t=claim.title))
    db.session.delete(claim)


@dataclass
class BudgetCheck:
    region: Region
    level: ShareLevel
    budget: Decimal
    committed: Decimal   # verified shares of the year so far, paid or not
    this_claim: Decimal

    @property
    def exceeds(self) -> bool:
        return self.committed + self.this_claim > self.budget

    @property
    def remaining_after(self) -> Decimal:
        return self.budget - self.committed - self.this_claim


class OverBudget(DomainError):
    """Verifying would exceed a level's budget: the verifier must confirm (a warning, not an error: the page
    offers the confirmation)."""

    category = "warning"

    def __init__(self, checks: list[BudgetCheck]) -> None:
        parts = [_("%(region)s补贴预算 %(budget)s 元，已承诺 %(committed)s 元，本申请 %(claim)s 元，将超出 %(over)s 元",
                   region=c.region.name, budget=f"{c.budget:,.2f}", committed=f"{c.committed:,.2f}",
                   claim=f"{c.this_claim:,.2f}", over=f"{-c.remaining_after:,.2f}") for c in checks]
        super().__init__(_("超出预算：%(msg)s。如确需核验，请勾选“已知悉超出预算”后再次核验。", msg=join_sentences(parts)))
        self.checks = checks


def budget_checks(claim: SubsidyClaim, lock: bool = False) -> list[BudgetCheck]:
    """The city's and the county's budget position if this claim were verified (levels with a budget only).
    `lock`: lock the budgets first (verification), so two claims verified at once are checked one after the
    other: each would otherwise see the budget without the other and both pass without the confirmation."""
    city = db.session.scalar(sa.select(Region).where(Region.level == RegionLevel.CITY))
    checks = []
    for level, region in ((ShareLevel.COUNTY, claim.region), (ShareLevel.CITY, city)):
        if region is None:
            continue
        budget = db.session.scalar(sa.select(Budget).where(Budget.year == claim.year,
                                                           Budget.region_id == region.id))
        if budget is None:
            continue
        if lock:
            budget = lock_for_update(budget)
        checks.append(BudgetCheck(region, level, budget.amount, committed_amount(level, claim.year, region),
                                  claim.share(level).amount))
    return checks


def committed_amount(level: ShareLevel, year: int, region: Region) -> Decimal:
    """Sum of `level` shares of verified (paid or not) claims of the year, for the county or the whole city."""
    stmt = sa.select(sa.func.coalesce(sa.func.sum(ClaimShare.amount), 0)).join(SubsidyClaim).where(
        ClaimShare.level == level, SubsidyClaim.year == year, SubsidyClaim.status.in_(COMMITTED))
    if region.level is RegionLevel.COUNTY:
        stmt = stmt.where(SubsidyClaim.region_id == region.id)
    return Decimal(db.session.scalar(stmt))


def verify_claim(claim: SubsidyClaim, actor, opinion: str | None, confirm_over_budget: bool = False,
                 flags_reviewed: bool = False) -> list[BudgetCheck]:
    """The county bureau verifies a submitted claim, giving its opinion (核验意见, printed on the verification sheet
    it signs and seals); payments then fall due (R7).

    Other modules check their part first (signals.claim_verifying): rows the underwriting list's cross-checks
    flagged (double insurance, household limit) must be looked at, and the verifier confirms having reviewed
    them (`flags_reviewed`); what they checked is recorded with the verification.
    """
    claim = lock_for_update(claim)  # a verification and a return at once: the second sees the first's status
    require(may_move(claim, C.VERIFIED), _("只有已提交的申请可以核验"))
    require(claim.region_id == actor.region_id, _("只能核验本县的申请"))
    require_open_year(claim.year)
    opinion = (opinion or "").strip()
    require(opinion, _("核验须填写核验意见"), "opinion")
    require(len(opinion) <= OPINION_MAX, _("核验意见不能超过%(n)s个字", n=OPINION_MAX), "opinion")
    checked = claim_verifying.collect(claim, actor=actor, reviewed=flags_reviewed)
    checks = budget_checks(claim, lock=True)
    over = [c for c in checks if c.exceeds]
    if over and not confirm_over_budget:
        raise OverBudget(over)
    verifier_id = actor.id  # read before changing the claim: a lazy load here would autoflush half a change
    due_days = current_app.config["PAYMENT_DUE_DAYS"]
    details = {"due_days": due_days, "opinion": opinion, **dict(checked)}
    if over:
        details["over_budget"] = [{"region": c.region.code, "level": c.level.value, "budget": c.budget,
                                   "committed": c.committed, "claim": c.this_claim} for c in over]
    transition(claim, C.VERIFIED, actor, "claim.verified", _l("核验通过：%(t)s", t=claim.title),
               values={"verified_at": utcnow(), "verified_by_id": verifier_id, "due_days": due_days,
                       "over_budget_confirmed": bool(over), "verification_opinion": opinion}, **details)
    keep_due_date(claim)
    draw_advances(claim, actor)
    return checks


def keep_due_date(claim: SubsidyClaim) -> None:
    """Copy the claim's due date (set by its verification) onto its shares, where the overdue rule reads it."""
    for share in claim.shares:
        share.due_on = claim.due_date


# `keep_due_date` for claims written in bulk (the benchmarks' and tests' COPY/INSERT, the migration that added the
# column): every share of a verified claim gets the local day of its verification plus its due days.
FILL_DUE_DATES = {
    "postgresql": "UPDATE claim_shares SET due_on = (timezone('Asia/Shanghai', c.verified_at AT TIME ZONE 'UTC'))::date"
                  " + c.due_days FROM subsidy_claims c WHERE c.id = claim_shares.claim_id"
                  " AND c.verified_at IS NOT NULL AND c.due_days IS NOT NULL",
    "sqlite": "UPDATE claim_shares SET due_on = (SELECT date(c.verified_at, '+8 hours', '+' || c.due_days || ' days')"
              " FROM subsidy_claims c WHERE c.id = claim_shares.claim_id) WHERE claim_id IN (SELECT id FROM"
              " subsidy_claims WHERE verified_at IS NOT NULL AND due_days IS NOT NULL)",
}


def fill_due_dates() -> None:
    """`keep_due_date` for every claim at once, in SQL (after a bulk insert of claims and shares)."""
    db.session.execute(sa.text(FILL_DUE_DATES[db.session.get_bind().dialect.name]))


def return_claim(claim: SubsidyClaim, reason: str, actor) -> None:
    claim = lock_for_update(claim)  # see verify_claim
    require(may_move(claim, C.RETURNED), _("只有已提交的申请可以退回"))
    reason = (reason or "").strip()
    require(reason, _("退回须填写理由"), "reason")
    transition(claim, C.RETURNED, actor, "claim.returned", _l("退回补贴申请：%(t)s", t=claim.title),
               values={"returned_reason": reason}, reason=reason)


# --- payments ---------------------------------------------------------------------------------------

def payable_levels(user) -> tuple[ShareLevel, ...]:
    """County finance pays the county share; city finance the city share and passes on central and provincial."""
    if user.role is Role.COUNTY_FINANCE:
        return (ShareLevel.COUNTY,)
    if user.role is Role.CITY_FINANCE:
        return (ShareLevel.CITY, ShareLevel.PROVINCIAL, ShareLevel.CENTRAL)
    return ()


def confirm_payment(claim: SubsidyClaim, level: ShareLevel, amount: Decimal, paid_on: date, voucher_no: str,
                    actor) -> Payment:
    """Record one level's payment against a verified claim. Caller commits.

    The claim's row is locked first (SELECT … FOR UPDATE on PostgreSQL), then its shares are read: two clerks
    confirming at once cannot both pay the same outstanding amount, and when the county and the city pay their
    last amounts at the same moment the second one waits, sees the first one's payment and settles the claim.
    The database also refuses paid > amount and a repeated voucher.
    """
    require(level in payable_levels(actor), _("您无权确认该级次的拨付"))
    if actor.role is Role.COUNTY_FINANCE:
        require(claim.region_id == actor.region_id, _("只能确认本县的拨付"))
    claim = lock_for_update(claim)
    shares = {s.level: s for s in db.session.scalars(
        sa.select(ClaimShare).where(ClaimShare.claim_id == claim.id).with_for_update()
        .execution_options(populate_existing=True))}
    share = shares.get(level)
    require(claim.status in PAYABLE, _("只有已核验的申请可以拨付"))
    # read after the claim's lock: a close committed while this payment waited for it is seen here
    require(not year_closed(claim.year),
            _("%(year)s年度已清算，不能再登记拨付；请在清算单上登记补拨", year=claim.year))
    require(share is not None, _("该申请没有此级次的补贴"))
    voucher_no = (voucher_no or "").strip()
    require(voucher_no, _("请填写凭证号"), "voucher_no")
    require_amount(amount, "amount")
    require(amount is not None and amount >= FEN, _("拨付金额至少为0.01元"), "amount")
    require(amount <= share.outstanding,
            _("拨付金额超出应付余额 %(left)s 元", left=f"{share.outstanding:,.2f}"), "amount")
    require(amount == to_fen(amount), _("拨付金额最多两位小数"), "amount")
    require(paid_on <= clock.local_today(), _("拨付日期不能晚于今天"), "paid_on")
    duplicate = db.session.scalar(sa.select(Payment.id).where(
        Payment.claim_id == claim.id, Payment.level == level, Payment.voucher_no == voucher_no))
    require(duplicate is None, _("凭证号 %(v)s 已登记过", v=voucher_no), "voucher_no")
    payment = Payment(claim_id=claim.id, level=level, amount=amount, paid_on=paid_on, voucher_no=voucher_no,
                      recorded_by_id=actor.id)
    db.session.add(payment)
    share.paid = share.paid + amount
    if may_move(claim, C.PAYING):   # the first payment: recorded by its own entry below
        transition(claim, C.PAYING, actor)
    settled = may_move(claim, C.SETTLED) and all(
        s.outstanding == 0 for s in shares.values() if s.level in LOCAL_LEVELS)
    db.session.flush()
    audit.record(actor, "payment.confirmed", claim,
                 _l("确认拨付 %(level)s %(amount)s 元", level=LEVEL_LABELS[level], amount=f"{amount:,.2f}"),
                 level=level.value, amount=amount, paid_on=paid_on, voucher_no=voucher_no,
                 payment_id=payment.id)
    if settled:
        transition(claim, C.SETTLED, actor, "claim.settled", _l("市县补贴已全部拨付：%(t)s", t=claim.title),
                   values={"settled_at": utcnow()})
    return payment


def settle_if_paid(claim: SubsidyClaim, actor, shares=None) -> None:
    """Move a claim that has money on it to "paying", and to "settled" once its city and county shares are paid
    (the first payment, a draw-down of an advance, a settlement's top-up)."""
    shares = shares if shares is not None else claim.shares
    if may_move(claim, C.PAYING) and any(s.paid > 0 for s in shares):
        transition(claim, C.PAYING, actor)
    if may_move(claim, C.SETTLED) and all(s.outstanding == 0 for s in shares if s.level in LOCAL_LEVELS):
        transition(claim, C.SETTLED, actor, "claim.settled", _l("市县补贴已全部拨付：%(t)s", t=claim.title),
                   values={"settled_at": utcnow()})


# --- the year's money: closed years, advances drawn down ---------------------------------------------------

def year_closed(year: int) -> bool:
    return db.session.scalar(sa.select(SubsidyYear.year).where(SubsidyYear.year == year)) is not None


def require_open_year(year: int, field: str | None = None) -> None:
    require(not year_closed(year), _("%(year)s年度已清算关闭", year=year), field)


def advance_for(year: int, insurer_id: int, region_id: int, level: ShareLevel) -> Advance | None:
    return db.session.scalar(sa.select(Advance).where(
        Advance.year == year, Advance.insurer_id == insurer_id, Advance.region_id == region_id,
        Advance.level == level))


def draw_advances(claim: SubsidyClaim, actor) -> dict[ShareLevel, Decimal]:
    """A claim just verified draws down the advances of its year, underwriter, county and levels before any new
    money is paid: each share takes what is left of its level's advance, up to its amount. The advance's row is
    locked first, so two claims verified at once cannot both take its last yuan. Audited with the claim."""
    drawn: dict[ShareLevel, Decimal] = {}
    for share in claim.shares:
        if share.level not in GOVERNMENT_LEVELS or share.outstanding <= 0:
            continue
        advance = advance_for(claim.year, claim.insurer_id, claim.region_id, share.level)
        if advance is None:
            continue
        advance = lock_for_update(advance)
        take = min(advance.undrawn, share.outstanding)
        if take <= 0:
            continue
        advance.drawn += take
        share.from_advance += take
        share.paid += take
        drawn[share.level] = take
    if drawn:
        db.session.flush()
        audit.record(actor, "advance.drawn", claim,
                     _l("从预拨资金抵扣 %(amount)s 元：%(t)s", amount=f"{sum(drawn.values(), ZERO):,.2f}",
                        t=claim.title),
                     **{level.value: amount for level, amount in drawn.items()})
        settle_if_paid(claim, actor)
    return drawn


# --- budgets ----------------------------------------------------------------------------------------

def budget_regions(user) -> list[Region]:
    """Regions whose budget `user` may set: the city for city finance, its county for county finance."""
    stmt = sa.select(Region).order_by(Region.level, Region.code)
    if user.role is Role.CITY_FINANCE:
        stmt = stmt.where(Region.level == RegionLevel.CITY)
    elif user.role is Role.COUNTY_FINANCE:
        stmt = stmt.where(Region.id == user.region_id)
    elif user.role is not Role.ADMIN:
        return []
    return list(db.session.scalars(stmt))


def save_budget(year: int, region: Region, amount: Decimal, actor) -> Budget:
    require(region in budget_regions(actor), _("您无权设置该地区的预算"), "region_id")
    require_amount(amount, "amount")
    require(amount is not None and amount >= 0, _("预算金额不能为负"), "amount")
    require(amount == to_fen(amount), _("预算金额最多两位小数"), "amount")
    budget = db.session.scalar(sa.select(Budget).where(Budget.year == year, Budget.region_id == region.id))
    old = budget.amount if budget else None
    if budget is None:
        budget = Budget(year=year, region_id=region.id, amount=amount)
        db.session.add(budget)
    else:
        budget.amount = amount
    db.session.flush()
    audit.record(actor, "budget.saved", budget, _l("设置%(region)s %(year)s年度补贴预算 %(amount)s 元",
                                                  region=region.name, year=year, amount=f"{amount:,.2f}"),
                 old=old, new=amount)
    return budget


@dataclass
class BudgetLine:
    region: Region
    level: ShareLevel
    year: int
    budget: Decimal | None
    committed_unpaid: Decimal
    paid: Decimal

    @property
    def remaining(self) -> Decimal | None:
        return None if self.budget is None else self.budget - self.committed_unpaid - self.paid


def budget_lines(year: int, regions: list[Region]) -> list[BudgetLine]:
    budgets = {b.region_id: b.amount for b in db.session.scalars(sa.select(Budget).where(Budget.year == year))}
    lines = []
    for region in regions:
        level = ShareLevel.CITY if region.level is RegionLevel.CITY else ShareLevel.COUNTY
        stmt = sa.select(sa.func.coalesce(sa.func.sum(ClaimShare.amount), 0),
                         sa.func.coalesce(sa.func.sum(ClaimShare.paid), 0)).join(SubsidyClaim).where(
            ClaimShare.level == level, SubsidyClaim.year == year, SubsidyClaim.status.in_(COMMITTED))
        if region.level is RegionLevel.COUNTY:
            stmt = stmt.where(SubsidyClaim.region_id == region.id)
        committed, paid = db.session.execute(stmt).one()
        lines.append(BudgetLine(region, level, year, budgets.get(region.id), Decimal(committed) - Decimal(paid),
                                Decimal(paid)))
    return lines


# --- on time and in full (R7) -------------------------------------------------------------------------

@dataclass
class OverdueItem:
    claim: SubsidyClaim
    share: ClaimShare
    due_date: date
    days_overdue: int


def _level_order():
    """SQL: a share's level in the order every table lists them (central, provincial, city, county, farmer)."""
    return sa.case({level.value: n for n, level in enumerate(ShareLevel)}, value=ClaimShare.level)


def _overdue_clauses(scope_clause, today: date | None) -> tuple:
    """A government share still owed on a committed claim past its due date (`ClaimShare` joined to its claim):
    its `due_on` (the claim's `due_date`) before today, read from the index of owed shares by due date."""
    return (SubsidyClaim.status.in_(COMMITTED), scope_clause,    # the claim's part first (overdue_summary)
            ClaimShare.level.in_(GOVERNMENT_LEVELS), ClaimShare.amount > ClaimShare.paid,
            ClaimShare.due_on < (today or clock.local_today()))


def overdue_statement(scope_clause, today: date | None = None) -> sa.Select:
    """SQL: the ids of the government shares still outstanding after their claim's due date, worst first (the
    longest overdue, then by county and level). Only ids are sorted (a city's years hold tens of thousands of
    overdue shares); `overdue_shares` loads the page of them."""
    return (sa.select(ClaimShare.id)
            .join(SubsidyClaim, ClaimShare.claim_id == SubsidyClaim.id)
            .join(Region, Region.id == SubsidyClaim.region_id)
            .where(*_overdue_clauses(scope_clause, today))
            .order_by(ClaimShare.due_on, Region.code, _level_order(), SubsidyClaim.id))


def overdue_shares(ids: list[int], today: date | None = None) -> list[OverdueItem]:
    """The shares `ids` (a page of `overdue_statement`) in that order, each with its claim, county, insurer and
    product (the claim's joined loads), as the pages show them. One query."""
    if not ids:
        return []
    claim = sa.orm.contains_eager(ClaimShare.claim)
    loaded = {share.id: share for share in db.session.scalars(
        sa.select(ClaimShare).join(SubsidyClaim, ClaimShare.claim_id == SubsidyClaim.id)
        .where(ClaimShare.id.in_(ids))
        .options(claim, claim.defer(SubsidyClaim.verification_opinion), claim.defer(SubsidyClaim.notes))).unique()}
    today = today or clock.local_today()
    items = []
    for share_id in ids:
        share = loaded[share_id]
        due = share.claim.due_date
        items.append(OverdueItem(share.claim, share, due, (today - due).days))
    return items


def overdue_items(scope_clause, today: date | None = None, limit: int | None = None) -> list[OverdueItem]:
    """Government shares still outstanding after their due date, worst first (the first `limit`). Two queries."""
    today = today or clock.local_today()
    stmt = overdue_statement(scope_clause, today)
    if limit is not None:
        stmt = stmt.limit(limit)
    return overdue_shares(list(db.session.scalars(stmt)), today)


@dataclass
class OverdueSummary:
    """How many government shares are overdue (on how many claims: None when not counted), how much of them is
    unpaid, and since when the oldest is due."""

    shares: int
    claims: int | None
    outstanding: Decimal
    oldest_due: date | None = None

    def days_overdue(self, today: date | None = None) -> int:
        """How long the share overdue the longest is overdue."""
        return ((today or clock.local_today()) - self.oldest_due).days if self.oldest_due is not None else 0


def overdue_summary(scope_clause, today: date | None = None, claims: bool = True) -> OverdueSummary:
    """The figures of `overdue_statement` counted and summed in SQL (exact: a sum of Numeric); the claims only if
    `claims` (a distinct count: half the work at ten years' data). One query.

    `scope_clause` None: the whole city (every committed claim), read from the index of owed shares by due date
    alone, without the claims: a share gets its due date when its claim is verified, and a verified claim never
    moves back (CLAIM_TRANSITIONS), so a share with a due date is a committed claim's."""
    today = today or clock.local_today()
    stmt = sa.select(sa.func.count(),
                     sa.func.count(sa.distinct(ClaimShare.claim_id)) if claims else sa.null(),
                     sa.func.coalesce(sa.func.sum(ClaimShare.amount - ClaimShare.paid), 0),
                     sa.func.min(ClaimShare.due_on)).select_from(ClaimShare)
    if scope_clause is None:
        stmt = stmt.where(*_overdue_clauses(sa.true(), today)[2:])
    else:
        stmt = stmt.join(SubsidyClaim, ClaimShare.claim_id == SubsidyClaim.id).where(
            *_overdue_clauses(scope_clause, today))
    shares, counted, outstanding, oldest = db.session.execute(stmt).one()
    return OverdueSummary(shares or 0, (counted or 0) if claims else None, Decimal(outstanding).quantize(FEN), oldest)


def overdue_summary_for(user, today: date | None = None, claims: bool = False) -> OverdueSummary:
    """`overdue_summary` of what `user` may see (the city's roles: the whole city), computed once per request: the
    menu's badge, the home page and the overdue list all show it (`claims`: with the claims counted, as the
    overdue list shows them)."""
    today = today or clock.local_today()
    cache = g.setdefault("overdue_summaries", {}) if has_app_context() else {}
    known = cache.get((user.id, today))
    if known is None or (claims and known.claims is None):
        scope = None if user.role in CITY_ROLES else scope_clause(SubsidyClaim, user)
        cache[user.id, today] = known = overdue_summary(scope, today, claims)
    return known


# --- what is waiting (the home page's to-do lists and the menu's counts) ---------------------------------------

class _DaysAfter(FunctionElement):
    """SQL: the timestamp `ts` plus `days` days (a column each), for ordering claims by their due date."""

    type = sa.DateTime()
    name = "days_after"
    inherit_cache = True


@compiles(_DaysAfter, "postgresql")
def _days_after_postgresql(element, compiler, **kw):
    ts, days = (compiler.process(c, **kw) for c in element.clauses)
    return f"({ts} + make_interval(days => {days}))"


@compiles(_DaysAfter, "sqlite")
def _days_after_sqlite(element, compiler, **kw):
    ts, days = (compiler.process(c, **kw) for c in element.clauses)
    return f"datetime({ts}, '+' || {days} || ' days')"


def due_order():
    """SQL: what orders claims by their due date (soonest first; a claim without one sorts last)."""
    return _DaysAfter(SubsidyClaim.verified_at, SubsidyClaim.due_days).asc().nulls_last()


@dataclass
class Waiting:
    """How many claims wait for something and since when (the oldest one's submission, or creation for drafts)."""

    count: int
    since: datetime | None


def claims_waiting(scope_clause, status: ClaimStatus) -> Waiting:
    """The claims in `status` within `scope_clause`: submitted ones wait for the county bureau's verification,
    drafts for their insurer's submission. One query."""
    count, since = db.session.execute(sa.select(
        sa.func.count(SubsidyClaim.id), sa.func.min(sa.func.coalesce(SubsidyClaim.submitted_at, SubsidyClaim.created_at)))
        .where(scope_clause, SubsidyClaim.status == status)).one()
    return Waiting(count or 0, since)


def returned_to_correct(scope_clause, limit: int) -> tuple[int, list[SubsidyClaim]]:
    """Returned claims their insurer has not yet filed again (see `follows`): how many, and the `limit` most
    recent. Two queries."""
    later = sa.orm.aliased(SubsidyClaim)
    stmt = sa.select(SubsidyClaim).where(
        scope_clause, SubsidyClaim.status == ClaimStatus.RETURNED, ~sa.exists().where(follows(later, SubsidyClaim)))
    count = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery())) or 0
    claims = db.session.scalars(stmt.order_by(SubsidyClaim.id.desc()).limit(limit)).all() if count else []
    return count, list(claims)


@dataclass
class PaymentsWaiting:
    """Shares of some government levels still to be paid on verified claims (R7)."""

    overdue_claims: int                      # claims with such a share outstanding after its due date
    oldest_due: date | None                  # the due date of the claim overdue the longest
    due_claims: int                          # claims with such a share, not yet overdue
    first_due: list[SubsidyClaim]            # the soonest due of those, shares loaded

    def days_overdue(self, today: date | None = None) -> int:
        if self.oldest_due is None:
            return 0
        return ((today or clock.local_today()) - self.oldest_due).days


def payments_waiting(scope_clause, levels, *, limit: int, today: date | None = None) -> PaymentsWaiting:
    """The claims within `scope_clause` with an outstanding share of one of `levels`: those past their due date
    (as `overdue_items` counts them: the share's `due_on`, read from the index of owed shares) and those not yet
    due, the `limit` soonest first. At most three queries (the counts; the soonest due claims and their shares),
    whatever the number of claims."""
    today = today or clock.local_today()
    owing = (ClaimShare.level.in_(levels), ClaimShare.amount > ClaimShare.paid)
    base = (scope_clause, SubsidyClaim.status.in_(PAYABLE))
    overdue = ClaimShare.due_on < today
    overdue_claims, oldest_due, due_claims = db.session.execute(
        sa.select(sa.func.count(sa.distinct(sa.case((overdue, ClaimShare.claim_id)))),
                  sa.func.min(sa.case((overdue, ClaimShare.due_on))),
                  sa.func.count(sa.distinct(sa.case((overdue, sa.null()), else_=ClaimShare.claim_id))))
        .select_from(ClaimShare).join(SubsidyClaim, ClaimShare.claim_id == SubsidyClaim.id)
        .where(*base, *owing)).one()
    not_yet_due = sa.exists().where(ClaimShare.claim_id == SubsidyClaim.id, *owing,
                                    sa.or_(ClaimShare.due_on.is_(None), ClaimShare.due_on >= today))
    first_due = db.session.scalars(
        sa.select(SubsidyClaim).where(*base, not_yet_due)
        .options(sa.orm.selectinload(SubsidyClaim.shares)).order_by(due_order(), SubsidyClaim.id)
        .limit(limit)).all() if due_claims and limit else []
    return PaymentsWaiting(overdue_claims or 0, oldest_due, due_claims or 0, list(first_due))


# --- a finance bureau's payment list --------------------------------------------------------------------

@dataclass(frozen=True)
class FinanceBureau:
    """A finance bureau as payer: a county's pays the county share of its county's claims; the city's pays the
    city share and passes on the central and provincial shares of every claim (as payable_levels says)."""

    region: Region

    @property
    def levels(self) -> tuple[ShareLevel, ...]:
        if self.region.level is RegionLevel.CITY:
            return (ShareLevel.CENTRAL, ShareLevel.PROVINCIAL, ShareLevel.CITY)
        return (ShareLevel.COUNTY,)

    @property
    def name(self) -> str:
        return _("%(region)s财政局", region=self.region.label)


def finance_bureaus_for(user) -> list[FinanceBureau]:
    """The bureaus whose payment list `user` may read: a county bureau's user its own county's; the city's users
    and the administrator the city's and every county's (the city's first)."""
    if user.role.needs_county:
        return [FinanceBureau(user.region)] if user.region is not None else []
    if user.role is Role.INSURER or user.role is Role.EXPERT:
        return []
    regions = db.session.scalars(sa.select(Region).where(Region.level.in_((RegionLevel.CITY, RegionLevel.COUNTY)))
                                 .order_by(Region.level, Region.code)).all()
    return [FinanceBureau(region) for region in regions]


@dataclass
class PaymentLine:
    """One share a bureau pays on one verified claim, with its payments so far."""

    claim: SubsidyClaim
    share: ClaimShare
    payments: list[Payment]
    days_overdue: int   # 0 unless something is outstanding after the due date


@dataclass
class PaymentTotals:
    due: Decimal = ZERO
    paid: Decimal = ZERO
    lines: int = 0

    @property
    def outstanding(self) -> Decimal:
        return self.due - self.paid

    def add(self, due: Decimal, paid: Decimal, lines: int) -> None:
        self.due += due
        self.paid += paid
        self.lines += lines


@dataclass
class PaymentList:
    """What a finance bureau paid and still owes on the year's verified claims: the lines asked for (a page, in the
    order of the insurers it pays), and the totals of every line by level, by insurer, by county and overall
    (`payment_totals`, summed in SQL)."""

    bureau: FinanceBureau
    year: int
    lines: list[PaymentLine]
    by_level: dict[ShareLevel, PaymentTotals]
    by_insurer: list[tuple[Insurer, PaymentTotals]]
    by_county: list[tuple[Region, PaymentTotals]]
    total: PaymentTotals


def _payment_clauses(bureau: FinanceBureau, year: int) -> list:
    """The shares `bureau` pays on the year's verified claims (`ClaimShare` joined to its claim); a level with 0 %
    owes nothing: not a line to pay."""
    clauses = [SubsidyClaim.year == year, SubsidyClaim.status.in_(COMMITTED), ClaimShare.level.in_(bureau.levels),
               ClaimShare.amount != 0]
    if bureau.region.level is RegionLevel.COUNTY:
        clauses.append(SubsidyClaim.region_id == bureau.region.id)
    return clauses


def payment_statement(bureau: FinanceBureau, year: int) -> sa.Select:
    """SQL: the bureau's lines (`ClaimShare`s, each with its claim, insurer, county and product in the same query),
    by insurer, county, claim and level."""
    claim = sa.orm.contains_eager(ClaimShare.claim)
    return (sa.select(ClaimShare).join(SubsidyClaim, ClaimShare.claim_id == SubsidyClaim.id)
            .join(Insurer, Insurer.id == SubsidyClaim.insurer_id).join(Region, Region.id == SubsidyClaim.region_id)
            .where(*_payment_clauses(bureau, year))
            .options(claim, claim.contains_eager(SubsidyClaim.insurer), claim.contains_eager(SubsidyClaim.region),
                     claim.defer(SubsidyClaim.verification_opinion), claim.defer(SubsidyClaim.notes))
            .order_by(Insurer.short_name, Insurer.id, Region.code, SubsidyClaim.id, _level_order()))


def payment_lines(shares: list[ClaimShare], today: date | None = None) -> list[PaymentLine]:
    """The shares (of `payment_statement`) as lines with their payments and days overdue. One query."""
    today = today or clock.local_today()
    payments: dict[tuple[int, ShareLevel], list[Payment]] = {}
    if shares:
        for payment in db.session.scalars(sa.select(Payment).where(
                Payment.claim_id.in_(sorted({s.claim_id for s in shares})),
                Payment.level.in_(sorted({s.level for s in shares})))
                .order_by(Payment.id)):
            payments.setdefault((payment.claim_id, payment.level), []).append(payment)
    lines = []
    for share in shares:
        due = share.claim.due_date
        late = (today - due).days if share.outstanding > 0 and due is not None and today > due else 0
        lines.append(PaymentLine(share.claim, share, payments.get((share.claim_id, share.level), []), late))
    return lines


def stream_payment_lines(bureau: FinanceBureau, year: int, today: date | None = None,
                         batch: int = 500) -> Iterator[PaymentLine]:
    """Every line of the bureau's list in its order, read `batch` at a time (an export never holds them all: one
    query for each batch's payments)."""
    result = db.session.scalars(payment_statement(bureau, year).execution_options(yield_per=batch))
    for shares in result.partitions():
        yield from payment_lines(list(shares), today)


def payment_totals(bureau: FinanceBureau, year: int) -> PaymentList:
    """The totals of every line of the bureau's list (due, paid, lines) by level, insurer, county and overall:
    summed in SQL by level, insurer and county (a few hundred groups at most), added up from those. Three
    queries (the groups, their insurers, their counties), whatever the number of claims; no lines."""
    groups = db.session.execute(
        sa.select(ClaimShare.level, SubsidyClaim.insurer_id, SubsidyClaim.region_id, sa.func.count(),
                  sa.func.sum(ClaimShare.amount), sa.func.sum(ClaimShare.paid))
        .join(SubsidyClaim, ClaimShare.claim_id == SubsidyClaim.id).where(*_payment_clauses(bureau, year))
        .group_by(ClaimShare.level, SubsidyClaim.insurer_id, SubsidyClaim.region_id)).all()
    insurers = db.session.scalars(sa.select(Insurer).where(Insurer.id.in_(sorted({g.insurer_id for g in groups})))
                                  .order_by(Insurer.short_name, Insurer.id)).all() if groups else []
    regions = db.session.scalars(sa.select(Region).where(Region.id.in_(sorted({g.region_id for g in groups})))
                                 .order_by(Region.code)).all() if groups else []
    by_level = {level: PaymentTotals() for level in bureau.levels}
    by_insurer: dict[int, PaymentTotals] = {}
    by_county: dict[int, PaymentTotals] = {}
    total = PaymentTotals()
    for level, insurer_id, region_id, lines, due, paid in groups:
        due, paid = Decimal(due).quantize(FEN), Decimal(paid).quantize(FEN)
        for totals in (by_level[level], by_insurer.setdefault(insurer_id, PaymentTotals()),
                       by_county.setdefault(region_id, PaymentTotals()), total):
            totals.add(due, paid, lines)
    return PaymentList(bureau, year, [], by_level, [(i, by_insurer[i.id]) for i in insurers],
                       [(r, by_county[r.id]) for r in regions], total)


# --- reports ------------------------------------------------------------------------------------------

# What the reports count: claims submitted and not returned. A draft is not yet a claim (the insurer may still
# change or delete it), so it is neither owed nor premium of the county.
REPORTED = (ClaimStatus.SUBMITTED, *COMMITTED)

def claims_for_report(scope_clause, year: int | None = None, region_id: int | None = None,
                      insurer_id: int | None = None) -> Iterator[SubsidyClaim]:
    """The reported claims within `scope_clause` (of `year`, a county, an insurer) with their shares, in the
    ledger's order, read a batch at a time (`stream_claims`)."""
    stmt = sa.select(SubsidyClaim).where(scope_clause, SubsidyClaim.status.in_(REPORTED))
    if year:
        stmt = stmt.where(SubsidyClaim.year == year)
    if region_id:
        stmt = stmt.where(SubsidyClaim.region_id == region_id)
    if insurer_id:
        stmt = stmt.where(SubsidyClaim.insurer_id == insurer_id)
    return stream_claims(stmt)


def stream_claims(stmt: sa.Select, batch: int = 500) -> Iterator[SubsidyClaim]:
    """The claims of `stmt` in the ledger's order with their shares, read `batch` at a time (an export of every
    claim of a city's years never holds them all: one query for each batch and its shares)."""
    stmt = stmt.options(sa.orm.selectinload(SubsidyClaim.shares)).order_by(
        SubsidyClaim.region_id, SubsidyClaim.product_id, SubsidyClaim.period, SubsidyClaim.id)
    yield from db.session.scalars(stmt.execution_options(yield_per=batch))


@dataclass
class LedgerLine:
    claim: SubsidyClaim
    due: Decimal          # government shares (central, provincial, city, county)
    paid: Decimal

    @property
    def outstanding(self) -> Decimal:
        return self.due - self.paid


def ledger_summary(clauses) -> tuple[int, dict[str, Decimal]]:
    """How many claims match `clauses`, and the ledger's totals over all of them (premium; government shares due,
    paid and outstanding), counted and summed in SQL (exact: sums of Numeric), whatever the number of claims. One
    query over the claims alone: each keeps its government shares' sums (`gov_due`, `gov_paid`, kept by the
    database), so the year's shares are not joined."""
    zero = sa.literal(0)
    count, *row = db.session.execute(
        sa.select(sa.func.count(SubsidyClaim.id), sa.func.coalesce(sa.func.sum(SubsidyClaim.total_premium), zero),
                  sa.func.coalesce(sa.func.sum(SubsidyClaim.gov_due), zero),
                  sa.func.coalesce(sa.func.sum(SubsidyClaim.gov_paid), zero)).where(*clauses)).one()
    totals = {name: Decimal(value).quantize(FEN) for name, value in zip(("premium", "due", "paid"), row, strict=True)}
    totals["outstanding"] = totals["due"] - totals["paid"]
    return count, totals


def disbursement_by_county(year: int, scope_clause) -> list[dict[str, Any]]:
    """Per county: local (city + county) shares of verified claims and how much of them is paid."""
    rows = db.session.execute(
        sa.select(Region.name, Region.name_en, sa.func.coalesce(sa.func.sum(ClaimShare.amount), 0),
                  sa.func.coalesce(sa.func.sum(ClaimShare.paid), 0))
        .select_from(SubsidyClaim).join(ClaimShare).join(Region, Region.id == SubsidyClaim.region_id)
        .where(SubsidyClaim.year == year, SubsidyClaim.status.in_(COMMITTED), ClaimShare.level.in_(LOCAL_LEVELS),
               scope_clause)
        .group_by(Region.code, Region.name, Region.name_en).order_by(Region.code)).all()
    return [{"county": pick(name, name_en), "due": Decimal(due), "paid": Decimal(paid)}
            for name, name_en, due, paid in rows]


def premium_by_product(year: int, scope_clause) -> list[dict[str, Any]]:
    rows = db.session.execute(
        sa.select(Product.name, Product.name_en, sa.func.sum(SubsidyClaim.total_premium)).join(Product)
        .where(SubsidyClaim.year == year, SubsidyClaim.status.in_(REPORTED), scope_clause)
        .group_by(Product.code, Product.name, Product.name_en).order_by(Product.code)).all()
    return [{"product": pick(name, name_en), "premium": Decimal(total)} for name, name_en, total in rows]


def premium_growth(year: int, scope_clause) -> list[dict[str, Any]]:
    """Per county: premium this year against last year (R8: counties whose premium fell are flagged)."""
    def totals(y: int) -> dict[int, Decimal]:
        rows = db.session.execute(
            sa.select(SubsidyClaim.region_id, sa.func.sum(SubsidyClaim.total_premium))
            .where(SubsidyClaim.year == y, SubsidyClaim.status.in_(REPORTED), scope_clause)
            .group_by(SubsidyClaim.region_id)).all()
        return {region_id: Decimal(total) for region_id, total in rows}

    current, previous = totals(year), totals(year - 1)
    counties = db.session.scalars(sa.select(Region).where(Region.level == RegionLevel.COUNTY)
                                  .order_by(Region.code)).all()
    result = []
    for county in counties:
        if county.id not in current and county.id not in previous:
            continue
        now, before = current.get(county.id, ZERO), previous.get(county.id, ZERO)
        growth = None if before == 0 else ((now - before) / before * HUNDRED).quantize(Decimal("0.1"))
        result.append({"county": county.label, "premium": now, "previous": before, "growth_pct": growth,
                       "lagging": growth is not None and growth < 0})
    return result
