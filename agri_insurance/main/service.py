"""What each role's home page shows: its to-do list first, then the dashboard figures; and the menu's counts.

The to-do list is assembled here from what each owning module says is waiting (the rules stay in their services:
`subsidies.service.payments_waiting`, `evaluation.service.panel_steps`, `awards.service.notices_ended`, …): each
item says in one line what waits and why, links to the page where it is done, counts toward the badge of the menu
item of that page, and is gone once the work is done. Every source takes a fixed number of queries whatever the
amount of data, and reads within the user's organisation (`scope_clause`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import g, has_app_context, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from sqlalchemy.orm.attributes import set_committed_value

from agri_insurance.access import scope_clause
from agri_insurance.allocation import service as allocation
from agri_insurance.annual_review import service as annual_review
from agri_insurance.audit.models import AuditEntry
from agri_insurance.auth import service as auth
from agri_insurance.auth.models import User
from agri_insurance.awards import service as awards
from agri_insurance.bids.service import describe_invalidation, invalidated_bids_of
from agri_insurance.clock import utcnow
from agri_insurance.evaluation import service as evaluation
from agri_insurance.evaluation.models import EvaluationPanel
from agri_insurance.evaluation.service import assigned_rounds
from agri_insurance.extensions import db
from agri_insurance.i18n import join_names
from agri_insurance.jobs import service as jobs
from agri_insurance.payouts import service as payouts
from agri_insurance.reference.models import (
    Insurer,
    Product,
    ProductCategory,
    Region,
    RegionLevel,
    SubsidyScheme,
)
from agri_insurance.roles import SEPARATED_ROLES, Role
from agri_insurance.subsidies import checkpoints as payout_checkpoints
from agri_insurance.subsidies import reports as subsidy_reports
from agri_insurance.subsidies import service as subsidies
from agri_insurance.subsidies.models import ClaimStatus, SubsidyClaim
from agri_insurance.subsidies.service import overdue_items, overdue_summary_for
from agri_insurance.tenders import service as tenders
from agri_insurance.tenders.models import RoundStatus, SelectionRound

OVERDUE_WATCHERS = (Role.ADMIN, Role.CITY_AGRI, Role.CITY_FINANCE, Role.COUNTY_AGRI, Role.COUNTY_FINANCE,
                    Role.INSURER)
# Objects listed one by one on a to-do list (claims to pay, returned claims); the rest in one line.
LISTED = 5
OVERDUE_SHOWN = 10  # the worst overdue shares a dashboard lists (the overdue page has them all)


# --- the to-do list ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Todo:
    """One line of a to-do list: what waits and why (`text`), where it is done (`endpoint`, `params`), how many
    things it stands for (`count`, added to the badge of the menu item `menu`)."""

    key: str                      # stable; the line's element id is "todo-<key>" unless `element_id` says otherwise
    text: str
    endpoint: str
    params: Mapping[str, Any] = field(default_factory=dict)
    menu: str | None = None       # the menu item (its endpoint) the work is done under
    count: int = 1
    late: bool = False            # past its due date: the page shows it in red
    element_id: str | None = None
    changes: tuple = ()           # what changed (bids.service.describe_invalidation), listed under the line

    @property
    def url(self) -> str:
        return url_for(self.endpoint, **self.params)

    @property
    def dom_id(self) -> str:
        return self.element_id or f"todo-{self.key}"


def _when(value) -> str:
    """A stored time as the pages show it (local time, to the minute)."""
    return format_datetime(value, "yyyy-MM-dd HH:mm") if value else "—"


def _claim_name(claim: SubsidyClaim) -> str:
    return f"#{claim.id} {claim.region.label} {claim.product.label} {claim.year} {claim.period}"


def _money(amount) -> str:
    return f"{amount:,.2f}"


# county agriculture bureau -------------------------------------------------------------------------------------

def _claims_to_verify(user) -> list[Todo]:
    waiting = subsidies.claims_waiting(scope_clause(SubsidyClaim, user), ClaimStatus.SUBMITTED)
    if not waiting.count:
        return []
    return [Todo("claims-to-verify", _("%(n)s 份补贴申请待核验，最早一份于 %(time)s 提交", n=waiting.count,
                                       time=_when(waiting.since)),
                 "subsidies.claims", {"status": ClaimStatus.SUBMITTED.value}, "subsidies.claims", waiting.count)]


def _payout_flags(user) -> list[Todo]:
    """Flagged payouts of the county not yet reviewed (理赔清单: accepted with a comment)."""
    count = payouts.flags_waiting(user)
    if not count:
        return []
    return [Todo("payout-flags", _("%(n)s 处理赔标记待审核", n=count), "payouts.flags", menu="payouts.flags",
                 count=count)]


def _review_results(user) -> list[Todo]:
    """County bureau: underwriters to score in the year's evaluation; underwriter: draft results it may reply to."""
    count = annual_review.results_waiting(user)
    if not count:
        return []
    text = (_("%(n)s 家承保机构待年度考评评分", n=count) if user.role is Role.COUNTY_AGRI
            else _("%(n)s 项年度考评初评结果可提出意见", n=count))
    return [Todo("review-results", text, "annual_review.index", menu="annual_review.index", count=count)]


def _complaints(user) -> list[Todo]:
    """Underwriter: complaints to answer; city: complaints to decide."""
    count = annual_review.complaints_waiting(user)
    if not count:
        return []
    text = (_("%(n)s 件投诉待申辩", n=count) if user.role is Role.INSURER else _("%(n)s 件投诉待决定", n=count))
    return [Todo("complaints", text, "annual_review.complaints", menu="annual_review.complaints", count=count)]


# county and city finance bureaus -------------------------------------------------------------------------------

def _payments(user) -> list[Todo]:
    """The shares of the levels this bureau pays (R7): overdue ones in one line (to the overdue list), then the
    claims soonest due one by one (to the claim, where the payment is recorded)."""
    levels = subsidies.payable_levels(user)
    waiting = subsidies.payments_waiting(scope_clause(SubsidyClaim, user), levels, limit=LISTED)
    todos = []
    if waiting.overdue_claims:
        todos.append(Todo("payments-overdue", _("%(n)s 份申请的本级补贴已逾期未付，最长已逾期 %(days)s 天",
                                                n=waiting.overdue_claims, days=waiting.days_overdue()),
                          "subsidies.overdue", menu="subsidies.overdue", count=waiting.overdue_claims, late=True))
    for claim in waiting.first_due:
        owed = [_("%(level)s %(amount)s 元", level=s.level.label, amount=_money(s.outstanding))
                for s in claim.shares if s.level in levels and s.outstanding > 0]
        todos.append(Todo(f"payment-{claim.id}", _("%(claim)s：待拨付 %(shares)s，拨付期限 %(due)s",
                                                   claim=_claim_name(claim), shares=join_names(owed),
                                                   due=claim.due_date or "—"),
                          "subsidies.claim_detail", {"claim_id": claim.id}, "subsidies.claims"))
    rest = waiting.due_claims - len(waiting.first_due)
    if rest > 0:
        todos.append(Todo("payments-more", _("另有 %(n)s 份申请的本级补贴待拨付", n=rest), "subsidies.claims",
                          menu="subsidies.claims", count=rest))
    return todos


def _payout_checkpoint(user) -> list[Todo]:
    """Before a payout-rate checkpoint (R15): the bureau's levels below the mark, as of today."""
    checkpoint = payout_checkpoints.upcoming_warning(user)
    if checkpoint is None:
        return []
    worst = min(checkpoint.below, key=lambda rate: rate.pct)
    return [Todo("payout-checkpoint", _(
        "%(day)s 付款率检查点（%(year)s年度，须达 %(threshold)s%%）：%(n)s 项低于要求，最低为%(county)s%(level)s %(pct)s%%",
        day=checkpoint.on.isoformat(), year=checkpoint.year, threshold=payout_checkpoints.threshold(),
        n=len(checkpoint.below), county=worst.region.label, level=worst.level.label, pct=worst.pct),
        "subsidies.year_money", {"year": checkpoint.year}, "subsidies.year_money", len(checkpoint.below),
        late=True)]


def _estimate_due(user) -> list[Todo]:
    """The city's next-year subsidy estimate (测算表), due 20 August: a reminder from 1 July."""
    pending = subsidy_reports.estimate_pending()
    if pending is None:
        return []
    year, due = pending
    return [Todo("estimate-due", _("报送%(year)s年度农业保险保费补贴测算表，期限 %(due)s", year=year, due=due.isoformat()),
                 "subsidies.year_money", {"year": year - 1}, "subsidies.year_money")]


# city agriculture bureau ---------------------------------------------------------------------------------------

ROUND_PAGE, EVALUATION_PAGE, ALLOCATION_PAGE, RESULT_PAGE = (
    "tenders.round_detail", "evaluation.panel", "allocation.round_runs", "awards.round_awards")
MENU_OF = {ROUND_PAGE: "tenders.rounds", EVALUATION_PAGE: "evaluation.rounds", ALLOCATION_PAGE: "tenders.rounds",
           RESULT_PAGE: "awards.rounds"}


def _round_todo(rnd: SelectionRound, endpoint: str, text: str, count: int = 1, key: str = "round") -> Todo:
    return Todo(f"{key}-{rnd.id}", text, endpoint, {"round_id": rnd.id}, MENU_OF[endpoint], count)


def _panel_text(rnd: SelectionRound, step: evaluation.PanelStep) -> str | None:
    """The line for the panel's next step; None while the experts are still scoring (nothing for the bureau)."""
    name = rnd.name
    if step.step == "eligibility":
        return _("“%(round)s”：待进行资格审查", round=name)
    if step.step == "decisions":
        return _("“%(round)s”：%(n)s 家同一控制的投标人待决定是否参加评审", round=name, n=step.pending)
    if step.step == "no_eligible":
        return _("“%(round)s”：没有合格的投标人，请重新审查或取消本轮遴选", round=name)
    if step.step == "experts":
        return _("“%(round)s”：待指派评审专家", round=name)
    if step.step == "start_scoring":
        return _("“%(round)s”：资格审查已完成，待开始专家评分", round=name)
    if step.step == "close":
        return _("“%(round)s”：专家已全部提交评分，待结束评审并确定排名", round=name)
    return None


def _round_steps(user) -> list[Todo]:
    """Objections to answer, then each round's next step (the bureau's, not the bidders' or the clock's)."""
    rounds = tenders.rounds_awaiting_bureau()
    by_status: dict[RoundStatus, list[SelectionRound]] = {}
    for rnd in rounds:
        by_status.setdefault(rnd.status, []).append(rnd)
    evaluating = [r.id for r in by_status.get(RoundStatus.EVALUATION, [])]
    panel = evaluation.panel_steps(evaluating)
    allocating = allocation.allocation_steps([rid for rid in evaluating if rid not in panel])
    ended = awards.notices_ended([r.id for r in by_status.get(RoundStatus.PUBLICISED, [])])
    objections = awards.pending_objection_counts()
    named = {r.id: r for r in rounds}
    missing = set(objections) - set(named)
    if missing:  # objections are answered while the notice runs: only ever a publicised round's, but be sure
        named.update({r.id: r for r in db.session.scalars(sa.select(SelectionRound).where(
            SelectionRound.id.in_(missing)))})
    todos = [_round_todo(named[rid], RESULT_PAGE, _("“%(round)s”：%(n)s 件质疑待答复", round=named[rid].name, n=n),
                         n, key="objections") for rid, n in sorted(objections.items())]
    now = utcnow()
    for rnd in rounds:
        name = rnd.name
        if rnd.status is RoundStatus.DRAFT:
            todos.append(_round_todo(rnd, ROUND_PAGE, _("“%(round)s”：草稿，待发布（投标截止 %(deadline)s）", round=name,
                                                        deadline=_when(rnd.bid_deadline))))
        elif rnd.status is RoundStatus.CLOSED:
            text = (_("“%(round)s”：开标时间已到，待开标", round=name) if now >= rnd.opening_time
                    else _("“%(round)s”：已截标，待于 %(time)s 开标", round=name, time=_when(rnd.opening_time)))
            todos.append(_round_todo(rnd, ROUND_PAGE, text))
        elif rnd.status is RoundStatus.OPENED:
            todos.append(_round_todo(rnd, ROUND_PAGE, _("“%(round)s”：已开标，待进入评审", round=name)))
        elif rnd.id in panel:
            text = _panel_text(rnd, panel[rnd.id])
            if text is not None:
                todos.append(_round_todo(rnd, EVALUATION_PAGE, text))
        elif allocating.get(rnd.id) == "compute":
            todos.append(_round_todo(rnd, ALLOCATION_PAGE, _("“%(round)s”：评审已结束，待计算分配方案", round=name)))
        elif allocating.get(rnd.id) == "adopt":
            todos.append(_round_todo(rnd, ALLOCATION_PAGE, _("“%(round)s”：分配方案已算出，待采用", round=name)))
        elif rnd.status is RoundStatus.ALLOCATED:
            todos.append(_round_todo(rnd, RESULT_PAGE, _("“%(round)s”：分配方案已采用，待公示中标结果", round=name)))
        elif rnd.id in ended and not objections.get(rnd.id):
            todos.append(_round_todo(rnd, RESULT_PAGE, _("“%(round)s”：公示期已于 %(day)s 结束，待确定中标", round=name,
                                                         day=ended[rnd.id].isoformat())))
    return todos


def _city_overdue(user) -> list[Todo]:
    overdue = subsidies.overdue_summary_for(user)   # the same figures the home page and the overdue list show
    if not overdue.shares:
        return []
    return [Todo("overdue", _("全市逾期未付补贴 %(n)s 项，最长已逾期 %(days)s 天", n=overdue.shares,
                              days=overdue.days_overdue()),
                 "subsidies.overdue", menu="subsidies.overdue", count=overdue.shares, late=True)]


# insurer ------------------------------------------------------------------------------------------------------

def _bids_to_reconfirm(user) -> list[Todo]:
    bids = invalidated_bids_of(user)
    rounds = {r.id: r for r in db.session.scalars(sa.select(SelectionRound).where(
        SelectionRound.id.in_({b.round_id for b in bids})))} if bids else {}   # one query for all their rounds
    return [Todo(f"bid-{bid.id}", _("“%(round)s”的标段或规则已变更，本机构的投标文件已失效，须在%(deadline)s前重新确认提交。",
                                    round=rounds[bid.round_id].name, deadline=_when(rounds[bid.round_id].bid_deadline)),
                 "bids.bid_detail", {"bid_id": bid.id}, "bids.my_bids", element_id=f"bid-invalidated-{bid.id}",
                 changes=tuple(describe_invalidation(bid)))
            for bid in bids]


def _lots_won(user) -> list[Todo]:
    return [Todo(f"award-{rnd.id}", _("“%(round)s”已确定中标：本机构中标 %(n)s 个标段，请下载中标通知书", round=rnd.name,
                                      n=lots),
                 RESULT_PAGE, {"round_id": rnd.id, "_anchor": "downloads"}, "awards.rounds")
            for rnd, lots in awards.awards_won(user.insurer_id)]


def _claims_to_correct(user) -> list[Todo]:
    scope = scope_clause(SubsidyClaim, user)
    count, claims = subsidies.returned_to_correct(scope, LISTED)
    todos = [Todo(f"claim-returned-{c.id}", _("%(claim)s 已被退回（%(reason)s），请修改后重新申报",
                                              claim=_claim_name(c), reason=c.returned_reason),
                  "subsidies.claim_detail", {"claim_id": c.id}, "subsidies.claims") for c in claims]
    if count > len(claims):
        todos.append(Todo("claims-returned-more", _("另有 %(n)s 份被退回的申请待重新申报", n=count - len(claims)),
                          "subsidies.claims", {"status": ClaimStatus.RETURNED.value}, "subsidies.claims",
                          count - len(claims)))
    drafts = subsidies.claims_waiting(scope, ClaimStatus.DRAFT)
    if drafts.count:
        todos.append(Todo("claim-drafts", _("%(n)s 份补贴申请草稿尚未提交，最早一份建于 %(time)s", n=drafts.count,
                                            time=_when(drafts.since)),
                          "subsidies.claims", {"status": ClaimStatus.DRAFT.value}, "subsidies.claims", drafts.count))
    return todos


# expert -------------------------------------------------------------------------------------------------------

def _task_text(task: evaluation.ExpertTask) -> str:
    name = task.round.name
    if task.step == "declare":
        return _("“%(round)s”：请先声明是否存在利益冲突", round=name)
    if task.step == "score":
        return _("“%(round)s”：还有 %(n)s 项评分未完成", round=name, n=task.missing)
    return _("“%(round)s”：评分已完成，请提交评分", round=name)


def _rounds_to_score(user) -> list[Todo]:
    return [Todo(f"score-{task.round.id}", _task_text(task), "evaluation.expert_round", {"round_id": task.round.id},
                 "evaluation.rounds") for task in evaluation.expert_tasks(user)]


# administrator -------------------------------------------------------------------------------------------------

def _locked_accounts(user) -> list[Todo]:
    n = auth.locked_accounts()
    if not n:
        return []
    return [Todo("locked-accounts", _("%(n)s 个账户因连续输错密码被锁定，可解除锁定或重置密码", n=n), "auth.users",
                 menu="auth.users", count=n)]


def _failed_jobs(user) -> list[Todo]:
    n = jobs.recent_failures()
    if not n:
        return []
    return [Todo("failed-jobs", _("近 %(days)s 天有 %(n)s 个后台作业失败且未重新完成", days=jobs.RECENT_FAILURE_DAYS, n=n),
                 "jobs.jobs", menu="jobs.jobs", count=n, late=True)]


TODO_SOURCES: dict[Role, tuple[Callable[[Any], list[Todo]], ...]] = {
    Role.ADMIN: (_failed_jobs,),
    Role.SECURITY_ADMIN: (_locked_accounts,),
    Role.CITY_AGRI: (_round_steps, _city_overdue, _complaints),
    Role.COUNTY_AGRI: (_claims_to_verify, _payout_flags, _review_results),
    Role.INSURER: (_bids_to_reconfirm, _lots_won, _claims_to_correct, _review_results, _complaints),
    Role.EXPERT: (_rounds_to_score,),
    Role.COUNTY_FINANCE: (_payments, _payout_checkpoint),
    Role.CITY_FINANCE: (_payments, _payout_checkpoint, _estimate_due),
}


def todo_list(user) -> list[Todo]:
    """What waits for `user`, in the order the home page lists it. Computed once per request (the menu's counts and
    the home page share it); reading only (no autoflush of whatever the request has pending)."""
    cache = g.setdefault("todo_lists", {}) if has_app_context() else {}
    if user.id not in cache:
        with db.session.no_autoflush:
            cache[user.id] = [todo for source in TODO_SOURCES.get(user.role, ()) for todo in source(user)]
    return cache[user.id]


def menu_counts(user) -> dict[str, int]:
    """{menu endpoint: things waiting for `user` on that page} (the navigation's badges)."""
    counts: dict[str, int] = {}
    for todo in todo_list(user):
        if todo.menu is not None:
            counts[todo.menu] = counts.get(todo.menu, 0) + todo.count
    return counts


# --- the dashboard figures -------------------------------------------------------------------------------------

def dashboard_figures(user) -> dict:
    count = lambda stmt: db.session.scalar(stmt) or 0  # noqa: E731
    if user.role in SEPARATED_ROLES:   # the security and audit administrators: their own work, no business data
        return _administrator_figures(user, count)
    figures = {
        "counties": count(sa.select(sa.func.count(Region.id)).where(Region.level == RegionLevel.COUNTY)),
        "central_products": count(sa.select(sa.func.count(Product.id)).where(
            Product.category == ProductCategory.CENTRAL, Product.active)),
        "specialty_products": count(sa.select(sa.func.count(Product.id)).where(
            Product.category == ProductCategory.SPECIALTY, Product.active)),
        "insurers": count(sa.select(sa.func.count(Insurer.id)).where(Insurer.active)),
        "schemes": count(sa.select(sa.func.count(SubsidyScheme.id))),
        "latest_scheme_year": db.session.scalar(sa.select(sa.func.max(SubsidyScheme.year))),
    }
    if user.role is Role.ADMIN:
        figures["users"] = count(sa.select(sa.func.count(User.id)).where(User.active))
    if user.role is Role.CITY_AGRI:
        figures["recent_audit"] = db.session.scalars(
            sa.select(AuditEntry).order_by(AuditEntry.id.desc()).limit(8)
        ).all()
    if user.role in OVERDUE_WATCHERS:
        # R7: finance and agriculture bureaus see what is late before anything else.
        # Counted and summed in SQL; only the worst few are loaded.
        figures["overdue"] = overdue_items(scope_clause(SubsidyClaim, user), limit=OVERDUE_SHOWN)
        figures["overdue_summary"] = overdue_summary_for(user)
    if user.role.needs_county:
        figures["county_schemes"] = count(sa.select(sa.func.count(SubsidyScheme.id)).where(
            SubsidyScheme.region_id == user.region_id))
    figures.update(_tender_figures(user))
    if user.role is Role.EXPERT:
        figures["expert_rounds"] = _expert_rounds(user)
    return figures


def _expert_rounds(user):
    """The expert's rounds, their panels read in one query (the page shows each panel's status)."""
    rounds = assigned_rounds(user)
    panels = {p.id: p for p in db.session.scalars(sa.select(EvaluationPanel).where(
        EvaluationPanel.id.in_({m.panel_id for _r, m in rounds})))} if rounds else {}
    for _r, member in rounds:
        set_committed_value(member, "panel", panels[member.panel_id])
    return rounds


def _administrator_figures(user, count) -> dict:
    if user.role is Role.SECURITY_ADMIN:
        return {"users": count(sa.select(sa.func.count(User.id)).where(User.active))}
    return {"recent_audit": db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id.desc()).limit(8)).all()}


def _tender_figures(user) -> dict:
    """Open rounds for everyone (an insurer's bids to re-confirm are on its to-do list)."""
    open_rounds = db.session.scalars(sa.select(SelectionRound).where(
        SelectionRound.status == RoundStatus.OPEN).order_by(SelectionRound.bid_deadline)).all()
    return {"open_rounds": open_rounds}
