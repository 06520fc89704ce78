"""SEALING's last line: even for a round recorded as opened, the bureau's view of bids re-checks the opening time
on the server clock. A clock set back, or an opening time moved later after the opening, hides the bids again."""

from datetime import timedelta

import sqlalchemy as sa
import time_machine

from agri_insurance.bids.models import Bid
from agri_insurance.clock import utcnow
from agri_insurance.extensions import db as _db
from tests.tenders.factories import make_opened_round_with_bid, user


def _seen_by(username: str) -> list[int]:
    return list(_db.session.scalars(sa.select(Bid.id).where(Bid.visible_to(user(username)))))


def test_an_opened_round_whose_opening_time_is_still_ahead_shows_no_bid(demo, db):
    rnd, bid = make_opened_round_with_bid()
    assert rnd.opened_at is not None
    assert _seen_by("city_agri") == [bid.id] and _seen_by("admin") == [bid.id]
    # the server clock before the opening time (two days ago), the round still recorded as opened
    with time_machine.travel(rnd.opening_time - timedelta(minutes=1), tick=False):
        assert _seen_by("city_agri") == [] and _seen_by("admin") == []
        assert _seen_by("insurer") == [bid.id]  # its own insurer always sees its bid
    # the opening time moved after the opening to a moment still ahead
    rnd.opening_time = utcnow() + timedelta(hours=1)
    db.session.commit()
    assert _seen_by("city_agri") == [] and _seen_by("admin") == []
    with time_machine.travel(rnd.opening_time + timedelta(seconds=1), tick=False):
        assert _seen_by("city_agri") == [bid.id]
