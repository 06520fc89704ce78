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


@pytest.fixture
def scored_round(demo, db, monkeypatch):
    rnd = make_evaluation_round()
    names = bidder_usernames(3)
    insurers = [user(n).insurer for n in names]
    from agri_insurance.bids.service import bid_for

    lot_scores = []
    for index, insurer in enumerate(insurers):
        bid = bid_for(rnd, insurer.id)
        for lot in rnd.lots:
            suffix = lot.code[-2:]
            lot_scores.append(SimpleNamespace(insurer_id=insurer.id, bid_id=bid.id, lot_id=lot.id,
                                              score=Decimal(SCORES[index][suffix])))

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

    monkeypatch.setattr(evaluation, "is_final", lambda r: True)
    monkeypatch.setattr(evaluation, "lot_scores", lambda r: lot_scores)
    monkeypatch.setattr(evaluation, "county_ranking", county_ranking)
    return SimpleNamespace(round=rnd, insurers=insurers, names=names)


@pytest.fixture
def scored_round_with_exception(scored_round, db):
    from agri_insurance.tenders.models import RoundStatus

    rnd = scored_round.round
    # exceptions are recorded before the allocation; the factory's round is already in evaluation
    assert rnd.status is RoundStatus.EVALUATION
    make_exception(rnd, "361130", 4)
    return scored_round
