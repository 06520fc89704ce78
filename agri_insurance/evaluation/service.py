"""Evaluation rules: the scoring scheme (R4), eligibility gates, the expert panel, composite and lot scores, ranking.

CONTRACT for the allocation (issue 6) — plain functions over a SelectionRound:

- `is_final(rnd) -> bool`: True once the panel is closed (评审结束); scores, eligibility and ranks never change after.
- `lot_scores(rnd) -> list[LotScore]`: one `LotScore(insurer_id, bid_id, lot_id, score)` per (ELIGIBLE bid, lot it
  bid on), `score` a Decimal with 2 decimals in 0–100: the bid's composite score using the institution set-up score
  of the lot's county. Raises DomainError unless `is_final(rnd)`.
- `ranking(rnd) -> list[RankedBid]`: every opened bid as `RankedBid(bid_id, insurer_id, score, rank, eligible,
  reasons)` ordered by rank. Eligible bids first, ranked 1..n by `score` (the composite: set-up averaged over the
  counties the bid covers) with TIE_RULE; ineligible bids follow with score 0.00, ranks n+1.. in bid order, and
  `reasons` (translated) saying why. Needs the eligibility checks (panel scoring or closed; DomainError otherwise);
  before `is_final` the result is provisional (missing expert scores count 0).
- `county_ranking(rnd, region_id) -> list[RankedBid]`: the same for the bids on lots of one county, `score` using
  that county's set-up score (= the bid's lot score there): the order for backup underwriters (后备机构).

The scoring itself — metrics, the default criteria, points, aggregation, the tie rule (TIE_RULE), the rounding
— is the pure engine in `evaluation.scoring`; this module gathers what it needs from the database.

Every function checks, changes and audits; none commits (the caller does). Bids are only ever read through
`bids.service.opened_bids(rnd)`, which is empty before the opening, so nothing here can reveal a sealed bid.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from agri_insurance.actions import Action, Actions, PagePart
from agri_insurance.audit import service as audit
from agri_insurance.auth.models import User
from agri_insurance.bids.models import Bid
from agri_insurance.bids.service import missing_for_submission, opened_bids
from agri_insurance.clock import utcnow
from agri_insurance.db_types import MAX_MONEY
from agri_insurance.errors import DomainError, require
from agri_insurance.evaluation.models import (
    CONTROL_DECISION_LABELS,
    ConflictDeclaration,
    ControlDecision,
    Criterion,
    CriterionKind,
    EligibilityCheck,
    EvaluationPanel,
    ExpertScore,
    Factor,
    PanelMember,
    PanelStatus,
    ScoringScheme,
)
from agri_insurance.evaluation.scoring import (
    DEFAULT_CRITERIA,
    METRICS,
    RISK_RATING_LEVELS,
    ZERO,
    BidScores,
    LotScore,
    RankedBid,
    compute_bid_scores,
    lot_scores_of,
    rank_bids,
    round_points,
    setup_criterion_ids,
)
from agri_insurance.evaluation.signals import bid_gates, panel_page_parts, service_levels
from agri_insurance.extensions import db, lock_for_update
from agri_insurance.i18n import join_names, join_sentences, with_note
from agri_insurance.roles import Role
from agri_insurance.tenders.models import RoundStatus, SelectionRound

K = CriterionKind
P = PanelStatus
HUNDRED = Decimal(100)


# --- what a user may do now ------------------------------------------------------------------------------

BUREAU = frozenset({Role.ADMIN, Role.CITY_AGRI})
MANAGERS = frozenset({Role.CITY_AGRI})


def round_links(rnd: SelectionRound, user) -> Actions:
    """Where `user` goes from the list of evaluations: the bureau to the panel and the ranking, an expert to its
    scoring, an insurer to its own result."""
    ids = {"round_id": rnd.id}
    if user.role in BUREAU:
        return Actions([Action("panel", _l("评审管理"), "evaluation.panel", ids),
                        Action("ranking", _l("排名"), "evaluation.ranking", ids, order=110)])
    if user.role is Role.EXPERT:
        return Actions([Action("score", _l("评分"), "evaluation.expert_round", ids, css_class="expert-round-link")])
    if user.role is Role.INSURER:
        return Actions([Action("result", _l("本机构评审结果"), "evaluation.my_result", ids)])
    return Actions()


def scheme_actions(rnd: SelectionRound, user) -> Actions:
    """The scheme and its eligibility gates are edited by the bureau running the tender until it is published."""
    if user.role not in MANAGERS or rnd.status is not RoundStatus.DRAFT:
        return Actions()
    ids = {"round_id": rnd.id}
    return Actions([Action("edit", _l("新增评分项"), "evaluation.new_criterion", ids, style="success"),
                    Action("edit_rules", _l("修改资格条件"), "evaluation.edit_rules", ids, style="outline-primary"),
                    Action("reset", _l("恢复默认方案"), "evaluation.reset_scheme", ids, post=True)])


def panel_actions(rnd: SelectionRound, panel: EvaluationPanel | None, user, checked: bool) -> Actions:
    """The bureau's steps on the panel page: eligibility (re-run while checking, with the common-control
    decisions), experts (until final), then scoring and closing; `checked`: the eligibility was run before."""
    if user.role not in MANAGERS:
        return Actions()
    ids = {"round_id": rnd.id}
    evaluating = rnd.status is RoundStatus.EVALUATION
    checking = panel is None or panel.checking
    actions = []
    if evaluating and checking:
        actions.append(Action("check_eligibility", _l("重新进行资格审查") if checked else _l("进行资格审查"),
                              "evaluation.check_eligibility", ids, post=True, style="primary",
                              element_id="check-eligibility"))
    if panel is not None and panel.checking:
        actions.append(Action("decide_control", _l("记录决定"), "evaluation.panel", ids))
    if not is_final(rnd) and rnd.cancelled_at is None:
        actions.append(Action("manage_members", _l("指派专家"), "evaluation.add_member", ids, post=True))
    if evaluating and panel is not None and panel.checking:
        actions.append(Action("start_scoring", _l("开始专家评分"), "evaluation.start_scoring", ids, post=True,
                              style="success", element_id="start-scoring"))
    if evaluating and panel is not None and panel.scoring:
        actions.append(Action("close_panel", _l("结束评审并确定排名"), "evaluation.close_panel", ids, post=True,
                              style="success", element_id="close-panel"))
    return Actions(actions)


def expert_actions(member: PanelMember, missing: list) -> Actions:
    """An expert's steps: declare conflicts until it submits (or the panel closes), score while the panel is
    scoring, then submit once nothing is missing."""
    ids = {"round_id": member.panel.round_id}
    actions = []
    if member.submitted_at is None and not member.panel.closed:
        actions.append(Action("declare", _l("确认声明"), "evaluation.declare", ids, post=True, style="primary",
                              element_id="declare-button"))
    if member.submitted_at is None and member.panel.scoring:
        actions.append(Action("score", _l("评分"), "evaluation.expert_round", ids))
        actions.append(Action("submit_scores", _l("提交评分"), "evaluation.submit", ids, post=True, style="success",
                              element_id="submit-scores", disabled=bool(missing)))
    return Actions(actions)


# --- the scoring scheme ------------------------------------------------------------------------------------

CRITERION_FIELDS = ("factor", "code", "name", "kind", "max_points", "metric", "higher_is_better", "bands",
                    "deduction_per_count", "guidance")
RULE_FIELDS = ("min_comprehensive_solvency_pct", "min_core_solvency_pct", "allowed_risk_ratings",
               "penalty_lookback_years", "check_common_control", "drop_extremes_min_experts")


def scheme_of(rnd: SelectionRound) -> ScoringScheme | None:
    return db.session.scalar(sa.select(ScoringScheme).where(ScoringScheme.round_id == rnd.id))


def _add_default_criteria(scheme: ScoringScheme) -> None:
    for position, row in enumerate(DEFAULT_CRITERIA, start=1):
        factor, code, name, kind, points, metric, higher, bands, per_count, guidance = row
        scheme.criteria.append(Criterion(
            factor=factor, code=code, name=name, kind=kind, max_points=Decimal(points), metric=metric,
            higher_is_better=higher, bands=bands, deduction_per_count=Decimal(per_count) if per_count else None,
            guidance=guidance, position=position))


def scheme_for(rnd: SelectionRound, actor=None) -> ScoringScheme:
    """The round's scheme; a round without one gets the default scheme (and default eligibility gates)."""
    scheme = scheme_of(rnd)
    if scheme is None:
        scheme = ScoringScheme(round_id=rnd.id, min_comprehensive_solvency_pct=HUNDRED,
                               min_core_solvency_pct=Decimal(50), allowed_risk_ratings="AB", penalty_lookback_years=3,
                               check_common_control=True, drop_extremes_min_experts=5)
        _add_default_criteria(scheme)
        db.session.add(scheme)
        db.session.flush()
        audit.record(actor, "scheme.created", scheme, _l("评分方案（默认）：%(name)s", name=rnd.name), round_id=rnd.id)
    return scheme


def total_weight(scheme: ScoringScheme) -> Decimal:
    return sum((c.max_points for c in scheme.criteria), ZERO)


def scheme_problems(scheme: ScoringScheme) -> list[str]:
    """What keeps the scheme from being used (translated); empty when valid."""
    problems = []
    total = total_weight(scheme)
    if total != HUNDRED:
        problems.append(_("各评分项分值合计应为100分，当前为%(total)s分", total=total))
    covered = {c.factor for c in scheme.criteria}
    missing = [f.label for f in Factor if f not in covered]
    if missing:
        problems.append(_("以下评分因素还没有评分项：%(factors)s", factors=join_names(missing)))
    return problems


def require_scheme_editable(rnd: SelectionRound) -> None:
    require(rnd.status is RoundStatus.DRAFT, _("评分方案和资格条件只能在草稿状态的遴选轮次中修改，发布后即固定"))


def _validate_criterion(scheme: ScoringScheme, criterion: Criterion | None, data: dict[str, Any]) -> dict[str, Any]:
    values = {k: data.get(k) for k in CRITERION_FIELDS}
    values["code"] = (values["code"] or "").strip()
    values["name"] = (values["name"] or "").strip()
    require(values["code"], _("请填写编号"), "code")
    require(values["name"], _("请填写名称"), "name")
    duplicate = any(c.code == values["code"] and c is not criterion for c in scheme.criteria)
    require(not duplicate, _("编号 %(code)s 已存在", code=values["code"]), "code")
    factor, kind = Factor(values["factor"]), CriterionKind(values["kind"])
    values["factor"], values["kind"] = factor, kind
    points = values["max_points"]
    require(points is not None and ZERO < points <= HUNDRED, _("分值应大于0且不超过100"), "max_points")
    require(points == round_points(points), _("分值最多两位小数"), "max_points")
    values["guidance"] = (values.get("guidance") or "").strip() or None
    values["higher_is_better"] = bool(values["higher_is_better"])
    if kind is K.SUBJECTIVE:
        values.update(metric=None, bands=None, deduction_per_count=None)
        return values
    metric = METRICS.get(values["metric"] or "")
    require(metric is not None, _("客观评分项须选择投标数据"), "metric")
    require(metric.factor is factor, _("所选投标数据不属于“%(factor)s”", factor=factor.label), "metric")
    require(metric.boolean == (kind is K.YES_NO),
            _("“是/否”评分项须选择是/否类数据，其他计分方式须选择数值类数据"), "metric")
    if kind is K.BANDED:
        values["bands"] = parse_bands(values["bands"], points)
    else:
        values["bands"] = None
    if kind is K.DEDUCTION:
        per = values["deduction_per_count"]
        require(per is not None and per > 0, _("请填写每次扣分"), "deduction_per_count")
        # stored with two decimals: 0.001 would become 0.00, a deduction that deducts nothing
        require(per.is_finite() and per == per.quantize(Decimal("0.01")), _("最多两位小数"), "deduction_per_count")
    else:
        values["deduction_per_count"] = None
    return values


def parse_bands(text, max_points: Decimal) -> list[list[str]]:
    """Bands typed as lines "bound, points" (or given as pairs) → [[bound, points]] as strings, checked."""
    if isinstance(text, list):
        pairs = text
    else:
        pairs = [line.replace("，", ",").split(",") for line in (text or "").splitlines() if line.strip()]
    bands = []
    for number, pair in enumerate(pairs, start=1):
        try:
            bound, points = (Decimal(str(v).strip()) for v in pair)
        except (InvalidOperation, ValueError, TypeError) as e:
            raise DomainError(_("分档第%(n)s行应为：界值, 得分", n=number), "bands") from e
        # "nan" or "inf" parse as Decimals and would break every ranking computed with the band
        require(bound.is_finite() and points.is_finite() and abs(bound) <= MAX_MONEY,
                _("分档第%(n)s行应为：界值, 得分", n=number), "bands")
        require(ZERO <= points <= max_points, _("分档第%(n)s行的得分应在0到分值之间", n=number), "bands")
        bands.append([format(bound.normalize(), "f"), format(points.normalize(), "f")])
    require(bands, _("请填写至少一个分档"), "bands")
    require(len({b[0] for b in bands}) == len(bands), _("分档界值不能重复"), "bands")
    return bands


def save_criterion(rnd: SelectionRound, criterion: Criterion | None, data: dict[str, Any], actor) -> Criterion:
    """Create (criterion None) or change a criterion of the draft round's scheme."""
    require_scheme_editable(rnd)
    scheme = scheme_for(rnd, actor)
    values = _validate_criterion(scheme, criterion, data)
    if criterion is None:
        values["position"] = max((c.position for c in scheme.criteria), default=0) + 1
        criterion = Criterion(**values)
        scheme.criteria.append(criterion)
        db.session.flush()
        audit.record(actor, "criterion.created", criterion, _l("新增评分项：%(code)s %(name)s", code=criterion.code,
                                                              name=criterion.name), round_id=rnd.id, **values)
        return criterion
    diff = audit.changes(criterion, list(values), values)
    for name, value in values.items():
        setattr(criterion, name, value)
    db.session.flush()
    if diff:
        audit.record(actor, "criterion.updated", criterion, _l("修改评分项：%(code)s", code=criterion.code),
                     round_id=rnd.id, changes=diff)
    return criterion


def delete_criterion(criterion: Criterion, actor) -> None:
    rnd = criterion.scheme.round
    require_scheme_editable(rnd)
    audit.record(actor, "criterion.deleted", criterion, _l("删除评分项：%(code)s %(name)s", code=criterion.code,
                                                          name=criterion.name), round_id=rnd.id)
    criterion.scheme.criteria.remove(criterion)
    db.session.flush()


def reset_scheme(rnd: SelectionRound, actor) -> ScoringScheme:
    """Replace the draft round's criteria by the default ones (the gates stay)."""
    require_scheme_editable(rnd)
    scheme = scheme_for(rnd, actor)
    scheme.criteria.clear()
    db.session.flush()
    _add_default_criteria(scheme)
    db.session.flush()
    audit.record(actor, "scheme.reset", scheme, _l("评分方案恢复为默认：%(name)s", name=rnd.name), round_id=rnd.id)
    return scheme


def save_rules(rnd: SelectionRound, data: dict[str, Any], actor) -> ScoringScheme:
    """The eligibility gates and the aggregation rule of the draft round."""
    require_scheme_editable(rnd)
    scheme = scheme_for(rnd, actor)
    values = {k: data[k] for k in RULE_FIELDS}
    ratings = "".join(sorted({r for r in (values["allowed_risk_ratings"] or "") if r in RISK_RATING_LEVELS}))
    require(ratings, _("至少允许一个综合风险评级"), "allowed_risk_ratings")
    values["allowed_risk_ratings"] = ratings
    values["check_common_control"] = bool(values["check_common_control"])
    for name in ("min_comprehensive_solvency_pct", "min_core_solvency_pct"):
        require(values[name] is not None and values[name] >= 0, _("偿付能力充足率下限不能为负数"), name)
    require(values["penalty_lookback_years"] >= 0, _("年限不能为负数"), "penalty_lookback_years")
    require(values["drop_extremes_min_experts"] == 0 or values["drop_extremes_min_experts"] >= 3,
            _("去掉最高分和最低分至少需要3位专家（0表示不去掉）"), "drop_extremes_min_experts")
    diff = audit.changes(scheme, list(values), values)
    for name, value in values.items():
        setattr(scheme, name, value)
    db.session.flush()
    if diff:
        audit.record(actor, "scheme.rules_updated", scheme, _l("修改资格条件和汇总规则：%(name)s", name=rnd.name),
                     round_id=rnd.id, changes=diff)
    return scheme


def freeze_scheme(rnd: SelectionRound, actor) -> ScoringScheme:
    """Called when the round is published: the scheme must be valid, and is fixed from now on."""
    scheme = scheme_for(rnd, actor)
    problems = scheme_problems(scheme)
    require(not problems, _("评分方案无效：%(problems)s", problems=join_sentences(problems)))
    audit.record(actor, "scheme.fixed", scheme, _l("评分方案随遴选公告发布并固定：%(name)s", name=rnd.name),
                 round_id=rnd.id, total=str(total_weight(scheme)), criteria=[c.code for c in scheme.criteria])
    return scheme


# --- the panel -------------------------------------------------------------------------------------------

def panel_of(rnd: SelectionRound) -> EvaluationPanel | None:
    return db.session.scalar(sa.select(EvaluationPanel).where(EvaluationPanel.round_id == rnd.id))


def _panel_for(rnd: SelectionRound) -> EvaluationPanel:
    panel = panel_of(rnd)
    if panel is None:
        panel = EvaluationPanel(round_id=rnd.id, status=P.CHECKING)
        db.session.add(panel)
        db.session.flush()
    return panel


def is_final(rnd: SelectionRound) -> bool:
    """True once the panel is closed: the ranking and the lot scores are final."""
    panel = panel_of(rnd)
    return panel is not None and panel.status is P.CLOSED


def _require_evaluating(rnd: SelectionRound) -> None:
    require(rnd.status is RoundStatus.EVALUATION, _("遴选轮次不在评审阶段（当前状态：%(s)s）", s=rnd.status.label))


def member_of(rnd: SelectionRound, user) -> PanelMember | None:
    return db.session.scalar(sa.select(PanelMember).join(EvaluationPanel).where(
        EvaluationPanel.round_id == rnd.id, PanelMember.user_id == user.id))


def assigned_rounds(user) -> list[tuple[SelectionRound, PanelMember]]:
    """The rounds an expert is on the panel of (not cancelled), newest first: for the dashboard."""
    rows = db.session.execute(sa.select(SelectionRound, PanelMember).join(
        EvaluationPanel, EvaluationPanel.round_id == SelectionRound.id).join(PanelMember).where(
        PanelMember.user_id == user.id, SelectionRound.status != RoundStatus.CANCELLED).order_by(
        SelectionRound.id.desc())).all()
    return [(r, m) for r, m in rows]


def assign_expert(rnd: SelectionRound, expert: User, actor) -> PanelMember:
    """Put an expert user on the round's panel (any time before the panel closes)."""
    require(rnd.status is not RoundStatus.CANCELLED, _("已取消的遴选轮次不能指派专家"))
    require(expert is not None and expert.role is Role.EXPERT and expert.active, _("请选择启用的评审专家"), "user_id")
    panel = _panel_for(rnd)
    require(panel.status is not P.CLOSED, _("评审已结束，不能再指派专家"))
    require(member_of(rnd, expert) is None, _("%(name)s 已在评审专家组中", name=expert.display_name), "user_id")
    member = PanelMember(panel=panel, user=expert)
    db.session.add(member)
    db.session.flush()
    audit.record(actor, "panel.member_added", member, _l("指派评审专家：%(name)s", name=expert.display_name),
                 round_id=rnd.id, user_id=expert.id)
    return member


def remove_expert(member: PanelMember, actor) -> None:
    rnd = member.panel.round
    require(member.panel.status is not P.CLOSED, _("评审已结束，不能再调整专家"))
    require(not member.scores, _("该专家已经评分，不能移出专家组"))
    audit.record(actor, "panel.member_removed", member, _l("移出评审专家：%(name)s", name=member.user.display_name),
                 round_id=rnd.id, user_id=member.user_id)
    member.panel.members.remove(member)
    db.session.flush()


# --- eligibility ---------------------------------------------------------------------------------------

GATE_MESSAGES = {
    "solvency": _l("综合偿付能力充足率%(value)s%%低于%(min)s%%"),
    "solvency_missing": _l("未填写综合偿付能力充足率"),
    "core_solvency": _l("核心偿付能力充足率%(value)s%%低于%(min)s%%"),
    "core_solvency_missing": _l("未填写核心偿付能力充足率"),
    "risk_rating": _l("综合风险评级为%(value)s，要求为%(allowed)s"),
    "risk_rating_missing": _l("未填写综合风险评级"),
    "penalty": _l("近%(years)s年内受到农业保险行政处罚%(n)s次（最近一次：%(last)s）"),
    "incomplete": _l("投标文件不完整：%(problems)s"),
    "annual_review": _l("%(county)s：%(years)s年度考评连续不合格，不得参加该县本轮遴选"),
}


def failure_text(failure: dict) -> str:
    """A stored gate failure in the reader's language."""
    return str(GATE_MESSAGES[failure["gate"]]) % failure.get("params", {})


def check_reasons(check: EligibilityCheck) -> list[str]:
    """Why the bid is not (or not yet) eligible, translated."""
    reasons = [failure_text(f) for f in check.failures]
    if check.flagged and check.control_decision is not ControlDecision.ADMITTED:
        reason = _("与其他投标人同受“%(parent)s”控制：%(decision)s", parent=check.control_group,
                   decision=check.control_decision.label)
        reasons.append(with_note(reason, check.decision_note) if check.decision_note else reason)
    return reasons


def _recent_penalties(bid: Bid, years: int) -> list:
    opened = (bid.round.opened_at or utcnow()).date()
    try:
        since = opened.replace(year=opened.year - years)
    except ValueError:  # 29 February
        since = date(opened.year - years, 3, 1)
    return [p for p in bid.penalties if p.decided_on >= since]


def gate_failures(bid: Bid, scheme: ScoringScheme) -> list[dict]:
    """The hard gates of one bid (common control is decided by the bureau, see `check_eligibility`)."""
    failures = []
    fmt = lambda v: format(Decimal(v).normalize(), "f")  # noqa: E731
    for gate, value, minimum in (("solvency", bid.comprehensive_solvency_pct, scheme.min_comprehensive_solvency_pct),
                                 ("core_solvency", bid.core_solvency_pct, scheme.min_core_solvency_pct)):
        if value is None:
            failures.append({"gate": f"{gate}_missing"})
        elif value < minimum:
            failures.append({"gate": gate, "params": {"value": fmt(value), "min": fmt(minimum)}})
    rating = getattr(bid.risk_rating, "value", bid.risk_rating)
    if rating is None:
        failures.append({"gate": "risk_rating_missing"})
    elif rating not in scheme.allowed_risk_ratings:
        failures.append({"gate": "risk_rating", "params": {"value": rating,
                                                           "allowed": "/".join(scheme.allowed_risk_ratings)}})
    if scheme.penalty_lookback_years:
        recent = _recent_penalties(bid, scheme.penalty_lookback_years)
        if recent:
            failures.append({"gate": "penalty", "params": {
                "years": scheme.penalty_lookback_years, "n": len(recent),
                "last": max(p.decided_on for p in recent).isoformat()}})
    problems = missing_for_submission(bid)
    if problems:
        failures.append({"gate": "incomplete", "params": {"problems": "；".join(problems)}})
    others = bid_gates.collect(bid, scheme=scheme)
    counties = {lot.region_id for lot in bid.lots}
    if counties and counties <= {f["region_id"] for f in others if f.get("region_id") is not None}:
        others = [{k: v for k, v in f.items() if k != "region_id"} for f in others]  # excluded everywhere it bid
    return failures + others


def excluded_counties(check: EligibilityCheck | None) -> set[int]:
    """The counties whose lots an otherwise eligible bid may not win (a county-level gate failed)."""
    if check is None:
        return set()
    return {f["region_id"] for f in check.failures if f.get("region_id") is not None}


def _control_key(bid: Bid) -> str | None:
    parent = (bid.parent_company or "").strip()
    return parent or None


def check_eligibility(rnd: SelectionRound, actor) -> list[EligibilityCheck]:
    """Run the gates over every opened bid (again, if the bureau wants). Bids sharing a declared parent are all
    flagged for the bureau's decision; a decision already recorded is kept while the group is unchanged."""
    _require_evaluating(rnd)
    panel = _panel_for(rnd)
    require(panel.status is P.CHECKING, _("专家评分已开始，资格审查结果不能再变更"))
    scheme = scheme_for(rnd, actor)
    bids = opened_bids(rnd)
    require(bids, _("没有已开标的投标文件"))
    groups: dict[str, list[Bid]] = defaultdict(list)
    for bid in bids:
        if scheme.check_common_control and _control_key(bid):
            groups[_control_key(bid)].append(bid)
    flagged = {b.id: key for key, members in groups.items() if len(members) > 1 for b in members}
    existing = {c.bid_id: c for c in db.session.scalars(
        sa.select(EligibilityCheck).where(EligibilityCheck.round_id == rnd.id))}
    now = utcnow()
    checks = []
    for bid in bids:
        check = existing.get(bid.id) or EligibilityCheck(round_id=rnd.id, bid_id=bid.id)
        check.failures = gate_failures(bid, scheme)
        group = flagged.get(bid.id)
        if group != check.control_group:
            check.control_group = group
            check.control_decision = ControlDecision.PENDING
            check.decision_note = check.decided_at = check.decided_by_id = None
        check.checked_at = now
        db.session.add(check)
        checks.append(check)
    panel.eligibility_checked_at = now
    db.session.flush()
    audit.record(actor, "eligibility.checked", panel, _l("资格审查：%(n)s 份投标，%(ok)s 份合格，%(f)s 份待决定（同一控制）",
                                                        n=len(checks), ok=sum(c.eligible for c in checks),
                                                        f=sum(c.flagged for c in checks)),
                 round_id=rnd.id, results={c.bid_id: {"failures": c.failures, "control_group": c.control_group}
                                           for c in checks})
    return checks


def eligibility_checks(rnd: SelectionRound) -> list[EligibilityCheck]:
    """The checks of the opened bids (none before the opening)."""
    if not rnd.bids_opened:
        return []
    return list(db.session.scalars(sa.select(EligibilityCheck).where(EligibilityCheck.round_id == rnd.id)
                                   .order_by(EligibilityCheck.bid_id)))


def decide_common_control(check: EligibilityCheck, decision: ControlDecision, note: str, actor) -> None:
    """The bureau's recorded decision on a bidder under common control with another bidder."""
    rnd = db.session.get(SelectionRound, check.round_id)
    _require_evaluating(rnd)
    require(panel_of(rnd).status is P.CHECKING, _("专家评分已开始，资格审查结果不能再变更"))
    require(check.flagged, _("该投标人未被标记为同一控制"))
    require(decision in (ControlDecision.ADMITTED, ControlDecision.EXCLUDED), _("请选择决定"), "decision")
    note = (note or "").strip()
    require(note, _("请填写决定理由"), "note")
    check.control_decision = decision
    check.decision_note = note
    check.decided_at = utcnow()
    check.decided_by_id = getattr(actor, "id", None)
    db.session.flush()
    audit.record(actor, "eligibility.control_decided", check,
                 _l("同一控制决定：%(insurer)s %(decision)s", insurer=check.bid.insurer.name,
                   decision=CONTROL_DECISION_LABELS[decision]),
                 round_id=rnd.id, bid_id=check.bid_id, parent=check.control_group, decision=decision.value, note=note)


def eligible_bids(rnd: SelectionRound) -> list[Bid]:
    return [c.bid for c in eligibility_checks(rnd) if c.eligible]


def _service_levels(rnd: SelectionRound, bids: list[Bid]) -> dict[int, Decimal]:
    """Bid id → the measured service level replacing its declared rating (from the listeners of service_levels)."""
    by_insurer = dict(service_levels.collect(rnd, insurer_ids=sorted({b.insurer_id for b in bids})))
    return {b.id: by_insurer[b.insurer_id] for b in bids if b.insurer_id in by_insurer}


def start_scoring(rnd: SelectionRound, actor) -> None:
    """checking → scoring: the gates have run, every common-control flag is decided, experts are assigned."""
    _require_evaluating(rnd)
    panel = _panel_for(rnd)
    require(panel.status is P.CHECKING, _("专家评分已经开始"))
    checks = eligibility_checks(rnd)
    require(checks, _("请先进行资格审查"))
    pending = [c.bid.insurer.name for c in checks if c.flagged and c.control_decision is ControlDecision.PENDING]
    require(not pending, _("以下同一控制的投标人尚待决定：%(names)s", names=join_names(pending)))
    require(any(c.eligible for c in checks), _("没有合格的投标人，不能进入专家评分"))
    require(panel.members, _("请先指派评审专家"))
    panel.status = P.SCORING
    panel.scoring_started_at = utcnow()
    db.session.flush()
    audit.record(actor, "panel.scoring_started", panel, _l("专家评分开始：%(name)s", name=rnd.name),
                 round_id=rnd.id, status=[P.CHECKING.value, P.SCORING.value],
                 eligible=[c.bid_id for c in checks if c.eligible])


# --- experts -----------------------------------------------------------------------------------------------

def subjective_criteria(rnd: SelectionRound) -> list[Criterion]:
    return [c for c in scheme_for(rnd).criteria if c.kind is K.SUBJECTIVE]


def declare_conflicts(member: PanelMember, insurer_ids: list[int], note: str, actor) -> None:
    """The expert's declaration of conflicts of interest (none is a declaration too). Declared conflicts bar the
    expert from scoring those insurers' bids; scores already given to them are removed."""
    member = lock_for_update(member)  # see save_scores
    rnd = member.panel.round
    _require_evaluating(rnd)
    require(member.panel.status is not P.CLOSED, _("评审已结束"))
    require(member.submitted_at is None, _("已提交评分，不能再修改利益冲突声明"))
    bidders = {b.insurer_id for b in opened_bids(rnd)}
    chosen = set(insurer_ids)
    require(chosen <= bidders, _("只能对本轮投标人声明利益冲突"))
    for conflict in list(member.conflicts):
        if conflict.insurer_id not in chosen:
            member.conflicts.remove(conflict)
    have = member.conflicted_insurer_ids
    for insurer_id in sorted(chosen - have):
        member.conflicts.append(ConflictDeclaration(insurer_id=insurer_id, note=(note or "").strip() or None))
    conflicted_bids = {b.id for b in opened_bids(rnd) if b.insurer_id in chosen}
    for score in list(member.scores):
        if score.bid_id in conflicted_bids:
            member.scores.remove(score)
    member.declared_at = utcnow()
    db.session.flush()
    audit.record(actor, "panel.conflicts_declared", member,
                 _l("专家声明利益冲突：%(n)s 家", n=len(chosen)) if chosen else _l("专家声明无利益冲突"),
                 round_id=rnd.id, insurer_ids=sorted(chosen))


def can_score(member: PanelMember, bid: Bid) -> bool:
    return member.declared_at is not None and bid.insurer_id not in member.conflicted_insurer_ids


def bids_to_score(member: PanelMember) -> list[Bid]:
    """The eligible bids this expert scores (conflicted insurers left out)."""
    return [b for b in eligible_bids(member.panel.round) if b.insurer_id not in member.conflicted_insurer_ids]


def documents_to_read(member: PanelMember) -> list[Bid]:
    """The bids whose documents (attachments, data sheet) this expert reads: the ones it may score, once the
    scoring started (the eligibility is fixed), after its declaration of conflicts, in a round not cancelled.
    Sealed bids stay sealed: `bids_to_score` sees only opened bids (the opening time checked on the clock)."""
    panel = member.panel
    if member.declared_at is None or panel.checking or panel.round.cancelled_at is not None:
        return []
    return bids_to_score(member)


def bids_readable_by(user) -> list[int]:
    """The bids whose documents `user` reads as an expert, over every panel it sits on (`bids.signals.bid_readers`);
    nobody else reads any through the evaluation."""
    if user.role is not Role.EXPERT:
        return []
    members = db.session.scalars(sa.select(PanelMember).where(PanelMember.user_id == user.id,
                                                              PanelMember.declared_at.is_not(None)))
    return sorted({bid.id for member in members for bid in documents_to_read(member)})


def save_scores(member: PanelMember, bid: Bid, points: dict[int, tuple[Decimal | None, str | None]], actor) -> None:
    """Record (or correct, until the expert submits) the expert's points for `bid`: {criterion_id: (points, comment)}.

    Submitted scores are final: from the submission on the expert sees the other experts' scores
    (`sees_panel_scores`), so changing its own afterwards would no longer be an independent judgement."""
    # Locked: a save from a second tab must not land after the submission it raced with.
    member = lock_for_update(member)
    rnd = member.panel.round
    _require_evaluating(rnd)
    require(member.panel.status is P.SCORING, _("当前不在专家评分阶段"))
    require(member.submitted_at is None, _("评分已提交，不能再修改"))
    require(member.declared_at is not None, _("评分前请先声明是否存在利益冲突"))
    require(bid.insurer_id not in member.conflicted_insurer_ids,
            _("您已声明与该投标人存在利益冲突，不能为其评分"))
    require(bid in eligible_bids(rnd), _("只能为资格审查合格的投标评分"))
    criteria = {c.id: c for c in subjective_criteria(rnd)}
    existing = {s.criterion_id: s for s in member.scores if s.bid_id == bid.id}
    changes = {}
    now = utcnow()
    for criterion_id, (value, comment) in points.items():
        criterion = criteria.get(criterion_id)
        require(criterion is not None, _("评分项不存在"))
        if value is None:
            continue
        require(ZERO <= value <= criterion.max_points,
                _("%(code)s %(name)s 的得分应在0到%(max)s之间", code=criterion.code, name=criterion.label,
                  max=criterion.max_points), f"c{criterion_id}")
        require(value == round_points(value), _("得分最多两位小数"), f"c{criterion_id}")
        value = round_points(value)  # "-0" typed is kept as 0.00
        score = existing.get(criterion_id)
        comment = (comment or "").strip() or None
        if score is None:
            member.scores.append(ExpertScore(bid_id=bid.id, criterion_id=criterion_id, points=value,
                                             comment=comment, updated_at=now))
            changes[criterion.code] = [None, str(value)]
        elif score.points != value or score.comment != comment:
            changes[criterion.code] = [str(score.points), str(value)]
            score.points, score.comment, score.updated_at = value, comment, now
    db.session.flush()
    if changes:
        audit.record(actor, "score.saved", member, _l("专家评分：%(insurer)s", insurer=bid.insurer.name),
                     round_id=rnd.id, bid_id=bid.id, changes=changes)


def missing_scores(member: PanelMember) -> list[str]:
    """(bid, criterion) pairs this expert has still to score, as text."""
    have = {(s.bid_id, s.criterion_id) for s in member.scores}
    criteria = subjective_criteria(member.panel.round)
    return [f"{bid.insurer.name} {c.code}" for bid in bids_to_score(member) for c in criteria
            if (bid.id, c.id) not in have]


def submit_scores(member: PanelMember, actor) -> None:
    """The expert has scored every bid it may score; from now on it sees the other experts' scores."""
    member = lock_for_update(member)  # see save_scores
    rnd = member.panel.round
    _require_evaluating(rnd)
    require(member.panel.status is P.SCORING, _("当前不在专家评分阶段"))
    require(member.declared_at is not None, _("评分前请先声明是否存在利益冲突"))
    require(member.submitted_at is None, _("评分已提交"))
    missing = missing_scores(member)
    require(not missing, _("还有未评分项：%(items)s", items=join_names(missing[:10])))
    member.submitted_at = utcnow()
    db.session.flush()
    audit.record(actor, "panel.scores_submitted", member, _l("专家提交评分：%(name)s", name=member.user.display_name),
                 round_id=rnd.id)


def sees_panel_scores(member: PanelMember | None) -> bool:
    """An expert sees the other experts' scores only after submitting its own."""
    return member is not None and member.submitted_at is not None


def close_panel(rnd: SelectionRound, actor) -> None:
    """scoring → closed: every expert has submitted and every (eligible bid, expert criterion) has a score."""
    _require_evaluating(rnd)
    panel = _panel_for(rnd)
    require(panel.status is P.SCORING, _("只有专家评分阶段可以结束评审"))
    waiting = [m.user.display_name for m in panel.members if m.submitted_at is None]
    require(not waiting, _("以下专家尚未提交评分：%(names)s", names=join_names(waiting)))
    scored = {(s.bid_id, s.criterion_id) for m in panel.members for s in m.scores}
    unscored = [f"{b.insurer.name} {c.code}" for b in eligible_bids(rnd) for c in subjective_criteria(rnd)
                if (b.id, c.id) not in scored]
    require(not unscored, _("以下投标的专家评分项无人可评（专家均有利益冲突）：%(items)s", items=join_names(unscored)))
    panel.status = P.CLOSED
    panel.closed_at = utcnow()
    panel.closed_by_id = getattr(actor, "id", None)
    db.session.flush()
    result = ranking(rnd)
    audit.record(actor, "panel.closed", panel, _l("评审结束：%(name)s", name=rnd.name), round_id=rnd.id,
                 status=[P.SCORING.value, P.CLOSED.value],
                 ranking=[{"bid_id": r.bid_id, "score": str(r.score), "rank": r.rank} for r in result])


# --- what is waiting (the home page's to-do lists) ---------------------------------------------------------

@dataclass(frozen=True)
class PanelStep:
    """The bureau's next step on a round's panel: "eligibility" (run the checks), "decisions" (`pending` bidders
    under common control to decide on), "no_eligible" (nobody passed: check again or cancel the round), "experts"
    (assign some), "start_scoring", "scoring" (`pending` experts still to submit: nothing for the bureau), "close"."""

    step: str
    pending: int = 0


def panel_steps(round_ids: list[int]) -> dict[int, PanelStep]:
    """For each of the rounds (in evaluation) whose panel is not closed, its next step. Three queries, whatever the
    number of rounds, bids and experts."""
    if not round_ids:
        return {}
    panels = {p.round_id: p for p in db.session.scalars(
        sa.select(EvaluationPanel).where(EvaluationPanel.round_id.in_(round_ids)))}
    checks: dict[int, list[EligibilityCheck]] = defaultdict(list)
    for check in db.session.scalars(sa.select(EligibilityCheck).where(EligibilityCheck.round_id.in_(round_ids))):
        checks[check.round_id].append(check)
    members = {panel_id: (total, submitted) for panel_id, total, submitted in db.session.execute(
        sa.select(PanelMember.panel_id, sa.func.count(PanelMember.id), sa.func.count(PanelMember.submitted_at))
        .where(PanelMember.panel_id.in_([p.id for p in panels.values()] or [0])).group_by(PanelMember.panel_id))}
    steps = {}
    for round_id in round_ids:
        panel = panels.get(round_id)
        total, submitted = members.get(panel.id, (0, 0)) if panel is not None else (0, 0)
        if panel is not None and panel.closed:
            continue
        if panel is not None and panel.scoring:
            steps[round_id] = PanelStep("close") if total == submitted else PanelStep("scoring", total - submitted)
            continue
        round_checks = checks.get(round_id, [])
        pending = sum(c.flagged and c.control_decision is ControlDecision.PENDING for c in round_checks)
        if panel is None or panel.eligibility_checked_at is None:
            steps[round_id] = PanelStep("eligibility")
        elif pending:
            steps[round_id] = PanelStep("decisions", pending)
        elif not any(c.eligible for c in round_checks):
            steps[round_id] = PanelStep("no_eligible")
        elif not total:
            steps[round_id] = PanelStep("experts")
        else:
            steps[round_id] = PanelStep("start_scoring")
    return steps


@dataclass(frozen=True)
class ExpertTask:
    """An expert's next step on a round it is to score: "declare" (its conflicts of interest), "score" (`missing`
    scores still to give) or "submit"."""

    round: SelectionRound
    member: PanelMember
    step: str
    missing: int = 0


def expert_tasks(user) -> list[ExpertTask]:
    """The rounds in evaluation on whose open panel `user` sits and has not submitted, with its next step (as
    `expert_actions` and `missing_scores` decide it). At most five queries, whatever the number of rounds, bids and
    scores."""
    if user.role is not Role.EXPERT:
        return []
    rows = db.session.execute(
        sa.select(PanelMember, SelectionRound).join(EvaluationPanel, PanelMember.panel_id == EvaluationPanel.id)
        .join(SelectionRound, EvaluationPanel.round_id == SelectionRound.id)
        .where(PanelMember.user_id == user.id, PanelMember.submitted_at.is_(None),
               SelectionRound.status == RoundStatus.EVALUATION, EvaluationPanel.status != P.CLOSED)
        .options(sa.orm.contains_eager(PanelMember.panel)).order_by(SelectionRound.id)).all()
    scoring = [(m, r) for m, r in rows if m.declared_at is not None and m.panel.scoring]
    round_ids = [r.id for _m, r in scoring] or [0]
    member_ids = [m.id for m, _r in scoring] or [0]
    eligible: dict[int, set[int]] = defaultdict(set)   # round → insurers with an eligible bid
    for check in db.session.scalars(sa.select(EligibilityCheck).where(EligibilityCheck.round_id.in_(round_ids))):
        if check.eligible:
            eligible[check.round_id].add(check.bid.insurer_id)
    conflicts: dict[int, set[int]] = defaultdict(set)
    for member_id, insurer_id in db.session.execute(sa.select(ConflictDeclaration.member_id,
                                                              ConflictDeclaration.insurer_id)
                                                    .where(ConflictDeclaration.member_id.in_(member_ids))):
        conflicts[member_id].add(insurer_id)
    criteria = dict(db.session.execute(
        sa.select(ScoringScheme.round_id, sa.func.count(Criterion.id)).join(Criterion)
        .where(ScoringScheme.round_id.in_(round_ids), Criterion.kind == K.SUBJECTIVE)
        .group_by(ScoringScheme.round_id)).all()) if scoring else {}
    scored = dict(db.session.execute(
        sa.select(ExpertScore.member_id, sa.func.count(ExpertScore.id)).where(ExpertScore.member_id.in_(member_ids))
        .group_by(ExpertScore.member_id)).all()) if scoring else {}
    tasks = []
    for member, rnd in rows:
        if member.declared_at is None:
            tasks.append(ExpertTask(rnd, member, "declare"))
        elif member.panel.scoring:
            to_score = len(eligible[rnd.id] - conflicts[member.id]) * criteria.get(rnd.id, 0)
            missing = max(0, to_score - scored.get(member.id, 0))
            tasks.append(ExpertTask(rnd, member, "score", missing) if missing else ExpertTask(rnd, member, "submit"))
    return tasks


# --- scores (the engine in evaluation.scoring, fed from the database) ----------------------------------------

def score_bids(rnd: SelectionRound, bids: list[Bid] | None = None) -> dict[int, BidScores]:
    """Every eligible bid's points on every criterion (bid id → BidScores)."""
    scheme = scheme_for(rnd)
    bids = eligible_bids(rnd) if bids is None else bids
    panel = panel_of(rnd)
    expert: dict[tuple[int, int], list[Decimal]] = defaultdict(list)
    if panel is not None:
        for member in panel.members:
            for s in member.scores:
                expert[(s.bid_id, s.criterion_id)].append(s.points)
    return compute_bid_scores(scheme.criteria, bids, expert, scheme.drop_extremes_min_experts,
                              measured={"service_rating_level": _service_levels(rnd, bids)})


def _ranked(rnd: SelectionRound, bids: list[Bid], total_of: Callable[[BidScores], Decimal],
            region_id: int | None = None) -> list[RankedBid]:
    checks = {c.bid_id: c for c in eligibility_checks(rnd)}
    require(checks and (panel_of(rnd) is not None and panel_of(rnd).status is not P.CHECKING),
            _("资格审查尚未完成，还没有排名"))
    eligible = [b for b in bids if checks.get(b.id) is not None and checks[b.id].eligible
                and region_id not in excluded_counties(checks[b.id])]
    scores = score_bids(rnd, eligible_bids(rnd))
    criteria = {c.id: c for c in scheme_for(rnd).criteria}
    others = []
    for b in bids:
        if b not in eligible:
            check = checks.get(b.id)
            others.append((b, check_reasons(check) if check else [_("未经资格审查")]))
    return rank_bids(scores, eligible, others, total_of, criteria)


def ranking(rnd: SelectionRound) -> list[RankedBid]:
    """Every opened bid with its composite score and rank (see the module docstring)."""
    return _ranked(rnd, opened_bids(rnd), lambda s: s.total)


def ranking_if_ready(rnd: SelectionRound) -> list[RankedBid] | None:
    """The ranking, or None while the eligibility checks are not complete (pages say there is none yet)."""
    try:
        return ranking(rnd)
    except DomainError:
        return None


def county_ranking(rnd: SelectionRound, region_id: int) -> list[RankedBid]:
    """The bids on lots of county `region_id`, by the score with that county's set-up points."""
    setup_ids = setup_criterion_ids(scheme_for(rnd).criteria)
    bids = [b for b in opened_bids(rnd) if any(lot.region_id == region_id for lot in b.lots)]
    return _ranked(rnd, bids, lambda s: s.county_total(region_id, setup_ids), region_id)


def lot_scores(rnd: SelectionRound) -> list[LotScore]:
    """(eligible bid, lot) scores for the allocation; only once the evaluation is final."""
    require(is_final(rnd), _("评审尚未结束，还没有最终的标段得分"))
    setup_ids = setup_criterion_ids(scheme_for(rnd).criteria)
    excluded = {c.bid_id: excluded_counties(c) for c in eligibility_checks(rnd)}
    lots = {lot.id: lot.region_id for lot in rnd.lots}
    return [s for s in lot_scores_of(score_bids(rnd), setup_ids) if lots[s.lot_id] not in excluded.get(s.bid_id, ())]


def page_parts(rnd: SelectionRound, user, bids: list[Bid]) -> list[PagePart]:
    """What other modules show on the round's evaluation page to `user` beside the opened `bids` (payouts: each
    bidder's declared claims service beside what it measured in its last term)."""
    return panel_page_parts.collect(rnd, user=user, bids=bids)
