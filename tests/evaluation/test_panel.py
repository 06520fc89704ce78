"""Scheme validation, eligibility defaults, common control with the recorded decision, conflicts of interest,
the panel's states, aggregation over five experts."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from agri_insurance.audit.models import AuditEntry
from agri_insurance.errors import DomainError
from agri_insurance.evaluation import service
from agri_insurance.evaluation.models import ControlDecision, Criterion, PanelStatus
from agri_insurance.tenders.models import RoundStatus
from tests.evaluation.factories import expert, insurer, make_evaluation_round, panel_ready, score_all
from tests.factories import read_text
from tests.tenders.factories import make_round, user

D = Decimal


def test_default_scheme_weights_sum_to_100_and_cover_the_seven_factors(demo, db):
    rnd = make_round(actor=user("city_agri"))
    scheme = service.scheme_for(rnd)
    assert service.total_weight(scheme) == D(100) and service.scheme_problems(scheme) == []
    assert len({c.factor for c in scheme.criteria}) == 7


def test_weights_must_sum_exactly_100_before_publishing(demo, db):
    from agri_insurance.tenders import service as tenders

    city = user("city_agri")
    rnd = make_round(actor=city)
    c1 = next(c for c in service.scheme_for(rnd).criteria if c.code == "C1")
    service.save_criterion(rnd, c1, {**_data(c1), "max_points": D("6.01")}, city)
    db.session.commit()
    assert "100.01" in service.scheme_problems(service.scheme_for(rnd))[0]
    with pytest.raises(DomainError, match="100"):
        tenders.publish_round(rnd, city)
    db.session.rollback()
    c1 = db.session.get(Criterion, c1.id)
    service.save_criterion(rnd, c1, {**_data(c1), "max_points": D("6")}, city)
    tenders.publish_round(rnd, city)
    assert rnd.status is RoundStatus.OPEN
    with pytest.raises(DomainError):  # fixed once the round is published
        service.save_criterion(rnd, c1, {**_data(c1), "max_points": D("5")}, city)


def _data(c):
    return {"factor": c.factor.value, "code": c.code, "name": c.name, "kind": c.kind.value,
            "max_points": c.max_points, "metric": c.metric, "higher_is_better": c.higher_is_better,
            "bands": c.bands, "deduction_per_count": c.deduction_per_count, "guidance": c.guidance}


def test_criterion_validation(demo, db):
    city = user("city_agri")
    rnd = make_round(actor=city)
    base = {"factor": "claims", "code": "C9", "name": "x", "kind": "linear", "max_points": D("1"),
            "metric": "core_solvency_pct", "higher_is_better": True, "bands": None, "deduction_per_count": None,
            "guidance": None}
    with pytest.raises(DomainError) as e:  # a solvency figure under claims service
        service.save_criterion(rnd, None, base, city)
    assert e.value.field == "metric"
    with pytest.raises(DomainError) as e:
        service.save_criterion(rnd, None, {**base, "metric": "avg_settlement_days", "kind": "banded",
                                           "bands": "10, 2\nabc"}, city)
    assert e.value.field == "bands"
    with pytest.raises(DomainError) as e:
        service.save_criterion(rnd, None, {**base, "code": "C1", "metric": "avg_settlement_days"}, city)
    assert e.value.field == "code"
    created = service.save_criterion(rnd, None, {**base, "metric": "avg_settlement_days", "kind": "banded",
                                                 "bands": "15, 1\n20，0.5"}, city)
    assert created.bands == [["15", "1"], ["20", "0.5"]]
    with pytest.raises(DomainError, match="最多两位小数") as e:  # stored as 0.00: a deduction of nothing
        service.save_criterion(rnd, None, {**base, "factor": "compliance", "code": "P9", "kind": "deduction",
                                           "metric": "penalty_count", "deduction_per_count": D("0.001")}, city)
    assert e.value.field == "deduction_per_count"


def test_eligibility_defaults(demo, db):
    opened = date.today()
    rnd, bids = make_evaluation_round({
        "赣鄱财险": {},
        "信江农险": {"comprehensive_solvency_pct": D("99.99")},
        "怀玉财险": {"core_solvency_pct": D("49.5"), "risk_rating": "C"},
        "龟峰财险": {"penalties": [{"decided_on": opened - timedelta(days=400), "amount": D("10000"),
                                  "authority": "监管分局", "reason": "农险虚假理赔"}]},
    })
    checks = {c.bid.insurer.short_name: c for c in service.check_eligibility(rnd, user("city_agri"))}
    assert checks["赣鄱财险"].eligible and checks["赣鄱财险"].failures == []
    assert [f["gate"] for f in checks["信江农险"].failures] == ["solvency"]
    assert [f["gate"] for f in checks["怀玉财险"].failures] == ["core_solvency", "risk_rating"]
    assert [f["gate"] for f in checks["龟峰财险"].failures] == ["penalty"]
    assert not any(checks[s].eligible for s in ("信江农险", "怀玉财险", "龟峰财险"))
    text = service.check_reasons(checks["怀玉财险"])
    assert "49.5" in text[0] and "50" in text[0] and "C" in text[1] and "A/B" in text[1]


def test_old_penalty_and_missing_solvency(demo, db):
    rnd, _bids = make_evaluation_round({
        "赣鄱财险": {"penalties": [{"decided_on": date.today() - timedelta(days=365 * 3 + 30), "amount": D("1"),
                                  "authority": None, "reason": None}]},
        "信江农险": {},
    })
    from agri_insurance.bids.service import opened_bids

    xin = next(b for b in opened_bids(rnd) if b.insurer.short_name == "信江农险")
    xin.core_solvency_pct = None  # written after the opening only to test the gate on missing data
    checks = {c.bid.insurer.short_name: c for c in service.check_eligibility(rnd, user("city_agri"))}
    assert checks["赣鄱财险"].eligible  # older than 3 years
    assert "core_solvency_missing" in [f["gate"] for f in checks["信江农险"].failures]


def test_common_control_flags_both_and_records_the_decision(demo, db):
    city = user("city_agri")
    rnd, bids = make_evaluation_round({"赣鄱财险": {}, "三清财险": {}, "灵山财险": {}})  # 三清 and 灵山: one parent
    checks = {c.bid.insurer.short_name: c for c in service.check_eligibility(rnd, city)}
    assert not checks["赣鄱财险"].flagged
    assert checks["三清财险"].control_group == checks["灵山财险"].control_group == "三清保险集团股份有限公司"
    assert not checks["三清财险"].eligible and checks["三清财险"].control_decision is ControlDecision.PENDING
    service.assign_expert(rnd, expert("expert"), city)
    with pytest.raises(DomainError, match="三清"):
        service.start_scoring(rnd, city)
    with pytest.raises(DomainError):  # a decision needs its reason
        service.decide_common_control(checks["灵山财险"], ControlDecision.EXCLUDED, " ", city)
    service.decide_common_control(checks["三清财险"], ControlDecision.ADMITTED, "集团内两家分别独立经营，准予参加", city)
    service.decide_common_control(checks["灵山财险"], ControlDecision.EXCLUDED, "同一集团只允许一家参加", city)
    service.start_scoring(rnd, city)
    db.session.commit()
    assert [b.insurer.short_name for b in service.eligible_bids(rnd)] == ["赣鄱财险", "三清财险"]
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "eligibility.control_decided",
                                                          AuditEntry.object_id == str(checks["灵山财险"].id)))
    assert entry.details["decision"] == "excluded" and entry.details["note"] == "同一集团只允许一家参加"
    assert entry.actor_name == "city_agri"
    assert service.check_reasons(checks["灵山财险"]) == [
        "与其他投标人同受“三清保险集团股份有限公司”控制：不予参加评审（同一集团只允许一家参加）"]
    assert service.check_reasons(checks["三清财险"]) == []  # admitted: nothing stands against it
    with pytest.raises(DomainError) as refused:  # fixed once the scoring started
        service.check_eligibility(rnd, city)
    assert refused.value.message == "专家评分已开始，资格审查结果不能再变更"


def test_conflict_of_interest_bars_scoring_that_insurer(demo, db):
    rnd, bids = make_evaluation_round({"赣鄱财险": {}, "信江农险": {}})
    members = panel_ready(rnd, experts=("expert", "expert2"))
    member = members["expert"]
    criteria = service.subjective_criteria(rnd)
    with pytest.raises(DomainError, match="利益冲突"):  # no declaration yet
        service.save_scores(member, bids["赣鄱财险"], {criteria[0].id: (D("3"), None)}, member.user)
    service.declare_conflicts(member, [insurer("信江农险").id], "曾任该公司顾问", member.user)
    with pytest.raises(DomainError, match="利益冲突"):
        service.save_scores(member, bids["信江农险"], {criteria[0].id: (D("3"), None)}, member.user)
    assert [b.id for b in service.bids_to_score(member)] == [bids["赣鄱财险"].id]
    with pytest.raises(DomainError):  # above the criterion's maximum
        service.save_scores(member, bids["赣鄱财险"], {criteria[0].id: (criteria[0].max_points + 1, None)},
                            member.user)
    score_all(rnd, member)
    with pytest.raises(DomainError, match="expert2"):  # expert2 has not submitted
        service.close_panel(rnd, user("city_agri"))
    score_all(rnd, members["expert2"])
    service.close_panel(rnd, user("city_agri"))
    assert service.is_final(rnd)
    assert service.panel_of(rnd).status is PanelStatus.CLOSED
    with pytest.raises(DomainError):  # no corrections after closing
        service.save_scores(member, bids["赣鄱财险"], {criteria[0].id: (D("1"), None)}, member.user)


def test_close_refused_when_every_expert_is_conflicted_with_a_bidder(demo, db):
    rnd, bids = make_evaluation_round({"赣鄱财险": {}, "信江农险": {}})
    member = panel_ready(rnd)["expert"]
    service.declare_conflicts(member, [insurer("信江农险").id], "", member.user)
    score_all(rnd, member)
    with pytest.raises(DomainError, match="信江"):
        service.close_panel(rnd, user("city_agri"))


def test_five_experts_drop_highest_and_lowest(demo, db):
    rnd, bids = make_evaluation_round({"赣鄱财险": {}})
    names = ("expert", "e2", "e3", "e4", "e5")
    members = panel_ready(rnd, experts=names)
    for name, points in zip(names, ("1", "3", "4", "4", "5"), strict=True):
        score_all(rnd, members[name], default=points)
    c4 = next(c for c in service.subjective_criteria(rnd) if c.code == "C4")
    scores = service.score_bids(rnd)[bids["赣鄱财险"].id]
    assert scores.points[c4.id] == D("3.67")  # (3+4+4)/3; the plain mean would be 3.40
    assert sorted(scores.expert_points[c4.id]) == [D("1"), D("3"), D("4"), D("4"), D("5")]


def test_five_experts_plain_mean_when_dropping_is_off(demo, db):
    def no_drop(rnd):
        scheme = service.scheme_for(rnd)
        service.save_rules(rnd, {**{k: getattr(scheme, k) for k in service.RULE_FIELDS},
                                 "drop_extremes_min_experts": 0}, user("city_agri"))

    rnd, bids = make_evaluation_round({"赣鄱财险": {}}, scheme_edit=no_drop)
    names = ("expert", "e2", "e3", "e4", "e5")
    members = panel_ready(rnd, experts=names)
    for name, points in zip(names, ("1", "3", "4", "4", "5"), strict=True):
        score_all(rnd, members[name], default=points)
    c4 = next(c for c in service.subjective_criteria(rnd) if c.code == "C4")
    assert service.score_bids(rnd)[bids["赣鄱财险"].id].points[c4.id] == D("3.40")


def _decision_forms(page: str) -> dict[str, tuple[str, dict[str, str]]]:
    """The 记录决定 forms of the panel page, by the bidder's name: (action, {option label: option value})."""
    from lxml import html

    tree = html.fromstring(page)
    forms = {}
    for row in tree.xpath('//table[@id="eligibility"]//tr[.//form]'):
        form = row.xpath(".//form")[0]
        options = {o.text_content().strip(): o.get("value") for o in form.xpath('.//select[@name="decision"]/option')}
        forms[row.xpath("./td")[0].text_content().strip()] = (form.get("action"), options)
    return forms


def test_the_bureau_decides_a_common_control_pair_on_the_page_and_starts_scoring(demo, db, login):
    """The demo's 三清 and 灵山 share a parent: the panel page offers the two decisions, the bureau records them
    with the options the page renders, and the scoring starts."""
    rnd, bids = make_evaluation_round({"赣鄱财险": {}, "三清财险": {}, "灵山财险": {}})
    city = login("city_agri")
    assert city.post(f"/evaluation/rounds/{rnd.id}/eligibility").status_code == 302
    forms = _decision_forms(read_text(city.get(f"/evaluation/rounds/{rnd.id}")))
    sanqing, lingshan = insurer("三清财险").name, insurer("灵山财险").name
    assert set(forms) == {sanqing, lingshan}
    action, options = forms[sanqing]
    assert options == {"准予参加评审": "admitted", "不予参加评审": "excluded"}
    assert city.post(action, data={"decision": options["准予参加评审"], "note": "两家分别独立经营"}).status_code == 302
    action, options = forms[lingshan]
    assert city.post(action, data={"decision": options["不予参加评审"], "note": "同一集团只允许一家"}).status_code == 302
    assert "决定已记录" in read_text(city.get(f"/evaluation/rounds/{rnd.id}"))
    city.post(f"/evaluation/rounds/{rnd.id}/members", data={"user_id": expert("expert").id})
    assert city.post(f"/evaluation/rounds/{rnd.id}/scoring").status_code == 302
    page = read_text(city.get(f"/evaluation/rounds/{rnd.id}"))
    assert "专家评分已开始" in page and service.panel_of(rnd).status is PanelStatus.SCORING
    assert [b.insurer.short_name for b in service.eligible_bids(rnd)] == ["赣鄱财险", "三清财险"]


def test_solvency_exactly_at_the_minimum_is_eligible(demo, db):
    """The default scheme asks 100 % comprehensive and 50 % core solvency: a bid at exactly those passes both
    gates, a bid a hundredth below fails each."""
    rnd, _bids = make_evaluation_round({
        "赣鄱财险": {"comprehensive_solvency_pct": D("100"), "core_solvency_pct": D("50")},
        "信江农险": {"comprehensive_solvency_pct": D("99.99"), "core_solvency_pct": D("49.99")},
    })
    scheme = service.scheme_for(rnd)
    assert (scheme.min_comprehensive_solvency_pct, scheme.min_core_solvency_pct) == (D(100), D(50))
    checks = {c.bid.insurer.short_name: c for c in service.check_eligibility(rnd, user("city_agri"))}
    assert checks["赣鄱财险"].eligible and checks["赣鄱财险"].failures == []
    assert [f["gate"] for f in checks["信江农险"].failures] == ["solvency", "core_solvency"]


# --- the gates: each failure as the bureau reads it, and the look-back's edges --------------------------------

def _penalty(day: date) -> dict:
    return {"decided_on": day, "amount": D("10000"), "authority": "监管分局", "reason": "农险虚假理赔"}


def _checks(rnd) -> dict:
    return {c.bid.insurer.short_name: c for c in service.check_eligibility(rnd, user("city_agri"))}


def test_each_failed_gate_is_stated_with_its_figures(demo, db):
    rnd, _bids = make_evaluation_round({
        "怀玉财险": {"core_solvency_pct": D("49.50"), "risk_rating": "C"},
        "信江农险": {"comprehensive_solvency_pct": D("99.90")},
    })
    checks = _checks(rnd)
    assert checks["怀玉财险"].failures == [
        {"gate": "core_solvency", "params": {"value": "49.5", "min": "50"}},
        {"gate": "risk_rating", "params": {"value": "C", "allowed": "A/B"}}]
    assert service.check_reasons(checks["怀玉财险"]) == ["核心偿付能力充足率49.5%低于50%", "综合风险评级为C，要求为A/B"]
    assert service.check_reasons(checks["信江农险"]) == ["综合偿付能力充足率99.9%低于100%"]


def test_missing_figures_fail_their_gates_and_leave_the_bid_incomplete(demo, db):
    from agri_insurance.bids.service import opened_bids

    rnd, _bids = make_evaluation_round({"赣鄱财险": {}, "信江农险": {}})
    xin = next(b for b in opened_bids(rnd) if b.insurer.short_name == "信江农险")
    xin.comprehensive_solvency_pct = xin.risk_rating = None  # written after the opening only to test the gates
    checks = _checks(rnd)
    assert service.check_reasons(checks["信江农险"]) == [
        "未填写综合偿付能力充足率", "未填写综合风险评级",
        "投标文件不完整：请填写：综合偿付能力充足率（%）；请填写：综合风险评级"]
    assert checks["赣鄱财险"].eligible and not checks["信江农险"].eligible


def test_a_penalty_exactly_the_look_back_before_the_opening_counts_and_one_a_day_older_does_not(demo, db):
    """Three years before an opening on 15 June 2026 is 15 June 2023; the latest of the penalties is named."""
    rnd, _bids = make_evaluation_round({
        "赣鄱财险": {"penalties": [_penalty(date(2025, 1, 10)), _penalty(date(2023, 6, 15))]},
        "信江农险": {"penalties": [_penalty(date(2023, 6, 14))]},
    })
    rnd.opened_at = rnd.opened_at.replace(year=2026, month=6, day=15)  # written only to fix the look-back's edge
    checks = _checks(rnd)
    assert checks["赣鄱财险"].failures == [{"gate": "penalty", "params": {"years": 3, "n": 2, "last": "2025-01-10"}}]
    assert service.check_reasons(checks["赣鄱财险"]) == ["近3年内受到农业保险行政处罚2次（最近一次：2025-01-10）"]
    assert checks["信江农险"].eligible and checks["信江农险"].failures == []


def test_the_look_back_from_an_opening_on_29_february_starts_on_1_march(demo, db):
    rnd, _bids = make_evaluation_round({
        "赣鄱财险": {"penalties": [_penalty(date(2021, 3, 1))]},
        "信江农险": {"penalties": [_penalty(date(2021, 2, 28))]},
    })
    rnd.opened_at = rnd.opened_at.replace(year=2024, month=2, day=29)  # written only to fix the look-back's edge
    checks = _checks(rnd)
    assert service.check_reasons(checks["赣鄱财险"]) == ["近3年内受到农业保险行政处罚1次（最近一次：2021-03-01）"]
    assert checks["信江农险"].eligible


def test_a_parent_named_with_a_trailing_space_is_the_same_parent(demo, db):
    rnd, _bids = make_evaluation_round({"赣鄱财险": {}, "三清财险": {},
                                       "灵山财险": {"parent_company": "三清保险集团股份有限公司 "}})
    checks = _checks(rnd)
    assert checks["灵山财险"].control_group == checks["三清财险"].control_group == "三清保险集团股份有限公司"
    assert service.check_reasons(checks["三清财险"]) == ["与其他投标人同受“三清保险集团股份有限公司”控制：待决定"]


def test_bidders_that_name_no_parent_company_are_not_a_group(demo, db):
    """The parent company is optional: two bidders leaving it empty (or blank) share nothing to decide on."""
    rnd, _bids = make_evaluation_round({"赣鄱财险": {"parent_company": None}, "信江农险": {"parent_company": "  "},
                                       "怀玉财险": {"parent_company": None}})
    checks = _checks(rnd)
    assert [c.control_group for c in checks.values()] == [None, None, None]
    assert all(c.eligible and service.check_reasons(c) == [] for c in checks.values())


def test_a_scheme_without_the_common_control_check_flags_nobody(demo, db):
    def no_control_check(rnd):
        scheme = service.scheme_for(rnd)
        service.save_rules(rnd, {**{k: getattr(scheme, k) for k in service.RULE_FIELDS},
                                 "check_common_control": False}, user("city_agri"))

    rnd, _bids = make_evaluation_round({"赣鄱财险": {}, "三清财险": {}, "灵山财险": {}},
                                       scheme_edit=no_control_check)
    checks = _checks(rnd)
    assert not any(c.flagged for c in checks.values()) and all(c.eligible for c in checks.values())


def test_checking_again_keeps_a_decision_and_is_recorded_with_its_counts(demo, db):
    city = user("city_agri")
    rnd, _bids = make_evaluation_round({"赣鄱财险": {}, "三清财险": {}, "灵山财险": {},
                                       "信江农险": {"comprehensive_solvency_pct": D("99.99")}})
    checks = _checks(rnd)
    service.decide_common_control(checks["三清财险"], ControlDecision.ADMITTED, "两家分别独立经营", city)
    db.session.commit()
    checks = _checks(rnd)  # the bureau checks again: the group is unchanged, so is its decision
    db.session.commit()
    sanqing = checks["三清财险"]
    assert (sanqing.control_decision, sanqing.decision_note, sanqing.decided_by_id) == (
        ControlDecision.ADMITTED, "两家分别独立经营", city.id)
    assert checks["灵山财险"].control_decision is ControlDecision.PENDING
    panel = service.panel_of(rnd)
    assert panel.eligibility_checked_at is not None
    assert {c.checked_at for c in checks.values()} == {panel.eligibility_checked_at}
    entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "eligibility.checked")
                               .order_by(AuditEntry.id)).first()  # the first check: before any decision
    assert (entry.actor_name, entry.object_id, entry.summary) == (
        "city_agri", str(panel.id), "资格审查：4 份投标，1 份合格，2 份待决定（同一控制）")
    assert entry.details["round_id"] == rnd.id
    assert entry.details["results"][str(checks["信江农险"].bid_id)] == {
        "failures": [{"gate": "solvency", "params": {"value": "99.99", "min": "100"}}], "control_group": None}
    assert entry.details["results"][str(sanqing.bid_id)] == {"failures": [],
                                                             "control_group": "三清保险集团股份有限公司"}


def test_a_decision_is_dropped_when_its_group_changes(demo, db):
    """The decision answers for one group: checked again with another group (or none), the bidder is pending
    again, or plainly unflagged, and the old decision's reason, time and author are gone."""
    from agri_insurance.bids.service import opened_bids

    city = user("city_agri")
    rnd, _bids = make_evaluation_round({"赣鄱财险": {}, "三清财险": {}, "灵山财险": {}})
    checks = _checks(rnd)
    service.decide_common_control(checks["三清财险"], ControlDecision.ADMITTED, "两家分别独立经营", city)
    service.decide_common_control(checks["灵山财险"], ControlDecision.EXCLUDED, "同一集团只允许一家", city)
    db.session.commit()
    lingshan = next(b for b in opened_bids(rnd) if b.insurer.short_name == "灵山财险")
    lingshan.parent_company = "灵山控股有限公司"  # written after the opening only to change the group
    checks = _checks(rnd)
    db.session.commit()
    for short in ("三清财险", "灵山财险"):
        check = checks[short]
        assert (check.control_group, check.control_decision, check.decision_note, check.decided_at,
                check.decided_by_id) == (None, ControlDecision.PENDING, None, None, None)
        assert check.eligible and service.check_reasons(check) == []
