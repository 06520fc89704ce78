"""The evaluations in the next round: the county gate naming the years, the service level in the scoring, the
capacity scaled by grade."""

from decimal import Decimal

from agri_insurance.evaluation import service as evaluation
from agri_insurance.extensions import db
from tests.annual_review.factories import WUYUAN, evaluated_year, make_term
from tests.evaluation.factories import insurer, make_evaluation_round
from tests.factories import county
from tests.tenders.factories import user

PY = "361128"


def _two_years(own):
    """2024 and 2025: the demo insurer 不合格 in 鄱阳县 (70) and 优秀 in 婺源县 (100); everybody else 优秀."""
    make_term(2024)
    evaluated_year(2024, {(own, PY): 0})
    evaluated_year(2025, {(own, PY): 0})


def test_the_excluded_underwriter_is_refused_in_that_county_with_the_years(demo):
    own = insurer("赣鄱财险")
    _two_years(own.id)
    rnd, _bids = make_evaluation_round({"赣鄱财险": {}, "信江农险": {}})
    checks = {c.bid.insurer.short_name: c for c in evaluation.check_eligibility(rnd, user("city_agri"))}
    db.session.commit()
    mine = checks["赣鄱财险"]
    assert evaluation.check_reasons(mine) == ["鄱阳县：2024、2025年度考评连续不合格，不得参加该县本轮遴选"]
    assert mine.eligible                                          # still in 婺源县
    assert evaluation.excluded_counties(mine) == {county(PY).id}
    assert checks["信江农险"].eligible and not checks["信江农险"].failures


def test_a_bid_only_in_the_excluding_county_is_not_eligible(demo):
    own = insurer("赣鄱财险")
    _two_years(own.id)
    rnd, bids = make_evaluation_round({"赣鄱财险": {}, "信江农险": {}}, counties=(PY,))
    checks = {c.bid.insurer.short_name: c for c in evaluation.check_eligibility(rnd, user("city_agri"))}
    assert not checks["赣鄱财险"].eligible
    assert evaluation.check_reasons(checks["赣鄱财险"]) == ["鄱阳县：2024、2025年度考评连续不合格，不得参加该县本轮遴选"]
    assert evaluation.eligible_bids(rnd) == [bids["信江农险"]]


def test_the_service_criterion_reads_the_evaluations_instead_of_the_declared_rating(demo):
    """V2 (监管服务评价, bands ≥5 → 7, ≥4 → 5, ≥3 → 3, ≥2 → 1): the demo insurer's levels 1, 1 (鄱阳县) and 5, 5
    (婺源县) → 3.00 → 3 points; 信江农险 优秀 everywhere → 5 → 7 points; 三清财险 was not evaluated and keeps its
    declared rating A (4) → 5 points. Every bid declared A."""
    own = insurer("赣鄱财险")
    _two_years(own.id)
    rnd, bids = make_evaluation_round({"赣鄱财险": {}, "信江农险": {}, "三清财险": {}}, counties=(WUYUAN,))
    evaluation.check_eligibility(rnd, user("city_agri"))
    db.session.commit()
    v2 = next(c for c in evaluation.scheme_for(rnd).criteria if c.code == "V2")
    scores = evaluation.score_bids(rnd)
    assert {short: scores[b.id].points[v2.id] for short, b in bids.items()} == {
        "赣鄱财险": Decimal("3.00"), "信江农险": Decimal("7.00"), "三清财险": Decimal("5.00")}


def _two_years_with(own, consequences):
    """As _two_years, the 2025 scheme (the one governing a 2026 term) with changed consequence rules."""
    make_term(2024)
    evaluated_year(2024, {(own, PY): 0})
    evaluated_year(2025, {(own, PY): 0}, consequences=consequences)


def test_capacity_scaled_by_grade_when_the_year_says_so(demo):
    """The 2025 scheme scales capacity: 不合格 × 0.8, 优秀 × 1.1; the demo insurer's lowest 2025 grade is 不合格 (鄱阳县),
    信江农险's is 优秀. The 2024 scheme's factors (none) do not govern a 2026 term."""
    from agri_insurance.annual_review import service

    own = insurer("赣鄱财险")
    other = insurer("信江农险")
    _two_years_with(own.id, {"factor_fail": Decimal("0.8"), "factor_excellent": Decimal("1.1")})
    assert service.capacity_factors([own.id, other.id], 2026) == {own.id: Decimal("0.8"),
                                                                    other.id: Decimal("1.1")}
    assert service.capacity_factors([own.id], 2025) == {}           # governed by 2024: no factors


def test_three_consecutive_fails_needed_when_the_year_says_so(demo):
    """exclude_after 3 on the 2025 scheme: two 不合格 years (2024, 2025) no longer exclude from 鄱阳县."""
    own = insurer("赣鄱财险")
    _two_years_with(own.id, {"exclude_after": 3})
    rnd, _bids = make_evaluation_round({"赣鄱财险": {}, "信江农险": {}}, counties=(PY,))
    checks = {c.bid.insurer.short_name: c for c in evaluation.check_eligibility(rnd, user("city_agri"))}
    assert checks["赣鄱财险"].eligible and evaluation.check_reasons(checks["赣鄱财险"]) == []


def test_a_one_year_look_back_cannot_see_two_consecutive_years(demo):
    """lookback 1, exclude_after 1 on the 2025 scheme: only 2025 is read → one 不合格 year (2025) excludes."""
    own = insurer("赣鄱财险")
    _two_years_with(own.id, {"exclude_after": 1, "lookback_years": 1})
    rnd, _bids = make_evaluation_round({"赣鄱财险": {}, "信江农险": {}}, counties=(PY,))
    checks = {c.bid.insurer.short_name: c for c in evaluation.check_eligibility(rnd, user("city_agri"))}
    assert evaluation.check_reasons(checks["赣鄱财险"]) == ["鄱阳县：2025年度考评连续不合格，不得参加该县本轮遴选"]


def test_the_declared_rating_stays_when_the_year_says_so(demo):
    """service_input off on the 2025 scheme: every bid declared A (level 4) → V2 5 points for all three."""
    own = insurer("赣鄱财险")
    _two_years_with(own.id, {"service_input": False})
    rnd, bids = make_evaluation_round({"赣鄱财险": {}, "信江农险": {}, "三清财险": {}}, counties=(WUYUAN,))
    evaluation.check_eligibility(rnd, user("city_agri"))
    db.session.commit()
    v2 = next(c for c in evaluation.scheme_for(rnd).criteria if c.code == "V2")
    scores = evaluation.score_bids(rnd)
    assert {short: scores[b.id].points[v2.id] for short, b in bids.items()} == {
        "赣鄱财险": Decimal("5.00"), "信江农险": Decimal("5.00"), "三清财险": Decimal("5.00")}


def test_the_allocation_gets_no_lot_score_and_no_backup_in_the_excluding_county(demo):
    from tests.evaluation.factories import panel_ready, score_all

    own = insurer("赣鄱财险")
    _two_years(own.id)
    rnd, bids = make_evaluation_round({"赣鄱财险": {}, "信江农险": {}, "三清财险": {}})
    members = panel_ready(rnd)
    score_all(rnd, members["expert"])
    evaluation.close_panel(rnd, user("city_agri"))
    db.session.commit()
    py, wy = county(PY).id, county(WUYUAN).id
    lots = {lot.id: lot.region_id for lot in rnd.lots}
    mine = {lots[s.lot_id] for s in evaluation.lot_scores(rnd) if s.bid_id == bids["赣鄱财险"].id}
    assert mine == {wy}
    ranked = {r.insurer_id: r for r in evaluation.county_ranking(rnd, py)}
    assert not ranked[own.id].eligible
    assert ranked[own.id].reasons == ["鄱阳县：2024、2025年度考评连续不合格，不得参加该县本轮遴选"]
    assert {r.insurer_id: r.eligible for r in evaluation.county_ranking(rnd, wy)}[own.id]
