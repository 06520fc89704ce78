"""Fixed lot scores per (username, lot code) stand in for the evaluation's results (evaluation.service's is_final,
lot_scores and county_ranking, which the allocation reads)."""

from decimal import Decimal
from types import SimpleNamespace

import pytest

from agri_insurance.evaluation import service as evaluation
from tests.awards.factories import bidder_usernames, make_evaluation_round
from tests.tenders.factories import make_exception, user

# bidder index → lot code suffix → score; bidder 0 is the best everywhere, so a rank-order draft gives it
# both lots of a county unless the county limits intervene.
SCORES = {0: {"-1": "91.5", "-2": "90"}, 1: {"-1": "85", "-2": "88.25"}, 2: {"-1": "80", "-2": "79"}}


def _score(monkeypatch, rnd, insurers, scores) -> SimpleNamespace:
    """Stand the fixed `scores(bidder index, lot)` in for the evaluation's final lot scores of `rnd`."""
    from agri_insurance.bids.service import bid_for

    lot_scores = []
    for index, insurer in enumerate(insurers):
        bid = bid_for(rnd, insurer.id)
        for lot in rnd.lots:
            lot_scores.append(SimpleNamespace(insurer_id=insurer.id, bid_id=bid.id, lot_id=lot.id,
                                              score=Decimal(scores(index, lot))))

    def county_ranking(r, region_id):
        """The county's bidders by their best lot score there (then insurer id), as the evaluation ranks them."""
        lots = {lot.id for lot in r.lots if lot.region_id == region_id}
        best: dict[int, Decimal] = {}
        for s in lot_scores:
            if s.lot_id in lots:
                best[s.insurer_id] = max(best.get(s.insurer_id, s.score), s.score)
        ordered = sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))
        return [SimpleNamespace(insurer_id=insurer_id, score=score, rank=rank, eligible=True)
                for rank, (insurer_id, score) in enumerate(ordered, start=1)]

    round_id = rnd.id
    monkeypatch.setattr(evaluation, "is_final", lambda r: r.id == round_id)  # it stands in for this round only
    monkeypatch.setattr(evaluation, "lot_scores", lambda r: lot_scores)
    monkeypatch.setattr(evaluation, "county_ranking", county_ranking)
    return SimpleNamespace(round=rnd, insurers=insurers)


@pytest.fixture
def scored_round(demo, db, monkeypatch):
    rnd = make_evaluation_round()
    names = bidder_usernames(3)
    scored = _score(monkeypatch, rnd, [user(n).insurer for n in names],
                    lambda index, lot: SCORES[index][lot.code[-2:]])
    scored.names = names
    return scored


@pytest.fixture
def wide_round(demo, db, monkeypatch):
    """Four lots in each county and four bidders with a score on every lot: enough for a county to be given
    more insurers than the round's maximum of 3."""
    rnd = make_evaluation_round(bidders=4, lots_per_county=4, name="2029–2031年度遴选（四标段）")
    insurers = [user(n).insurer for n in bidder_usernames(4)]
    return _score(monkeypatch, rnd, insurers, lambda index, lot: 90 - index)


@pytest.fixture
def scored_round_with_exception(scored_round, db):
    from agri_insurance.tenders.models import RoundStatus

    rnd = scored_round.round
    # exceptions are recorded before the allocation; the factory's round is already in evaluation
    assert rnd.status is RoundStatus.EVALUATION
    make_exception(rnd, "361130", 4)
    return scored_round
