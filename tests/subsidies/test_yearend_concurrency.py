"""The year's money at the same moment: a close racing a payment, two refunds of one settlement, two advances of one
scope. The second user waits for the first one's lock, then sees what it committed."""

from datetime import date
from decimal import Decimal as D

import sqlalchemy as sa

from agri_insurance.auth.models import User
from agri_insurance.extensions import db as _db
from agri_insurance.subsidies import service, yearend
from agri_insurance.subsidies.models import (
    Advance,
    Payment,
    Settlement,
    SettlementTransfer,
    ShareLevel,
    SubsidyClaim,
    SubsidyYear,
)
from tests.concurrency import second_waits_for_first
from tests.factories import county
from tests.subsidies.factories import OPINION, assign, demo_insurer, make_claim, user


def _as(username: str) -> User:
    return _db.session.scalar(sa.select(User).where(User.username == username))


def _pay(claim_id: int, amount: str, voucher: str):
    return lambda: service.confirm_payment(_db.session.get(SubsidyClaim, claim_id), ShareLevel.CITY, D(amount),
                                           date(2025, 6, 1), voucher, _as("city_finance"))


def _close():
    return lambda: yearend.close_year(2025, _as("city_finance"))


def _claim(db) -> int:
    assign()
    db.session.commit()
    claim_id = make_claim(status="verified", premium="100000.00", year=2025, period="2025年全年").id  # city 5,000.00
    db.session.remove()
    return claim_id


def _city_settlement(db) -> Settlement:
    return db.session.scalar(sa.select(Settlement).where(Settlement.level == ShareLevel.CITY))


def test_a_close_waits_for_a_payment_in_flight_and_counts_it(app, demo, db):
    claim_id = _claim(db)
    outcome: dict[str, str] = {}
    second_waits_for_first(app, _pay(claim_id, "1200.00", "SF-1"), _close(), outcome)
    assert outcome == {"first": "done", "second": "done"}
    settlement = _city_settlement(db)
    assert (settlement.paid, settlement.balance) == (D("1200.00"), D("3800.00"))


def test_a_payment_arriving_during_the_close_waits_and_is_refused(app, demo, db):
    claim_id = _claim(db)
    outcome: dict[str, str] = {}
    second_waits_for_first(app, _close(), _pay(claim_id, "1200.00", "SF-1"), outcome)
    assert outcome["first"] == "done" and "已清算" in outcome["second"]
    assert db.session.scalar(sa.select(sa.func.count(Payment.id))) == 0
    assert _city_settlement(db).balance == D("5000.00")


def test_two_closes_at_once_close_the_year_once(app, demo, db):
    _claim(db)
    outcome: dict[str, str] = {}
    second_waits_for_first(app, _close(), _close(), outcome)
    assert outcome["first"] == "done" and "已清算关闭" in outcome["second"]
    assert db.session.scalar(sa.select(sa.func.count(SubsidyYear.year))) == 1
    assert db.session.scalar(sa.select(sa.func.count(Settlement.id))) == 4


def test_two_refunds_of_one_settlement_cannot_both_take_what_is_left(app, demo, db):
    assign()
    yearend.save_advance({"year": 2025, "insurer_id": demo_insurer().id, "region_id": county().id,
                          "level": ShareLevel.COUNTY, "amount": D("8000.00"), "paid_on": date(2025, 2, 1),
                          "voucher_no": "YB-1"}, user("county_finance"))
    db.session.commit()
    make_claim(status="verified", premium="100000.00", year=2025, period="2025年全年")     # county 5,000.00 drawn
    settlement = next(s for s in yearend.close_year(2025, user("city_finance")) if s.level is ShareLevel.COUNTY)
    yearend.confirm_settlement(settlement, user("county_finance"))
    yearend.confirm_settlement(settlement, user("insurer"))
    db.session.commit()
    settlement_id = settlement.id                                                        # refund 3,000.00
    db.session.remove()

    def refund(voucher):
        return lambda: yearend.record_transfer(_db.session.get(Settlement, settlement_id), D("3000.00"),
                                               date(2026, 1, 10), voucher, _as("county_finance"))

    outcome: dict[str, str] = {}
    second_waits_for_first(app, refund("TH-1"), refund("TH-2"), outcome)
    assert outcome["first"] == "done" and "已结清" in outcome["second"]
    assert db.session.scalars(sa.select(SettlementTransfer.voucher_no)).all() == ["TH-1"]
    assert db.session.get(Settlement, settlement_id).transferred == D("3000.00")


def test_the_same_advance_submitted_twice_at_once_is_recorded_once(app, demo, db):
    assign()
    db.session.commit()
    data = {**_advance_data(), "year": 2026, "paid_on": date(2026, 2, 1)}
    db.session.remove()
    outcome: dict[str, str] = {}
    second_waits_for_first(app, lambda: yearend.save_advance(data, _as("county_finance")),
                           lambda: yearend.save_advance(data, _as("county_finance")), outcome)
    assert outcome["first"] == "done" and "已登记预拨" in outcome["second"]
    assert db.session.scalar(sa.select(sa.func.count(Advance.id))) == 1


def _advance_data() -> dict:
    """The county's advance of 2,500.00 for 2025 (half the county share of _claim's claim)."""
    return {"year": 2025, "insurer_id": demo_insurer().id, "region_id": county().id, "level": ShareLevel.COUNTY,
            "amount": D("2500.00"), "paid_on": date(2025, 2, 1), "voucher_no": "YB-1"}


def _advance(db):
    data = _advance_data()
    db.session.remove()
    return lambda: yearend.save_advance(data, _as("county_finance"))


def test_an_advance_arriving_during_the_close_waits_and_is_refused(app, demo, db):
    _claim(db)
    outcome: dict[str, str] = {}
    second_waits_for_first(app, _close(), _advance(db), outcome)
    assert outcome["first"] == "done" and "已清算关闭" in outcome["second"]
    assert db.session.scalar(sa.select(sa.func.count(Advance.id))) == 0


def test_a_close_arriving_during_an_advance_waits_and_settles_it(app, demo, db):
    _claim(db)
    outcome: dict[str, str] = {}
    second_waits_for_first(app, _advance(db), _close(), outcome)
    assert outcome == {"first": "done", "second": "done"}
    county_settlement = db.session.scalar(sa.select(Settlement).where(Settlement.level == ShareLevel.COUNTY))
    # county share 5,000.00 (see _claim): the advance's 2,500.00 drawn down at the close, 2,500.00 still to top up
    assert (county_settlement.advanced, county_settlement.balance) == (D("2500.00"), D("2500.00"))


def test_the_county_and_city_top_ups_of_one_claim_at_once_settle_it(app, demo, db):
    """Two settlements (county, city), one claim: each top-up pays its own share, and the second, waiting for the
    claim's lock, sees the first one's payment and settles the claim. Without the lock each would see the other
    share still owed, and the claim, paid in full, would stay "paying"."""
    claim_id = _claim(db)                                                     # county and city 5,000.00 each
    settlements = {s.level: s.id for s in yearend.close_year(2025, _as("city_finance"))}
    for level, bureau in ((ShareLevel.COUNTY, "county_finance"), (ShareLevel.CITY, "city_finance")):
        yearend.confirm_settlement(db.session.get(Settlement, settlements[level]), _as(bureau))
        yearend.confirm_settlement(db.session.get(Settlement, settlements[level]), _as("insurer"))
    db.session.commit()
    db.session.remove()

    def top_up(level, bureau, voucher):
        return lambda: yearend.record_transfer(_db.session.get(Settlement, settlements[level]), D("5000.00"),
                                               date(2026, 1, 10), voucher, _as(bureau))

    outcome: dict[str, str] = {}
    second_waits_for_first(app, top_up(ShareLevel.COUNTY, "county_finance", "BB-1"),
                           top_up(ShareLevel.CITY, "city_finance", "BB-2"), outcome)
    assert outcome == {"first": "done", "second": "done"}
    claim = db.session.get(SubsidyClaim, claim_id)
    assert (claim.share(ShareLevel.COUNTY).outstanding, claim.share(ShareLevel.CITY).outstanding) == (0, 0)
    assert claim.status.value == "settled"


def _submitted_claim_with_an_advance(db) -> int:
    """A submitted claim of 2025 (county share 5,000.00) and the county's advance of 2,500.00 it will draw down."""
    assign()
    yearend.save_advance(_advance_data(), user("county_finance"))
    db.session.commit()
    claim_id = make_claim(status="submitted", premium="100000.00", year=2025, period="2025年全年").id
    db.session.remove()
    return claim_id


def _verify(claim_id: int):
    return lambda: service.verify_claim(_db.session.get(SubsidyClaim, claim_id), _as("county_agri"), OPINION,
                                        confirm_over_budget=True, flags_reviewed=True)


def test_a_close_waits_for_a_verification_drawing_an_advance_and_settles_only_the_rest(app, demo, db):
    """The verification draws 2,500.00 of the advance and holds the claim's row: the close waits for it, then finds
    the claim verified and the advance spent, and neither draws it a second time nor counts the claim as waiting."""
    claim_id = _submitted_claim_with_an_advance(db)
    outcome: dict[str, str] = {}
    second_waits_for_first(app, _verify(claim_id), _close(), outcome)
    assert outcome == {"first": "done", "second": "done"}
    settlement = db.session.scalar(sa.select(Settlement).where(Settlement.level == ShareLevel.COUNTY))
    assert (settlement.verified, settlement.advanced, settlement.paid, settlement.balance) == (
        D("5000.00"), D("2500.00"), D("0.00"), D("2500.00"))
    assert db.session.scalar(sa.select(Advance.drawn)) == D("2500.00")
    share = db.session.get(SubsidyClaim, claim_id).share(ShareLevel.COUNTY)
    assert (share.from_advance, share.outstanding) == (D("2500.00"), D("2500.00"))


def test_a_close_waits_for_a_verification_in_flight_without_an_advance_and_counts_it(app, demo, db):
    """No advance to lock: the claim's row alone makes the close wait, and the claim it then finds verified is owed in
    full (without that wait the close would find the claim still submitted and refuse the year)."""
    assign()
    db.session.commit()
    claim_id = make_claim(status="submitted", premium="100000.00", year=2025, period="2025年全年").id
    db.session.remove()
    outcome: dict[str, str] = {}
    second_waits_for_first(app, _verify(claim_id), _close(), outcome)
    assert outcome == {"first": "done", "second": "done"}
    settlement = db.session.scalar(sa.select(Settlement).where(Settlement.level == ShareLevel.COUNTY))
    assert (settlement.verified, settlement.advanced, settlement.balance) == (D("5000.00"), D("0.00"), D("5000.00"))
