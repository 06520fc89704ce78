"""The evaluation's results stand in for issue 5's functions: fixed lot scores per (username, lot code)."""

from decimal import Decimal
from types import SimpleNamespace

import pytest

from agri_insurance.allocation import scores
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
    fake = SimpleNamespace(is_final=lambda r: True, lot_scores=lambda r: lot_scores)
    monkeypatch.setattr(scores, "_evaluation", lambda: fake)
    return SimpleNamespace(round=rnd, insurers=insurers, names=names)


@pytest.fixture
def scored_round_with_exception(scored_round, db):
    from agri_insurance.tenders.models import RoundStatus

    rnd = scored_round.round
    # exceptions are recorded before the allocation; the factory's round is already in evaluation
    assert rnd.status is RoundStatus.EVALUATION
    make_exception(rnd, "361130", 4)
    return scored_round
