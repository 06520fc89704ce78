"""The payout-rate checkpoints at their edges: a checkpoint's day is still to come on that day and passed the day
after (its rates then as of that day); each bureau's levels and county; the warning from exactly the configured days
before to the day itself, for last year's subsidy year too (its 31 March); the configured warning days, interest
rate and grace period honoured."""

from datetime import date
from decimal import Decimal as D

import pytest

from agri_insurance.auth.models import Role
from agri_insurance.subsidies import checkpoints
from agri_insurance.subsidies.models import ShareLevel
from tests.factories import make_user
from tests.subsidies.factories import assign, at, user
from tests.subsidies.test_checkpoints import _history


def _county_rate(checkpoint):
    return next(rate for rate in checkpoint.rates if rate.level is ShareLevel.COUNTY)


def test_a_checkpoint_is_to_come_on_its_day_and_passed_the_day_after_with_that_days_rates(world):
    _history(world)   # 4,000.00 of 5,000.00 paid by 31 Jul; 600.00 more on 5 Aug; claim B verified 15 Aug
    bureau = user("county_finance")
    on_the_day = checkpoints.checkpoints(2026, bureau, today=date(2026, 7, 31))[0]
    assert (on_the_day.year, on_the_day.on, on_the_day.passed) == (2026, date(2026, 7, 31), False)
    assert _county_rate(on_the_day).pct == D("80.0")
    # later: 31 Jul is passed and still shows 31 Jul's rate, not today's (4,600.00 of 6,666.67 = 69.0 %)
    july, october, march = checkpoints.checkpoints(2026, bureau, today=date(2026, 8, 20))
    assert (july.passed, _county_rate(july).pct) == (True, D("80.0"))
    assert (october.passed, _county_rate(october).pct) == (False, D("69.0"))
    assert (march.year, march.on, march.passed) == (2026, date(2027, 3, 31), False)


def test_each_bureau_checks_its_own_levels_and_county(world):
    from tests.factories import county
    from tests.subsidies.factories import make_claim

    _history(world)
    other = county("361127")
    assign(county_code="361127")
    world.session.commit()
    with at(date(2026, 6, 12)):
        make_claim(status="verified", premium="50000.00", period="2026年早稻季", county_code="361127")
    today = date(2026, 8, 20)

    def scopes(username):
        return {(rate.region.code, rate.level) for rate in checkpoints.checkpoints(2026, user(username), today)[0].rates}

    assert scopes("county_finance") == {("361128", ShareLevel.COUNTY)}
    assert {level for _code, level in scopes("city_finance")} <= {ShareLevel.CENTRAL, ShareLevel.PROVINCIAL,
                                                                  ShareLevel.CITY}
    assert {code for code, _level in scopes("city_finance")} == {"361128", other.code}
    assert {code for code, _level in scopes("county_agri")} == {"361128"}
    assert ShareLevel.COUNTY in {level for _code, level in scopes("county_agri")}
    assert {code for code, _level in scopes("city_agri")} == {"361128", other.code}
    # the other county's unpaid claim is its bureau's warning, not this one's
    warned = checkpoints.upcoming_warning(user("county_finance"), date(2026, 10, 20))
    assert {(rate.region.code, rate.level) for rate in warned.below} == {("361128", ShareLevel.COUNTY)}


def test_the_warning_runs_from_the_configured_days_before_to_the_checkpoints_day(world, app, monkeypatch):
    _history(world)   # the county's level at 80.0 % on 31 Jul
    bureau = user("county_finance")
    assert checkpoints.upcoming_warning(bureau, date(2026, 7, 1)).on == date(2026, 7, 31)    # 30 days before
    assert checkpoints.upcoming_warning(bureau, date(2026, 6, 30)) is None                    # 31 days before
    warning = checkpoints.upcoming_warning(bureau, date(2026, 7, 31))                         # the day itself
    assert (warning.year, warning.on, [rate.pct for rate in warning.below]) == (2026, date(2026, 7, 31), [D("80.0")])
    monkeypatch.setitem(app.config, "PAYOUT_WARNING_DAYS", 10)
    assert checkpoints.upcoming_warning(bureau, date(2026, 7, 21)).on == date(2026, 7, 31)   # 10 days before
    assert checkpoints.upcoming_warning(bureau, date(2026, 7, 20)) is None                    # 11 days before


def test_last_years_subsidy_year_is_warned_of_before_its_31_march(world):
    _history(world)
    warning = checkpoints.upcoming_warning(user("county_finance"), date(2027, 3, 10))
    assert (warning.year, warning.on) == (2026, date(2027, 3, 31))
    assert [rate.pct for rate in warning.below] == [D("69.0")]


def test_the_configured_interest_rate_and_grace_period_are_the_ones_charged(app, db, monkeypatch):
    monkeypatch.setitem(app.config, "LATE_INTEREST_ENABLED", True)
    monkeypatch.setitem(app.config, "LATE_INTEREST_RATE_PCT", "7.3")
    monkeypatch.setitem(app.config, "LATE_INTEREST_GRACE_DAYS", 30)
    assert checkpoints.interest_setting() == checkpoints.InterestSetting(True, D("7.3"), 30)
    # 10,000.00 × 7.3 % × (130 − 30) / 365 = 200.00
    assert checkpoints.late_interest(D("10000.00"), 130) == D("200.00")
    monkeypatch.setitem(app.config, "LATE_INTEREST_ENABLED", False)
    assert checkpoints.late_interest(D("10000.00"), 130) is None


@pytest.mark.parametrize("role", [Role.COUNTY_FINANCE, Role.CITY_FINANCE])
def test_a_bureau_with_every_level_paid_is_not_warned(world, role):
    from tests.factories import county

    bureau = make_user(f"quiet_{role.value}", role, region=county() if role is Role.COUNTY_FINANCE else None)
    assert checkpoints.upcoming_warning(bureau, date(2026, 7, 25)) is None


def test_the_configured_checkpoints_are_read_and_only_an_earlier_day_rolls_into_the_next_year(app, db, monkeypatch):
    monkeypatch.setitem(app.config, "PAYOUT_CHECKPOINTS", " 06-30 , ,12-31,12-31,01-15,01-10")
    # a repeated day is the same day, not a year later; a day before the one before it falls in the year after
    # that one's
    assert checkpoints.checkpoint_dates(2026) == [date(2026, 6, 30), date(2026, 12, 31), date(2026, 12, 31),
                                                  date(2027, 1, 15), date(2028, 1, 10)]


def test_a_claim_counts_from_its_verification_day_and_a_payment_from_its_payment_day(world):
    from datetime import UTC, datetime

    import time_machine

    from tests.subsidies.factories import make_claim

    _history(world)   # A verified 10 Jun (5,000.00): 4,000.00 paid 20 Jul, 600.00 on 5 Aug; B verified 15 Aug
    county = lambda day: next(r for r in checkpoints.payout_rates(2026, day) if r.level is ShareLevel.COUNTY)  # noqa: E731
    assert (county(date(2026, 8, 4)).paid, county(date(2026, 8, 5)).paid) == (D("4000.00"), D("4600.00"))
    assert (county(date(2026, 8, 14)).due, county(date(2026, 8, 15)).due) == (D("5000.00"), D("6666.67"))
    # verified at the first instant of 17 Aug (local): not due on the 16th
    with time_machine.travel(datetime(2026, 8, 16, 16, 0, tzinfo=UTC), tick=False):
        make_claim(status="verified", premium="10.00", period="2026年秋季", households=1, list_rows=1,
                   quantity=D("1"))
    assert county(date(2026, 8, 16)).due == D("6666.67")
    # a share of 0.50 (5 % of 10.00) is due like any other
    assert county(date(2026, 8, 17)).due == D("6667.17")


def test_a_claim_of_another_year_paid_this_year_is_not_this_years_payout(world):
    from tests.subsidies.factories import make_claim

    _history(world)
    with at(date(2026, 1, 10)):
        old = make_claim(status="verified", premium="20000.00", period="2025年晚稻季", year=2025)
    with at(date(2026, 7, 1)):
        from agri_insurance.subsidies import service

        service.confirm_payment(old, ShareLevel.COUNTY, D("1000.00"), date(2026, 7, 1), "KF-9", user("county_finance"))
        world.session.commit()
    july = next(r for r in checkpoints.payout_rates(2026, date(2026, 7, 31)) if r.level is ShareLevel.COUNTY)
    assert (july.due, july.paid) == (D("5000.00"), D("4000.00"))


def test_the_configured_threshold_is_the_mark(world, app, monkeypatch):
    _history(world)   # 80.0 % on 31 Jul
    monkeypatch.setitem(app.config, "PAYOUT_THRESHOLD_PCT", "80")
    assert checkpoints.upcoming_warning(user("county_finance"), date(2026, 7, 25)) is None
    monkeypatch.setitem(app.config, "PAYOUT_THRESHOLD_PCT", "80.1")
    assert checkpoints.upcoming_warning(user("county_finance"), date(2026, 7, 25)) is not None


def test_a_due_under_a_yuan_is_checked_and_a_level_that_pays_nothing_is_not(world):
    from tests.subsidies.factories import assign, make_claim

    with at(date(2026, 6, 10)):
        make_claim(status="verified", premium="10.00", period="2026年早稻季", households=1, list_rows=1,
                   quantity=D("1"))
    rates = {rate.level: rate for rate in checkpoints.payout_rates(2026, date(2026, 7, 31))}
    assert (rates[ShareLevel.COUNTY].due, rates[ShareLevel.COUNTY].pct) == (D("0.50"), D("0.0"))
    # a local specialty product in another county: its city and county pay, the central and provincial budgets
    # nothing (a level with nothing due is no rate at all, not a rate of 0 %)
    assign(product_code="price_index", county_code="361127")
    world.session.commit()
    with at(date(2026, 6, 12)):
        make_claim(status="verified", premium="1000.00", period="2026年价格指数", product_code="price_index",
                   county_code="361127", households=1, list_rows=1, quantity=D("1"))
    other = {rate.level: rate.due for rate in checkpoints.payout_rates(2026, date(2026, 7, 31))
             if rate.region.code == "361127"}
    assert other == {ShareLevel.CITY: D("150.00"), ShareLevel.COUNTY: D("300.00")}
