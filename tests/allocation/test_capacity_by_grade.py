"""A premium capacity the bureau set is scaled by the insurer's grade in its latest annual evaluation when that
year's scheme asks for it (the annual evaluation answers allocation's capacity_factors)."""

from decimal import Decimal

from agri_insurance.allocation import service
from tests.annual_review.factories import evaluated_year, make_term
from tests.tenders.factories import user


def test_the_scenario_scales_a_set_capacity_by_the_latest_grade(scored_round, db):
    """The 2025 scheme (the latest final year before the 2029 term) scales 不合格 × 0.8 and 优秀 × 1.1, looking back 4
    years (2025–2028); the same year without factors leaves the capacities as set."""
    from agri_insurance.annual_review import service as annual_review

    rnd = scored_round.round                                  # term 2029–2031
    best, second = scored_round.insurers[0], scored_round.insurers[1]
    make_term(2024)
    review = evaluated_year(2025, {(best.id, "361128"): 0},   # 不合格 in 鄱阳县, 优秀 in 婺源县: the lowest counts
                            consequences={"factor_fail": Decimal("0.8"), "factor_excellent": Decimal("1.1"),
                                          "lookback_years": 4})
    service.set_capacity(rnd, best.id, Decimal("1000000.00"), "偿付能力", user("city_agri"))
    service.set_capacity(rnd, second.id, Decimal("3000000.00"), "偿付能力", user("city_agri"))
    db.session.commit()
    insurers = {i["name"]: i.get("premium_capacity") for i in service.build_scenario(rnd)["insurers"]}
    assert insurers[best.name] == "800000.00" and insurers[second.name] == "3300000.00"
    review.factor_fail = review.factor_excellent = None      # (the frozen scheme changed here only to compare)
    db.session.flush()
    assert annual_review.governing_review(2029) == review
    assert {i["name"]: i.get("premium_capacity") for i in service.build_scenario(rnd)["insurers"]}[best.name] \
        == "1000000.00"                                       # no factor: as set
