"""A save from a second tab racing the submission: it waits for the submission and is then refused, so the
submitted bid still matches its receipt (PostgreSQL row lock; SQLite write lock)."""

import threading
from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa

from agri_insurance.auth.models import User
from agri_insurance.bids import service
from agri_insurance.bids.models import Bid, BidStatus
from agri_insurance.db_types import utcnow
from agri_insurance.errors import DomainError
from agri_insurance.extensions import db as _db
from tests.tenders.factories import bid_data, make_bid, make_round


def _in_thread(app, bid_id: int, action, locked, hold, outcome: dict, key: str) -> None:
    with app.app_context():
        try:
            bid = _db.session.get(Bid, bid_id)
            insurer = _db.session.scalar(sa.select(User).where(User.username == "insurer"))
            action(bid, insurer)
            if locked is not None:
                locked.set()
                hold.wait(timeout=10)
            _db.session.commit()
            outcome[key] = "done"
        except DomainError as e:
            _db.session.rollback()
            outcome[key] = e.message
        finally:
            _db.session.remove()


def test_a_save_racing_the_submission_is_refused_and_the_receipt_still_matches(app, demo, db):
    rnd = make_round(deadline=utcnow() + timedelta(days=3), publish=True)
    bid_id = make_bid(rnd, submit=False).id
    changed = bid_data(rnd, catastrophe_reserve=Decimal("1.00"))
    db.session.remove()
    outcome: dict[str, str] = {}
    locked, hold = threading.Event(), threading.Event()
    submit = threading.Thread(target=_in_thread, args=(app, bid_id, service.submit_bid, locked, hold, outcome,
                                                       "submit"))
    submit.start()
    assert locked.wait(timeout=10)
    save = threading.Thread(target=_in_thread, args=(app, bid_id, lambda b, u: service.save_bid(b, changed, u),
                                                     None, None, outcome, "save"))
    save.start()
    hold.set()
    submit.join(timeout=10)
    save.join(timeout=10)
    assert outcome["submit"] == "done" and "已提交的投标文件不能修改" in outcome["save"]
    bid = db.session.get(Bid, bid_id)
    assert bid.status is BidStatus.SUBMITTED and bid.catastrophe_reserve != Decimal("1.00")
    assert service.verify_receipt(bid, bid.latest_receipt)
