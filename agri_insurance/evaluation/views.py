"""Evaluation pages: the scheme (everyone who sees the round), the panel (city bureau), scoring (experts), the
ranking and exports (bureau), a bidder's own result (insurer). Bids are only read through the service, which reads
`opened_bids` (empty before the opening): nothing here can show a sealed bid."""

from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from agri_insurance.access import ALL_ROLES, roles_required, scoped_get_or_404
from agri_insurance.auth.models import User
from agri_insurance.bids import exports as bids_exports
from agri_insurance.bids import service as bids_service
from agri_insurance.bids.models import Bid
from agri_insurance.evaluation import exports, scoring, service
from agri_insurance.evaluation.forms import (
    ActionForm,
    ConflictForm,
    CriterionForm,
    DecisionForm,
    MemberForm,
    RulesForm,
)
from agri_insurance.evaluation.models import (
    ControlDecision,
    Criterion,
    EligibilityCheck,
    EvaluationPanel,
    Factor,
    PanelMember,
    PanelStatus,
)
from agri_insurance.extensions import db
from agri_insurance.forms_util import commit_or_flash
from agri_insurance.paging import ListFilters, paginate
from agri_insurance.roles import Role
from agri_insurance.spreadsheets import download, xlsx_download
from agri_insurance.tenders import lists as round_lists
from agri_insurance.tenders import service as tenders
from agri_insurance.tenders.models import RoundStatus, SelectionRound

bp = Blueprint("evaluation", __name__, url_prefix="/evaluation")
MANAGERS = (Role.CITY_AGRI,)
BUREAU = (Role.ADMIN, Role.CITY_AGRI)
EXPERTS = (Role.EXPERT,)
PARTICIPANTS = (Role.ADMIN, Role.CITY_AGRI, Role.EXPERT, Role.INSURER)


# --- lists -------------------------------------------------------------------------------------------------

@bp.get("/")
@roles_required(*PARTICIPANTS)
def rounds():
    """Bureau: every published round; expert: the rounds it is assigned to; insurer: rounds it bid in."""
    stmt = sa.select(SelectionRound).where(SelectionRound.visible_to(current_user))
    if current_user.role is Role.EXPERT:
        stmt = stmt.where(SelectionRound.id.in_(sa.select(EvaluationPanel.round_id).join(PanelMember).where(
            PanelMember.user_id == current_user.id)))
    elif current_user.role is Role.INSURER:
        stmt = stmt.where(SelectionRound.id.in_(sa.select(Bid.round_id).where(Bid.visible_to(current_user))))
    filters = ListFilters()
    page = paginate(stmt.where(*round_lists.round_filter_clauses(filters)).order_by(*round_lists.NEWEST_FIRST),
                    filters)
    panels = {p.round_id: p for p in db.session.scalars(sa.select(EvaluationPanel).where(
        EvaluationPanel.round_id.in_([r.id for r in page.items])))}
    return render_template("evaluation/rounds.html", page=page, filters=filters, statuses=list(RoundStatus),
                           panels=panels, links={r.id: service.round_links(r, current_user) for r in page.items})


# --- the scoring scheme --------------------------------------------------------------------------------------

@bp.get("/rounds/<int:round_id>/scheme")
@roles_required(*ALL_ROLES)
def scheme(round_id: int):
    rnd = _round(round_id)
    scheme = service.scheme_of(rnd)
    if scheme is None:  # a round from before every new round got its scheme: the bureau sets it up (POST)
        return render_template("evaluation/scheme_missing.html", rnd=rnd,
                               actions=service.scheme_actions(rnd, current_user))
    by_factor = {f: [c for c in scheme.criteria if c.factor is f] for f in Factor}
    return render_template("evaluation/scheme.html", rnd=rnd, scheme=scheme, by_factor=by_factor,
                           problems=service.scheme_problems(scheme), total=service.total_weight(scheme),
                           metrics=scoring.METRICS, actions=service.scheme_actions(rnd, current_user),
                           fixed=rnd.status is not RoundStatus.DRAFT, action_form=ActionForm())


@bp.post("/rounds/<int:round_id>/scheme")
@roles_required(*MANAGERS)
def create_scheme(round_id: int):
    rnd = _round(round_id)
    commit_or_flash(lambda: service.scheme_for(rnd, current_user), _("已保存"))
    return redirect(url_for(".scheme", round_id=rnd.id))


def _criterion_cycle(rnd: SelectionRound, criterion: Criterion | None):
    form = CriterionForm(obj=criterion, metrics=scoring.METRICS.items())
    if request.method == "GET" and criterion is not None:
        form.factor.data = criterion.factor.value
        form.kind.data = criterion.kind.value
        form.bands.data = "\n".join(f"{b}, {p}" for b, p in (criterion.bands or []))
    if form.validate_on_submit():
        if commit_or_flash(lambda: service.save_criterion(rnd, criterion, form.to_data(), current_user), _("已保存"),
                           form):
            return redirect(url_for(".scheme", round_id=rnd.id))
    return render_template("evaluation/criterion_form.html", form=form, rnd=rnd,
                           criterion=criterion), 400 if form.errors else 200


@bp.route("/rounds/<int:round_id>/criteria/new", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def new_criterion(round_id: int):
    return _criterion_cycle(_round(round_id), None)


@bp.route("/criteria/<int:criterion_id>/edit", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def edit_criterion(criterion_id: int):
    criterion = scoped_get_or_404(Criterion, criterion_id)
    return _criterion_cycle(_round(criterion.scheme.round_id), criterion)


@bp.post("/criteria/<int:criterion_id>/delete")
@roles_required(*MANAGERS)
def delete_criterion(criterion_id: int):
    criterion = scoped_get_or_404(Criterion, criterion_id)
    round_id = criterion.scheme.round_id
    commit_or_flash(lambda: service.delete_criterion(criterion, current_user), _("已删除"))
    return redirect(url_for(".scheme", round_id=round_id))


@bp.post("/rounds/<int:round_id>/scheme/reset")
@roles_required(*MANAGERS)
def reset_scheme(round_id: int):
    rnd = _round(round_id)
    commit_or_flash(lambda: service.reset_scheme(rnd, current_user), _("评分方案已恢复为默认"))
    return redirect(url_for(".scheme", round_id=rnd.id))


@bp.route("/rounds/<int:round_id>/rules", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def edit_rules(round_id: int):
    rnd = _round(round_id)
    scheme = service.scheme_of(rnd)
    if scheme is None:  # a round from before every new round got its scheme: set it up first
        return redirect(url_for(".scheme", round_id=rnd.id))
    form = RulesForm(obj=scheme)
    if request.method == "GET":
        form.allowed_risk_ratings.data = list(scheme.allowed_risk_ratings)
    if form.validate_on_submit():
        if commit_or_flash(lambda: service.save_rules(rnd, form.to_data(), current_user), _("已保存"), form):
            return redirect(url_for(".scheme", round_id=rnd.id))
    return render_template("evaluation/rules_form.html", form=form, rnd=rnd), 400 if form.errors else 200


# --- the panel (city bureau) --------------------------------------------------------------------------------

def _experts():
    return db.session.scalars(sa.select(User).where(User.role == Role.EXPERT, User.active).order_by(User.username)).all()


def _round(round_id: int) -> SelectionRound:
    return scoped_get_or_404(SelectionRound, round_id)


@bp.post("/rounds/<int:round_id>/start")
@roles_required(*MANAGERS)
def start_evaluation(round_id: int):
    """opened → evaluation: needs at least one opened bid."""
    rnd = _round(round_id)
    commit_or_flash(lambda: tenders.start_evaluation(rnd, current_user, len(bids_service.opened_bids(rnd))),
                    _("已进入评审"))
    return redirect(url_for("tenders.round_detail", round_id=rnd.id))


@bp.get("/rounds/<int:round_id>")
@roles_required(*BUREAU)
def panel(round_id: int):
    rnd = _round(round_id)
    panel = service.panel_of(rnd)
    checks = service.eligibility_checks(rnd)
    members = panel.members if panel else []
    progress = {m.id: service.missing_scores(m) for m in members} if panel and panel.status is not \
        PanelStatus.CHECKING else {}
    opened_bids = bids_service.opened_bids(rnd)
    return render_template(
        "evaluation/panel.html", rnd=rnd, panel=panel, checks=checks, members=members, progress=progress,
        opened=rnd.bids_opened, bid_count=len(opened_bids), reasons=service.check_reasons,
        parts=service.page_parts(rnd, current_user, opened_bids),
        awaiting_evaluation=rnd.status is RoundStatus.OPENED,
        member_form=MemberForm(experts=_experts()), decision_form=DecisionForm(), action_form=ActionForm(),
        actions=service.panel_actions(rnd, panel, current_user, bool(checks)), pending=ControlDecision.PENDING,
        final=service.is_final(rnd))


@bp.post("/rounds/<int:round_id>/eligibility")
@roles_required(*MANAGERS)
def check_eligibility(round_id: int):
    rnd = _round(round_id)
    commit_or_flash(lambda: service.check_eligibility(rnd, current_user), _("资格审查已完成"))
    return redirect(url_for(".panel", round_id=rnd.id))


@bp.post("/checks/<int:check_id>/decision")
@roles_required(*MANAGERS)
def decide(check_id: int):
    check = scoped_get_or_404(EligibilityCheck, check_id)
    form = DecisionForm()
    round_id = check.round_id
    if not form.validate_on_submit():
        flash(_("请选择决定并填写理由"), "danger")
    else:
        commit_or_flash(lambda: service.decide_common_control(check, ControlDecision(form.decision.data),
                                                              form.note.data, current_user), _("决定已记录"))
    return redirect(url_for(".panel", round_id=round_id))


@bp.post("/rounds/<int:round_id>/members")
@roles_required(*MANAGERS)
def add_member(round_id: int):
    rnd = _round(round_id)
    form = MemberForm(experts=_experts())
    if not form.validate_on_submit():
        flash(_("请选择启用的评审专家"), "danger")
    else:
        commit_or_flash(lambda: service.assign_expert(rnd, db.session.get(User, form.user_id.data), current_user), _("已指派"))
    return redirect(url_for(".panel", round_id=rnd.id))


@bp.post("/members/<int:member_id>/delete")
@roles_required(*MANAGERS)
def remove_member(member_id: int):
    member = scoped_get_or_404(PanelMember, member_id)
    round_id = member.panel.round_id
    commit_or_flash(lambda: service.remove_expert(member, current_user), _("已移出"))
    return redirect(url_for(".panel", round_id=round_id))


@bp.post("/rounds/<int:round_id>/scoring")
@roles_required(*MANAGERS)
def start_scoring(round_id: int):
    rnd = _round(round_id)
    commit_or_flash(lambda: service.start_scoring(rnd, current_user), _("专家评分已开始"))
    return redirect(url_for(".panel", round_id=rnd.id))


@bp.post("/rounds/<int:round_id>/close")
@roles_required(*MANAGERS)
def close_panel(round_id: int):
    rnd = _round(round_id)
    if commit_or_flash(lambda: service.close_panel(rnd, current_user), _("评审已结束，排名已确定")):
        return redirect(url_for(".ranking", round_id=rnd.id))
    return redirect(url_for(".panel", round_id=rnd.id))


# --- ranking and exports ------------------------------------------------------------------------------------

@bp.get("/rounds/<int:round_id>/ranking")
@roles_required(*BUREAU)
def ranking(round_id: int):
    rnd = _round(round_id)
    ranked = service.ranking_if_ready(rnd)
    bids = {b.id: b for b in bids_service.opened_bids(rnd)}
    counties = []
    if ranked is not None:
        for region in rnd.counties():
            lots = [lot for lot in rnd.lots if lot.region_id == region.id]
            counties.append((region, lots, service.county_ranking(rnd, region.id)))
    return render_template("evaluation/ranking.html", rnd=rnd, ranked=ranked, bids=bids, counties=counties,
                           final=service.is_final(rnd), scheme=service.scheme_for(rnd),
                           scores=service.score_bids(rnd) if ranked is not None else {})


@bp.get("/rounds/<int:round_id>/ranking.pdf")
@roles_required(*BUREAU)
def ranking_pdf(round_id: int):
    rnd = _round(round_id)
    if service.ranking_if_ready(rnd) is None:
        flash(_("资格审查尚未完成，还没有排名"), "warning")
        return redirect(url_for(".panel", round_id=rnd.id))
    return download(exports.ranking_pdf(rnd), _("综合评分排名_%(name)s.pdf", name=rnd.name), "application/pdf")


@bp.get("/rounds/<int:round_id>/summary.xlsx")
@roles_required(*BUREAU)
def summary_xlsx(round_id: int):
    rnd = _round(round_id)
    if service.ranking_if_ready(rnd) is None:
        flash(_("资格审查尚未完成，还没有排名"), "warning")
        return redirect(url_for(".panel", round_id=rnd.id))
    return xlsx_download(exports.summary_workbook(rnd), _("评审汇总表_%(name)s.xlsx", name=rnd.name))


@bp.get("/members/<int:member_id>/sheet.xlsx")
@roles_required(Role.ADMIN, Role.CITY_AGRI, Role.EXPERT)
def score_sheet_xlsx(member_id: int):
    member = scoped_get_or_404(PanelMember, member_id)
    return xlsx_download(exports.score_sheet(member), _("专家评分表_%(name)s.xlsx", name=member.user.display_name))


# --- the expert's pages ------------------------------------------------------------------------------------

def _membership(round_id: int) -> tuple[SelectionRound, PanelMember]:
    rnd = _round(round_id)
    member = service.member_of(rnd, current_user)
    if member is None:
        abort(404)
    return rnd, member


@bp.get("/rounds/<int:round_id>/expert")
@roles_required(*EXPERTS)
def expert_round(round_id: int):
    rnd, member = _membership(round_id)
    bidders = sorted({b.insurer for b in bids_service.opened_bids(rnd)}, key=lambda i: i.name)
    form = ConflictForm(insurers=bidders)
    form.insurer_ids.data = sorted(member.conflicted_insurer_ids)
    to_score = service.bids_to_score(member) if member.panel.status is not PanelStatus.CHECKING else []
    mine = {(s.bid_id, s.criterion_id): s.points for s in member.scores}
    criteria = service.subjective_criteria(rnd)
    panel_scores = None
    if service.sees_panel_scores(member):
        panel_scores = {}
        for other in member.panel.members:
            for s in other.scores:
                panel_scores.setdefault((s.bid_id, s.criterion_id), []).append((other.user.display_name, s.points))
    missing = service.missing_scores(member) if to_score else []
    return render_template("evaluation/expert_round.html", rnd=rnd, member=member, form=form, bidders=bidders,
                           to_score=to_score, mine=mine, criteria=criteria, panel_scores=panel_scores,
                           missing=missing, actions=service.expert_actions(member, missing),
                           action_form=ActionForm(), opened=rnd.bids_opened)


@bp.post("/rounds/<int:round_id>/conflicts")
@roles_required(*EXPERTS)
def declare(round_id: int):
    rnd, member = _membership(round_id)
    bidders = sorted({b.insurer for b in bids_service.opened_bids(rnd)}, key=lambda i: i.name)
    form = ConflictForm(insurers=bidders)
    if not form.validate_on_submit():
        flash(_("只能对本轮投标人声明利益冲突"), "danger")
    else:
        commit_or_flash(lambda: service.declare_conflicts(member, form.insurer_ids.data or [], form.note.data,
                                                          current_user), _("利益冲突声明已记录"))
    return redirect(url_for(".expert_round", round_id=rnd.id))


@bp.route("/rounds/<int:round_id>/bids/<int:bid_id>/score", methods=["GET", "POST"])
@roles_required(*EXPERTS)
def score_bid(round_id: int, bid_id: int):
    rnd, member = _membership(round_id)
    bid = next((b for b in service.bids_to_score(member) if b.id == bid_id), None) \
        if member.panel.status is PanelStatus.SCORING else None
    if bid is None:
        flash(_("该投标不在您的评分范围内（须已声明利益冲突、处于评分阶段、资格合格且无利益冲突）"), "warning")
        return redirect(url_for(".expert_round", round_id=rnd.id))
    if member.declared_at is None:
        flash(_("评分前请先声明是否存在利益冲突"), "warning")
        return redirect(url_for(".expert_round", round_id=rnd.id))
    if member.submitted_at is not None:
        flash(_("评分已提交，不能再修改"), "warning")
        return redirect(url_for(".expert_round", round_id=rnd.id))
    criteria = service.subjective_criteria(rnd)
    form = ActionForm()
    errors = {}
    values = {s.criterion_id: (s.points, s.comment) for s in member.scores if s.bid_id == bid.id}
    if request.method == "POST" and form.validate_on_submit():
        entered = {}
        for c in criteria:
            raw = (request.form.get(f"c{c.id}") or "").strip()
            try:
                points = Decimal(raw) if raw else None
                if points is not None and not points.is_finite():
                    raise InvalidOperation
            except InvalidOperation:
                errors[f"c{c.id}"] = _("请输入数字")
                points = None
            entered[c.id] = (points, request.form.get(f"comment{c.id}"))
        values = {cid: (p if p is not None else request.form.get(f"c{cid}"), comment)
                  for cid, (p, comment) in entered.items()}
        # a refusal is shown beside the criterion it names
        if not errors and commit_or_flash(lambda: service.save_scores(member, bid, entered, current_user),
                                          _("评分已保存"), problems=errors):
            return redirect(url_for(".expert_round", round_id=rnd.id))
    return render_template("evaluation/score_form.html", rnd=rnd, member=member, bid=bid, criteria=criteria,
                           values=values, errors=errors, form=form), 400 if errors else 200


@bp.get("/rounds/<int:round_id>/bids/<int:bid_id>/bid.xlsx")
@roles_required(*EXPERTS)
def bid_sheet(round_id: int, bid_id: int):
    """The bid's own data sheet (the workbook its insurer fills in), for an expert who may score it."""
    rnd, member = _membership(round_id)
    bid = next((b for b in service.documents_to_read(member) if b.id == bid_id), None)
    if bid is None:
        abort(404)
    return xlsx_download(bids_exports.bid_workbook(bid), _("投标数据表_%(name)s.xlsx", name=bid.insurer.name))


@bp.post("/rounds/<int:round_id>/submit")
@roles_required(*EXPERTS)
def submit(round_id: int):
    rnd, member = _membership(round_id)
    commit_or_flash(lambda: service.submit_scores(member, current_user), _("评分已提交"))
    return redirect(url_for(".expert_round", round_id=rnd.id))


# --- the bidder's own result -------------------------------------------------------------------------------

@bp.get("/rounds/<int:round_id>/result")
@roles_required(Role.INSURER)
def my_result(round_id: int):
    rnd = _round(round_id)
    bid = bids_service.bid_for(rnd, current_user.insurer_id)
    opened = bid is not None and bid.id in {b.id for b in bids_service.opened_bids(rnd)}
    check = None
    if opened:
        check = db.session.scalar(sa.select(EligibilityCheck).where(EligibilityCheck.bid_id == bid.id))
    final = service.is_final(rnd)
    own = None
    if opened and final and check is not None:
        ranked = {r.bid_id: r for r in service.ranking(rnd)}.get(bid.id)
        scores = service.score_bids(rnd).get(bid.id)
        counties = []
        if check.eligible:
            counties = [(region, next((r for r in service.county_ranking(rnd, region.id) if r.bid_id == bid.id),
                                      None)) for region in sorted({lot.region for lot in bid.lots},
                                                                  key=lambda r: r.code)]
        own = {"ranked": ranked, "scores": scores, "counties": counties}
    return render_template("evaluation/my_result.html", rnd=rnd, bid=bid, opened=opened, check=check,
                           reasons=service.check_reasons(check) if check else [], final=final, own=own,
                           scheme=service.scheme_for(rnd) if final else None)
