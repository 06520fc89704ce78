"""Two clerks confirm the same outstanding share at the same moment: only one payment lands (PostgreSQL row locks;
SQLite's write lock, taken by lock_for_update)."""

import threading
from datetime import date
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from agri_insurance.auth.models import User
from agri_insurance.errors import DomainError
from agri_insurance.extensions import db as _db
from agri_insurance.subsidies import service
from agri_insurance.subsidies.models import ClaimShare, ClaimStatus, Payment, ShareLevel, SubsidyClaim
from tests.subsidies.factories import assign, make_claim, user


def _pay(app, claim_id: int, username: str, level: ShareLevel, amount: str, voucher: str,
         locked: threading.Event | None, hold: threading.Event | None, outcome: dict) -> None:
    with app.app_context():
        try:
            claim = _db.session.get(SubsidyClaim, claim_id)
            clerk = _db.session.scalar(sa.select(User).where(User.username == username))
            service.confirm_payment(claim, level, D(amount), date(2026, 3, 1), voucher, clerk)
            if locked is not None:
                locked.set()          # this transaction holds its locks now
                hold.wait(timeout=10)
            _db.session.commit()
            outcome[voucher] = "paid"
        except DomainError as e:
            _db.session.rollback()
            outcome[voucher] = e.message
        finally:
            _db.session.remove()


def test_concurrent_confirmations_cannot_double_pay(app, demo, db):
    assign()
    db.session.commit()
    claim_id = make_claim(status="verified", premium="100000.00").id     # county share 5,000.00
    db.session.remove()

    outcome: dict[str, str] = {}
    locked, hold = threading.Event(), threading.Event()
    first = threading.Thread(target=_pay, args=(app, claim_id, "county_finance", ShareLevel.COUNTY, "5000.00",
                                                "KF-A", locked, hold, outcome))
    first.start()
    assert locked.wait(timeout=10)
    second_done = threading.Event()

    def second_clerk():
        _pay(app, claim_id, "county_finance", ShareLevel.COUNTY, "5000.00", "KF-B", None, None, outcome)
        second_done.set()

    second = threading.Thread(target=second_clerk)
    second.start()
    # The second clerk waits on the first one's row lock instead of reading the stale balance.
    assert not second_done.wait(timeout=1.0), "the second confirmation did not wait for the first"
    hold.set()
    first.join(timeout=10)
    second.join(timeout=10)

    assert outcome["KF-A"] == "paid"
    assert "超出应付余额" in outcome["KF-B"]
    payments = db.session.scalars(sa.select(Payment).where(Payment.claim_id == claim_id)).all()
    assert [p.voucher_no for p in payments] == ["KF-A"]
    share = db.session.scalar(sa.select(ClaimShare).where(ClaimShare.claim_id == claim_id,
                                                          ClaimShare.level == ShareLevel.COUNTY))
    assert share.paid == D("5000.00")


def test_county_and_city_paying_their_last_amounts_at_once_settle_the_claim(app, demo, db):
    assign()
    db.session.commit()
    claim = make_claim(status="verified", premium="100000.00")           # county 5,000.00, city 5,000.00
    service.confirm_payment(claim, ShareLevel.COUNTY, D("1000.00"), date(2026, 3, 1), "KF-0", user("county_finance"))
    db.session.commit()                                                  # paying: 4,000 (county) + 5,000 (city) left
    claim_id = claim.id
    db.session.remove()

    outcome: dict[str, str] = {}
    locked, hold = threading.Event(), threading.Event()
    county = threading.Thread(target=_pay, args=(app, claim_id, "county_finance", ShareLevel.COUNTY, "4000.00",
                                                 "KF-1", locked, hold, outcome))
    county.start()
    assert locked.wait(timeout=10)
    city_done = threading.Event()

    def city_clerk():
        _pay(app, claim_id, "city_finance", ShareLevel.CITY, "5000.00", "SF-1", None, None, outcome)
        city_done.set()

    city = threading.Thread(target=city_clerk)
    city.start()
    # The city clerk waits on the claim's lock, so it decides on settlement after the county payment commits
    # (before, each saw the other share outstanding and the claim stayed "paying" with nothing left to pay).
    assert not city_done.wait(timeout=1.0), "the city confirmation did not wait for the county's"
    hold.set()
    county.join(timeout=10)
    city.join(timeout=10)

    assert outcome == {"KF-1": "paid", "SF-1": "paid"}
    settled = db.session.get(SubsidyClaim, claim_id)
    assert all(settled.share(level).outstanding == 0 for level in (ShareLevel.CITY, ShareLevel.COUNTY))
    assert settled.status is ClaimStatus.SETTLED


def test_database_refuses_paid_above_the_share(app, demo, db):
    """Even a bug that bypassed the service could not record more than the share."""
    assign()
    db.session.commit()
    claim = make_claim(status="verified", premium="100000.00")
    share = claim.share(ShareLevel.COUNTY)
    share.paid = share.amount + D("0.01")
    with pytest.raises(sa.exc.IntegrityError):
        db.session.commit()
    db.session.rollback()


def _act(app, claim_id: int, username: str, action, locked, hold, outcome: dict, key: str) -> None:
    with app.app_context():
        try:
            claim = _db.session.get(SubsidyClaim, claim_id)
            actor = _db.session.scalar(sa.select(User).where(User.username == username))
            action(claim, actor)
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


def test_a_verification_and_a_return_at_once_cannot_both_happen(app, demo, db):
    assign()
    db.session.commit()
    claim_id = make_claim(status="submitted", premium="100000.00").id
    db.session.remove()
    outcome: dict[str, str] = {}
    locked, hold = threading.Event(), threading.Event()
    verify = threading.Thread(target=_act, args=(app, claim_id, "county_agri",
                                                 lambda c, a: service.verify_claim(c, a), locked, hold, outcome,
                                                 "verify"))
    verify.start()
    assert locked.wait(timeout=10)
    give_back = threading.Thread(target=_act, args=(app, claim_id, "county_agri",
                                                    lambda c, a: service.return_claim(c, "数量不符", a), None, None,
                                                    outcome, "return"))
    give_back.start()
    hold.set()
    verify.join(timeout=10)
    give_back.join(timeout=10)
    assert outcome["verify"] == "done" and "只有已提交的申请可以退回" in outcome["return"]
    claim = db.session.get(SubsidyClaim, claim_id)
    assert claim.status is ClaimStatus.VERIFIED and claim.returned_reason is None


def test_two_claims_verified_at_once_are_checked_against_the_budget_one_after_the_other(app, demo, db):
    """The budget holds one claim's county share: the second verification must see the first and ask for the
    over-budget confirmation (each used to see the budget without the other)."""
    from tests.factories import county

    assign()
    service.save_budget(2026, county(), D("6000.00"), user("county_finance"))   # one county share: 5,000.00
    first = make_claim(status="submitted", premium="100000.00").id
    second = make_claim(status="submitted", premium="100000.00", period="2026年第二季度").id
    db.session.commit()
    db.session.remove()
    outcome: dict[str, str] = {}
    locked, hold = threading.Event(), threading.Event()
    one = threading.Thread(target=_act, args=(app, first, "county_agri", lambda c, a: service.verify_claim(c, a),
                                              locked, hold, outcome, "first"))
    one.start()
    assert locked.wait(timeout=10)
    two = threading.Thread(target=_act, args=(app, second, "county_agri", lambda c, a: service.verify_claim(c, a),
                                              None, None, outcome, "second"))
    two.start()
    two.join(timeout=1.0)  # it waits for the budget the first verification holds (or, unlocked, finishes)
    hold.set()
    one.join(timeout=10)
    two.join(timeout=10)
    assert outcome["first"] == "done" and "预算" in outcome["second"]
    assert db.session.get(SubsidyClaim, second).status is ClaimStatus.SUBMITTED
