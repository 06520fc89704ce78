"""Payout-rate checkpoints (hand-computed): rice in 鄱阳县, county share 5 % of the premium."""

from datetime import date
from decimal import Decimal as D

from agri_insurance.subsidies import checkpoints, service
from agri_insurance.subsidies.models import ShareLevel
from tests.subsidies.factories import at, make_claim, user


def test_checkpoint_dates_roll_into_the_next_year(app, world):
    assert checkpoints.checkpoint_dates(2026) == [date(2026, 7, 31), date(2026, 10, 31), date(2027, 3, 31)]
    assert checkpoints.checkpoint_dates(2026, "06-30,12-31") == [date(2026, 6, 30), date(2026, 12, 31)]


def _history(db):
    """Claim A verified 10 Jun (county 5,000.00), 4,000.00 paid 20 Jul and 600.00 on 5 Aug; claim B verified 15 Aug
    (county 1,666.67), nothing paid."""
    with at(date(2026, 6, 10)):
        a = make_claim(status="verified", premium="100000.00", period="2026年早稻季")
    with at(date(2026, 7, 20)):
        service.confirm_payment(a, ShareLevel.COUNTY, D("4000.00"), date(2026, 7, 20), "KF-1", user("county_finance"))
        db.session.commit()
    with at(date(2026, 8, 5)):
        service.confirm_payment(a, ShareLevel.COUNTY, D("600.00"), date(2026, 8, 5), "KF-2", user("county_finance"))
        db.session.commit()
    with at(date(2026, 8, 15)):
        make_claim(status="verified", premium="33333.33", period="2026年晚稻季")


def test_rates_on_given_dates(world):
    _history(world)
    county = lambda day: next(r for r in checkpoints.payout_rates(2026, day) if r.level is ShareLevel.COUNTY)  # noqa: E731
    july = county(date(2026, 7, 31))
    assert (july.due, july.paid, july.pct, july.below) == (D("5000.00"), D("4000.00"), D("80.0"), True)
    october = county(date(2026, 10, 31))           # 4,600.00 / 6,666.67
    assert (october.due, october.paid, october.pct, october.below) == (D("6666.67"), D("4600.00"), D("69.0"), True)
    assert county(date(2026, 8, 10)).pct == D("92.0")   # 4,600.00 / 5,000.00: B not yet verified


def test_a_drawn_advance_counts_as_paid(world):
    from agri_insurance.subsidies import yearend
    from tests.factories import county
    from tests.subsidies.factories import demo_insurer

    with at(date(2026, 6, 1)):
        yearend.save_advance({"year": 2026, "insurer_id": demo_insurer().id, "region_id": county().id,
                              "level": ShareLevel.COUNTY, "amount": D("4500.00"), "paid_on": date(2026, 6, 1),
                              "voucher_no": "YB-1"}, user("county_finance"))
        world.session.commit()
    with at(date(2026, 6, 10)):
        make_claim(status="verified", premium="100000.00", period="2026年早稻季")
    rate = next(r for r in checkpoints.payout_rates(2026, date(2026, 7, 31)) if r.level is ShareLevel.COUNTY)
    assert (rate.paid, rate.pct, rate.below) == (D("4500.00"), D("90.0"), False)


def test_a_bureau_is_warned_before_a_checkpoint_it_would_miss(world, login):
    _history(world)
    with at(date(2026, 7, 25)):                  # 6 days before 31 Jul: 80.0 % paid
        page = login("county_finance").get("/").get_data(as_text=True)
        assert "2026-07-31 付款率检查点" in page and "80.0%" in page
        # the city's levels (nothing paid) are the city bureau's warning, not the county's
        assert "2026-07-31 付款率检查点" in login("city_finance").get("/").get_data(as_text=True)
        assert "付款率检查点" not in login("county_agri").get("/").get_data(as_text=True)
        year_page = login("county_finance").get("/subsidies/year-money?year=2026").get_data(as_text=True)
        assert ">80%<" in year_page and "还有 6 天" in year_page
    with at(date(2026, 6, 20)):                  # more than 30 days before: no warning yet
        assert "付款率检查点" not in login("county_finance").get("/").get_data(as_text=True)


# --- late-payment interest -------------------------------------------------------------------------------------

def test_interest_on_an_overdue_share_by_hand(app):
    setting = checkpoints.InterestSetting(True, D("12"), 90)
    # 5,000.00 × 12 % × (120 − 90) / 365 = 49.3150… → 49.32
    assert checkpoints.late_interest(D("5000.00"), 120, setting) == D("49.32")
    assert checkpoints.late_interest(D("5000.00"), 90, setting) == D("0.00")      # within the grace period
    assert checkpoints.late_interest(D("5000.00"), 120, checkpoints.InterestSetting(False, D("12"), 90)) is None


def test_interest_is_shown_on_the_overdue_list_only_when_the_setting_is_on(app, world, login):
    with at(date(2026, 1, 5)):
        make_claim(status="verified", premium="100000.00", period="2026年早稻季")      # due 4 Feb (30 days)
    with at(date(2026, 6, 4)):                                                        # 120 days overdue
        page = login("county_finance").get("/subsidies/overdue").get_data(as_text=True)
        assert "应计逾期利息" not in page                                               # off by default
        app.config["LATE_INTEREST_ENABLED"] = True
        try:
            page = login("county_finance").get("/subsidies/overdue").get_data(as_text=True)
        finally:
            app.config["LATE_INTEREST_ENABLED"] = False
        assert "应计逾期利息" in page and "49.32" in page                               # county 5,000.00 outstanding
        assert "系统不予拨付" in page
