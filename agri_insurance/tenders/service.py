"""Selection-round rules: the state machine, lots, county limits (R3) and exceptions.

Every function checks, changes and audits; none commits (the caller does). Times are naive UTC.

tenders owns a round's life and imports none of the modules that react to it: every status change is announced
(`tenders.signals`) from `transition`, and bids, evaluation and awards listen in their own packages. The server
clock decides deadlines in one place, `advance_by_clock` (open → closed after the bid deadline, awarded → in
force when the term starts, in force → expired after the term): the application runs it, in a transaction of
its own, before it handles a request, and services that act on a round at a moment the clock decides run it
for that round first. Reading a page never changes a round.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from agri_insurance import clock
from agri_insurance.actions import Action, Actions, PagePart
from agri_insurance.audit import service as audit
from agri_insurance.clock import utcnow
from agri_insurance.db_types import MAX_MONEY, MAX_RATIO_PCT
from agri_insurance.errors import DomainError, require
from agri_insurance.extensions import db, lock_for_update
from agri_insurance.i18n import in_record_language, join_names, with_note
from agri_insurance.reference.models import Product, Region, RegionLevel
from agri_insurance.roles import Role
from agri_insurance.spreadsheets import CONTROL_CHARACTERS, CONTROL_CHARACTERS_REFUSED
from agri_insurance.tenders import changes, signals
from agri_insurance.tenders.models import (
    MIN_NOTICE_WORKING_DAYS,
    TERM_YEARS,
    CountyException,
    Lot,
    RoundStatus,
    SelectionRound,
)
from optimization.lot_design import Cell, design_lots

S = RoundStatus

# The whole state machine in one table: from-status → the statuses it may move to.
ROUND_TRANSITIONS: dict[RoundStatus, frozenset[RoundStatus]] = {
    S.DRAFT: frozenset({S.OPEN, S.CANCELLED}),
    S.OPEN: frozenset({S.CLOSED, S.CANCELLED}),
    S.CLOSED: frozenset({S.OPENED, S.CANCELLED}),
    S.OPENED: frozenset({S.EVALUATION, S.CANCELLED}),
    S.EVALUATION: frozenset({S.ALLOCATED, S.CANCELLED}),
    S.ALLOCATED: frozenset({S.PUBLICISED, S.CANCELLED}),
    S.PUBLICISED: frozenset({S.AWARDED, S.EVALUATION, S.CANCELLED}),  # evaluation: an objection was upheld
    S.AWARDED: frozenset({S.IN_FORCE}),
    S.IN_FORCE: frozenset({S.EXPIRED}),
    S.EXPIRED: frozenset(),
    S.CANCELLED: frozenset(),
}
# R3: at least 2 underwriters per county and in principle at most 3; more only through a county exception.
MIN_INSURERS_PER_COUNTY = 2
MAX_INSURERS_PER_COUNTY = 3
# Lots and rules may change while the round is a draft or open (open: submitted bids are invalidated).
EDITABLE_STATES = (S.DRAFT, S.OPEN)
# County exceptions may be recorded until the allocation is made.
EXCEPTION_STATES = (S.DRAFT, S.OPEN, S.CLOSED, S.OPENED, S.EVALUATION)


# --- time -------------------------------------------------------------------------------------------

def term_end_utc(rnd: SelectionRound) -> datetime:
    """The first instant after the term: 1 January of the year after the term's last year, local time."""
    return clock.start_of_local_year(rnd.term_end_year + 1)


def term_start_utc(rnd: SelectionRound) -> datetime:
    return clock.start_of_local_year(rnd.term_start_year)


# --- the state machine --------------------------------------------------------------------------------

def _conditional_update(rnd: SelectionRound, source: RoundStatus, target: RoundStatus,
                        values: dict[str, Any] | None = None) -> bool:
    """UPDATE ... SET status = target WHERE id = rnd.id AND status = source (plus `values` in the same statement).

    When two requests (a double click, two users, the clock) move the same round at once, exactly one of them
    changes the row; the other gets False. `rnd` is reloaded either way."""
    db.session.flush()  # pending changes of this request go first (e.g. opened_at before "opened")
    result = db.session.execute(
        sa.update(SelectionRound)
        .where(SelectionRound.id == rnd.id, SelectionRound.status == source)
        .values(status=target, status_changed_at=utcnow(), **(values or {}))
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(rnd)
    return result.rowcount == 1


def transition(rnd: SelectionRound, target: RoundStatus, actor, summary, *, values: dict[str, Any] | None = None,
               **details: Any) -> None:
    """Move `rnd` to `target` if the table allows it; otherwise DomainError. Audited (`summary`: a lazy
    string, see audit.record). `values`: other columns written in the same conditional UPDATE (e.g. the
    cancellation reason, which the database requires together with the status).

    The UPDATE only applies if the round still has the status this request read: a second, concurrent request
    (a double click on 公示) gets a DomainError and the caller rolls its transaction back."""
    if target not in ROUND_TRANSITIONS[rnd.status]:
        raise DomainError(_("遴选轮次当前状态为“%(current)s”，不能变更为“%(target)s”",
                            current=rnd.status.label, target=target.label))
    old = rnd.status
    signals.round_moving.send(rnd, actor=actor, target=target)  # a listener may refuse (DomainError)
    if not _conditional_update(rnd, old, target, values):
        raise DomainError(_("遴选轮次的状态刚被他人变更（当前为“%(current)s”），请刷新页面后重试",
                            current=rnd.status.label))
    audit.record(actor, f"round.{target.value}", rnd, summary, status=[old.value, target.value], **details)
    signals.round_moved[target].send(rnd, actor=actor, previous=old, **details)


# --- the clock ----------------------------------------------------------------------------------------

def _clock_moves(rnd: SelectionRound, now) -> tuple[RoundStatus, RoundStatus, Any] | None:
    """The move the clock implies for `rnd` now, if any: (from, to, audit summary)."""
    if rnd.status is S.OPEN and now >= rnd.bid_deadline:
        return S.OPEN, S.CLOSED, _l("投标截止时间已到，自动截标：%(name)s", name=rnd.name)
    if rnd.status is S.AWARDED and now >= term_start_utc(rnd):
        return S.AWARDED, S.IN_FORCE, _l("服务期开始：%(name)s", name=rnd.name)
    if rnd.status is S.IN_FORCE and now >= term_end_utc(rnd):
        return S.IN_FORCE, S.EXPIRED, _l("服务期届满，轮次到期：%(name)s", name=rnd.name)
    return None


def _due_rounds():
    """The rounds the clock has moved on: past the bid deadline while open; in the term's first year or later
    while awarded; after the term's last year while in force (a term starts on 1 January, local time)."""
    now, year = utcnow(), clock.local_today().year
    return sa.select(SelectionRound).where(sa.or_(
        sa.and_(SelectionRound.status == S.OPEN, SelectionRound.bid_deadline <= now),
        sa.and_(SelectionRound.status == S.AWARDED, SelectionRound.term_start_year <= year),
        sa.and_(SelectionRound.status == S.IN_FORCE, SelectionRound.term_start_year + TERM_YEARS - 1 < year),
    )).order_by(SelectionRound.id)


def advance_by_clock(rnd: SelectionRound | None = None) -> int:
    """The one place the clock moves rounds (open → closed → …, see the module docstring): `rnd`, or every round
    that is due. Each move is a conditional UPDATE (when two processes notice a deadline at once, exactly one
    moves the round), audited as automatic and announced like any other. Returns how many moves were made; the
    caller commits."""
    rounds = [rnd] if rnd is not None else db.session.scalars(_due_rounds()).all()
    moved = 0
    for item in rounds:
        while (move := _clock_moves(item, utcnow())) is not None:
            source, target, summary = move
            if not _conditional_update(item, source, target):
                break
            audit.record(None, f"round.{target.value}", item, summary, status=[source.value, target.value],
                         automatic=True)
            signals.round_moved[target].send(item, actor=None, previous=source, automatic=True)
            moved += 1
    return moved


def lots_per_county(rnd: SelectionRound) -> dict[Region, int]:
    counts: dict[Region, int] = {}
    for lot in rnd.lots:
        counts[lot.region] = counts.get(lot.region, 0) + 1
    return counts


def min_lots_per_county(rnd: SelectionRound) -> int:
    """A county needs at least as many lots as insurers (each lot goes to one insurer), and never fewer than 2."""
    return max(2, rnd.min_insurers)


def _check_lot_counts(rnd: SelectionRound, field: str | None = None) -> None:
    counts = lots_per_county(rnd)
    require(counts, _("遴选轮次还没有标段"), field)
    needed = min_lots_per_county(rnd)
    short = [with_note(region.label, str(n)) for region, n in sorted(counts.items(), key=lambda kv: kv[0].code)
             if n < needed]
    require(not short, _("每个县（市、区）至少需要%(n)s个标段，以下县不足：%(counties)s", n=needed,
                         counties=join_names(short)), field)


def publish_round(rnd: SelectionRound, actor) -> None:
    """draft → open: needs enough lots in every county it covers and a deadline in the future."""
    require(rnd.status is S.DRAFT, _("只有草稿状态的遴选轮次可以发布"))
    require(rnd.bid_deadline > utcnow(), _("投标截止时间必须晚于当前时间"), "bid_deadline")
    require(rnd.opening_time >= rnd.bid_deadline, _("开标时间不能早于投标截止时间"), "opening_time")
    _check_lot_counts(rnd)
    # evaluation, listening, checks that the scoring scheme and eligibility gates are valid and fixes them
    transition(rnd, S.OPEN, actor, _l("发布遴选公告，开始接受投标：%(name)s", name=rnd.name))


def start_evaluation(rnd: SelectionRound, actor, bid_count: int) -> None:
    """opened → evaluation: there must be at least one opened bid to evaluate."""
    require(rnd.status is S.OPENED, _("只有已开标的轮次可以进入评审"))
    require(bid_count > 0, _("没有有效投标，不能进入评审；请取消本轮遴选"))
    transition(rnd, S.EVALUATION, actor, _l("进入评审：%(name)s", name=rnd.name))


def mark_allocated(rnd: SelectionRound, actor) -> None:
    """evaluation → allocated (called by the allocation module when a run is adopted)."""
    transition(rnd, S.ALLOCATED, actor, _l("分配方案已确定：%(name)s", name=rnd.name))


def mark_publicised(rnd: SelectionRound, actor) -> None:
    """allocated → publicised: the public notice (公示) starts now."""
    transition(rnd, S.PUBLICISED, actor, _l("结果公示开始：%(name)s", name=rnd.name))
    rnd.publicised_at = utcnow()


def mark_awarded(rnd: SelectionRound, actor) -> None:
    """publicised → awarded; awards, listening, refuses while the notice period (working days) runs."""
    require(rnd.status is S.PUBLICISED, _("只有公示中的轮次可以确定中标"))
    transition(rnd, S.AWARDED, actor, _l("公示期满，确定中标：%(name)s", name=rnd.name))


def put_in_force(rnd: SelectionRound, actor) -> None:
    """awarded → in force, from the first day of the term."""
    require(rnd.status is S.AWARDED, _("只有已中标的轮次可以开始执行"))
    require(utcnow() >= term_start_utc(rnd), _("服务期自%(year)s年1月1日开始", year=rnd.term_start_year))
    transition(rnd, S.IN_FORCE, actor, _l("服务期开始：%(name)s", name=rnd.name))


def cancel_round(rnd: SelectionRound, reason: str, actor) -> None:
    """Cancel from any state before awarded, with a reason. A round with a result (allocated or publicised) loses
    it in the same transaction (awards listens to `round_cancelled`): the awards and backups are revoked, the
    public notice is closed and pending objections are closed unexamined. Underwriting assignments are made only
    when a result is final, which a cancellable round's never is."""
    rnd = lock_for_update(rnd)  # the round first, as an objection's answer locks it (see answer_objection)
    reason = (reason or "").strip()
    require(reason, _("请填写取消原因"), "reason")
    require(S.CANCELLED in ROUND_TRANSITIONS[rnd.status],
            _("遴选轮次当前状态为“%(current)s”，不能取消", current=rnd.status.label))
    transition(rnd, S.CANCELLED, actor, _l("取消遴选轮次：%(name)s", name=rnd.name),
               values={"cancel_reason": reason, "cancelled_at": utcnow()}, reason=reason)


# --- what a user may do now ------------------------------------------------------------------------------

# Who runs a tender: the city agriculture bureau (the administrator sees everything but acts on no round).
MANAGERS = frozenset({Role.CITY_AGRI})


def available_actions(rnd: SelectionRound, user) -> Actions:
    """The actions `user` may take on `rnd` now: the state machine and the permission rules, once. tenders' own
    (rules, lots, exceptions, publishing, cancelling) and those other modules offer on a round (bidding,
    opening, evaluation, allocation, results), collected from their listeners of `signals.round_actions`."""
    own: list[Action] = []
    if user.role in MANAGERS:
        if rnd.status in EDITABLE_STATES:
            own.append(Action("edit_rules", _l("修改规则"), "tenders.edit_round", {"round_id": rnd.id},
                              style="outline-primary", order=40))
            own.append(Action("edit_lots", _l("新增标段"), "tenders.new_lot", {"round_id": rnd.id}, order=200))
            own.append(Action("copy_previous", _l("从上一服务期复制标段"), "tenders.previous_lots",
                              {"round_id": rnd.id}, style="outline-primary", order=205))
        if rnd.status in EXCEPTION_STATES:
            own.append(Action("edit_exceptions", _l("登记县级例外"), "tenders.new_exception", {"round_id": rnd.id},
                              style="outline-primary", order=210))
        if S.OPEN in ROUND_TRANSITIONS[rnd.status]:
            own.append(Action("publish", _l("发布并开始接受投标"), "tenders.publish", {"round_id": rnd.id},
                              post=True, style="success", element_id="publish-button", order=50))
        if S.CANCELLED in ROUND_TRANSITIONS[rnd.status]:
            own.append(Action("cancel", _l("确认取消"), "tenders.cancel", {"round_id": rnd.id}, post=True,
                              style="outline-danger", order=300))
    return Actions([*own, *signals.round_actions.collect(rnd, user=user)])


def list_actions(user) -> Actions:
    """The actions on the list of rounds: starting a new one."""
    if user.role not in MANAGERS:
        return Actions()
    return Actions([Action("new_round", _l("新建遴选轮次"), "tenders.new_round", style="success")])


# States in which the round waits for the bureau running it (not for the bidders or the clock): a draft to publish,
# bids to open, the evaluation to start, evaluate and allocate, a result to publish and finalise.
BUREAU_STEP_STATES = (S.DRAFT, S.CLOSED, S.OPENED, S.EVALUATION, S.ALLOCATED, S.PUBLICISED)


def rounds_awaiting_bureau() -> list[SelectionRound]:
    """The rounds whose next step is the bureau's, oldest first (the home page's to-do list). One query."""
    return list(db.session.scalars(sa.select(SelectionRound).where(SelectionRound.status.in_(BUREAU_STEP_STATES))
                                   .order_by(SelectionRound.id)))


def page_parts(rnd: SelectionRound, user) -> list[PagePart]:
    """What other modules show on the round page to `user` (bids, the public notice)."""
    return signals.round_page_parts.collect(rnd, user=user)


# --- rounds: create and edit ------------------------------------------------------------------------

ROUND_FIELDS = ["name", "term_start_year", "bid_deadline", "opening_time", "notice_working_days",
                "notice_short_reason", "min_insurers", "max_insurers", "market_share_cap_pct", "contact", "notes"]
# A public notice shorter than MIN_NOTICE_WORKING_DAYS needs a reason, and is still a notice: at least a day.
SHORTEST_NOTICE_WORKING_DAYS = 1
LONGEST_NOTICE_WORKING_DAYS = 60


def _check_notice_period(days: int | None, reason: str) -> None:
    """The public notice runs MIN_NOTICE_WORKING_DAYS working days, or fewer (never none) with the reason why."""
    require(days is not None and SHORTEST_NOTICE_WORKING_DAYS <= days <= LONGEST_NOTICE_WORKING_DAYS,
            _("公示期应为%(low)s至%(high)s个工作日", low=SHORTEST_NOTICE_WORKING_DAYS,
              high=LONGEST_NOTICE_WORKING_DAYS), "notice_working_days")
    require(days >= MIN_NOTICE_WORKING_DAYS or reason,
            _("公示期少于%(n)s个工作日的，须填写“%(field)s”", n=MIN_NOTICE_WORKING_DAYS, field=_("公示期缩短理由")),
            "notice_short_reason")


def _validate_round(data: dict[str, Any]) -> None:
    require((data.get("name") or "").strip(), _("请填写名称"), "name")
    _check_notice_period(data.get("notice_working_days", MIN_NOTICE_WORKING_DAYS),
                         (data.get("notice_short_reason") or "").strip())
    require(data["opening_time"] >= data["bid_deadline"], _("开标时间不能早于投标截止时间"), "opening_time")
    require(MIN_INSURERS_PER_COUNTY <= data["min_insurers"], _("每县承保机构不少于2家"), "min_insurers")
    require(data["max_insurers"] <= MAX_INSURERS_PER_COUNTY,
            _("每县承保机构原则上不超过%(n)s家；个别县确需更多的，请登记附省级批准文件的县级例外",
              n=MAX_INSURERS_PER_COUNTY), "max_insurers")
    require(data["max_insurers"] >= data["min_insurers"], _("每县承保机构上限不能小于下限"), "max_insurers")
    cap = data.get("market_share_cap_pct")
    require(cap is None or Decimal(0) < cap <= Decimal(100), _("市场份额上限应在0到100之间"), "market_share_cap_pct")


def _round_values(data: dict[str, Any]) -> dict[str, Any]:
    """The columns `data` sets; the reason for a short notice is kept only while the notice is short."""
    values = {k: data[k] for k in ROUND_FIELDS if k in data}
    values["name"] = values["name"].strip()
    if "notice_working_days" in values or "notice_short_reason" in values:
        days = values.get("notice_working_days", MIN_NOTICE_WORKING_DAYS)
        reason = (values.get("notice_short_reason") or "").strip()
        values["notice_short_reason"] = reason if days < MIN_NOTICE_WORKING_DAYS else None
    return values


def create_round(data: dict[str, Any], actor) -> SelectionRound:
    """A new round in draft. `data` holds ROUND_FIELDS with datetimes in naive UTC; a public notice shorter than
    MIN_NOTICE_WORKING_DAYS needs `notice_short_reason`."""
    _validate_round(data)
    values = _round_values(data)
    rnd = SelectionRound(**values, status=S.DRAFT, created_by_id=getattr(actor, "id", None))
    db.session.add(rnd)
    db.session.flush()
    audit.record(actor, "round.created", rnd, _l("新建遴选轮次：%(name)s", name=rnd.name), **values)
    signals.round_created.send(rnd, actor=actor)
    return rnd


def update_round(rnd: SelectionRound, data: dict[str, Any], actor) -> None:
    """Edit the rules while the round is a draft or open; on an open round submitted bids are invalidated."""
    advance_by_clock(rnd)
    require(rnd.status in EDITABLE_STATES, _("只有草稿或投标中的遴选轮次可以修改"))
    _validate_round(data)
    if rnd.status is S.OPEN:
        require(data["bid_deadline"] > utcnow(), _("投标截止时间必须晚于当前时间"), "bid_deadline")
    values = _round_values(data)
    diff = audit.changes(rnd, list(values), values)
    if not diff:
        return
    for name, value in values.items():
        setattr(rnd, name, value)
    if rnd.status is S.OPEN:
        db.session.expire(rnd, ["lots"])
        _check_lot_counts(rnd, "min_insurers")  # an open round keeps enough lots per county; the caller rolls back
    db.session.flush()
    audit.record(actor, "round.updated", rnd, _l("修改遴选轮次：%(name)s", name=rnd.name), changes=diff)
    rules_changed(rnd, actor, _l("遴选规则已修改"), [changes.rules_edited(diff)])


def rules_changed(rnd: SelectionRound, actor, what, items: list[dict[str, Any]]) -> None:
    """Lots or rules of an open round changed: bump the version and announce it (bids invalidates the submitted
    ones: they answer rules that no longer hold). `what`: the kind of change in a few words (a lazy string,
    announced as text in the record language); `items`: what changed, old and new, as data (`tenders.changes`),
    for the bidders to read in their own language."""
    if rnd.status is not S.OPEN:
        return
    rnd.rules_version += 1
    with in_record_language():
        reason = str(what)
    signals.round_rules_changed.send(rnd, actor=actor, what=reason, changes=items)


# --- county limits and exceptions (R3) ------------------------------------------------------------

@dataclass(frozen=True)
class CountyLimit:
    region: Region
    min_insurers: int
    max_insurers: int
    exception: CountyException | None


def lot_counts(rnd: SelectionRound) -> dict[Region, int]:
    """How many lots each county of the round has, counted in SQL (one grouped query, the lots not loaded)."""
    rows = db.session.execute(sa.select(Region, sa.func.count(Lot.id)).join(Lot, Lot.region_id == Region.id)
                              .where(Lot.round_id == rnd.id).group_by(Region.id).order_by(Region.code))
    return {region: n for region, n in rows}


def county_limits(rnd: SelectionRound, counties: list[Region] | None = None) -> dict[int, CountyLimit]:
    """Per county the round covers (and any county with an exception): how many insurers it may have.
    `counties`: the round's counties when the caller has them (e.g. from lot_counts), else from its lots."""
    exceptions = {e.region_id: e for e in rnd.exceptions}
    regions = {r.id: r for r in (rnd.counties() if counties is None else counties)}
    for e in rnd.exceptions:
        regions.setdefault(e.region_id, e.region)
    return {
        rid: CountyLimit(region, rnd.min_insurers,
                         exceptions[rid].max_insurers if rid in exceptions else rnd.max_insurers,
                         exceptions.get(rid))
        for rid, region in sorted(regions.items(), key=lambda kv: kv[1].code)
    }


def add_exception(rnd: SelectionRound, region: Region, max_insurers: int, approval_doc_no: str,
                  approval_date: date, document, actor) -> CountyException:
    """Record the provincial approval allowing `region` more than the round's maximum number of insurers."""
    advance_by_clock(rnd)
    require(rnd.status in EXCEPTION_STATES, _("分配方案确定后不能再增加县级例外"))
    require(region is not None and region.level is RegionLevel.COUNTY, _("请选择县（市、区）"), "region_id")
    require(max_insurers > rnd.max_insurers,
            _("例外上限应大于本轮的一般上限（%(n)s家）", n=rnd.max_insurers), "max_insurers")
    require((approval_doc_no or "").strip(), _("请填写省级批准文号"), "approval_doc_no")
    require(approval_date <= clock.local_today(), _("批准日期不能晚于今天"), "approval_date")
    duplicate = db.session.scalar(sa.select(CountyException.id).where(
        CountyException.round_id == rnd.id, CountyException.region_id == region.id))
    require(duplicate is None, _("%(county)s 已有例外记录", county=region.label), "region_id")
    exception = CountyException(round=rnd, region=region, max_insurers=max_insurers,
                                approval_doc_no=approval_doc_no.strip(), approval_date=approval_date,
                                document=document, created_by_id=getattr(actor, "id", None))
    db.session.add(exception)
    db.session.flush()
    audit.record(actor, "county_exception.created", exception,
                 _l("县级例外：%(county)s 最多%(n)s家承保机构（%(doc)s）", county=region.name, n=max_insurers,
                   doc=exception.approval_doc_no),
                 round_id=rnd.id, region=region.code, max_insurers=max_insurers,
                 approval_doc_no=exception.approval_doc_no, approval_date=approval_date,
                 document_sha256=document.sha256)
    rules_changed(rnd, actor, _l("县级承保机构上限已变更"),
                  [changes.county_limit_changed(region, rnd.max_insurers, max_insurers)])
    return exception


def delete_exception(exception: CountyException, actor) -> None:
    rnd = exception.round
    advance_by_clock(rnd)
    require(rnd.status in EXCEPTION_STATES, _("分配方案确定后不能再删除县级例外"))
    audit.record(actor, "county_exception.deleted", exception,
                 _l("删除县级例外：%(county)s", county=exception.region.name), round_id=rnd.id)
    change = changes.county_limit_changed(exception.region, exception.max_insurers, rnd.max_insurers)
    db.session.delete(exception)
    db.session.flush()
    db.session.expire(rnd, ["exceptions"])
    rules_changed(rnd, actor, _l("县级承保机构上限已变更"), [change])


# --- lots -----------------------------------------------------------------------------------------

LOT_FIELDS = ["region_id", "code", "name", "townships", "expected_premium", "loss_ratio_pct", "notes"]


def _require_editable(rnd: SelectionRound) -> None:
    advance_by_clock(rnd)
    require(rnd.status in EDITABLE_STATES, _("只有草稿或投标中的遴选轮次可以修改标段"))


def _validate_lot(rnd: SelectionRound, lot: Lot | None, data: dict[str, Any]) -> list[Product]:
    code = (data.get("code") or "").strip()
    name = (data.get("name") or "").strip()
    require(code, _("请填写标段编号"), "code")
    require(name, _("请填写标段名称"), "name")
    # the lot design assistant's codes and names come straight from its page, not through the lot form
    for field, text, longest in (("code", code, 40), ("name", name, 200)):
        require(len(text) <= longest, _("不能超过%(n)s个字", n=longest), field)
        require(not CONTROL_CHARACTERS.search(text), str(CONTROL_CHARACTERS_REFUSED), field)
    region = db.session.get(Region, data.get("region_id") or 0)
    require(region is not None and region.level is RegionLevel.COUNTY, _("请选择县（市、区）"), "region_id")
    premium = data.get("expected_premium")
    require(premium is not None and premium >= 0, _("预计年保费不能为负数"), "expected_premium")
    require(premium <= MAX_MONEY, _("数值过大"), "expected_premium")
    ratio = data.get("loss_ratio_pct")
    require(ratio is None or ratio >= 0, _("赔付率不能为负数"), "loss_ratio_pct")
    require(ratio is None or ratio <= MAX_RATIO_PCT, _("数值过大"), "loss_ratio_pct")
    duplicate = db.session.scalar(sa.select(Lot.id).where(
        Lot.round_id == rnd.id, Lot.code == code, Lot.id != (lot.id if lot else -1)))
    require(duplicate is None, _("标段编号 %(code)s 已存在", code=code), "code")
    products = db.session.scalars(sa.select(Product).where(Product.id.in_(data.get("product_ids") or []))).all()
    require(products, _("每个标段至少包含一个险种"), "product_ids")
    return list(products)


def _lot_values(data: dict[str, Any]) -> dict[str, Any]:
    values = {k: data.get(k) for k in LOT_FIELDS}
    values["code"] = values["code"].strip()
    values["name"] = values["name"].strip()
    values["townships"] = (values.get("townships") or "").strip() or None
    values["notes"] = (values.get("notes") or "").strip() or None
    return values


def save_lot(rnd: SelectionRound, lot: Lot | None, data: dict[str, Any], actor) -> Lot:
    """Create (lot None) or update a lot of a round in draft or open. `data` has LOT_FIELDS and product_ids."""
    _require_editable(rnd)
    products = _validate_lot(rnd, lot, data)
    values = _lot_values(data)
    if lot is None:
        lot = Lot(round=rnd, **values)
        lot.products = products
        db.session.add(lot)
        db.session.flush()
        audit.record(actor, "lot.created", lot, _l("新建标段：%(code)s %(name)s", code=lot.code, name=lot.name),
                     round_id=rnd.id, products=[p.code for p in products], **values)
        rules_changed(rnd, actor, _l("标段已变更"), [changes.lot_added(lot)])
        return lot
    diff = audit.changes(lot, list(values), values)
    old_products = sorted(p.code for p in lot.products)
    new_products = sorted(p.code for p in products)
    if old_products != new_products:
        diff["products"] = [old_products, new_products]
    if diff:
        for name, value in values.items():
            setattr(lot, name, value)
        lot.products = products
        db.session.flush()
        db.session.expire(rnd, ["lots"])
        if rnd.status is S.OPEN:
            _check_lot_counts(rnd)
        audit.record(actor, "lot.updated", lot, _l("修改标段：%(code)s", code=lot.code), changes=diff)
        rules_changed(rnd, actor, _l("标段已变更"), [changes.lot_changed(lot, diff)])
    return lot


def delete_lot(lot: Lot, actor) -> None:
    rnd = lot.round
    _require_editable(rnd)
    audit.record(actor, "lot.deleted", lot, _l("删除标段：%(code)s %(name)s", code=lot.code, name=lot.name),
                 round_id=rnd.id)
    change = changes.lot_deleted(lot)
    db.session.delete(lot)
    db.session.flush()
    db.session.expire(rnd, ["lots"])
    if rnd.status is S.OPEN:
        _check_lot_counts(rnd)  # an open round keeps enough lots per county
    rules_changed(rnd, actor, _l("标段已变更"), [change])


def import_lots(rnd: SelectionRound, rows: list[dict[str, Any]], actor) -> list[Lot]:
    """Create many lots at once (rows already checked by the xlsx parser); all or nothing: the caller rolls
    back on DomainError."""
    _require_editable(rnd)
    created = []
    for row in rows:
        products = _validate_lot(rnd, None, row)
        lot = Lot(round=rnd, **_lot_values(row))
        lot.products = products
        db.session.add(lot)
        db.session.flush()
        created.append(lot)
    audit.record(actor, "lot.imported", rnd, _l("导入标段 %(n)s 个：%(name)s", n=len(created), name=rnd.name),
                 codes=[lot.code for lot in created])
    db.session.expire(rnd, ["lots"])
    rules_changed(rnd, actor, _l("标段已变更"), [changes.lot_added(lot) for lot in created])
    return created


# --- lot design assistant (R2) ------------------------------------------------------------------------

def parse_lot_history(text: str, products: list[Product]) -> list[Cell]:
    """Lines "险种, 年保费, 赔付率%" or "险种, 乡镇, 年保费, 赔付率%" → cells for `design_lots`; DomainError naming
    the line otherwise. A product is named by its Chinese or English name or its code."""
    by_spelling = {spelling.lower(): p for p in products for spelling in (p.name, p.name_en, p.code) if spelling}
    cells: list[Cell] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.replace("，", ",").replace("\t", ",").split(",")]
        if len(parts) not in (3, 4):
            raise DomainError(_("第%(n)s行应为：险种, [乡镇,] 年保费, 赔付率", n=number), "history")
        product = by_spelling.get(parts[0].lower())
        if product is None:
            raise DomainError(_("第%(n)s行：未知险种“%(name)s”", n=number, name=parts[0][:40]), "history")
        township = parts[1] if len(parts) == 4 else None
        try:
            premium, ratio = Decimal(parts[-2].replace(",", "")), Decimal(parts[-1].rstrip("%"))
        except ArithmeticError as e:
            raise DomainError(_("第%(n)s行：保费和赔付率应为数字", n=number), "history") from e
        if not premium.is_finite() or not ratio.is_finite() or premium < 0 or ratio < 0:
            raise DomainError(_("第%(n)s行：保费和赔付率不能为负数", n=number), "history")
        if premium > MAX_MONEY or ratio > MAX_RATIO_PCT:
            raise DomainError(_("第%(n)s行：数值过大", n=number), "history")
        cell_id = f"{product.code}@{township}" if township else product.code
        if any(c.id == cell_id for c in cells):
            raise DomainError(_("第%(n)s行：险种重复", n=number), "history")
        cells.append(Cell(cell_id, product.code, premium, ratio, township))
    return cells


def stored_lot_history(rnd: SelectionRound, region: Region, by_township: bool = False) -> str:
    """The county's history as the assistant reads it ("险种, 年保费, 赔付率" per line; with `by_township`, "险种, 乡镇,
    年保费, 赔付率" where the lists place the claims in townships), from the stored lists of the term before the
    round's (R11: loss ratio = claims paid / premium over the three years; the annual premium is the mean over the
    years premium was stored); "" when nothing is stored (a city's first round: history is pasted).
    The lists' owners answer through `signals.lot_history`, so tenders imports none of them."""
    years = list(range(rnd.term_start_year - TERM_YEARS, rnd.term_start_year))
    found = [h for h in signals.lot_history.collect(rnd, region_id=region.id, years=years, by_township=by_township)
             if h.premium > 0 and h.years_with_premium]
    names = dict(db.session.execute(sa.select(Product.id, Product.name).where(
        Product.id.in_([h.product_id for h in found]))).all())
    lines = []
    for h in sorted(found, key=lambda h: (-h.premium, h.product_id, h.township or "")):
        annual = (h.premium / h.years_with_premium).quantize(Decimal("0.01"))
        ratio = (h.claims_paid * 100 / h.premium).quantize(Decimal("0.01"))
        township = f"{h.township}, " if h.township else ""
        lines.append(f"{names[h.product_id]}, {township}{annual}, {ratio}")
    return "\n".join(lines)


def propose_lots(cells: list[Cell], lot_count: int):
    """The balanced partition of the county's cells into `lot_count` lots (optimization.lot_design)."""
    require(len(cells) >= lot_count, _("险种数少于标段数"), "lot_count")
    try:
        return design_lots(cells, lot_count)
    except ValueError as e:
        raise DomainError(_("无法生成方案：%(reason)s", reason=str(e)), "history") from e


def apply_lot_design(rnd: SelectionRound, region: Region, cells: list[Cell],
                     picks: list[tuple[str, str, list[str]]], actor) -> list[Lot]:
    """Create the lots of an accepted proposal for one county: `picks` is (code, name, cell ids) per lot as the
    bureau edited them. Each lot's premium is its cells' sum and its loss ratio their premium-weighted mean; a
    cell may be in one lot only (its premium would count twice)."""
    by_id = {c.id: c for c in cells}
    products = {p.code: p for p in db.session.scalars(sa.select(Product))}
    rows, placed = [], set()
    for code, name, cell_ids in picks:
        members = [by_id[c] for c in cell_ids if c in by_id]
        if not members:
            continue
        twice = next((c for c in members if c.id in placed), None)
        if twice is not None:
            label = products[twice.product].label
            raise DomainError(_("“%(cell)s”只能划入一个标段",
                                cell=with_note(label, twice.township) if twice.township else label), "history")
        placed.update(c.id for c in members)
        premium = sum((c.expected_premium for c in members), Decimal(0))
        claims = sum((c.expected_premium * c.loss_ratio for c in members), Decimal(0))
        rows.append({"region_id": region.id, "code": code.strip(), "name": name.strip(),
                     "expected_premium": premium,
                     "loss_ratio_pct": (claims / premium).quantize(Decimal("0.01")) if premium else None,
                     "townships": "、".join(sorted({c.township for c in members if c.township})) or None,
                     "notes": None, "product_ids": sorted({products[c.product].id for c in members})})
    require(rows, _("请至少为一个标段选择险种"), "history")
    return import_lots(rnd, rows, actor)


# --- the next round from the last ---------------------------------------------------------------------------

PREVIOUS_TERM_STATES = (S.AWARDED, S.IN_FORCE, S.EXPIRED)  # a final result: its lots were underwritten


def previous_term(rnd: SelectionRound) -> SelectionRound | None:
    """The round of the term before `rnd`'s: the latest round with a final result whose term starts earlier."""
    return db.session.scalar(sa.select(SelectionRound).where(
        SelectionRound.status.in_(PREVIOUS_TERM_STATES), SelectionRound.term_start_year < rnd.term_start_year,
        SelectionRound.id != rnd.id).order_by(SelectionRound.term_start_year.desc(), SelectionRound.id.desc())
        .limit(1))


@dataclass
class PreviousLot:
    """A lot of the previous term, as the new round may take it over: its loss ratio measured from the stored
    payout and underwriting rows of its county and products in every stored year up to the end of that term (the
    term may have begun after the last year with data; percent, None without stored premium), the years that figure
    rests on, and whether the new round already has a lot with its code."""

    lot: Lot
    measured_pct: Decimal | None
    years: list[int]
    copied: bool

    @property
    def loss_ratio_pct(self) -> Decimal | None:
        """What the copy takes: the measured ratio where there is one, else the one the old lot was designed with."""
        return self.measured_pct if self.measured_pct is not None else self.lot.loss_ratio_pct


def previous_lots(rnd: SelectionRound) -> tuple[SelectionRound | None, list[PreviousLot]]:
    """The previous term's round and its lots with their measured loss ratios (claims paid / premium of every
    underwriter, summed over the lot's products and the stored years up to the end of that term; the figures come from
    the lists' owner through `signals.measured_losses`, so tenders imports none of them). A fixed number of queries."""
    previous = previous_term(rnd)
    if previous is None:
        return None, []
    lots = list(previous.lots)
    figures = [m for m in signals.measured_losses.collect(rnd, region_ids={lot.region_id for lot in lots})
               if m.year <= previous.term_end_year]
    paid: dict[tuple[int, int], Decimal] = {}
    premium: dict[tuple[int, int], Decimal] = {}
    years: dict[tuple[int, int], set[int]] = {}
    for m in figures:
        key = (m.region_id, m.product_id)
        paid[key] = paid.get(key, Decimal(0)) + m.claims_paid
        premium[key] = premium.get(key, Decimal(0)) + m.premium
        if m.premium:
            years.setdefault(key, set()).add(m.year)
    codes = {lot.code for lot in rnd.lots}
    rows = []
    for lot in lots:
        keys = [(lot.region_id, p.id) for p in lot.products]
        base = sum((premium.get(k, Decimal(0)) for k in keys), Decimal(0))
        claims = sum((paid.get(k, Decimal(0)) for k in keys), Decimal(0))
        pct = min((claims / base * 100).quantize(Decimal("0.01")), MAX_RATIO_PCT) if base else None
        rows.append(PreviousLot(lot, pct, sorted(set().union(*(years.get(k, set()) for k in keys))),
                                lot.code in codes))
    return previous, rows


def copy_previous_lots(rnd: SelectionRound, actor) -> list[Lot]:
    """The previous term's lots not yet in `rnd` (by code), copied: county, code, name, townships, products, expected
    premium, and the measured loss ratio where stored data gives one. All or nothing (`import_lots`)."""
    _require_editable(rnd)
    previous, rows = previous_lots(rnd)
    require(previous is not None, _("没有上一服务期已确定中标的遴选轮次，无法复制标段"))
    todo = [row for row in rows if not row.copied]
    require(todo, _("上一服务期的标段都已在本轮中"))
    created = import_lots(rnd, [{
        "region_id": row.lot.region_id, "code": row.lot.code, "name": row.lot.name, "townships": row.lot.townships,
        "expected_premium": row.lot.expected_premium, "loss_ratio_pct": row.loss_ratio_pct, "notes": row.lot.notes,
        "product_ids": [p.id for p in row.lot.products]} for row in todo], actor)
    audit.record(actor, "lot.copied", rnd, _l("从上一服务期（%(previous)s）复制标段 %(n)s 个", previous=previous.name,
                                              n=len(created)),
                 previous_round_id=previous.id,
                 measured={row.lot.code: None if row.measured_pct is None else str(row.measured_pct) for row in todo})
    return created
