"""Two users act on the same claim at the same moment: the second waits for the first one's lock, then sees what
it committed (PostgreSQL row locks; SQLite's write lock, taken by lock_for_update)."""

from datetime import date
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from agri_insurance.auth.models import User
from agri_insurance.extensions import db as _db
from agri_insurance.subsidies import service
from agri_insurance.subsidies.models import ClaimShare, ClaimStatus, Payment, ShareLevel, SubsidyClaim
from tests.concurrency import second_waits_for_first
from tests.subsidies.factories import assign, make_claim, user


def _as(username: str) -> User:
    return _db.session.scalar(sa.select(User).where(User.username == username))


def _pay(claim_id: int, username: str, level: ShareLevel, amount: str, voucher: str):
    return lambda: service.confirm_payment(_db.session.get(SubsidyClaim, claim_id), level, D(amount),
                                           date(2026, 3, 1), voucher, _as(username))


def test_concurrent_confirmations_cannot_double_pay(app, demo, db):
    assign()
    db.session.commit()
    claim_id = make_claim(status="verified", premium="100000.00").id     # county share 5,000.00
    db.session.remove()
    outcome: dict[str, str] = {}
    # the second clerk waits on the first one's lock instead of reading the stale balance
    second_waits_for_first(app, _pay(claim_id, "county_finance", ShareLevel.COUNTY, "5000.00", "KF-A"),
                           _pay(claim_id, "county_finance", ShareLevel.COUNTY, "5000.00", "KF-B"), outcome)
    assert outcome["first"] == "done" and "超出应付余额" in outcome["second"]
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
    # the city clerk waits on the claim's lock, so it decides on settlement after the county payment commits
    # (before, each saw the other share outstanding and the claim stayed "paying" with nothing left to pay)
    second_waits_for_first(app, _pay(claim_id, "county_finance", ShareLevel.COUNTY, "4000.00", "KF-1"),
                           _pay(claim_id, "city_finance", ShareLevel.CITY, "5000.00", "SF-1"), outcome)
    assert outcome == {"first": "done", "second": "done"}
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



def test_a_verification_and_a_return_at_once_cannot_both_happen(app, demo, db):
    assign()
    db.session.commit()
    claim_id = make_claim(status="submitted", premium="100000.00").id
    db.session.remove()
    outcome: dict[str, str] = {}
    second_waits_for_first(
        app, lambda: service.verify_claim(_db.session.get(SubsidyClaim, claim_id), _as("county_agri"), "同意"),
        lambda: service.return_claim(_db.session.get(SubsidyClaim, claim_id), "数量不符", _as("county_agri")),
        outcome)
    assert outcome["first"] == "done" and "只有已提交的申请可以退回" in outcome["second"]
    claim = db.session.get(SubsidyClaim, claim_id)
    assert claim.status is ClaimStatus.VERIFIED and claim.returned_reason is None


def test_two_claims_verified_at_once_are_checked_against_the_budget_one_after_the_other(app, demo, db):
    """The budget holds one claim's county share: the second verification must see the first and ask for the
    over-budget confirmation (each used to see the budget without the other). On PostgreSQL the budget's row
    lock is what makes the second wait; SQLite's database-wide lock already does."""
    from tests.factories import county

    assign()
    service.save_budget(2026, county(), D("6000.00"), user("county_finance"))   # one county share: 5,000.00
    first = make_claim(status="submitted", premium="100000.00").id
    second = make_claim(status="submitted", premium="100000.00", period="2026年第二季度").id
    db.session.commit()
    db.session.remove()
    outcome: dict[str, str] = {}
    second_waits_for_first(app, lambda: service.verify_claim(_db.session.get(SubsidyClaim, first), _as("county_agri"), "同意"),
                           lambda: service.verify_claim(_db.session.get(SubsidyClaim, second), _as("county_agri"), "同意"),
                           outcome)
    assert outcome["first"] == "done" and "预算" in outcome["second"]
    assert db.session.get(SubsidyClaim, second).status is ClaimStatus.SUBMITTED


def test_the_lock_changes_nothing_it_locks(app, demo, db):
    """SQLite's lock is an UPDATE of the row to itself: it must not touch updated_at (an onupdate column)."""
    import time_machine

    from agri_insurance.clock import utcnow
    from agri_insurance.extensions import lock_for_update
    from agri_insurance.subsidies.models import Budget
    from tests.factories import county

    budget = service.save_budget(2026, county(), D("6000.00"), user("county_finance"))
    db.session.commit()
    before = budget.updated_at
    with time_machine.travel(utcnow() + __import__("datetime").timedelta(days=10), tick=False):
        lock_for_update(budget)
        db.session.commit()
    assert db.session.get(Budget, budget.id).updated_at == before


def test_a_returned_claim_filed_again_from_two_tabs_at_once_is_filed_once(app, demo, db):
    from tests.subsidies.factories import claim_data

    assign()
    db.session.commit()
    returned = make_claim(status="submitted")
    service.return_claim(returned, "申请期间有误", user("county_agri"))
    db.session.commit()
    returned_id = returned.id
    db.session.remove()

    def file_again(period: str):
        def work():
            actor = _as("insurer")
            service.save_claim(None, claim_data(period=period), actor.insurer, actor,
                               corrects=_db.session.get(SubsidyClaim, returned_id))
        return work

    outcome: dict[str, str] = {}
    second_waits_for_first(app, file_again("2026年全年"), file_again("2026年上半年"), outcome)
    assert outcome["first"] == "done" and "不是本机构待重新申报的退回申请" in outcome["second"]
    assert db.session.scalars(sa.select(SubsidyClaim.period).where(SubsidyClaim.corrects_id == returned_id)).all() \
        == ["2026年全年"]
