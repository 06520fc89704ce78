"""The annual evaluation's rules with hand-computed numbers: the points and the grade, the two-year exclusion, the
service level that replaces the declared rating, finalising."""

from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
import time_machine

from agri_insurance.annual_review import service
from agri_insurance.annual_review.models import Grade, ResultStatus, ReviewStatus
from agri_insurance.audit.models import AuditEntry
from agri_insurance.clock import utcnow
from agri_insurance.errors import DomainError
from agri_insurance.extensions import db
from tests.annual_review.factories import (
    WUYUAN,
    evaluated_year,
    finalise,
    make_term,
    open_year,
    result_of,
    score,
)
from tests.tenders.factories import user

PY = "361128"


@pytest.fixture
def term(demo):
    return make_term(2024)


def _insurers(rnd):
    from agri_insurance.awards.models import Award

    own = user("insurer").insurer_id
    other = db.session.scalar(sa.select(Award.insurer_id).where(Award.round_id == rnd.id, Award.insurer_id != own))
    return own, other


def test_opening_freezes_the_scheme_and_lists_each_underwriter_per_county(term):
    own, other = _insurers(term)
    review = open_year(2025)
    assert {(r.insurer_id, r.region.code) for r in service.results_of(review)} == {
        (own, PY), (other, PY), (own, WUYUAN), (other, WUYUAN)}
    with pytest.raises(DomainError, match="考评已开始"):
        service.save_rules(review, {"excellent_min": Decimal(95), "good_min": Decimal(85), "pass_min": Decimal(70),
                                    "reply_working_days": 3}, user("city_agri"))


def test_a_scheme_whose_weights_do_not_add_up_to_100_cannot_open(term):
    city = user("city_agri")
    review = service.create_review(2025, city)
    service.add_indicator(review, {"name": "宣传培训", "kind": "qualitative", "weight": Decimal(5)}, city)
    with pytest.raises(DomainError, match="合计为 105"):
        service.open_review(review, city)


def test_points_and_grade_hand_computed(term, tmp_path):
    """2026: two payouts, one paid 2 days after the agreement, one 20 → 20 × 1/2 = 10.00; one returned claim →
    10 − 5 = 5; one upheld complaint → 10 − 5 = 5; no flag, double insurance or penalty → 10 + 10 + 10; the county's
    8 + 7 + 9.5 = 24.5. Total 74.50 → 合格 (60 ≤ 74.5 < 80); with the good mark at exactly 74.5 it is 良好."""
    from agri_insurance.subsidies.models import ClaimStatus
    from tests.payouts.factories import import_file, insured, payout, write_csv
    from tests.subsidies.factories import assign

    make_term(2026)
    assign()
    db.session.commit()
    farmers = insured(tmp_path, count=2)
    import_file(write_csv(tmp_path / "p.csv", [payout(farmers[0], 10, 2), payout(farmers[1], 40, 20)]))
    insured(tmp_path, count=1, status=ClaimStatus.RETURNED, start=50)
    own = user("insurer").insurer_id
    complaint = service.file_complaint({"insurer_id": own, "year": 2026, "subject": "查勘不及时",
                                        "body": "农户反映灾后五日无人查勘"}, None, user("county_agri"))
    service.answer_complaint(complaint, "当时道路中断", None, user("insurer"))
    service.decide_complaint(complaint, True, "经核实，查勘确有延误", user("city_agri"))
    db.session.commit()

    review = open_year(2026)
    result = result_of(review, own, PY)
    score(result, [8, 7, "9.5"])
    points = {s.indicator.name: s.points for s in result.scores}
    assert points == {"理赔及时率": Decimal("10.00"), "补贴申请退回": Decimal("5.00"), "承保清单标记": Decimal("10.00"),
                      "重复投保": Decimal("10.00"), "成立的投诉": Decimal("5.00"), "行政处罚": Decimal("10.00"),
                      "服务网络": Decimal("8.00"), "协作配合": Decimal("7.00"), "灾害应对": Decimal("9.50")}
    assert result.total == Decimal("74.50") and result.grade is Grade.PASS
    assert service.grade_for(Decimal("74.50"), type(review)(excellent_min=Decimal(90), good_min=Decimal("74.5"),
                                                             pass_min=Decimal(60))) is Grade.GOOD
    assert service.grade_for(Decimal("59.99"), review) is Grade.FAIL


def test_a_qualitative_score_below_full_needs_a_comment_and_nothing_is_saved(term):
    review = open_year(2025)
    result = service.results_of(review)[0]
    qualitative = [i for i in review.indicators if i.qualitative]
    points = {i.id: (Decimal(10), None) for i in qualitative}
    points[qualitative[1].id] = (Decimal(6), "  ")
    with pytest.raises(DomainError, match="协作配合.*评语") as refused:
        service.score_result(result, points, user("county_agri") if result.region.code == PY else None)
    assert refused.value.field == f"comment-{qualitative[1].id}"
    points[qualitative[1].id] = (Decimal(11), "x")
    with pytest.raises(DomainError, match="0 到 10"):
        service.score_result(result, points, None)


def test_the_underwriter_replies_once_within_its_period(term):
    own, _other = _insurers(term)
    review = open_year(2025, reply_days=2)
    result = result_of(review, own, PY)
    score(result, 10)
    due = result.reply_due
    with time_machine.travel(utcnow() + timedelta(days=10), tick=False):
        from agri_insurance.clock import local_today

        assert local_today() > due
        with pytest.raises(DomainError, match="申辩期已过"):
            service.reply_to_result(result, "不同意", user("insurer"))
    service.reply_to_result(result, "对协作配合扣分有异议", user("insurer"))
    db.session.commit()
    with pytest.raises(DomainError, match="已经提交过"):
        service.reply_to_result(result, "再说一次", user("insurer"))


def test_finalising_waits_for_every_county_and_is_refused_the_second_time(term):
    review = open_year(2025)
    results = service.results_of(review)
    score(results[0], 10)
    with pytest.raises(DomainError, match="尚未为"):
        service.finalise_review(review, user("city_agri"))
    for r in results[1:]:
        score(r, 10)
    with pytest.raises(DomainError, match="申辩期至"):
        service.finalise_review(review, user("city_agri"))
    finalise(review)
    assert review.status is ReviewStatus.FINAL
    assert {r.status for r in service.results_of(review)} == {ResultStatus.FINAL}
    with pytest.raises(DomainError, match="已经定稿"):
        service.finalise_review(review, user("city_agri"))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "annual_review.finalised")) == 1


def test_two_consecutive_fails_in_a_county_exclude_it_there_naming_the_years(term):
    own, other = _insurers(term)
    evaluated_year(2024, {(own, PY): 0})
    evaluated_year(2025, {(own, PY): 0, (own, WUYUAN): 0})
    from tests.factories import county

    py, wy = county(PY).id, county(WUYUAN).id
    assert service.exclusions(own, [py, wy], 2026) == {py: [2024, 2025]}   # 婺源县: only 2025 不合格
    assert service.exclusions(other, [py, wy], 2026) == {}
    assert service.exclusions(own, [py], 2029) == {}                          # 2026–2028: no evaluation


def test_a_pass_between_two_fails_breaks_the_run(demo):
    make_term(2023)
    own = user("insurer").insurer_id
    evaluated_year(2023, {(own, PY): 0})
    evaluated_year(2024, {(own, PY): 10})
    evaluated_year(2025, {(own, PY): 0})
    from tests.factories import county

    assert service.exclusions(own, [county(PY).id], 2026) == {}


def test_the_service_level_is_the_mean_grade_level(term):
    """Four final results of the demo insurer: 不合格 1 and 不合格 1 (鄱阳县: 70 points), 良好 4 (婺源县 2024: 90) and
    优秀 5 (婺源县 2025: 100) → 11 / 4 = 2.75; the other insurer: 合格 3 (80) everywhere → 3.00."""
    own, other = _insurers(term)
    evaluated_year(2024, {(own, PY): 0, (own, WUYUAN): [10, 10, 0]}, default=[10, 0, 0])
    evaluated_year(2025, {(own, PY): 0, (own, WUYUAN): 10}, default=[10, 0, 0])
    assert service.service_levels([own, other], 2026) == {own: Decimal("2.75"), other: Decimal("3.00")}


def test_a_complaint_against_an_insurer_not_underwriting_in_the_county_is_refused(term):
    """A complaint counts in the evaluation of the underwriter in the complaining county: one against an insurer
    holding no award there that year is refused naming the insurer, and nothing is saved."""
    from agri_insurance.annual_review.models import Complaint
    from agri_insurance.reference.models import Insurer

    county_agri = user("county_agri")
    serving = {i for i, _r in service.underwriters_of(2025, [county_agri.region_id])}
    stranger = db.session.scalar(sa.select(Insurer).where(Insurer.id.not_in(serving)).order_by(Insurer.id))
    with pytest.raises(DomainError, match="未在本县承保") as refused:
        service.file_complaint({"insurer_id": stranger.id, "year": 2025, "subject": "理赔不及时", "body": "农户反映"},
                               None, county_agri)
    assert refused.value.field == "insurer_id" and stranger.name in refused.value.message
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Complaint.id))) == 0


def test_the_consequence_rules_start_from_the_settings_are_audited_and_freeze_with_the_scheme(term, app):
    city = user("city_agri")
    app.config["ANNUAL_REVIEW_CAPACITY_FACTORS"] = {"fail": "0.8"}
    try:
        review = service.create_review(2025, city)
    finally:
        app.config["ANNUAL_REVIEW_CAPACITY_FACTORS"] = {}
    assert (review.exclude_after, review.lookback_years, review.service_input) == (2, 3, True)
    assert review.capacity_factors() == {Grade.FAIL: Decimal("0.8")}
    with pytest.raises(DomainError, match="不能超过回溯年数") as refused:
        service.save_consequences(review, {"exclude_after": 4, "lookback_years": 3, "service_input": True}, city)
    assert refused.value.field == "exclude_after"
    service.save_consequences(review, {"exclude_after": 3, "lookback_years": 4, "service_input": False,
                                       "factor_good": Decimal("1.05")}, city)
    db.session.commit()
    assert review.capacity_factors() == {Grade.GOOD: Decimal("1.05")}
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "annual_review.consequences_saved"))
    assert Decimal(entry.details["before"]["factor_fail"]) == Decimal("0.8") and entry.details["after"]["exclude_after"] == 3
    service.open_review(review, city)
    with pytest.raises(DomainError, match="考评已开始"):
        service.save_consequences(review, {"exclude_after": 2, "lookback_years": 3}, city)
