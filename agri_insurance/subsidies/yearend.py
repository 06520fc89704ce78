"""The year's money (R14): advances (预拨) and the year-end settlement (年度清算, 多退少补).

An advance is paid by the bureau of a level (the county's for the county share; the city's for the city share and,
passing them on, the provincial and central shares) to an underwriter for one year and county. Claims verified
later draw it down (service.draw_advances) before new money is paid. The city finance bureau closes a year: every
advance still partly undrawn is set against the shares still owed, and one settlement per underwriter, county and
level states, as they stood then,

    verified shares = advance + payments + balance

a positive balance being a top-up the bureau still owes (补拨), a negative one a refund the underwriter owes (退回).
Both sides confirm it; the top-ups and refunds are then recorded against it like payments (a top-up is spread over
the scope's shares still owed, oldest verification first, as payments carrying the settlement). A closed year takes
no other payment, advance, submission or verification.

Locks: closing the year takes the year's lock (lock_the_year, which recording or changing an advance takes too), then
locks every claim and advance of the year (a payment or a draw-down in flight finishes first, or waits and finds the
year closed); a settlement's row is locked before a confirmation or a transfer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from agri_insurance import clock
from agri_insurance.actions import Action, Actions
from agri_insurance.audit import service as audit
from agri_insurance.clock import utcnow
from agri_insurance.db_types import FEN, to_fen
from agri_insurance.errors import require
from agri_insurance.extensions import db, lock_for_update
from agri_insurance.reference.models import Insurer, Region, RegionLevel
from agri_insurance.roles import Role
from agri_insurance.subsidies import service
from agri_insurance.subsidies.models import (
    COMMITTED,
    GOVERNMENT_LEVELS,
    LEVEL_LABELS,
    Advance,
    ClaimShare,
    ClaimStatus,
    Payment,
    Settlement,
    SettlementTransfer,
    ShareLevel,
    SubsidyClaim,
    SubsidyYear,
    UnderwritingAssignment,
)

ZERO = Decimal("0.00")
HUNDRED = Decimal(100)
Scope = tuple[int, int, ShareLevel]   # (insurer id, county id, level)


# --- who handles which level -------------------------------------------------------------------------------

def handles(user, region_id: int, level: ShareLevel) -> bool:
    """The bureau that pays `level` in county `region_id`: the county's finance bureau its county share, the city's
    the city, provincial and central shares (as service.payable_levels)."""
    if level not in service.payable_levels(user):
        return False
    return user.role is not Role.COUNTY_FINANCE or user.region_id == region_id


def advance_levels(user) -> tuple[ShareLevel, ...]:
    return tuple(level for level in GOVERNMENT_LEVELS if level in service.payable_levels(user))


# --- advances ------------------------------------------------------------------------------------------------

def verified_shares(year: int, insurer_id: int, region_id: int, level: ShareLevel) -> Decimal:
    """The scope's shares of the year's verified claims (paid or not)."""
    total = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(ClaimShare.amount), 0)).join(SubsidyClaim)
        .where(SubsidyClaim.year == year, SubsidyClaim.insurer_id == insurer_id, SubsidyClaim.region_id == region_id,
               SubsidyClaim.status.in_(COMMITTED), ClaimShare.level == level))
    return Decimal(total).quantize(FEN)


def default_pct() -> Decimal:
    return Decimal(str(current_app.config.get("ADVANCE_DEFAULT_PCT", "50")))


@dataclass
class AdvanceDefault:
    basis: Decimal    # last year's verified shares of the scope
    pct: Decimal
    amount: Decimal   # basis × pct / 100, to the fen


def default_advance(year: int, insurer_id: int, region_id: int, level: ShareLevel,
                    pct: Decimal | None = None) -> AdvanceDefault:
    pct = default_pct() if pct is None else pct
    basis = verified_shares(year - 1, insurer_id, region_id, level)
    return AdvanceDefault(basis, pct, to_fen(basis * pct / HUNDRED))


def save_advance(data: dict[str, Any], actor, advance: Advance | None = None) -> Advance:
    """Record an advance (`advance` None) or change the amount, date or voucher of one. Caller commits.

    `data`: year, insurer_id, region_id, level, amount, paid_on, voucher_no. The scope takes one advance: a second
    one (a double click, a second clerk) is refused, even when both arrive at once (the unique constraint)."""
    # the year's lock, which a close holds (taken before the advance's row, in the close's order): an advance arriving
    # during a close waits and finds the year closed; a close arriving during an advance waits and settles it
    lock_the_year()
    if advance is not None:
        advance = lock_for_update(advance)
        data = {**data, "year": advance.year, "insurer_id": advance.insurer_id, "region_id": advance.region_id,
                "level": advance.level}
    level = ShareLevel(data["level"])
    year, region_id, insurer_id = data["year"], data["region_id"], data["insurer_id"]
    require(level in GOVERNMENT_LEVELS and handles(actor, region_id, level), _("您无权登记该级次的预拨"), "level")
    region = db.session.get(Region, region_id) if region_id else None
    require(region is not None and region.level is RegionLevel.COUNTY, _("请选择县（市、区）"), "region_id")
    require(insurer_id is not None and db.session.get(Insurer, insurer_id) is not None, _("请选择承保机构"),
            "insurer_id")
    underwrites = db.session.scalar(sa.select(UnderwritingAssignment.id).where(
        UnderwritingAssignment.insurer_id == insurer_id, UnderwritingAssignment.region_id == region_id,
        UnderwritingAssignment.start_year <= year, UnderwritingAssignment.end_year >= year).limit(1))
    require(underwrites is not None, _("该承保机构在此县%(year)s年度没有承保安排", year=year), "insurer_id")
    service.require_open_year(year, "year")
    amount = data.get("amount")
    if amount is None and advance is None:   # left blank: the default, if last year gives one
        amount = default_advance(year, insurer_id, region_id, level).amount
        require(amount > 0, _("上年度没有已核验的补贴，请填写预拨金额"), "amount")
    service.require_amount(amount, "amount")
    require(amount is not None and amount >= FEN, _("预拨金额至少为0.01元"), "amount")
    require(amount == to_fen(amount), _("预拨金额最多两位小数"), "amount")
    paid_on = data.get("paid_on")
    require(paid_on is not None and paid_on <= clock.local_today(), _("拨付日期不能晚于今天"), "paid_on")
    voucher_no = (data.get("voucher_no") or "").strip()
    require(voucher_no, _("请填写凭证号"), "voucher_no")
    if advance is None:
        # the underwriter's row serialises advances to it: a second clerk's (or a double click's) waits here, then
        # finds the first one's advance
        lock_for_update(db.session.get(Insurer, insurer_id))
        existing = service.advance_for(year, insurer_id, region_id, level)
        require(existing is None, _("该承保机构此县此级次%(year)s年度已登记预拨，请修改原记录", year=year), "level")
        suggested = default_advance(year, insurer_id, region_id, level)
        advance = Advance(year=year, insurer_id=insurer_id, region_id=region_id, level=level, amount=amount,
                          drawn=ZERO, basis=suggested.basis, pct=suggested.pct, paid_on=paid_on,
                          voucher_no=voucher_no, recorded_by_id=actor.id)
        db.session.add(advance)
        db.session.flush()
        audit.record(actor, "advance.recorded", advance,
                     _l("登记预拨：%(insurer)s %(county)s %(level)s %(year)s年度 %(amount)s 元",
                        insurer=advance.insurer.short_name, county=advance.region.name, level=LEVEL_LABELS[level],
                        year=year, amount=f"{amount:,.2f}"),
                     amount=amount, paid_on=paid_on, voucher_no=voucher_no, basis=suggested.basis,
                     pct=suggested.pct)
        return advance
    require(amount >= advance.drawn, _("预拨金额不能少于已抵扣的 %(drawn)s 元", drawn=f"{advance.drawn:,.2f}"),
            "amount")
    changes = audit.changes(advance, ["amount", "paid_on", "voucher_no"],
                            {"amount": amount, "paid_on": paid_on, "voucher_no": voucher_no})
    advance.amount, advance.paid_on, advance.voucher_no = amount, paid_on, voucher_no
    db.session.flush()
    audit.record(actor, "advance.changed", advance,
                 _l("修改预拨：%(insurer)s %(county)s %(level)s %(year)s年度", insurer=advance.insurer.short_name,
                    county=advance.region.name, level=LEVEL_LABELS[level], year=year), changes=changes)
    return advance


def advances(scope_clause, year: int) -> list[Advance]:
    return list(db.session.scalars(
        sa.select(Advance).where(scope_clause, Advance.year == year).join(Region, Region.id == Advance.region_id)
        .join(Insurer, Insurer.id == Advance.insurer_id).order_by(Region.code, Insurer.short_name, Advance.level)))


def may_edit_advance(advance: Advance, user) -> bool:
    return handles(user, advance.region_id, advance.level) and not service.year_closed(advance.year)


# --- closing the year ------------------------------------------------------------------------------------------

def _lock_rows(model, *clauses) -> None:
    """Row locks on PostgreSQL (SQLite: the caller's first write already holds the database's write lock)."""
    if db.session.get_bind().dialect.name != "sqlite":
        db.session.execute(sa.select(model.id).where(*clauses).order_by(model.id).with_for_update())


def lock_the_year() -> None:
    """The city's row serialises what changes which years are open and what a close must count: closes, and new
    advances (a payment, verification or draw-down locks the claims and advances the close locks too). Held until
    commit."""
    lock_for_update(db.session.scalar(sa.select(Region).where(Region.level == RegionLevel.CITY).limit(1)))


def may_close(year: int, user) -> bool:
    """Offered to the city finance bureau once the year is over and until it is closed."""
    return (user.role is Role.CITY_FINANCE and year < clock.local_today().year
            and not service.year_closed(year))


def close_year(year: int, actor) -> list[Settlement]:
    """The city finance bureau closes `year` (年度清算): what is left of each advance is set against the shares
    still owed, and a settlement per underwriter, county and level is drawn up. Caller commits."""
    require(actor.role is Role.CITY_FINANCE, _("只有市财政局可以进行年度清算"))
    require(year < clock.local_today().year, _("%(year)s年度尚未结束，不能清算", year=year))
    # a second close, or an advance being recorded, waits here; a second close then finds the year closed
    lock_the_year()
    service.require_open_year(year)
    db.session.add(SubsidyYear(year=year, closed_by_id=actor.id, closed_at=utcnow()))
    db.session.flush()
    # a payment, verification or draw-down in flight finishes first; one arriving later waits and finds it closed
    _lock_rows(SubsidyClaim, SubsidyClaim.year == year)
    _lock_rows(Advance, Advance.year == year)
    waiting = db.session.scalar(sa.select(sa.func.count(SubsidyClaim.id)).where(
        SubsidyClaim.year == year, SubsidyClaim.status == ClaimStatus.SUBMITTED))
    require(not waiting, _("%(year)s年度还有 %(n)s 份补贴申请待核验，核验或退回后才能清算", year=year, n=waiting))

    shares = db.session.scalars(
        sa.select(ClaimShare).join(SubsidyClaim)
        .where(SubsidyClaim.year == year, SubsidyClaim.status.in_(COMMITTED), ClaimShare.level.in_(GOVERNMENT_LEVELS))
        .options(sa.orm.contains_eager(ClaimShare.claim))
        .order_by(SubsidyClaim.verified_at, SubsidyClaim.id, ClaimShare.id)
        .execution_options(populate_existing=True)).all()
    by_scope: dict[Scope, list[ClaimShare]] = {}
    for share in shares:
        by_scope.setdefault((share.claim.insurer_id, share.claim.region_id, share.level), []).append(share)
    year_advances = {(a.insurer_id, a.region_id, a.level): a for a in db.session.scalars(
        sa.select(Advance).where(Advance.year == year).execution_options(populate_existing=True))}

    settlements = []
    touched: dict[int, SubsidyClaim] = {}
    for scope in sorted(set(by_scope) | set(year_advances), key=_scope_order):
        scope_shares = by_scope.get(scope, [])
        advance = year_advances.get(scope)
        verified = sum((s.amount for s in scope_shares), ZERO)
        paid = sum((s.paid - s.from_advance for s in scope_shares), ZERO)
        advanced = advance.amount if advance is not None else ZERO
        if verified == 0 and advanced == 0:
            continue   # a level with 0 %: nothing owed either way
        if advance is not None:   # what is left of the advance pays what is still owed, oldest first
            for share in scope_shares:
                take = min(advance.undrawn, share.outstanding)
                if take > 0:
                    advance.drawn += take
                    share.from_advance += take
                    share.paid += take
                    touched[share.claim_id] = share.claim
        settlement = Settlement(year=year, insurer_id=scope[0], region_id=scope[1], level=scope[2],
                                verified=verified, advanced=advanced, paid=paid,
                                balance=verified - advanced - paid, transferred=ZERO)
        db.session.add(settlement)
        settlements.append(settlement)
    db.session.flush()
    for claim in touched.values():
        service.settle_if_paid(claim, actor)
    audit.record(actor, "year.closed", None, _l("%(year)s年度补贴清算：生成清算单 %(n)s 份", year=year,
                                                n=len(settlements)),
                 year=year, settlements=[s.id for s in settlements])
    return settlements


def _scope_order(scope: Scope):
    return scope[0], scope[1], list(ShareLevel).index(scope[2])


# --- a settlement: confirmed by both sides, then its top-up or refund recorded -------------------------------------

def side_of(settlement: Settlement, user) -> str | None:
    """"bureau" for the finance bureau paying the settlement's level, "insurer" for its underwriter."""
    if handles(user, settlement.region_id, settlement.level):
        return "bureau"
    if user.role is Role.INSURER and user.insurer_id == settlement.insurer_id:
        return "insurer"
    return None


def _confirmed(settlement: Settlement, side: str) -> bool:
    return getattr(settlement, f"{side}_confirmed_at") is not None


def confirm_settlement(settlement: Settlement, actor) -> None:
    settlement = lock_for_update(settlement)
    side = side_of(settlement, actor)
    require(side is not None, _("您不是此清算单的一方"))
    require(not _confirmed(settlement, side), _("贵单位已确认此清算单"))
    setattr(settlement, f"{side}_confirmed_at", utcnow())
    setattr(settlement, f"{side}_confirmed_by_id", actor.id)
    db.session.flush()
    audit.record(actor, f"settlement.confirmed_by_{side}", settlement,
                 _l("确认清算单：%(t)s", t=settlement.title), balance=settlement.balance)


def record_transfer(settlement: Settlement, amount: Decimal | None, paid_on: date | None, voucher_no: str | None,
                    actor) -> SettlementTransfer:
    """The bureau records a top-up it paid or a refund it received on a confirmed settlement. The settlement's row
    is locked first: two clerks recording the same refund at once cannot both take what is left."""
    settlement = lock_for_update(settlement)
    require(side_of(settlement, actor) == "bureau", _("只有付款的财政部门可以登记补拨或退回"))
    require(_confirmed(settlement, "bureau") and _confirmed(settlement, "insurer"),
            _("清算单经双方确认后才能登记补拨或退回"))
    require(settlement.remaining > 0, _("此清算单已结清"))
    service.require_amount(amount, "amount")
    require(amount is not None and amount >= FEN, _("金额至少为0.01元"), "amount")
    require(amount == to_fen(amount), _("金额最多两位小数"), "amount")
    require(amount <= settlement.remaining, _("金额超出待结算余额 %(left)s 元", left=f"{settlement.remaining:,.2f}"),
            "amount")
    require(paid_on is not None and paid_on <= clock.local_today(), _("日期不能晚于今天"), "paid_on")
    voucher_no = (voucher_no or "").strip()
    require(voucher_no, _("请填写凭证号"), "voucher_no")
    duplicate = db.session.scalar(sa.select(SettlementTransfer.id).where(
        SettlementTransfer.settlement_id == settlement.id, SettlementTransfer.voucher_no == voucher_no))
    require(duplicate is None, _("凭证号 %(v)s 已登记过", v=voucher_no), "voucher_no")
    transfer = SettlementTransfer(settlement_id=settlement.id, amount=amount, paid_on=paid_on,
                                  voucher_no=voucher_no, recorded_by_id=actor.id)
    db.session.add(transfer)
    settlement.transferred += amount
    if not settlement.is_refund:
        _pay_top_up(settlement, amount, paid_on, voucher_no, actor)
    db.session.flush()
    kind = _("退回") if settlement.is_refund else _("补拨")
    audit.record(actor, "settlement.refund" if settlement.is_refund else "settlement.top_up", settlement,
                 _l("登记清算%(kind)s %(amount)s 元：%(t)s", kind=kind, amount=f"{amount:,.2f}", t=settlement.title),
                 amount=amount, paid_on=paid_on, voucher_no=voucher_no, transfer_id=transfer.id)
    return transfer


def scope_claims(settlement: Settlement, lock: bool = False) -> list[SubsidyClaim]:
    clauses = (SubsidyClaim.year == settlement.year, SubsidyClaim.insurer_id == settlement.insurer_id,
               SubsidyClaim.region_id == settlement.region_id, SubsidyClaim.status.in_(COMMITTED))
    if lock:
        _lock_rows(SubsidyClaim, *clauses)
    return list(db.session.scalars(
        sa.select(SubsidyClaim).where(*clauses)
        .options(sa.orm.selectinload(SubsidyClaim.shares), sa.orm.selectinload(SubsidyClaim.payments))
        .order_by(SubsidyClaim.verified_at, SubsidyClaim.id).execution_options(populate_existing=True)))


def _pay_top_up(settlement: Settlement, amount: Decimal, paid_on: date, voucher_no: str, actor) -> None:
    """Spread a top-up over the scope's shares still owed, oldest verification first, as payments carrying the
    settlement (so each claim's shares show it and a claim whose city and county shares are paid is settled)."""
    left = amount
    for claim in scope_claims(settlement, lock=True):
        share = claim.share(settlement.level)
        if left == 0:
            break
        if share is None or share.outstanding <= 0:
            continue
        take = min(left, share.outstanding)
        db.session.add(Payment(claim_id=claim.id, level=settlement.level, amount=take, paid_on=paid_on,
                               voucher_no=voucher_no, recorded_by_id=actor.id, settlement_id=settlement.id))
        share.paid += take
        left -= take
        service.settle_if_paid(claim, actor)
    # the settlement's balance is what its shares still owed at the close: nothing else can have paid them since
    require(left == 0, _("补拨金额超出各申请的应付余额"), "amount")


def available_actions(settlement: Settlement, user) -> Actions:
    params = {"settlement_id": settlement.id}
    actions = []
    side = side_of(settlement, user)
    if side is not None and not _confirmed(settlement, side):
        actions.append(Action("confirm", _l("确认清算单"), "subsidies.confirm_settlement", params, post=True,
                              style="success", element_id="confirm-settlement", order=10))
    actions += [
        Action("xlsx", _l("下载清算单（Excel）"), "subsidies.settlement_xlsx", params, order=30),
        Action("pdf", _l("下载清算单（PDF）"), "subsidies.settlement_pdf", params, order=40),
    ]
    return Actions(actions)


def may_record_transfer(settlement: Settlement, user) -> bool:
    return (side_of(settlement, user) == "bureau" and settlement.remaining > 0
            and _confirmed(settlement, "bureau") and _confirmed(settlement, "insurer"))


def settlements(scope_clause, year: int) -> list[Settlement]:
    return list(db.session.scalars(
        sa.select(Settlement).where(scope_clause, Settlement.year == year)
        .join(Region, Region.id == Settlement.region_id).join(Insurer, Insurer.id == Settlement.insurer_id)
        .order_by(Region.code, Insurer.short_name, Settlement.id)))


@dataclass
class StatementLine:
    claim: SubsidyClaim
    amount: Decimal
    from_advance: Decimal
    paid: Decimal   # by payments (a top-up's included)


def statement_lines(settlement: Settlement) -> list[StatementLine]:
    lines = []
    for claim in scope_claims(settlement):
        share = claim.share(settlement.level)
        if share is not None and share.amount > 0:
            lines.append(StatementLine(claim, share.amount, share.from_advance, share.paid - share.from_advance))
    return lines


def bureau_name(settlement: Settlement) -> str:
    """The finance bureau on the settlement's side: the county's for the county share, else the city's."""
    if settlement.level is ShareLevel.COUNTY:
        region = settlement.region
    else:
        region = db.session.scalar(sa.select(Region).where(Region.level == RegionLevel.CITY).limit(1))
    return service.FinanceBureau(region).name


def statement_title(settlement: Settlement) -> str:
    return _("%(year)s年度农业保险保费补贴清算单（%(insurer)s %(county)s %(level)s）", year=settlement.year,
             insurer=settlement.insurer.short_name, county=settlement.region.label, level=settlement.level.label)


def summary_rows(settlement: Settlement) -> list[tuple[str, Decimal]]:
    """The statement's sums: verified = advance + payments + balance, then what was transferred on it."""
    outcome = _("应退回（元）") if settlement.is_refund else _("应补拨（元）")
    return [(_("已核验补贴（元）"), settlement.verified), (_("预拨（元）"), settlement.advanced),
            (_("清算前已拨付（元）"), settlement.paid), (outcome, abs(settlement.balance)),
            (_("已退回（元）") if settlement.is_refund else _("已补拨（元）"), settlement.transferred),
            (_("待结算（元）"), settlement.remaining)]
