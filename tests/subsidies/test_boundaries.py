"""The subsidy rules at their edges: a claim that fills the budget exactly, the verifier's own county checked by
the service itself, a scheme in which the farmers pay everything, a level at 0 % never owed a fen."""

from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from agri_insurance.auth.models import Role
from agri_insurance.errors import DomainError
from agri_insurance.subsidies import service
from agri_insurance.subsidies.models import ClaimStatus, ShareLevel
from tests.factories import county, make_user
from tests.subsidies.factories import assign, claim_data, make_claim, product, user


@pytest.fixture
def world(demo, db):
    assign()                                    # 赣鄱财险 underwrites rice in 鄱阳县 2025–2027
    assign(product_code="camellia_oil")
    db.session.commit()
    return db


@pytest.mark.parametrize("budget, over", [("70000.00", False), ("69999.99", True)])
def test_a_claim_that_fills_the_budget_exactly_needs_no_confirmation(world, db, budget, over):
    service.save_budget(2026, county(), D(budget), user("county_finance"))
    make_claim(status="verified", premium="1000000.00")                      # county share 50,000 committed
    claim = make_claim(status="submitted", premium="400000.00", period="2026年第二季度")   # + 20,000
    if over:
        with pytest.raises(service.OverBudget):
            service.verify_claim(claim, user("county_agri"), "同意")
        assert claim.status is ClaimStatus.SUBMITTED
        return
    [check] = [c for c in service.verify_claim(claim, user("county_agri"), "同意") if c.level is ShareLevel.COUNTY]
    db.session.commit()
    assert check.committed + check.this_claim == check.budget and not check.exceeds
    assert claim.status is ClaimStatus.VERIFIED and not claim.over_budget_confirmed


def test_the_service_refuses_to_verify_another_countys_claim(world, db):
    """Not only the view's scoping: verify_claim itself refuses a county bureau of another county."""
    claim = make_claim(status="submitted")                                  # 鄱阳县 361128
    other = make_user("yugan_agri", Role.COUNTY_AGRI, region=county("361127"))   # 余干县's bureau
    assert other.region_id != claim.region_id
    with pytest.raises(DomainError, match="只能核验本县的申请"):
        service.verify_claim(claim, other, "同意")
    db.session.rollback()
    db.session.refresh(claim)
    assert claim.status is ClaimStatus.SUBMITTED and claim.verified_at is None
    service.verify_claim(claim, user("county_agri"), "同意")               # its own county's bureau may
    assert claim.status is ClaimStatus.VERIFIED


@pytest.fixture
def farmers_pay_all(world):
    """鄱阳县's own 2026 camellia oil scheme: no government level pays (city 0, county 0, with the reason)."""
    from agri_insurance.reference import service as reference_service

    reference_service.save_scheme(None, {
        "product_id": product("camellia_oil").id, "region_id": county().id, "year": 2026, "central_pct": D(0),
        "provincial_pct": D(0), "city_pct": D(0), "county_pct": D(0), "farmer_pct": D(100),
        "deviation_reason": "县政府决定2026年油茶保险不予补贴"}, None)
    world.session.commit()


def _save(**kwargs):
    actor = user("insurer")
    return service.save_claim(None, claim_data(product_code="camellia_oil", **kwargs), actor.insurer, actor)


def test_when_farmers_pay_everything_a_fen_short_is_refused(farmers_pay_all):
    """The fen of leeway is for the government levels to absorb; with none paying, nobody could."""
    with pytest.raises(DomainError) as info:
        _save(premium="86400.00", farmer_premium=D("86399.99"))
    assert (info.value.field, info.value.message) == (
        "farmer_premium", "农户自缴保费应为 86,400.00 元（按补贴方案计算），相差不得超过1分")


def test_when_farmers_pay_everything_no_level_is_owed_a_fen(farmers_pay_all):
    claim = _save(premium="86400.01", farmer_premium=D("86400.01"))
    assert claim.share(ShareLevel.FARMER).amount == D("86400.01")
    assert {level: claim.share(level).amount for level in ShareLevel if level is not ShareLevel.FARMER} == {
        ShareLevel.CENTRAL: 0, ShareLevel.PROVINCIAL: 0, ShareLevel.CITY: 0, ShareLevel.COUNTY: 0}


@pytest.mark.parametrize("farmer, central", [("200.00", "450.03"), ("200.02", "450.01")])
def test_a_level_at_zero_percent_never_absorbs_the_fen_left_over(farmer, central):
    """premium 1000.05 at 45/25/0/10/20: the farmers pay a fen less or more than their 200.01; the largest level
    (central) takes the difference, the city at 0 % stays at 0 and no share goes negative."""
    pcts = {ShareLevel.CENTRAL: D(45), ShareLevel.PROVINCIAL: D(25), ShareLevel.CITY: D(0),
            ShareLevel.COUNTY: D(10), ShareLevel.FARMER: D(20)}
    amounts = service.split_premium(D("1000.05"), pcts, farmer=D(farmer))
    assert amounts == {ShareLevel.CENTRAL: D(central), ShareLevel.PROVINCIAL: D("250.01"), ShareLevel.CITY: 0,
                       ShareLevel.COUNTY: D("100.01"), ShareLevel.FARMER: D(farmer)}
    assert sum(amounts.values()) == D("1000.05")


def test_fen_taken_back_never_make_a_level_negative():
    """A 0.05 premium at city 10 %, county 10 %, farmers 80 %: each level rounds 0.005 up to 0.01 and the farmers
    pay 0.05 (a fen above their 0.04), so two fen come back: one from each level, neither goes below 0."""
    pcts = {ShareLevel.CENTRAL: D(0), ShareLevel.PROVINCIAL: D(0), ShareLevel.CITY: D(10),
            ShareLevel.COUNTY: D(10), ShareLevel.FARMER: D(80)}
    amounts = service.split_premium(D("0.05"), pcts, farmer=D("0.05"))
    assert amounts == {ShareLevel.CENTRAL: 0, ShareLevel.PROVINCIAL: 0, ShareLevel.CITY: 0, ShareLevel.COUNTY: 0,
                       ShareLevel.FARMER: D("0.05")}


def test_the_budget_position_counts_the_years_verified_shares_of_the_county_or_of_the_whole_city(world, db):
    """Committed: the level's shares of the year's verified claims — the county's own claims against its budget,
    every county's against the city's, never another year's nor a claim not yet verified."""
    from agri_insurance.reference.models import Region, RegionLevel

    city = db.session.scalar(sa.select(Region).where(Region.level == RegionLevel.CITY))
    service.save_budget(2025, county(), D("1.00"), user("county_finance"))      # another year's budgets
    service.save_budget(2025, city, D("2.00"), user("city_finance"))
    service.save_budget(2026, county(), D("100000.00"), user("county_finance"))
    service.save_budget(2026, city, D("200000.00"), user("city_finance"))
    assign(county_code="361127")                                            # 余干县 too
    claim = make_claim(status="submitted", premium="400000.00", period="2026年第二季度")   # county and city 20,000
    assert {c.level: (c.committed, c.this_claim) for c in service.budget_checks(claim)} == {
        ShareLevel.COUNTY: (D("0.00"), D("20000.00")), ShareLevel.CITY: (D("0.00"), D("20000.00"))}
    make_claim(status="verified", premium="1000000.00")                      # 鄱阳县 2026: 50,000 each
    make_claim(status="verified", premium="100000.00", county_code="361127")  # 余干县 2026: 5,000 each
    make_claim(status="verified", premium="300000.00", year=2025, period="2025年全年")   # 2025: not counted
    make_claim(status="submitted", premium="200000.00", period="2026年第三季度")          # not verified
    checks = {c.level: c for c in service.budget_checks(claim)}
    county_check, city_check = checks[ShareLevel.COUNTY], checks[ShareLevel.CITY]
    assert (county_check.region, county_check.budget, county_check.committed, county_check.this_claim,
            county_check.remaining_after, county_check.exceeds) == (
        county(), D("100000.00"), D("50000.00"), D("20000.00"), D("30000.00"), False)
    assert (city_check.region, city_check.budget, city_check.committed, city_check.this_claim,
            city_check.remaining_after, city_check.exceeds) == (
        city, D("200000.00"), D("55000.00"), D("20000.00"), D("125000.00"), False)


def test_a_county_without_a_budget_is_not_checked_but_the_city_still_is(world, db):
    from agri_insurance.reference.models import Region, RegionLevel

    city = db.session.scalar(sa.select(Region).where(Region.level == RegionLevel.CITY))
    service.save_budget(2025, city, D("10000.00"), user("city_finance"))
    claim = make_claim(status="submitted", premium="400000.00", year=2025, period="2025年全年")   # city 20,000
    [check] = service.budget_checks(claim)
    assert (check.region, check.level, check.remaining_after, check.exceeds) == (
        city, ShareLevel.CITY, D("-10000.00"), True)


def test_a_scheme_whose_only_government_share_is_one_percent_still_gives_the_fen_of_leeway(world):
    """Leeway exists when any government level pays (more than 0 %, not more than 1 %): 1 % of 86,400.00 is 864.00,
    the farmers' 85,536.00; they may pay a fen less, the county absorbs it."""
    from agri_insurance.reference import service as reference_service

    reference_service.save_scheme(None, {
        "product_id": product("camellia_oil").id, "region_id": county().id, "year": 2026, "central_pct": D(0),
        "provincial_pct": D(0), "city_pct": D(0), "county_pct": D(1), "farmer_pct": D(99),
        "deviation_reason": "县政府决定2026年油茶保险只补贴1%"}, None)
    claim = _save(premium="86400.00", farmer_premium=D("85535.99"))
    assert (claim.share(ShareLevel.COUNTY).amount, claim.share(ShareLevel.FARMER).amount) == (
        D("864.01"), D("85535.99"))


def test_a_claim_for_a_year_without_a_scheme_is_refused_naming_the_year(world):
    with pytest.raises(DomainError) as info:
        _save(year=2027, period="2027年全年", farmer_premium=D("1.00"))
    assert (info.value.field, info.value.message) == ("year", "2027年度尚无该险种的补贴方案")
