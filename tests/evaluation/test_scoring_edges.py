"""The scoring engine's edges, each a rule a bidder would feel: missing figures score 0 instead of stopping the
evaluation, a measured service level replaces what that bidder declared (and only that bidder's), the panel's mean
without the extremes from exactly the configured number of experts, and every step of the tie rule. Plain objects,
no application and no database (the engine needs neither); the figures are worked out by hand in the comments.
Written from mutmut's survivors of evaluation/scoring.py (docs/testing.md)."""

from datetime import datetime
from decimal import Decimal
from types import SimpleNamespace

from agri_insurance.evaluation import scoring
from agri_insurance.evaluation.models import CriterionKind, Factor

D = Decimal
K = CriterionKind


def _criterion(id, factor, kind, points, metric=None, bands=None, higher_is_better=True):
    return SimpleNamespace(id=id, factor=factor, kind=kind, max_points=D(points), metric=metric,
                           higher_is_better=higher_is_better, bands=bands, deduction_per_count=None)


def _bid(id, insurer_id=None, lots=((1, 7),), stations=None, **figures):
    fields = dict(avg_settlement_days=None, service_rating=None, premium_income_y1=None, premium_income_y2=None,
                  premium_income_y3=None, comprehensive_solvency_pct=D(150), latest_receipt=None,
                  submitted_at=datetime(2025, 3, 1), innovations=[], penalties=[])
    fields.update(figures)
    return SimpleNamespace(id=id, insurer_id=insurer_id or id * 10,
                           lots=[SimpleNamespace(id=lot_id, region_id=region_id) for lot_id, region_id in lots],
                           county_setups=[SimpleNamespace(region_id=r, township_stations=n)
                                          for r, n in (stations or {}).items()], **fields)


V2_BANDS = [["5", "7"], ["4", "5"], ["3", "3"], ["2", "1"]]


def test_missing_figures_score_zero_and_do_not_stop_the_evaluation():
    criteria = [_criterion(1, Factor.CLAIMS, K.LINEAR, "6", "avg_settlement_days", higher_is_better=False),
                _criterion(2, Factor.SERVICE, K.BANDED, "7", "service_rating_level", bands=V2_BANDS),
                _criterion(3, Factor.SERVICE, K.LINEAR, "8", "avg_premium_income")]
    full = _bid(1, avg_settlement_days=D(10), service_rating="AA", premium_income_y1=D(300),
                premium_income_y2=D(300), premium_income_y3=D(300))
    # no settlement days, a rating the scale does not know, one year's income missing
    gaps = _bid(2, service_rating="AAA", premium_income_y1=D(900), premium_income_y2=D(900))
    scores = scoring.compute_bid_scores(criteria, [full, gaps], {}, 0)
    assert scores[1].points == {1: D("6.00"), 2: D("7.00"), 3: D("8.00")}
    assert scores[2].points == {1: D("0.00"), 2: D("0.00"), 3: D("0.00")}


def test_the_business_scale_is_the_mean_of_the_three_years_income():
    bid = _bid(1, premium_income_y1=D("1000.00"), premium_income_y2=D("2000.00"), premium_income_y3=D("4000.00"))
    assert scoring.METRICS["avg_premium_income"].read(bid, None) == D("7000.00") / 3


def test_a_measured_service_level_replaces_what_that_bidder_declared_and_only_that():
    """The annual evaluations' grade (measured) replaces the declared regulator's rating in V2 for the bidders it
    is given for; the others keep what they declared."""
    criteria = [_criterion(2, Factor.SERVICE, K.BANDED, "7", "service_rating_level", bands=V2_BANDS)]
    measured_one, declared_one = _bid(1, service_rating="C"), _bid(2, service_rating="B")
    scores = scoring.compute_bid_scores(criteria, [measured_one, declared_one], {}, 0,
                                        measured={"service_rating_level": {1: D(5)}})
    assert scores[1].points[2] == D("7.00")      # measured 5 (AA) instead of the declared C (2 → 1 point)
    assert scores[2].points[2] == D("3.00")      # declared B = 3 → 3 points
    unmeasured = scoring.compute_bid_scores(criteria, [measured_one, declared_one], {}, 0,
                                            measured={"service_rating_level": {}})
    assert unmeasured[1].points[2] == D("1.00")  # nothing measured: the declared C


def test_a_measured_figure_of_a_county_criterion_is_used_in_each_county():
    """Township stations, scored per county: bidder 1's measured 10 replaces its declared 2 in both its counties
    (7 and 8); bidder 2 keeps its declared 12 in county 7. County 7: 10 vs 12 → 0 and 8 points; county 8: bidder 1
    alone → 8. Bidder 1's set-up points (0 + 8) / 2 = 4."""
    criteria = [_criterion(4, Factor.SETUP, K.LINEAR, "8", "township_stations")]
    one = _bid(1, lots=((1, 7), (2, 8)), stations={7: 2, 8: 2})
    two = _bid(2, lots=((3, 7),), stations={7: 12})
    scores = scoring.compute_bid_scores(criteria, [one, two], {}, 0, measured={"township_stations": {1: D(10)}})
    assert scores[1].county_points == {7: {4: D("0.00")}, 8: {4: D("8.00")}}
    assert scores[1].points[4] == D("4.00") and scores[2].points[4] == D("8.00")
    assert scores[1].counties == [7, 8] and scores[2].counties == [7]


def test_the_panel_points_and_what_each_expert_gave():
    criteria = [_criterion(5, Factor.CLAIMS, K.SUBJECTIVE, "5")]
    scored, unscored = _bid(1), _bid(2)
    experts = {(1, 5): [D(1), D("4.5"), D(5)]}
    # three experts and extremes dropped from three on: only the middle one counts
    scores = scoring.compute_bid_scores(criteria, [scored, unscored], experts, 3)
    assert scores[1].points[5] == D("4.50") and scores[1].expert_points[5] == [D(1), D("4.5"), D(5)]
    assert scores[2].points[5] == D("0.00") and scores[2].expert_points[5] == []   # nobody scored it yet
    # not dropped (0 = never): the mean of the three, (1 + 4.5 + 5) / 3 = 3.5
    assert scoring.compute_bid_scores(criteria, [scored], experts, 0)[1].points[5] == D("3.50")


def test_extremes_are_dropped_from_exactly_the_configured_number_of_experts():
    values = [D(2), D(3), D(5)]
    assert scoring.aggregate(values, 3) == D(3)                    # three experts, setting 3: the middle one
    assert scoring.aggregate(values, 2) == D(3)                    # never from fewer than three
    assert scoring.aggregate(values, 4) == D(10) / 3               # setting 4: three experts keep all


def _ranked(bids, totals, claims=None):
    """Rank `bids` with the given totals (criterion 1, CLAIMS) — or totals split into claims points and others."""
    criteria = {1: SimpleNamespace(id=1, factor=Factor.CLAIMS), 2: SimpleNamespace(id=2, factor=Factor.SETUP)}
    scores = {}
    for bid, total in zip(bids, totals, strict=True):
        c = (claims or {}).get(bid.id, total)
        scores[bid.id] = scoring.BidScores(bid, [7], {1: D(c), 2: D(total) - D(c)}, {7: {}})
    return [(r.bid_id, r.rank) for r in scoring.rank_bids(scores, bids, [], lambda s: s.total, criteria)]


def test_ties_are_broken_by_claims_service_then_solvency_then_the_receipt_time_then_the_bid():
    early, late = datetime(2025, 3, 1, 9), datetime(2025, 3, 1, 10)
    # the same total; more of it from claims service first
    assert _ranked([_bid(1), _bid(2)], [80, 80], claims={1: 10, 2: 12}) == [(2, 1), (1, 2)]
    # the same claims points: the higher comprehensive solvency, though it was submitted later and has the higher id
    strong = _bid(2, comprehensive_solvency_pct=D(220), submitted_at=late)
    weak = _bid(1, comprehensive_solvency_pct=D(180), submitted_at=early)
    assert _ranked([weak, strong], [80, 80]) == [(2, 1), (1, 2)]
    # the same solvency: the earlier receipt of the opened bid, not when the bid was first submitted nor its id
    first_receipt = _bid(2, latest_receipt=SimpleNamespace(submitted_at=early), submitted_at=late)
    second_receipt = _bid(1, latest_receipt=SimpleNamespace(submitted_at=late), submitted_at=early)
    assert _ranked([second_receipt, first_receipt], [80, 80]) == [(2, 1), (1, 2)]
    # no receipts: the bid's submission time, then the lower id
    assert _ranked([_bid(1, submitted_at=late), _bid(2, submitted_at=early)], [80, 80]) == [(2, 1), (1, 2)]
    assert _ranked([_bid(2, submitted_at=None), _bid(1, submitted_at=early)], [80, 80]) == [(1, 1), (2, 2)]
    assert _ranked([_bid(2), _bid(1)], [80, 80]) == [(1, 1), (2, 2)]


def test_bids_not_ranked_follow_in_bid_order_with_their_insurer_and_reasons():
    criteria = {1: SimpleNamespace(id=1, factor=Factor.CLAIMS)}
    ranked_bid = _bid(5, insurer_id=51)
    scores = {5: scoring.BidScores(ranked_bid, [7], {1: D(60)}, {7: {}})}
    others = [(_bid(9, insurer_id=91), ["偿付能力不足"]), (_bid(3, insurer_id=31), ["资质不符"]),
              (_bid(7, insurer_id=71), ["逾期提交"])]
    ranked = scoring.rank_bids(scores, [ranked_bid], others, lambda s: s.total, criteria)
    assert [(r.bid_id, r.insurer_id, r.rank, r.eligible, r.score, r.reasons) for r in ranked] == [
        (5, 51, 1, True, D(60), []), (3, 31, 2, False, D("0.00"), ["资质不符"]),
        (7, 71, 3, False, D("0.00"), ["逾期提交"]), (9, 91, 4, False, D("0.00"), ["偿付能力不足"])]
