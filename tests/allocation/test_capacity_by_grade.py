"""A premium capacity the bureau set is scaled by the insurer's grade in its latest annual evaluation when the
setting asks for it (the annual evaluation answers allocation's capacity_factors)."""

from decimal import Decimal

from agri_insurance.allocation import service
from tests.annual_review.factories import evaluated_year, make_term
from tests.tenders.factories import user


def test_the_scenario_scales_a_set_capacity_by_the_latest_grade(scored_round, app, db):
    rnd = scored_round.round                                  # term 2029–2031
    best, second = scored_round.insurers[0], scored_round.insurers[1]
    make_term(2024)
    evaluated_year(2025, {(best.id, "361128"): 0})            # 不合格 in 鄱阳县, 优秀 in 婺源县: the lowest counts
    service.set_capacity(rnd, best.id, Decimal("1000000.00"), "偿付能力", user("city_agri"))
    service.set_capacity(rnd, second.id, Decimal("3000000.00"), "偿付能力", user("city_agri"))
    db.session.commit()
    app.config.update(ANNUAL_REVIEW_CAPACITY_FACTORS={"fail": "0.8", "excellent": "1.1"},
                      ANNUAL_REVIEW_LOOKBACK_YEARS=4)
    try:
        insurers = {i["name"]: i.get("premium_capacity") for i in service.build_scenario(rnd)["insurers"]}
    finally:
        app.config.update(ANNUAL_REVIEW_CAPACITY_FACTORS={}, ANNUAL_REVIEW_LOOKBACK_YEARS=3)
    assert insurers[best.name] == "800000.00" and insurers[second.name] == "3300000.00"
    assert {i["name"]: i.get("premium_capacity") for i in service.build_scenario(rnd)["insurers"]}[best.name] \
        == "1000000.00"                                       # the setting off: as set
