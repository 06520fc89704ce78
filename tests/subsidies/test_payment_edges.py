"""A payment's rules at their edges (issue 24, mutation testing of subsidies/service.py's payments): the smallest
amount, the fen, the date, the voucher, what the audit entry records, and when the claim is settled.

Rice in 鄱阳县 (the demo scheme): a premium of 100,000.00 gives central 45,000.00, provincial 25,000.00, city and
county 5,000.00 each.
"""

from datetime import UTC, date, datetime
from decimal import Decimal as D

import pytest
import sqlalchemy as sa
import time_machine

from agri_insurance.audit.models import AuditEntry
from agri_insurance.errors import DomainError
from agri_insurance.subsidies import service
from agri_insurance.subsidies.models import ClaimStatus, Payment, ShareLevel
from tests.subsidies.factories import assign, make_claim, user

COUNTY, CITY, CENTRAL = ShareLevel.COUNTY, ShareLevel.CITY, ShareLevel.CENTRAL
# 2026-06-10 10:00 in Shangrao
NOON = datetime(2026, 6, 10, 2, 0, tzinfo=UTC)


@pytest.fixture
def claim(demo, db):
    assign()                                    # 赣鄱财险 underwrites rice in 鄱阳县 2025–2027
    db.session.commit()
    return make_claim(status="verified", premium="100000.00")


def pay(claim, amount, voucher="KF-1", level=COUNTY, paid_on=date(2026, 3, 1), username=None):
    username = username or ("county_finance" if level is COUNTY else "city_finance")
    return service.confirm_payment(claim, level, amount if amount is None else D(amount), paid_on, voucher,
                                   user(username))


def refused(*args, **kwargs) -> DomainError:
    with pytest.raises(DomainError) as info:
        pay(*args, **kwargs)
    return info.value


def test_an_amount_below_a_fen_or_with_a_part_of_a_fen_is_refused_naming_the_amount(claim):
    for amount, message in [("0", "拨付金额至少为0.01元"), ("0.00", "拨付金额至少为0.01元"),
                            ("0.009", "拨付金额至少为0.01元"), ("-1.00", "拨付金额至少为0.01元"),
                            (None, "拨付金额至少为0.01元"), ("1.005", "拨付金额最多两位小数")]:
        error = refused(claim, amount)
        assert (error.field, error.message) == ("amount", message), amount
    assert claim.share(COUNTY).paid == 0


def test_one_fen_is_the_smallest_payment(claim):
    pay(claim, "0.01")
    assert claim.share(COUNTY).paid == D("0.01") and claim.share(COUNTY).outstanding == D("4999.99")


def test_the_whole_outstanding_amount_at_once_is_accepted_a_fen_more_is_not(claim):
    error = refused(claim, "5000.01")
    assert error.field == "amount" and error.message == "拨付金额超出应付余额 5,000.00 元"
    pay(claim, "5000.00")
    assert claim.share(COUNTY).outstanding == 0


def test_a_payment_dated_today_is_accepted_tomorrow_is_not(claim):
    with time_machine.travel(NOON, tick=False):
        error = refused(claim, "1.00", paid_on=date(2026, 6, 11))
        assert (error.field, error.message) == ("paid_on", "拨付日期不能晚于今天")
        payment = pay(claim, "1.00", paid_on=date(2026, 6, 10))
    assert payment.paid_on == date(2026, 6, 10)


def test_a_blank_voucher_is_refused_naming_it(claim):
    for voucher in ("", "   ", None):
        error = refused(claim, "1.00", voucher=voucher)
        assert (error.field, error.message) == ("voucher_no", "请填写凭证号"), voucher


def test_the_voucher_is_stored_without_surrounding_spaces_and_a_repeat_is_refused(claim):
    payment = pay(claim, "1.00", voucher="  KF-7 ")
    assert payment.voucher_no == "KF-7"
    error = refused(claim, "1.00", voucher="KF-7")
    assert (error.field, error.message) == ("voucher_no", "凭证号 KF-7 已登记过")


def test_one_voucher_may_pay_two_levels_of_a_claim_and_two_claims(claim, db):
    """The voucher is unique per claim and level (as the database's constraint): the city bureau's one transfer may
    carry the city and the central share; another claim's payment may carry the same number."""
    pay(claim, "1.00", voucher="SF-1", level=CITY)
    pay(claim, "1.00", voucher="SF-1", level=CENTRAL)
    other = make_claim(status="verified", premium="100000.00", period="2026年第二季度")
    pay(other, "1.00", voucher="SF-1", level=CITY)
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count(Payment.id)).where(Payment.voucher_no == "SF-1")) == 3


def test_the_payment_and_its_audit_entry_record_what_was_paid(claim, db):
    payment = pay(claim, "1234.56", voucher="KF-9", paid_on=date(2026, 3, 2))
    db.session.commit()
    assert (payment.claim_id, payment.level, payment.amount, payment.paid_on, payment.voucher_no,
            payment.recorded_by_id) == (claim.id, COUNTY, D("1234.56"), date(2026, 3, 2), "KF-9",
                                        user("county_finance").id)
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "payment.confirmed"))
    assert (entry.object_type, entry.object_id, entry.actor_id) == ("SubsidyClaim", str(claim.id),
                                                                   user("county_finance").id)
    assert entry.details == {"level": "county", "amount": "1234.56", "paid_on": "2026-03-02", "voucher_no": "KF-9",
                             "payment_id": payment.id}
    assert entry.summary == "确认拨付 县级财政 1,234.56 元"


def test_the_claim_is_settled_by_its_local_shares_not_by_central_and_provincial(claim, db):
    pay(claim, "5000.00", voucher="SF-1", level=CITY)
    assert claim.status is ClaimStatus.PAYING          # the county share is still owed
    pay(claim, "4999.99", voucher="KF-1")
    assert claim.status is ClaimStatus.PAYING          # a fen of it
    pay(claim, "0.01", voucher="KF-2")
    assert claim.status is ClaimStatus.SETTLED         # central and provincial still owed: not the local bureaus'
    assert claim.settled_at is not None
    db.session.commit()
    [entry] = db.session.scalars(sa.select(AuditEntry).where(
        AuditEntry.action == "claim.settled", AuditEntry.object_id == str(claim.id))).all()
    assert (entry.summary, entry.actor_id) == (f"市县补贴已全部拨付：{claim.title}", user("county_finance").id)
    assert claim.title == "鄱阳县 水稻 2026 2026年第一季度"


# --- advances drawn down at verification ------------------------------------------------------------------------

def _advance(amount: str, level=COUNTY, year=2026):
    from agri_insurance.subsidies import yearend
    from tests.factories import county
    from tests.subsidies.factories import demo_insurer

    username = "county_finance" if level is COUNTY else "city_finance"
    return yearend.save_advance({"year": year, "insurer_id": demo_insurer().id, "region_id": county().id,
                                 "level": level, "amount": D(amount), "paid_on": date(2026, 2, 1),
                                 "voucher_no": f"YB-{level.value}"}, user(username))


@pytest.fixture
def rice(demo, db):
    assign()
    db.session.commit()
    return db


def test_a_share_under_a_yuan_is_drawn_from_the_advance_and_audited_with_what_was_drawn(rice, db):
    """A premium of 10.00: county and city shares of 0.50 each, both drawn from their advances in full."""
    county_advance, city_advance = _advance("100.00"), _advance("0.30", level=CITY)
    db.session.commit()
    small = make_claim(status="verified", premium="10.00", households=1, list_rows=1)
    assert (small.share(COUNTY).amount, small.share(COUNTY).from_advance, small.share(COUNTY).paid) == (
        D("0.50"), D("0.50"), D("0.50"))
    assert (small.share(CITY).from_advance, small.share(CITY).paid, small.share(CITY).outstanding) == (
        D("0.30"), D("0.30"), D("0.20"))
    assert small.status is ClaimStatus.PAYING                     # the city still owes 0.20
    assert (county_advance.drawn, city_advance.drawn) == (D("0.50"), D("0.30"))
    [entry] = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "advance.drawn")).all()
    assert (entry.object_id, entry.actor_id) == (str(small.id), small.verified_by_id)
    assert entry.details == {"city": "0.30", "county": "0.50"}
    assert entry.summary == f"从预拨资金抵扣 0.80 元：{small.title}"
    # the next claim takes what is left of the county's advance, after what the first took
    second = make_claim(status="verified", premium="100000.00", period="2026年第二季度")     # county 5,000.00
    assert second.share(COUNTY).from_advance == D("99.50") and county_advance.drawn == D("100.00")
    # a used-up advance draws nothing and is not audited again for a third claim
    third = make_claim(status="verified", premium="100000.00", period="2026年第三季度")
    assert third.share(COUNTY).from_advance == 0 and third.share(CITY).from_advance == 0
    assert third.status is ClaimStatus.VERIFIED
    assert db.session.scalar(sa.select(sa.func.count(AuditEntry.id)).where(
        AuditEntry.action == "advance.drawn", AuditEntry.object_id == str(third.id))) == 0


def test_a_bureau_paying_another_level_or_another_countys_claim_is_refused_in_words(claim):
    from agri_insurance.auth.models import Role
    from tests.factories import county, make_user

    for level, username in [(CITY, "county_finance"), (COUNTY, "city_finance")]:
        error = refused(claim, "1.00", level=level, username=username)
        assert (error.field, error.message) == (None, "您无权确认该级次的拨付"), username
    make_user("wuyuan_fin", Role.COUNTY_FINANCE, region=county("361130"))     # 婺源县's finance bureau
    error = refused(claim, "1.00", username="wuyuan_fin")
    assert (error.field, error.message) == (None, "只能确认本县的拨付")
    assert claim.share(COUNTY).paid == 0 and claim.share(CITY).paid == 0


def test_a_claim_settled_by_its_advances_at_verification_records_when_and_is_audited(rice, db):
    """A premium of 10.00: county and city shares of 0.50, both paid from the advances as the claim is verified."""
    _advance("100.00")
    _advance("100.00", level=CITY)
    db.session.commit()
    with time_machine.travel(NOON, tick=False):
        small = make_claim(status="verified", premium="10.00", households=1, list_rows=1)
    assert small.status is ClaimStatus.SETTLED
    assert small.settled_at == small.verified_at == NOON.replace(tzinfo=None)
    [entry] = db.session.scalars(sa.select(AuditEntry).where(
        AuditEntry.action == "claim.settled", AuditEntry.object_id == str(small.id))).all()
    assert (entry.summary, entry.actor_id) == (f"市县补贴已全部拨付：{small.title}", small.verified_by_id)


def test_a_claim_not_verified_is_refused_payment_in_words(demo, db):
    assign()
    db.session.commit()
    submitted = make_claim(status="submitted", premium="100000.00")
    error = refused(submitted, "1.00")
    assert (error.field, error.message) == (None, "只有已核验的申请可以拨付")
    assert submitted.share(COUNTY).paid == 0


def test_a_level_at_0_percent_does_not_stop_the_advance_of_a_level_after_it(demo, db):
    """鄱阳县's own 2026 camellia oil scheme pays only a county share of 1 %: the central, provincial and city shares
    of 0.00, read first, have nothing to draw; the county's advance still pays the county share."""
    from agri_insurance.reference import service as reference_service
    from tests.factories import county
    from tests.subsidies.factories import product

    assign(product_code="camellia_oil")
    reference_service.save_scheme(None, {
        "product_id": product("camellia_oil").id, "region_id": county().id, "year": 2026, "central_pct": D(0),
        "provincial_pct": D(0), "city_pct": D(0), "county_pct": D(1), "farmer_pct": D(99),
        "deviation_reason": "县政府决定2026年油茶保险只补贴1%"}, None)
    county_advance = _advance("10000.00")
    db.session.commit()
    oil = make_claim(status="verified", product_code="camellia_oil", premium="86400.00")
    assert [(s.level, s.amount) for s in oil.shares if s.amount == 0] == [
        (ShareLevel.CENTRAL, 0), (ShareLevel.PROVINCIAL, 0), (CITY, 0)]
    assert (oil.share(COUNTY).amount, oil.share(COUNTY).from_advance, county_advance.drawn) == (
        D("864.00"), D("864.00"), D("864.00"))
    assert oil.status is ClaimStatus.SETTLED


def test_not_a_number_infinity_and_an_amount_no_money_column_holds_are_refused_naming_the_amount(claim):
    for amount, message in [("NaN", "应为数字"), ("Infinity", "应为数字"), ("-Infinity", "应为数字"),
                            ("1E+20", "数值过大")]:
        error = refused(claim, amount)
        assert (error.field, error.message) == ("amount", message), amount
    assert claim.share(COUNTY).paid == 0
