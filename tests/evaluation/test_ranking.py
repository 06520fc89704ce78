"""Composite scores, lot scores per county set-up, ranks and the tie rule, the contract for the allocation.

With `bid_data`'s figures and the default scheme every non-set-up criterion gives the same points to equal bids:
C1 6 + C2 4 (97.25 % → band 95) + C3 3 + C4 expert + V1 8 + V2 5 (rating A) + I1 5 + I2 expert + P1 6 (no penalty)
+ P2 expert + R1 3 + R2 3 + R3 expert + L1 8 (235.6 %) + L2 4 (180.2 %) + L3 3 (rating A) = 58 + 4 expert criteria.
With every expert giving 3 points on each of the 4 expert criteria that is 70.00 before the institution set-up (20).
"""

from decimal import Decimal

import pytest

from agri_insurance.errors import DomainError
from agri_insurance.evaluation import service
from tests.evaluation.factories import make_evaluation_round, panel_ready, score_all
from tests.tenders.factories import region, user

D = Decimal


def _setups(rnd, per_county):
    """county code → (branch, stations, staff) as county_setups data."""
    return [{"region_id": region(code).id, "has_county_branch": b, "township_stations": s, "agri_staff": a}
            for code, (b, s, a) in per_county.items()]


@pytest.fixture
def two_bidders(demo, db):
    rnd, bids = make_evaluation_round({"赣鄱财险": {}, "信江农险": {}})
    a, b = bids["赣鄱财险"], bids["信江农险"]
    from agri_insurance.bids.models import BidCountySetup

    # A is strong in 鄱阳县 and weak in 婺源县; B the reverse (written directly: the bids are sealed and opened).
    for bid, values in ((a, {"361128": (True, 20, 40), "361130": (False, 5, 10)}),
                        (b, {"361128": (True, 10, 20), "361130": (True, 10, 20)})):
        bid.county_setups.clear()
        db.session.flush()
        bid.county_setups = [BidCountySetup(**s) for s in _setups(rnd, values)]
    db.session.commit()
    members = panel_ready(rnd)
    score_all(rnd, members["expert"])
    return rnd, a, b


def test_lot_score_uses_the_lots_county_setup(two_bidders, db):
    rnd, a, b = two_bidders
    with pytest.raises(DomainError):
        service.lot_scores(rnd)  # not final yet
    assert not service.is_final(rnd)
    service.close_panel(rnd, user("city_agri"))
    db.session.commit()
    assert service.is_final(rnd)
    scores = {(s.bid_id, rnd_lot_county(db, s.lot_id)): s.score for s in service.lot_scores(rnd)}
    # 鄱阳县: A 6+8+6 = 20 set-up points, B 6+0+0; 婺源县: A 0, B 20.
    assert scores[(a.id, "361128")] == D("90.00") and scores[(b.id, "361128")] == D("76.00")
    assert scores[(a.id, "361130")] == D("70.00") and scores[(b.id, "361130")] == D("90.00")
    assert len(service.lot_scores(rnd)) == 8  # 2 bids × 4 lots
    assert all(s.score == s.score.quantize(D("0.01")) for s in service.lot_scores(rnd))
    assert {s.insurer_id for s in service.lot_scores(rnd)} == {a.insurer_id, b.insurer_id}


def rnd_lot_county(db, lot_id):
    from agri_insurance.tenders.models import Lot

    return db.session.get(Lot, lot_id).region.code


def test_composite_averages_the_setup_over_counties_and_ranks(two_bidders, db):
    rnd, a, b = two_bidders
    service.close_panel(rnd, user("city_agri"))
    ranked = service.ranking(rnd)
    # A: S1 (6+0)/2 + S2 (8+0)/2 + S3 (6+0)/2 = 10; B: 6 + 4 + 3 = 13.
    assert [(r.bid_id, r.score, r.rank, r.eligible) for r in ranked] == [
        (b.id, D("83.00"), 1, True), (a.id, D("80.00"), 2, True)]
    county = {code: [r.bid_id for r in service.county_ranking(rnd, region(code).id)]
              for code in ("361128", "361130")}
    assert county == {"361128": [a.id, b.id], "361130": [b.id, a.id]}
    assert service.county_ranking(rnd, region("361128").id)[0].score == D("90.00")


def test_equal_scores_are_ranked_by_claims_service_then_bid_order(demo, db):
    # 龟峰: on-time 99 % (C2 6 points, +2) but comprehensive solvency 160 % (L1 6 points, −2): same total.
    rnd, bids = make_evaluation_round({
        "赣鄱财险": {}, "信江农险": {},
        "龟峰财险": {"on_time_settlement_pct": D("99"), "comprehensive_solvency_pct": D("160")}})
    score_all(rnd, panel_ready(rnd)["expert"])
    ranked = service.ranking(rnd)
    assert {r.score for r in ranked} == {D("90.00")}
    # Equal totals: 龟峰 has the most claims-service points; the other two are equal on everything and were
    # submitted at the same instant, so the lower bid id comes first.
    first, second = sorted((bids["赣鄱财险"].id, bids["信江农险"].id))
    assert [r.bid_id for r in ranked] == [bids["龟峰财险"].id, first, second]
    assert [r.rank for r in ranked] == [1, 2, 3]


def test_ranking_needs_the_eligibility_checks(demo, db):
    rnd, _bids = make_evaluation_round({"赣鄱财险": {}})
    with pytest.raises(DomainError):
        service.ranking(rnd)


def test_ineligible_bids_follow_with_reasons(demo, db):
    rnd, bids = make_evaluation_round({"赣鄱财险": {}, "信江农险": {"comprehensive_solvency_pct": D("95")}})
    score_all(rnd, panel_ready(rnd)["expert"])
    ranked = service.ranking(rnd)
    assert [(r.bid_id, r.rank, r.eligible) for r in ranked] == [
        (bids["赣鄱财险"].id, 1, True), (bids["信江农险"].id, 2, False)]
    assert ranked[1].score == D("0.00") and "95" in ranked[1].reasons[0] and "100" in ranked[1].reasons[0]
    lots = {s.bid_id for s in _final(rnd, db)}
    assert lots == {bids["赣鄱财险"].id}  # only eligible bids get lot scores


def _final(rnd, db):
    service.close_panel(rnd, user("city_agri"))
    db.session.commit()
    return service.lot_scores(rnd)
