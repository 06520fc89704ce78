"""The year's money: advances drawn down by verified claims, the year's close, settlements (hand-computed to the fen).

Rice in 鄱阳县 (the demo scheme): central 45 %, provincial 25 %, city 5 %, county 5 %, farmers 20 %. A premium of
100,000.00 gives county and city shares of 5,000.00 each; 33,333.33 gives 1,666.67 each (1,666.6665 half up).
"""

from datetime import date
from decimal import Decimal as D

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agri_insurance.audit.models import AuditEntry
from agri_insurance.errors import DomainError
from agri_insurance.extensions import db as _db
from agri_insurance.subsidies import service, yearend
from agri_insurance.subsidies.models import (
    Advance,
    ClaimStatus,
    Payment,
    Settlement,
    SettlementStatus,
    ShareLevel,
    SubsidyClaim,
)
from agri_insurance.underwriting.demo import attach_matching_list
from tests.factories import county
from tests.subsidies.factories import (
    OPINION,
    assign,
    claim_data,
    demo_insurer,
    government_totals_disagreeing,
    make_claim,
    user,
)

COUNTY, CITY = ShareLevel.COUNTY, ShareLevel.CITY


def advance(amount: str | None, level=COUNTY, year=2025, username=None, **extra) -> Advance:
    username = username or ("county_finance" if level is COUNTY else "city_finance")
    data = {"year": year, "insurer_id": demo_insurer().id, "region_id": county().id, "level": level,
            "amount": None if amount is None else D(amount), "paid_on": date(2025, 2, 1),
            "voucher_no": f"YB-{level.value}", **extra}
    return yearend.save_advance(data, user(username))


def claim(premium: str, period: str, year=2025, status="verified") -> SubsidyClaim:
    return make_claim(status=status, premium=premium, year=year, period=period)


def pay(claim_, level, amount, voucher, username=None):
    username = username or ("county_finance" if level is COUNTY else "city_finance")
    return service.confirm_payment(claim_, level, D(amount), date(2025, 6, 1), voucher, user(username))


def refused(action) -> str:
    with pytest.raises(DomainError) as error:
        action()
    _db.session.rollback()
    return error.value.message


# --- advances ----------------------------------------------------------------------------------------------

def test_the_default_advance_is_a_percentage_of_last_years_verified_shares(world):
    claim("100000.00", "2025年全年")                                         # county share 5,000.00 in 2025
    claim("33333.33", "2025年晚稻季", status="submitted")                    # not verified: not counted
    suggested = yearend.default_advance(2026, demo_insurer().id, county().id, COUNTY)
    assert (suggested.basis, suggested.pct, suggested.amount) == (D("5000.00"), D("50"), D("2500.00"))
    assert yearend.default_advance(2026, demo_insurer().id, county().id, COUNTY, D("33")).amount == D("1650.00")


def test_a_claim_verified_later_draws_the_advance_down_before_new_money(world):
    adv = advance("3000.00")
    world.session.commit()
    first = claim("100000.00", "2025年早稻季")                               # county 5,000.00
    share = first.share(COUNTY)
    assert (share.from_advance, share.paid, share.outstanding) == (D("3000.00"), D("3000.00"), D("2000.00"))
    assert first.share(CITY).paid == D("0.00")                             # no city advance
    assert first.status is ClaimStatus.PAYING
    assert world.session.get(Advance, adv.id).drawn == D("3000.00")
    entry = world.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "advance.drawn"))
    assert entry.object_id == str(first.id) and entry.details["county"] == "3000.00"
    # what is left is paid as before, no more
    assert "超出应付余额" in refused(lambda: pay(first, COUNTY, "2000.01", "KF-1"))
    pay(first, COUNTY, "2000.00", "KF-1")
    # the advance is used up: the next claim gets nothing from it
    second = claim("33333.33", "2025年晚稻季")
    assert second.share(COUNTY).from_advance == D("0.00") and second.status is ClaimStatus.VERIFIED


def test_an_advance_larger_than_the_claim_covers_it_and_settles_the_local_shares(world):
    advance("6000.00")
    advance("6000.00", level=CITY)
    world.session.commit()
    one = claim("100000.00", "2025年早稻季")
    assert one.share(COUNTY).outstanding == 0 and one.share(CITY).outstanding == 0
    assert one.status is ClaimStatus.SETTLED                                # city and county paid by the advances
    two = claim("100000.00", "2025年晚稻季")
    assert two.share(COUNTY).from_advance == D("1000.00") and two.status is ClaimStatus.PAYING


def test_one_advance_per_scope_edited_not_repeated(world):
    adv = advance("3000.00")
    world.session.commit()
    assert "已登记预拨" in refused(lambda: advance("3000.00", voucher_no="YB-2"))
    claim("100000.00", "2025年早稻季")                                      # draws 3,000.00
    adv = world.session.get(Advance, adv.id)
    data = {"amount": D("2999.99"), "paid_on": date(2025, 2, 1), "voucher_no": "YB-county"}
    assert "不能少于已抵扣" in refused(lambda: yearend.save_advance(data, user("county_finance"), adv))
    yearend.save_advance({**data, "amount": D("4000.00")}, user("county_finance"),
                         world.session.get(Advance, adv.id))
    world.session.commit()
    assert world.session.get(Advance, adv.id).amount == D("4000.00")
    assert world.session.scalar(sa.select(AuditEntry.details).where(AuditEntry.action == "advance.changed")) == {
        "changes": {"amount": ["3000.00", "4000.00"]}}


def test_advances_are_checked(world):
    assert "无权" in refused(lambda: advance("10.00", level=CITY, username="county_finance"))
    assert "无权" in refused(lambda: advance("10.00", level=COUNTY, username="city_finance"))
    assert "无权" in refused(lambda: advance("10.00", username="insurer"))
    assert "没有承保安排" in refused(lambda: advance("10.00", year=2029))
    assert "最多两位小数" in refused(lambda: advance("10.001"))
    assert "至少为0.01元" in refused(lambda: advance("0"))
    assert "凭证号" in refused(lambda: advance("10.00", voucher_no=" "))


# --- closing the year and settling -------------------------------------------------------------------------------

def _close_2025():
    """County advance 8,000.00; claims of 100,000.00 and 33,333.33 (county 5,000.00 + 1,666.67 drawn from it,
    1,333.33 left); the city paid 2,000.00 of the first claim's city share."""
    advance("8000.00")
    world_session = _db.session
    world_session.commit()
    a = claim("100000.00", "2025年早稻季")
    b = claim("33333.33", "2025年晚稻季")
    pay(a, CITY, "2000.00", "SF-1")
    world_session.commit()
    settlements = yearend.close_year(2025, user("city_finance"))
    world_session.commit()
    return a, b, {s.level: s for s in settlements}


def test_closing_the_year_draws_up_a_settlement_per_underwriter_county_and_level(world):
    a, b, by_level = _close_2025()
    county_s, city_s = by_level[COUNTY], by_level[CITY]
    assert (county_s.verified, county_s.advanced, county_s.paid, county_s.balance) == (
        D("6666.67"), D("8000.00"), D("0.00"), D("-1333.33"))                # refund 1,333.33
    assert county_s.is_refund
    assert (city_s.verified, city_s.advanced, city_s.paid, city_s.balance) == (
        D("6666.67"), D("0.00"), D("2000.00"), D("4666.67"))                 # top-up 4,666.67
    central = by_level[ShareLevel.CENTRAL]
    assert central.verified == a.share(ShareLevel.CENTRAL).amount + b.share(ShareLevel.CENTRAL).amount
    assert central.balance == central.verified
    assert set(by_level) == {ShareLevel.CENTRAL, ShareLevel.PROVINCIAL, CITY, COUNTY}
    assert all(s.status is SettlementStatus.AWAITING for s in by_level.values())


def test_a_closed_year_refuses_payments_advances_submissions_and_verifications(world):
    submitted = claim("1000.00", "2025年补充", status="draft")
    a, _b, _ = _close_2025()
    assert _field_and_message(lambda: pay(world.session.get(SubsidyClaim, a.id), CITY, "1.00", "SF-2")) == (
        None, "2025年度已清算，不能再登记拨付；请在清算单上登记补拨")
    assert _field_and_message(lambda: advance("10.00", level=CITY)) == ("year", "2025年度已清算关闭")
    draft = world.session.get(SubsidyClaim, submitted.id)
    assert "已清算" in refused(lambda: service.submit_claim(draft, user("insurer")))
    assert "已清算" in refused(lambda: yearend.close_year(2025, user("city_finance")))


def test_a_year_with_claims_waiting_for_verification_cannot_be_closed(world):
    claim("1000.00", "2025年补充", status="submitted")
    assert "待核验" in refused(lambda: yearend.close_year(2025, user("city_finance")))
    assert "尚未结束" in refused(lambda: yearend.close_year(2026, user("city_finance")))
    assert "只有市财政局" in refused(lambda: yearend.close_year(2025, user("county_finance")))


def test_both_sides_confirm_then_the_refund_is_recorded(world):
    _a, _b, by_level = _close_2025()
    settlement = by_level[COUNTY]

    def transfer(amount, voucher):
        return yearend.record_transfer(world.session.get(Settlement, settlement.id), D(amount), date(2026, 1, 10),
                                       voucher, user("county_finance"))

    assert "双方确认" in refused(lambda: transfer("1333.33", "TH-1"))
    assert "不是此清算单的一方" in refused(lambda: yearend.confirm_settlement(
        world.session.get(Settlement, settlement.id), user("city_finance")))
    yearend.confirm_settlement(world.session.get(Settlement, settlement.id), user("county_finance"))
    assert "已确认" in refused(lambda: yearend.confirm_settlement(
        world.session.get(Settlement, settlement.id), user("county_finance")))
    yearend.confirm_settlement(world.session.get(Settlement, settlement.id), user("county_finance"))
    yearend.confirm_settlement(world.session.get(Settlement, settlement.id), user("insurer"))
    world.session.commit()
    assert world.session.get(Settlement, settlement.id).status is SettlementStatus.CONFIRMED
    assert "只有付款的财政部门" in refused(lambda: yearend.record_transfer(
        world.session.get(Settlement, settlement.id), D("1.00"), date(2026, 1, 10), "X", user("insurer")))
    transfer("1000.00", "TH-1")
    world.session.commit()
    assert "超出待结算余额 333.33" in refused(lambda: transfer("333.34", "TH-2"))
    assert "已登记过" in refused(lambda: transfer("333.33", "TH-1"))
    transfer("333.33", "TH-2")
    world.session.commit()
    done = world.session.get(Settlement, settlement.id)
    assert done.status is SettlementStatus.DONE and done.transferred == D("1333.33")
    assert "已结清" in refused(lambda: transfer("0.01", "TH-3"))


def test_a_top_up_pays_the_shares_still_owed_oldest_first_and_settles_the_claims(world):
    a, b, by_level = _close_2025()
    settlement = by_level[CITY]
    yearend.confirm_settlement(settlement, user("city_finance"))
    yearend.confirm_settlement(settlement, user("insurer"))
    yearend.record_transfer(settlement, D("3500.00"), date(2026, 1, 10), "BB-1", user("city_finance"))
    world.session.commit()
    a, b = world.session.get(SubsidyClaim, a.id), world.session.get(SubsidyClaim, b.id)
    assert a.share(CITY).outstanding == 0 and b.share(CITY).outstanding == D("1166.67")
    assert a.status is ClaimStatus.SETTLED        # its county share came from the advance
    assert b.status is ClaimStatus.PAYING
    yearend.record_transfer(world.session.get(Settlement, settlement.id), D("1166.67"), date(2026, 1, 11), "BB-2",
                            user("city_finance"))
    world.session.commit()
    b = world.session.get(SubsidyClaim, b.id)
    assert b.status is ClaimStatus.SETTLED
    top_ups = world.session.scalars(sa.select(Payment).where(Payment.settlement_id == settlement.id)
                                    .order_by(Payment.id)).all()
    assert [(p.claim_id, p.amount, p.voucher_no) for p in top_ups] == [
        (a.id, D("3000.00"), "BB-1"), (b.id, D("500.00"), "BB-1"), (b.id, D("1166.67"), "BB-2")]
    assert government_totals_disagreeing() == []      # the claims' kept totals followed the transfers


def test_the_remaining_advance_is_set_against_shares_still_owed_at_the_close(world):
    """An advance recorded after a claim was verified did not draw it down: the close does."""
    a = claim("100000.00", "2025年早稻季")                                   # county 5,000.00 owed
    advance("8000.00")
    world.session.commit()
    by_level = {s.level: s for s in yearend.close_year(2025, user("city_finance"))}
    world.session.commit()
    assert by_level[COUNTY].balance == D("-3000.00")
    a = world.session.get(SubsidyClaim, a.id)
    assert a.share(COUNTY).from_advance == D("5000.00") and a.share(COUNTY).outstanding == 0
    assert world.session.scalar(sa.select(Advance.drawn)) == D("5000.00")
    assert government_totals_disagreeing() == []      # and the advance set against it at the close


# --- the property: a year's settlement plus its advances and payments is its verified shares -----------------------

def _verified_claim(premium: D, period: str) -> SubsidyClaim:
    actor = user("insurer")
    c = service.save_claim(None, claim_data(premium=str(premium), year=2025, period=period), actor.insurer, actor)
    c.list_rows = c.households
    attach_matching_list(c, actor)
    service.submit_claim(c, actor)
    service.verify_claim(c, user("county_agri"), OPINION, confirm_over_budget=True, flags_reviewed=True)
    return c


money = st.decimals(min_value=D("10000.00"), max_value=D("300000.00"), places=2)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(premiums=st.lists(money, min_size=1, max_size=3),
       advances=st.dictionaries(st.sampled_from([COUNTY, CITY, ShareLevel.CENTRAL]),
                                st.decimals(min_value=D("0.01"), max_value=D("40000.00"), places=2), max_size=3),
       paid_fraction=st.sampled_from([D("0"), D("0.3"), D("1")]))
def test_settlement_plus_advances_and_payments_is_the_verified_shares(world, premiums, advances, paid_fraction):
    try:
        for level, amount in advances.items():
            advance(str(amount), level=level)
        claims = [_verified_claim(p, f"2025-{i}") for i, p in enumerate(premiums)]
        for c in claims:
            for level in (COUNTY, CITY):
                owed = c.share(level).outstanding
                part = (owed * paid_fraction).quantize(D("0.01"))
                if part > 0:
                    pay(c, level, str(part), f"P-{c.id}-{level.value}")
        settlements = yearend.close_year(2025, user("city_finance"))
        for s in settlements:
            verified = sum(c.share(s.level).amount for c in claims)
            payments = sum((p.amount for p in _db.session.scalars(sa.select(Payment).where(Payment.level == s.level))),
                           D("0.00"))
            assert s.verified == verified
            assert s.advanced == advances.get(s.level, D("0.00"))
            assert s.balance + s.advanced + payments == verified            # exactly, to the fen
            yearend.confirm_settlement(s, user("insurer"))
            yearend.confirm_settlement(s, user("county_finance" if s.level is COUNTY else "city_finance"))
            if s.remaining:
                yearend.record_transfer(s, s.remaining, date(2026, 1, 5), "QS",
                                        user("county_finance" if s.level is COUNTY else "city_finance"))
            # afterwards every share is paid, and what was kept of the advance is exactly what was drawn
            assert all(c.share(s.level).outstanding == 0 for c in claims)
            all_payments = sum((p.amount for p in _db.session.scalars(
                sa.select(Payment).where(Payment.level == s.level))), D("0.00"))
            refunded = s.transferred if s.is_refund else D("0.00")
            assert all_payments + s.advanced - refunded == verified
        assert all(c.status is ClaimStatus.SETTLED for c in claims)
        _db.session.flush()
        assert government_totals_disagreeing() == []  # every claim's kept totals are its shares summed
    finally:
        _db.session.rollback()


# --- edges (issue 24): the smallest amounts, today, the fields named ----------------------------------------------

def _field_and_message(action) -> tuple[str | None, str]:
    with pytest.raises(DomainError) as error:
        action()
    _db.session.rollback()
    return error.value.field, error.value.message


def test_a_transfer_is_refused_below_a_fen_with_a_part_of_a_fen_dated_tomorrow_or_without_a_voucher(world):
    import time_machine

    _a, _b, by_level = _close_2025()
    settlement_id = by_level[COUNTY].id                                    # a refund of 1,333.33
    yearend.confirm_settlement(_db.session.get(Settlement, settlement_id), user("county_finance"))
    yearend.confirm_settlement(_db.session.get(Settlement, settlement_id), user("insurer"))
    _db.session.commit()

    def transfer(amount, paid_on=date(2026, 1, 10), voucher="TH-1"):
        return yearend.record_transfer(_db.session.get(Settlement, settlement_id),
                                       None if amount is None else D(amount), paid_on, voucher, user("county_finance"))

    with time_machine.travel(date(2026, 1, 10), tick=False):
        assert _field_and_message(lambda: transfer("0.00")) == ("amount", "金额至少为0.01元")
        assert _field_and_message(lambda: transfer(None)) == ("amount", "金额至少为0.01元")
        assert _field_and_message(lambda: transfer("0.005")) == ("amount", "金额至少为0.01元")
        assert _field_and_message(lambda: transfer("1.005")) == ("amount", "金额最多两位小数")
        assert _field_and_message(lambda: transfer("1333.34")) == ("amount", "金额超出待结算余额 1,333.33 元")
        assert _field_and_message(lambda: transfer("1.00", paid_on=date(2026, 1, 11))) == (
            "paid_on", "日期不能晚于今天")
        assert _field_and_message(lambda: transfer("1.00", paid_on=None)) == ("paid_on", "日期不能晚于今天")
        assert _field_and_message(lambda: transfer("1.00", voucher="  ")) == ("voucher_no", "请填写凭证号")
        transfer("0.01", voucher=" TH-1 ")                                  # a fen, dated today
        _db.session.commit()
        assert _field_and_message(lambda: transfer("1.00")) == ("voucher_no", "凭证号 TH-1 已登记过")
        transfer("1333.32", voucher="TH-2")                                 # exactly what is left
        _db.session.commit()
    done = _db.session.get(Settlement, settlement_id)
    assert (done.transferred, done.remaining, done.status) == (D("1333.33"), D("0.00"), SettlementStatus.DONE)
    entry = _db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "settlement.refund")
                               .order_by(AuditEntry.id.desc()).limit(1))
    assert entry.details["amount"] == "1333.32" and entry.details["voucher_no"] == "TH-2"


def test_an_advance_of_a_fen_dated_today_and_an_edit_down_to_exactly_what_was_drawn_are_accepted(world):
    import time_machine

    with time_machine.travel(date(2025, 2, 1), tick=False):
        assert _field_and_message(lambda: advance("10.00", paid_on=date(2025, 2, 2))) == (
            "paid_on", "拨付日期不能晚于今天")
        assert _field_and_message(lambda: advance("10.00", paid_on=None)) == ("paid_on", "拨付日期不能晚于今天")
        assert _field_and_message(lambda: advance("0.009")) == ("amount", "预拨金额至少为0.01元")
        assert _field_and_message(lambda: advance("10.00", voucher_no=" ")) == ("voucher_no", "请填写凭证号")
        small = advance("0.01", level=CITY)                                  # a fen, dated today
        adv = advance("3000.00")
        _db.session.commit()
    assert (small.amount, small.paid_on) == (D("0.01"), date(2025, 2, 1))
    claim("50000.00", "2025年早稻季")                                       # county share 2,500.00 drawn
    adv = _db.session.get(Advance, adv.id)
    assert adv.drawn == D("2500.00")
    data = {"amount": D("2500.00"), "paid_on": date(2025, 2, 1), "voucher_no": "YB-county"}
    yearend.save_advance(data, user("county_finance"), adv)
    _db.session.commit()
    assert _db.session.get(Advance, adv.id).undrawn == 0


# --- issue 24, the mutation run of subsidies/yearend.py: who confirms, what each confirmation leaves, a top-up of
# exactly one yuan -----------------------------------------------------------------------------------------------------

def test_each_side_confirms_once_with_its_name_time_and_audit_entry_and_another_underwriter_is_no_side(world):
    from agri_insurance.auth.models import Role
    from agri_insurance.reference.models import Insurer
    from tests.factories import make_user

    other = _db.session.scalar(sa.select(Insurer).where(Insurer.id != demo_insurer().id).order_by(Insurer.id))
    make_user("other_insurer", Role.INSURER, insurer=other)
    _db.session.commit()
    _a, _b, by_level = _close_2025()
    settlement_id = by_level[COUNTY].id                                    # a refund of 1,333.33

    def confirm(username):
        return yearend.confirm_settlement(_db.session.get(Settlement, settlement_id), user(username))

    assert _field_and_message(lambda: confirm("other_insurer")) == (None, "您不是此清算单的一方")
    confirm("county_finance")
    _db.session.commit()
    assert _field_and_message(lambda: confirm("county_finance")) == (None, "贵单位已确认此清算单")
    confirm("insurer")
    _db.session.commit()
    settlement = _db.session.get(Settlement, settlement_id)
    assert (settlement.bureau_confirmed_by_id, settlement.insurer_confirmed_by_id) == (
        user("county_finance").id, user("insurer").id)
    assert settlement.bureau_confirmed_at is not None and settlement.insurer_confirmed_at is not None
    entries = _db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action.like("settlement.confirmed_by_%"))
                                  .order_by(AuditEntry.id)).all()
    assert [(e.action, e.actor_id, e.object_type, e.object_id, e.summary, e.details) for e in entries] == [
        ("settlement.confirmed_by_bureau", user("county_finance").id, "Settlement", str(settlement_id),
         f"确认清算单：{settlement.title}", {"balance": "-1333.33"}),
        ("settlement.confirmed_by_insurer", user("insurer").id, "Settlement", str(settlement_id),
         f"确认清算单：{settlement.title}", {"balance": "-1333.33"})]


def test_a_top_up_of_exactly_one_yuan_pays_the_share_owed_one_yuan_and_settles_its_claim(world):
    """Claim A (100,000.00: city 5,000.00) and claim B (20.00: city 1.00, its county 1.00 paid before the close): the
    city's top-up of 5,001.00 is recorded as 5,000.00 (A's share, exactly) and then 1.00 (B's, exactly)."""
    a = claim("100000.00", "2025年早稻季")
    b = make_claim(status="verified", premium="20.00", year=2025, period="2025年补充", households=1,
                   quantity=D("10"))
    pay(b, COUNTY, "1.00", "KF-1")
    _db.session.commit()
    settlement = next(s for s in yearend.close_year(2025, user("city_finance")) if s.level is CITY)
    yearend.confirm_settlement(settlement, user("city_finance"))
    yearend.confirm_settlement(settlement, user("insurer"))
    _db.session.commit()
    assert settlement.balance == D("5001.00")

    def top_up(amount, voucher):
        yearend.record_transfer(_db.session.get(Settlement, settlement.id), D(amount), date(2026, 1, 10), voucher,
                                user("city_finance"))
        _db.session.commit()

    top_up("5000.00", "BB-1")
    top_up("1.00", "BB-2")
    payments = _db.session.scalars(sa.select(Payment).where(Payment.settlement_id == settlement.id)
                                   .order_by(Payment.id)).all()
    assert [(p.claim_id, p.amount, p.voucher_no) for p in payments] == [(a.id, D("5000.00"), "BB-1"),
                                                                        (b.id, D("1.00"), "BB-2")]
    b = _db.session.get(SubsidyClaim, b.id)
    assert b.status is ClaimStatus.SETTLED                                  # its city and county shares paid
    [entry] = _db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "claim.settled",
                                                              AuditEntry.object_id == str(b.id))).all()
    assert (entry.summary, entry.actor_id) == (f"市县补贴已全部拨付：{b.title}", user("city_finance").id)
    settlement = _db.session.get(Settlement, settlement.id)
    assert settlement.status is SettlementStatus.DONE
    entry = _db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "settlement.top_up")
                               .order_by(AuditEntry.id).limit(1))
    assert (entry.actor_id, entry.object_id, entry.summary) == (
        user("city_finance").id, str(settlement.id), f"登记清算补拨 5,000.00 元：{settlement.title}")
    assert entry.details == {"amount": "5000.00", "paid_on": "2026-01-10", "voucher_no": "BB-1",
                             "transfer_id": settlement.transfers[0].id}


def test_a_transfer_needs_both_confirmations_the_paying_bureau_a_finite_amount_and_a_voucher(world):
    _a, _b, by_level = _close_2025()
    settlement_id = by_level[COUNTY].id                                    # a refund of 1,333.33

    def transfer(amount, voucher="TH-1", username="county_finance"):
        return yearend.record_transfer(_db.session.get(Settlement, settlement_id), D(amount), date(2026, 1, 10),
                                       voucher, user(username))

    yearend.confirm_settlement(_db.session.get(Settlement, settlement_id), user("county_finance"))
    _db.session.commit()
    # the bureau's confirmation alone is not enough
    assert _field_and_message(lambda: transfer("1.00")) == (None, "清算单经双方确认后才能登记补拨或退回")
    yearend.confirm_settlement(_db.session.get(Settlement, settlement_id), user("insurer"))
    _db.session.commit()
    assert _field_and_message(lambda: transfer("1.00", username="insurer")) == (
        None, "只有付款的财政部门可以登记补拨或退回")
    assert _field_and_message(lambda: transfer("NaN")) == ("amount", "应为数字")
    assert _field_and_message(lambda: transfer("Infinity")) == ("amount", "应为数字")
    assert _field_and_message(lambda: transfer("1E+20")) == ("amount", "数值过大")
    assert _field_and_message(lambda: transfer("1.00", voucher=None)) == ("voucher_no", "请填写凭证号")
    transfer("1332.33")
    _db.session.commit()
    transfer("1.00", voucher="TH-2")                                        # exactly the yuan left
    _db.session.commit()
    assert _field_and_message(lambda: transfer("0.01", voucher="TH-3")) == (None, "此清算单已结清")
    settlement = _db.session.get(Settlement, settlement_id)
    assert [t.voucher_no for t in settlement.transfers] == ["TH-1", "TH-2"]
    entries = _db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action.like("settlement.%"),
                                                              AuditEntry.action.notlike("settlement.confirmed%"))
                                  .order_by(AuditEntry.id)).all()
    assert [(e.action, e.actor_id, e.object_type, e.object_id, e.summary, e.details) for e in entries] == [
        ("settlement.refund", user("county_finance").id, "Settlement", str(settlement_id),
         f"登记清算退回 {amount} 元：{settlement.title}",
         {"amount": amount.replace(",", ""), "paid_on": "2026-01-10", "voucher_no": voucher, "transfer_id": t.id})
        for amount, voucher, t in (("1,332.33", "TH-1", settlement.transfers[0]),
                                   ("1.00", "TH-2", settlement.transfers[1]))]


def test_an_advance_is_refused_with_its_field_and_exact_words(world):
    from agri_insurance.reference.models import Insurer, Region, RegionLevel

    city = _db.session.scalar(sa.select(Region).where(Region.level == RegionLevel.CITY))
    other = _db.session.scalar(sa.select(Insurer).where(Insurer.id != demo_insurer().id).order_by(Insurer.id))
    no_right = ("level", "您无权登记该级次的预拨")
    assert _field_and_message(lambda: advance("10.00", level=CITY, username="county_finance")) == no_right
    assert _field_and_message(lambda: advance("10.00", level=COUNTY, username="city_finance")) == no_right
    assert _field_and_message(lambda: advance("10.00", level=ShareLevel.FARMER, username="city_finance")) == no_right
    assert _field_and_message(lambda: advance("10.00", region_id=county("361130").id)) == no_right  # another county
    for region_id in (None, city.id, 999999):
        assert _field_and_message(lambda region_id=region_id: advance("10.00", level=CITY, region_id=region_id)) == (
            "region_id", "请选择县（市、区）")
    for insurer_id in (None, 999999):
        assert _field_and_message(lambda insurer_id=insurer_id: advance("10.00", insurer_id=insurer_id)) == (
            "insurer_id", "请选择承保机构")
    # 赣鄱财险 underwrites rice in 鄱阳县 2025–2027: not 2024 nor 2028, and another underwriter not at all
    for year in (2024, 2028):
        assert _field_and_message(lambda year=year: advance("10.00", year=year)) == (
            "insurer_id", f"该承保机构在此县{year}年度没有承保安排")
    assert _field_and_message(lambda: advance("10.00", insurer_id=other.id)) == (
        "insurer_id", "该承保机构在此县2025年度没有承保安排")
    assert _field_and_message(lambda: advance("10.00", level=CITY, region_id=county("361130").id)) == (
        "insurer_id", "该承保机构在此县2025年度没有承保安排")                 # the city's, in a county it does not underwrite
    assert _field_and_message(lambda: advance(None)) == ("amount", "上年度没有已核验的补贴，请填写预拨金额")
    assert _field_and_message(lambda: advance("NaN")) == ("amount", "应为数字")
    assert _field_and_message(lambda: advance("1E+20")) == ("amount", "数值过大")
    assert _field_and_message(lambda: advance("-5.00")) == ("amount", "预拨金额至少为0.01元")
    assert _field_and_message(lambda: advance("10.001")) == ("amount", "预拨金额最多两位小数")
    assert _db.session.scalar(sa.select(sa.func.count(Advance.id))) == 0
    # the first and the last year of the assignment are accepted; the same scope again is not
    advance("10.00")
    advance("10.00", year=2027)
    _db.session.commit()
    assert _field_and_message(lambda: advance("20.00", voucher_no="YB-2")) == (
        "level", "该承保机构此县此级次2025年度已登记预拨，请修改原记录")


def test_an_advance_recorded_and_changed_is_audited_with_its_default_and_its_changes(world):
    """Last year's county share of 2.00 (a premium of 40.00) gives a default advance of 1.00, which is enough."""
    make_claim(status="verified", premium="40.00", year=2025, period="2025年全年", households=1, quantity=D("10"))
    recorded = advance(None, year=2026, paid_on=date(2026, 2, 1))
    _db.session.commit()
    assert (recorded.amount, recorded.basis, recorded.pct, recorded.drawn, recorded.recorded_by_id) == (
        D("1.00"), D("2.00"), D("50"), D("0.00"), user("county_finance").id)
    entry = _db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "advance.recorded"))
    assert (entry.actor_id, entry.object_type, entry.object_id, entry.summary) == (
        user("county_finance").id, "Advance", str(recorded.id), "登记预拨：赣鄱财险 鄱阳县 县级财政 2026年度 1.00 元")
    assert entry.details == {"amount": "1.00", "paid_on": "2026-02-01", "voucher_no": "YB-county", "basis": "2.00",
                             "pct": "50"}
    # an edit keeps the advance's scope, whatever else it is given, and needs an amount
    edit = {"year": 2025, "level": CITY, "amount": None, "paid_on": date(2026, 2, 2), "voucher_no": "YB-9"}
    assert _field_and_message(lambda: yearend.save_advance(edit, user("county_finance"),
                                                           _db.session.get(Advance, recorded.id))) == (
        "amount", "预拨金额至少为0.01元")
    yearend.save_advance({**edit, "amount": D("1.50")}, user("county_finance"), _db.session.get(Advance, recorded.id))
    _db.session.commit()
    changed = _db.session.get(Advance, recorded.id)
    assert (changed.year, changed.level, changed.amount, changed.paid_on, changed.voucher_no) == (
        2026, COUNTY, D("1.50"), date(2026, 2, 2), "YB-9")
    entry = _db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "advance.changed"))
    assert (entry.actor_id, entry.object_id, entry.summary) == (
        user("county_finance").id, str(recorded.id), "修改预拨：赣鄱财险 鄱阳县 县级财政 2026年度")
    assert entry.details == {"changes": {"amount": ["1.00", "1.50"], "paid_on": ["2026-02-01", "2026-02-02"],
                                         "voucher_no": ["YB-county", "YB-9"]}}


def test_an_edit_below_what_was_drawn_names_the_drawn_amount(world):
    adv = advance("3000.00")
    _db.session.commit()
    claim("50000.00", "2025年早稻季")                                       # county share 2,500.00 drawn
    data = {"amount": D("2499.99"), "paid_on": date(2025, 2, 1), "voucher_no": "YB-county"}
    assert _field_and_message(lambda: yearend.save_advance(data, user("county_finance"),
                                                           _db.session.get(Advance, adv.id))) == (
        "amount", "预拨金额不能少于已抵扣的 2,500.00 元")


def test_the_default_advance_counts_last_years_claims_of_its_own_underwriter_and_county_only(world):
    from agri_insurance.auth.models import Role
    from agri_insurance.reference.models import Insurer
    from tests.factories import make_user

    other = _db.session.scalar(sa.select(Insurer).where(Insurer.id != demo_insurer().id).order_by(Insurer.id))
    make_user("other_insurer", Role.INSURER, insurer=other)
    assign(insurer=other)                                                   # another underwriter in 鄱阳县
    assign(county_code="361130")                                            # 婺源县 too
    make_claim(status="verified", insurer_username="other_insurer", premium="400000.00", year=2025,
               period="2025年全年")                                          # its county share 20,000.00
    claim("100000.00", "2025年全年")                                         # 鄱阳县 county 5,000.00 in 2025
    claim("200000.00", "2026年全年", year=2026)                              # 10,000.00 in 2026
    make_claim(status="verified", county_code="361130", premium="300000.00", year=2025, period="2025年全年")
    assert yearend.default_advance(2026, demo_insurer().id, county().id, COUNTY).basis == D("5000.00")
    assert yearend.default_advance(2027, demo_insurer().id, county().id, COUNTY).basis == D("10000.00")
    assert yearend.default_advance(2026, demo_insurer().id, county("361130").id, COUNTY).basis == D("15000.00")
    assert yearend.default_advance(2026, other.id, county().id, COUNTY).basis == D("20000.00")


def test_the_close_draws_what_is_left_of_each_advance_oldest_verification_first_and_records_itself(world):
    """Y is created first but verified after X. The city's advance of 1,000.00 is drawn by X at its verification,
    then raised to 1,001.00; the city pays 3,999.00 of X: the close draws X's last yuan and settles X. The county's
    advance of 5,000.50, recorded after both verifications, goes to X (5,000.00) before Y (0.50). Neither a draft of
    2025 nor the claims of 2026 count."""
    y = claim("100000.00", "2025年晚稻季", status="draft")
    city_advance = advance("1000.00", level=CITY)
    _db.session.commit()
    x = claim("100000.00", "2025年早稻季")
    assert x.share(CITY).from_advance == D("1000.00")
    actor = user("insurer")
    y = _db.session.get(SubsidyClaim, y.id)
    y.list_rows = y.households
    attach_matching_list(y, actor)
    service.submit_claim(y, actor)
    service.verify_claim(y, user("county_agri"), OPINION, confirm_over_budget=True, flags_reviewed=True)
    _db.session.commit()
    assert y.id < x.id and y.verified_at > x.verified_at and y.share(CITY).from_advance == 0
    county_advance = advance("5000.50")
    yearend.save_advance({"amount": D("1001.00"), "paid_on": date(2025, 2, 1), "voucher_no": "YB-city"},
                         user("city_finance"), _db.session.get(Advance, city_advance.id))
    pay(_db.session.get(SubsidyClaim, x.id), CITY, "3999.00", "SF-1")
    claim("50000.00", "2025年补充", status="draft")                         # a draft: not counted
    claim("300000.00", "2026年全年", year=2026)                              # another year: not counted
    claim("300000.00", "2026年补充", year=2026, status="submitted")          # and not waited for
    _db.session.commit()

    settlements = yearend.close_year(2025, user("city_finance"))
    _db.session.commit()
    assert [s.level for s in settlements] == [ShareLevel.CENTRAL, ShareLevel.PROVINCIAL, CITY, COUNTY]
    by_level = {s.level: s for s in settlements}
    assert (by_level[COUNTY].verified, by_level[COUNTY].advanced, by_level[COUNTY].paid,
            by_level[COUNTY].balance) == (D("10000.00"), D("5000.50"), D("0.00"), D("4999.50"))
    assert (by_level[CITY].verified, by_level[CITY].advanced, by_level[CITY].paid, by_level[CITY].balance) == (
        D("10000.00"), D("1001.00"), D("3999.00"), D("5000.00"))
    x, y = _db.session.get(SubsidyClaim, x.id), _db.session.get(SubsidyClaim, y.id)
    assert (x.share(COUNTY).from_advance, y.share(COUNTY).from_advance) == (D("5000.00"), D("0.50"))
    assert (x.share(CITY).from_advance, x.share(CITY).paid, x.share(CITY).outstanding) == (
        D("1001.00"), D("5000.00"), D("0.00"))
    assert (_db.session.get(Advance, county_advance.id).drawn, _db.session.get(Advance, city_advance.id).drawn) == (
        D("5000.50"), D("1001.00"))
    assert x.status is ClaimStatus.SETTLED and y.status is ClaimStatus.PAYING
    [settled] = _db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "claim.settled",
                                                                AuditEntry.object_id == str(x.id))).all()
    assert settled.actor_id == user("city_finance").id
    assert government_totals_disagreeing() == []
    from agri_insurance.subsidies.models import SubsidyYear

    closed = _db.session.get(SubsidyYear, 2025)
    assert closed.closed_by_id == user("city_finance").id and closed.closed_at is not None
    entry = _db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "year.closed"))
    assert (entry.actor_id, entry.object_type, entry.object_id, entry.summary, entry.details) == (
        user("city_finance").id, "", None, "2025年度补贴清算：生成清算单 4 份",
        {"year": 2025, "settlements": [s.id for s in settlements]})


def test_the_close_settles_an_advance_without_claims_and_skips_a_level_with_nothing_either_way(world):
    """Camellia oil (a specialty product) has no central nor provincial share: the central level, with no advance
    either, has no settlement; the provincial one, advanced 100.00, has a refund of it."""
    assign(product_code="camellia_oil")
    advance("100.00", level=ShareLevel.PROVINCIAL)
    _db.session.commit()
    make_claim(status="verified", product_code="camellia_oil", premium="10000.00", year=2025, period="2025年油茶")
    settlements = yearend.close_year(2025, user("city_finance"))
    assert [(s.level, s.verified, s.advanced, s.balance) for s in settlements] == [
        (ShareLevel.PROVINCIAL, D("0.00"), D("100.00"), D("-100.00")),
        (CITY, D("1500.00"), D("0.00"), D("1500.00")),
        (COUNTY, D("3000.00"), D("0.00"), D("3000.00"))]


def test_the_closes_refusals_say_why_in_full(world):
    claim("1000.00", "2025年补充", status="submitted")
    claim("1000.00", "2026年补充", year=2026, status="submitted")           # another year's: not counted
    assert _field_and_message(lambda: yearend.close_year(2025, user("county_finance"))) == (
        None, "只有市财政局可以进行年度清算")
    assert _field_and_message(lambda: yearend.close_year(2026, user("city_finance"))) == (
        None, "2026年度尚未结束，不能清算")
    assert _field_and_message(lambda: yearend.close_year(2025, user("city_finance"))) == (
        None, "2025年度还有 1 份补贴申请待核验，核验或退回后才能清算")
