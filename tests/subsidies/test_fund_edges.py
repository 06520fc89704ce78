"""The edges of who may claim and of the funds' settings: an assignment's first and last year and its dates (an
award changed mid-term), the scheme in force, recording and deleting assignments, who sets which budget, and the
budget lines of the city and of a county (exact refusals, fields, audit entries, amounts to the fen)."""

from datetime import date, timedelta
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from agri_insurance import clock
from agri_insurance.audit.models import AuditEntry
from agri_insurance.auth.models import Role
from agri_insurance.errors import DomainError
from agri_insurance.reference import service as reference_service
from agri_insurance.reference.models import Region, RegionLevel, SubsidyScheme
from agri_insurance.subsidies import service
from agri_insurance.subsidies.funds import city
from agri_insurance.subsidies.models import Budget, ShareLevel, SubsidyClaim, UnderwritingAssignment
from tests.concurrency import second_waits_for_first
from tests.factories import audit_entries, county, make_insurer, make_user, refused
from tests.subsidies.factories import assign, attach_list, demo_insurer, make_claim, product, user

PYX, WUYUAN, YUGAN = "361128", "361130", "361127"      # 鄱阳县, 婺源县, 余干县


def _assignment(county_code=PYX, product_code="rice") -> UnderwritingAssignment:
    return service.db.session.scalar(sa.select(UnderwritingAssignment).where(
        UnderwritingAssignment.insurer_id == demo_insurer().id,
        UnderwritingAssignment.region_id == county(county_code).id,
        UnderwritingAssignment.product_id == product(product_code).id))


def _refusal(year=2026, on=None, county_code=PYX, product_code="rice", insurer=None):
    return service.claim_refusal((insurer or demo_insurer()).id, county(county_code).id, product(product_code).id,
                                 year, on)


def _may(year=2026, on=None, county_code=PYX, product_code="rice", insurer=None) -> bool:
    return service.may_claim((insurer or demo_insurer()).id, county(county_code).id, product(product_code).id,
                             year, on)


def _entry(action: str) -> AuditEntry:
    """The latest audit entry of `action`."""
    return audit_entries(action)[-1]


# --- who may claim -------------------------------------------------------------------------------------------

def test_an_insurer_claims_in_the_first_and_last_year_of_its_assignment_and_not_a_year_beyond(world):
    assert [_may(year) for year in (2024, 2025, 2026, 2027, 2028)] == [False, True, True, True, False]
    assert _refusal(2028) == "贵机构在该县（市、区）2028年度不承保此险种，不能申请补贴"
    assert _refusal(2024) == "贵机构在该县（市、区）2024年度不承保此险种，不能申请补贴"
    assert _refusal(2027) is None


def test_an_assignment_is_the_insurers_own_for_its_county_and_product_only(world):
    other = make_insurer()
    assign(insurer=other, county_code=YUGAN, product_code="peanut")
    assign(insurer=other, county_code=PYX, product_code="camellia_oil")
    assert _may() is True
    assert _may(insurer=other) is False                          # another insurer, the demo insurer's assignment
    assert _may(county_code=WUYUAN) is False                     # rice, but in another county
    assert _may(product_code="peanut") is False                  # 鄱阳县, but another product
    assert _may(county_code=YUGAN, product_code="peanut", insurer=other) is True
    assert _may(county_code=YUGAN, product_code="rice", insurer=other) is False
    assert _refusal(insurer=other) == "贵机构在该县（市、区）2026年度不承保此险种，不能申请补贴"


def test_an_award_ended_mid_term_refuses_claims_after_its_last_day(world):
    _assignment().ends_on = date(2026, 6, 30)
    world.session.flush()
    assert _may(on=date(2026, 6, 30)) is True                    # the last day is still the old underwriter's
    assert _refusal(on=date(2026, 6, 30)) is None
    assert _may(on=date(2026, 7, 1)) is False
    assert _refusal(on=date(2026, 7, 1)) == (
        "贵机构在该县（市、区）此险种的中标已变更，承保资格于2026-06-30终止，此后不能再申请2026年度的补贴")
    assert _refusal(2025, on=date(2026, 7, 1)) == (
        "贵机构在该县（市、区）此险种的中标已变更，承保资格于2026-06-30终止，此后不能再申请2025年度的补贴")


def test_the_latest_end_is_named_when_two_rows_have_ended(world):
    first = _assignment()
    first.ends_on = date(2026, 3, 31)
    world.session.add(UnderwritingAssignment(insurer_id=first.insurer_id, region_id=first.region_id,
                                             product_id=first.product_id, start_year=2026, end_year=2026,
                                             starts_on=date(2026, 5, 1), ends_on=date(2026, 8, 31)))
    world.session.flush()
    assert _refusal(on=date(2026, 4, 15)) == (
        "贵机构在该县（市、区）此险种的中标已变更，承保资格于2026-03-31终止，此后不能再申请2026年度的补贴")
    assert _refusal(on=date(2026, 5, 1)) is None
    assert _refusal(on=date(2026, 9, 1)) == (
        "贵机构在该县（市、区）此险种的中标已变更，承保资格于2026-08-31终止，此后不能再申请2026年度的补贴")


@pytest.mark.parametrize("ends_on", [None, date(2026, 12, 31)], ids=["open-ended", "with an end"])
def test_a_replacement_claims_from_its_first_day(world, ends_on):
    new = make_insurer()
    assign(insurer=new, start=2026, end=2027)
    row = world.session.scalar(sa.select(UnderwritingAssignment).where(UnderwritingAssignment.insurer_id == new.id))
    row.starts_on, row.ends_on = date(2026, 7, 1), ends_on
    world.session.flush()
    assert _may(on=date(2026, 6, 30), insurer=new) is False
    assert _refusal(on=date(2026, 6, 30), insurer=new) == "贵机构在该县（市、区）此险种的承保资格自2026-07-01起生效，届时方可申请补贴"
    assert _may(on=date(2026, 7, 1), insurer=new) is True
    assert _refusal(on=date(2026, 7, 1), insurer=new) is None


def test_the_earliest_start_is_named_when_two_rows_start_later(world):
    new = make_insurer()
    for start, starts_on in ((2026, date(2026, 9, 1)), (2027, date(2026, 8, 1))):
        world.session.add(UnderwritingAssignment(insurer_id=new.id, region_id=county().id,
                                                 product_id=product("rice").id, start_year=start, end_year=2027,
                                                 starts_on=starts_on))
    world.session.flush()
    assert _refusal(2027, on=date(2026, 7, 1), insurer=new) == (
        "贵机构在该县（市、区）此险种的承保资格自2026-08-01起生效，届时方可申请补贴")


def test_without_a_day_the_claim_is_checked_on_today(world):
    today = clock.local_today()
    _assignment().ends_on = today - timedelta(days=1)
    world.session.flush()
    assert _may() is False and _may(on=today - timedelta(days=1)) is True
    assert "承保资格于" + (today - timedelta(days=1)).isoformat() + "终止" in _refusal()
    _assignment().ends_on = today
    world.session.flush()
    assert _may() is True and _may(on=today + timedelta(days=1)) is False


def test_a_claim_submitted_while_its_award_ends_waits_and_isrefused(app, world):
    draft = attach_list(make_claim())
    world.session.commit()
    claim_id, assignment_id = draft.id, _assignment().id
    yesterday = clock.local_today() - timedelta(days=1)
    world.session.remove()

    def end_award():
        service.db.session.get(UnderwritingAssignment, assignment_id).ends_on = yesterday
        service.db.session.flush()

    def submit():
        service.submit_claim(service.db.session.get(SubsidyClaim, claim_id), user("insurer"))

    outcome: dict[str, str] = {}
    second_waits_for_first(app, end_award, submit, outcome)
    assert outcome["first"] == "done"
    assert outcome["second"] == (f"贵机构在该县（市、区）此险种的中标已变更，承保资格于{yesterday.isoformat()}终止，"
                                 "此后不能再申请2026年度的补贴")
    assert world.session.get(SubsidyClaim, claim_id).status.value == "draft"


# --- the scheme in force -------------------------------------------------------------------------------------

def _scheme(county_code=None, product_code="rice", year=2026, county_pct="10") -> SubsidyScheme:
    return reference_service.save_scheme(None, {
        "product_id": product(product_code).id, "region_id": county(county_code).id if county_code else None,
        "year": year, "central_pct": D(45), "provincial_pct": D(25), "city_pct": D(5), "county_pct": D(county_pct),
        "farmer_pct": D(25) - D(county_pct)}, None)


def _city_wide(product_code="rice", year=2026) -> SubsidyScheme:
    return service.db.session.scalar(sa.select(SubsidyScheme).where(
        SubsidyScheme.product_id == product(product_code).id, SubsidyScheme.year == year,
        SubsidyScheme.region_id.is_(None)))


def test_the_scheme_is_the_countys_own_for_the_product_and_year_else_the_city_wide_one(world):
    wuyuan = _scheme(WUYUAN, county_pct="12")
    peanut = _scheme(PYX, product_code="peanut", county_pct="8")
    earlier = _scheme(PYX, year=2025, county_pct="6")
    rice = product("rice").id
    assert service.applicable_scheme(rice, county().id, 2026).id == _city_wide().id
    assert service.applicable_scheme(rice, county(WUYUAN).id, 2026).id == wuyuan.id
    assert service.applicable_scheme(product("peanut").id, county().id, 2026).id == peanut.id
    assert service.applicable_scheme(product("peanut").id, county(WUYUAN).id, 2026).id == \
        _city_wide("peanut").id
    assert service.applicable_scheme(rice, county().id, 2025).id == earlier.id
    assert service.applicable_scheme(rice, county().id, 2027) is None
    assert service.scheme_pcts(wuyuan) == {ShareLevel.CENTRAL: D(45), ShareLevel.PROVINCIAL: D(25),
                                           ShareLevel.CITY: D(5), ShareLevel.COUNTY: D(12), ShareLevel.FARMER: D(13)}


# --- assignments ---------------------------------------------------------------------------------------------

def _save(insurer=None, county_code=PYX, product_code="rice", start=2025, end=2027, notes=None):
    return service.save_assignment({
        "insurer_id": (insurer or demo_insurer()).id, "region_id": county(county_code).id,
        "product_id": product(product_code).id, "start_year": start, "end_year": end, "notes": notes},
        user("city_agri"))


def test_an_assignment_is_stored_as_given_and_audited(world):
    saved = _save(county_code=WUYUAN, product_code="peanut", start=2026, end=2026, notes="临时指定")
    world.session.expire_all()
    row = world.session.get(UnderwritingAssignment, saved.id)
    assert (row.insurer_id, row.region_id, row.product_id, row.start_year, row.end_year, row.notes, row.source) == (
        demo_insurer().id, county(WUYUAN).id, product("peanut").id, 2026, 2026, "临时指定", "manual")
    entry = _entry("assignment.created")
    assert (entry.actor_name, entry.object_type, entry.object_id) == ("city_agri", "UnderwritingAssignment",
                                                                      str(saved.id))
    assert entry.summary == f"登记承保安排：{demo_insurer().short_name} 婺源县 {product('peanut').name} 2026–2026"


@pytest.mark.parametrize(("start", "end"), [(2023, 2025), (2027, 2029), (2026, 2026), (2020, 2030)])
def test_an_assignment_overlapping_by_a_single_year_is_refused_naming_the_start_year(world, start, end):
    error = refused(_save, None, PYX, "rice", start, end)
    assert (error.message, error.field) == ("该机构在此县此险种已有重叠年度的承保安排", "start_year")


def test_assignments_next_to_each_other_or_of_another_insurer_county_or_product_are_saved(world):
    _save(start=2028, end=2029)                                   # the year after the last one
    _save(start=2023, end=2024)                                   # the years before the first one
    _save(county_code=WUYUAN)                                     # the same years, another county
    _save(product_code="peanut")                                  # the same years, another product
    _save(insurer=make_insurer())                                 # the same years, another insurer
    assert world.session.scalar(sa.select(sa.func.count(UnderwritingAssignment.id))) == 6


def test_an_assignment_ending_before_it_starts_or_outside_a_county_isrefused(world):
    error = refused(_save, None, WUYUAN, "rice", 2027, 2026)
    assert (error.message, error.field) == ("结束年度不能早于开始年度", "end_year")
    error = refused(lambda: service.save_assignment({
        "insurer_id": demo_insurer().id, "region_id": city().id, "product_id": product("rice").id,
        "start_year": 2026, "end_year": 2026, "notes": None}, user("city_agri")))
    assert (error.message, error.field) == ("请选择县（市、区）", "region_id")
    error = refused(lambda: service.save_assignment({
        "insurer_id": demo_insurer().id, "region_id": 999999, "product_id": product("rice").id,
        "start_year": 2026, "end_year": 2026, "notes": None}, user("city_agri")))
    assert (error.message, error.field) == ("请选择县（市、区）", "region_id")
    assert world.session.scalar(sa.select(sa.func.count(UnderwritingAssignment.id))) == 1


def test_an_assignment_a_claim_relies_on_is_kept(world):
    assignment = _assignment()
    make_claim(year=2025, period="2025年全年")                     # the assignment's first year
    error = refused(service.delete_assignment, assignment, user("city_agri"))
    assert (error.message, error.field) == ("已有补贴申请依据此承保安排，不能删除", None)
    assert world.session.get(UnderwritingAssignment, assignment.id) is not None


def test_a_claim_in_the_last_year_keeps_the_assignment_too(world):
    _scheme(PYX, year=2027)                                        # a scheme for the assignment's last year
    make_claim(year=2027, period="2027年全年")
    with pytest.raises(DomainError, match="已有补贴申请依据此承保安排"):
        service.delete_assignment(_assignment(), user("city_agri"))


def test_an_assignment_is_deleted_when_only_other_insurers_counties_products_or_years_have_claims(world):
    other = make_insurer()
    assign(insurer=other)                                          # another insurer, the same county and product
    assign(county_code=WUYUAN)                                    # the demo insurer elsewhere
    assign(product_code="peanut")                                 # another product
    world.session.commit()
    make_claim(county_code=WUYUAN)
    make_claim(product_code="peanut")
    make_user("other_insurer", Role.INSURER, insurer=other)
    make_claim(insurer_username="other_insurer")
    gone = _assignment()
    details = {"insurer_id": gone.insurer_id, "region_id": gone.region_id, "product_id": gone.product_id,
               "start_year": 2025, "end_year": 2027}
    gone_id = gone.id
    service.delete_assignment(gone, user("city_agri"))
    world.session.flush()
    assert world.session.get(UnderwritingAssignment, gone_id) is None
    entry = _entry("assignment.deleted")
    assert (entry.actor_name, entry.object_type, entry.object_id, entry.summary) == (
        "city_agri", "UnderwritingAssignment", str(gone_id), "删除承保安排")
    assert {k: entry.details[k] for k in details} == details


def test_an_assignment_with_claims_only_in_the_years_before_it_is_deleted(world):
    make_claim(year=2025, period="2025年全年")
    later = _save(start=2028, end=2029)
    service.delete_assignment(later, user("city_agri"))
    world.session.flush()
    assert world.session.get(UnderwritingAssignment, later.id) is None


# --- budgets -------------------------------------------------------------------------------------------------

def test_who_sets_which_budget(world):
    # a county added after the others (a new district) is listed by its code, after the city
    world.session.add(Region(code="361101", name="新区", level=RegionLevel.COUNTY, parent_id=city().id))
    world.session.flush()
    counties = sorted(service.db.session.scalars(sa.select(Region).where(Region.level == RegionLevel.COUNTY)),
                      key=lambda r: r.code)
    assert [r.code for r in service.budget_regions(user("admin"))] == [city().code] + [r.code for r in counties]
    assert service.budget_regions(user("city_finance")) == [city()]
    assert service.budget_regions(user("county_finance")) == [county()]
    assert service.budget_regions(user("county_agri")) == [] and service.budget_regions(user("insurer")) == []


@pytest.mark.parametrize(("username", "code"), [("county_finance", "361100"), ("county_finance", WUYUAN),
                                                ("city_finance", PYX), ("county_agri", PYX), ("insurer", PYX)])
def test_a_budget_outside_the_users_regions_is_refused_naming_the_region(world, username, code):
    region = service.db.session.scalar(sa.select(Region).where(Region.code == code))
    error = refused(service.save_budget, 2026, region, D("1000.00"), user(username))
    assert (error.message, error.field) == ("您无权设置该地区的预算", "region_id")
    assert world.session.scalar(sa.select(sa.func.count(Budget.id))) == 0


def test_a_budget_is_set_then_changed_for_its_year_and_region_only_and_audited(world):
    service.save_budget(2025, county(), D("1.00"), user("county_finance"))
    service.save_budget(2026, city(), D("2.00"), user("city_finance"))
    service.save_budget(2026, county(), D("0.00"), user("county_finance"))          # nothing: allowed
    entry = _entry("budget.saved")
    assert (entry.actor_name, entry.object_type, entry.summary) == (
        "county_finance", "Budget", "设置鄱阳县 2026年度补贴预算 0.00 元")
    assert entry.details["old"] is None and D(entry.details["new"]) == D("0.00")
    budget = service.save_budget(2026, county(), D("1234567.89"), user("admin"))
    entry = _entry("budget.saved")
    assert (entry.actor_name, entry.object_id, entry.summary) == (
        "admin", str(budget.id), "设置鄱阳县 2026年度补贴预算 1,234,567.89 元")
    assert (D(entry.details["old"]), D(entry.details["new"])) == (D("0.00"), D("1234567.89"))
    world.session.expire_all()
    amounts = {(b.year, b.region_id): b.amount for b in world.session.scalars(sa.select(Budget))}
    assert amounts == {(2025, county().id): D("1.00"), (2026, city().id): D("2.00"),
                       (2026, county().id): D("1234567.89")}


@pytest.mark.parametrize(("amount", "message"), [(D("-0.01"), "预算金额不能为负"), (D("0.001"), "预算金额最多两位小数"),
                                                 (D("100.005"), "预算金额最多两位小数")])
def test_a_negative_budget_or_one_below_the_fen_is_refused_naming_the_amount(world, amount, message):
    error = refused(service.save_budget, 2026, county(), amount, user("county_finance"))
    assert (error.message, error.field) == (message, "amount")
    assert world.session.scalar(sa.select(sa.func.count(Budget.id))) == 0


def test_a_budget_below_one_yuan_is_a_budget(world):
    service.save_budget(2026, county(), D("0.50"), user("county_finance"))
    assert world.session.scalar(sa.select(Budget.amount)) == D("0.50")


def test_budget_lines_of_the_city_and_a_county_count_their_years_committed_shares(world):
    assign(county_code=WUYUAN)
    world.session.commit()
    service.save_budget(2026, city(), D("20000.00"), user("city_finance"))
    service.save_budget(2025, county(), D("7.00"), user("county_finance"))
    verified = make_claim(status="verified", premium="100000.00")              # 鄱阳县: county 5,000, city 5,000
    make_claim(status="verified", premium="200000.00", county_code=WUYUAN)      # 婺源县: county 10,000, city 10,000
    make_claim(status="submitted", premium="300000.00", period="未核验")          # not committed
    make_claim(status="verified", premium="400000.00", year=2025, period="2025年全年")   # another year
    service.confirm_payment(verified, ShareLevel.CITY, D("1000.01"), date(2026, 3, 1), "S1", user("city_finance"))
    service.confirm_payment(verified, ShareLevel.COUNTY, D("0.02"), date(2026, 3, 1), "K1", user("county_finance"))
    world.session.commit()
    city_line, pyx, wuyuan, yugan = service.budget_lines(2026, [city(), county(), county(WUYUAN), county(YUGAN)])
    assert (city_line.region.id, city_line.level, city_line.year) == (city().id, ShareLevel.CITY, 2026)
    assert (city_line.budget, city_line.committed_unpaid, city_line.paid, city_line.remaining) == (
        D("20000.00"), D("13999.99"), D("1000.01"), D("5000.00"))
    assert (pyx.region.id, pyx.level, pyx.year) == (county().id, ShareLevel.COUNTY, 2026)
    assert (pyx.budget, pyx.committed_unpaid, pyx.paid, pyx.remaining) == (None, D("4999.98"), D("0.02"), None)
    assert (wuyuan.committed_unpaid, wuyuan.paid) == (D("10000.00"), D("0.00"))
    assert (yugan.budget, yugan.committed_unpaid, yugan.paid, yugan.remaining) == (None, D("0"), D("0"), None)
    [line_2025] = service.budget_lines(2025, [county()])
    assert (line_2025.budget, line_2025.committed_unpaid, line_2025.remaining) == (D("7.00"), D("20000.00"),
                                                                                  D("-19993.00"))
