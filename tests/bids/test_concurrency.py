"""A save from a second tab racing the submission: it waits for the submission and is then refused, so the
submitted bid still matches its receipt (PostgreSQL row lock; SQLite write lock)."""

from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa

from agri_insurance.auth.models import User
from agri_insurance.bids import service
from agri_insurance.bids.models import Bid, BidStatus
from agri_insurance.clock import utcnow
from agri_insurance.extensions import db as _db
from tests.concurrency import second_waits_for_first
from tests.tenders.factories import bid_data, make_bid, make_round


def _insurer() -> User:
    return _db.session.scalar(sa.select(User).where(User.username == "insurer"))


def test_a_save_racing_the_submission_is_refused_and_the_receipt_still_matches(app, demo, db):
    rnd = make_round(deadline=utcnow() + timedelta(days=3), publish=True)
    bid_id = make_bid(rnd, submit=False).id
    changed = bid_data(rnd, catastrophe_reserve=Decimal("1.00"))
    db.session.remove()
    outcome: dict[str, str] = {}
    second_waits_for_first(app, lambda: service.submit_bid(_db.session.get(Bid, bid_id), _insurer()),
                           lambda: service.save_bid(_db.session.get(Bid, bid_id), changed, _insurer()), outcome)
    assert outcome["first"] == "done" and "已提交的投标文件不能修改" in outcome["second"]
    bid = db.session.get(Bid, bid_id)
    assert bid.status is BidStatus.SUBMITTED and bid.catastrophe_reserve != Decimal("1.00")
    assert service.verify_receipt(bid, bid.latest_receipt)
