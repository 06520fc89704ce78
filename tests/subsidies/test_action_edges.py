"""What each user is offered on a claim and on the claims list, in full: each button's words, where it leads, whether
it is a form (POST) or a link, its look, its element id, its confirmation and its place among the other modules'
actions; the finance bureaus' payable levels to the fen; the payment lists a user may read (service.available_actions,
list_actions, payment_levels, finance_bureaus_for)."""

from datetime import date
from decimal import Decimal as D

import pytest

from agri_insurance.auth.models import Role
from agri_insurance.extensions import db as _db
from agri_insurance.reference.models import Region, RegionLevel
from agri_insurance.subsidies import service
from agri_insurance.subsidies.models import ClaimStatus, ShareLevel
from tests.factories import county, make_insurer, make_user
from tests.subsidies.factories import make_claim, user
from tests.subsidies.test_actions import names

DELETE_CONFIRM = "删除这份草稿及其承保清单？删除后不能恢复。"


def described(actions) -> list[tuple]:
    """This module's actions as a user meets them (the underwriting module's own are left to its tests)."""
    return [(a.name, str(a.label), a.url, a.post, a.style, a.element_id,
             None if a.confirm is None else str(a.confirm), a.order)
            for a in actions if not a.endpoint.startswith("underwriting.")]


@pytest.mark.usefixtures("world")
def test_the_insurer_is_offered_its_drafts_edit_submit_and_delete_in_full(db):
    draft = make_claim()
    actions = service.available_actions(draft, user("insurer"))
    assert actions.names() == ["edit", "submit", "delete", "open-list"]
    assert described(actions) == [
        ("edit", "修改", f"/subsidies/claims/{draft.id}/edit", False, "outline-primary", None, None, 10),
        ("submit", "提交申请", f"/subsidies/claims/{draft.id}/submit", True, "success", "submit-claim", None, 20),
        ("delete", "删除草稿", f"/subsidies/claims/{draft.id}/delete", True, "outline-danger", None, DELETE_CONFIRM,
         30),
    ]


@pytest.mark.usefixtures("world")
def test_another_insurer_is_offered_nothing_of_a_draft_not_its_own(db):
    draft = make_claim()
    other = make_user("other_insurer", Role.INSURER, insurer=make_insurer())
    assert described(service.available_actions(draft, other)) == []
    assert service.payment_levels(draft, user("county_finance")) == []      # a draft takes no payment


@pytest.mark.usefixtures("world")
def test_the_county_bureau_is_offered_verify_return_and_the_sheet_in_full(db):
    claim = make_claim(status="submitted")
    actions = service.available_actions(claim, user("county_agri"))
    assert actions.names() == ["verify", "return", "open-list", "verification-sheet"]
    assert described(actions) == [
        ("verify", "核验通过", f"/subsidies/claims/{claim.id}/verify", True, "success", "verify-claim", None, 40),
        ("return", "退回", f"/subsidies/claims/{claim.id}/return", True, "outline-danger", None, None, 50),
        ("verification-sheet", "核验单", f"/subsidies/claims/{claim.id}/verification-sheet", False,
         "outline-secondary", "verification-sheet", None, 80),
    ]
    # once verified, the county bureau has nothing left to do on it but read its sheet
    service.verify_claim(claim, user("county_agri"), "同意拨付。", confirm_over_budget=True, flags_reviewed=True)
    assert service.available_actions(claim, user("county_agri")).names() == ["open-list", "verification-sheet"]


@pytest.mark.usefixtures("world")
def test_the_insurer_is_offered_to_file_a_returned_claim_again_in_full(db):
    claim = make_claim(status="submitted")
    service.return_claim(claim, "申请期间有误", user("county_agri"))
    _db.session.commit()
    actions = service.available_actions(claim, user("insurer"))
    assert actions.names() == ["file-again", "file-again-from-list", "open-list", "verification-sheet"]
    assert described(actions) == [
        ("file-again", "修改后重新申报", f"/subsidies/claims/new?from_claim={claim.id}", False, "success",
         "file-again", None, 20),
        ("verification-sheet", "核验单", f"/subsidies/claims/{claim.id}/verification-sheet", False,
         "outline-secondary", "verification-sheet", None, 80),
    ]


@pytest.mark.usefixtures("world")
def test_the_payment_button_in_full_and_a_fen_outstanding_still_payable(db):
    claim = make_claim(status="verified", premium="100000.00")
    actions = service.available_actions(claim, user("county_finance"))
    assert described(actions.only("pay")) == [
        ("pay", "确认拨付", f"/subsidies/claims/{claim.id}/payments", True, "success", "confirm-payment", None, 60)]
    county_share = claim.share(ShareLevel.COUNTY).amount
    service.confirm_payment(claim, ShareLevel.COUNTY, county_share - D("0.01"), date(2026, 3, 1), "K1",
                            user("county_finance"))
    assert service.payment_levels(claim, user("county_finance")) == [ShareLevel.COUNTY]   # a fen left to pay
    assert names(claim, "county_finance") == ["pay", "open-list", "verification-sheet"]
    service.confirm_payment(claim, ShareLevel.COUNTY, D("0.01"), date(2026, 3, 2), "K2", user("county_finance"))
    assert service.payment_levels(claim, user("county_finance")) == []


@pytest.mark.usefixtures("world")
def test_another_countys_bureau_pays_nothing_and_the_city_pays_its_levels_until_each_is_paid(db):
    claim = make_claim(status="verified", premium="100000.00")
    wuyuan = make_user("wuyuan_finance", Role.COUNTY_FINANCE, region=county("361130"))
    assert service.payment_levels(claim, wuyuan) == []
    assert "pay" not in service.available_actions(claim, wuyuan)
    city = user("city_finance")
    service.confirm_payment(claim, ShareLevel.CITY, claim.share(ShareLevel.CITY).amount, date(2026, 3, 1), "S1", city)
    assert service.payment_levels(claim, city) == [ShareLevel.PROVINCIAL, ShareLevel.CENTRAL]
    service.confirm_payment(claim, ShareLevel.COUNTY, claim.share(ShareLevel.COUNTY).amount, date(2026, 3, 1), "X1",
                            user("county_finance"))
    assert claim.status is ClaimStatus.SETTLED           # the local shares paid: settled, but still payable
    assert service.payment_levels(claim, city) == [ShareLevel.PROVINCIAL, ShareLevel.CENTRAL]
    assert names(claim, "city_finance") == ["pay", "open-list", "verification-sheet"]
    for level in (ShareLevel.PROVINCIAL, ShareLevel.CENTRAL):
        service.confirm_payment(claim, level, claim.share(level).amount, date(2026, 4, 1), f"P-{level}", city)
    assert service.payment_levels(claim, city) == []
    assert names(claim, "city_finance") == ["open-list", "verification-sheet"]


def test_the_payable_levels_of_each_role():
    class Someone:
        def __init__(self, role):
            self.role = role

    assert service.payable_levels(Someone(Role.COUNTY_FINANCE)) == (ShareLevel.COUNTY,)
    assert service.payable_levels(Someone(Role.CITY_FINANCE)) == (ShareLevel.CITY, ShareLevel.PROVINCIAL,
                                                                  ShareLevel.CENTRAL)
    for role in set(Role) - {Role.COUNTY_FINANCE, Role.CITY_FINANCE}:
        assert service.payable_levels(Someone(role)) == ()


@pytest.mark.usefixtures("world")
def test_the_insurer_downloads_its_statement_of_the_year_shown_and_files_a_new_claim(db):
    insurer = user("insurer")
    actions = service.list_actions(insurer, 2026)
    assert actions.names() == ["statement", "new", "new-from-list"]
    assert described(actions) == [
        ("statement", "下载对账单", "/subsidies/statement.xlsx?year=2026", False, "outline-secondary", None, None, 10),
        ("new", "新建申请", "/subsidies/claims/new", False, "success", None, None, 20),
    ]
    assert service.list_actions(insurer).get("statement").url == "/subsidies/statement.xlsx?year="   # no year chosen
    for other in ("county_agri", "county_finance", "city_finance", "admin"):
        assert service.list_actions(user(other), 2026).names() == []


# --- the payment lists a user may read ------------------------------------------------------------------------

def _region(code: str, name: str, level: RegionLevel, parent=None) -> Region:
    region = Region(code=code, name=name, level=level, parent=parent)
    _db.session.add(region)
    _db.session.flush()
    return region


def test_the_city_bureau_first_then_every_county_by_code_and_a_county_bureau_its_own(db):
    # made out of code order, and one county's code sorting before the city's: the city comes first all the same
    city = _region("361100", "上饶市", RegionLevel.CITY)
    wuyuan = _region("361130", "婺源县", RegionLevel.COUNTY, city)
    _region("361000", "某县", RegionLevel.COUNTY, city)
    xinzhou = _region("361102", "信州区", RegionLevel.COUNTY, city)
    _db.session.commit()
    for role in (Role.ADMIN, Role.CITY_FINANCE, Role.CITY_AGRI):
        someone = make_user(f"someone_{role}", role)
        bureaus = service.finance_bureaus_for(someone)
        assert [b.region.code for b in bureaus] == ["361100", "361000", "361102", "361130"], role
        assert [b.name for b in bureaus] == ["上饶市财政局", "某县财政局", "信州区财政局", "婺源县财政局"]
        assert [b.levels for b in bureaus][:2] == [(ShareLevel.CENTRAL, ShareLevel.PROVINCIAL, ShareLevel.CITY),
                                                   (ShareLevel.COUNTY,)]
    for role in (Role.COUNTY_FINANCE, Role.COUNTY_AGRI):
        own = make_user(f"wuyuan_{role}", role, region=wuyuan)
        assert [b.region for b in service.finance_bureaus_for(own)] == [wuyuan]
    assert [b.region for b in service.finance_bureaus_for(make_user("xz", Role.COUNTY_FINANCE, region=xinzhou))] \
        == [xinzhou]
    insurer = make_user("an_insurer", Role.INSURER, insurer=make_insurer())
    assert service.finance_bureaus_for(insurer) == []
    assert service.finance_bureaus_for(make_user("an_expert", Role.EXPERT)) == []
