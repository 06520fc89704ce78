"""What each user may do on a claim now (service.available_actions), and that the pages offer exactly that."""

from datetime import date
from decimal import Decimal as D

from agri_insurance.auth.models import Role
from agri_insurance.subsidies import service
from agri_insurance.subsidies.models import ShareLevel
from tests.factories import county, make_user, read_text
from tests.subsidies.factories import make_claim, user


def names(claim, username):
    return service.available_actions(claim, user(username)).names()


def test_the_insurer_works_on_its_draft_and_the_county_on_the_submitted_claim(world, db):
    draft = make_claim()
    assert names(draft, "insurer") == ["edit", "submit", "delete", "open-list"]
    assert names(draft, "admin") == ["open-list"]                        # support reads it, does not file it
    submitted = make_claim(status="submitted", period="2026年第二季度")
    assert names(submitted, "insurer") == ["open-list", "verification-sheet"]
    assert names(submitted, "county_agri") == ["verify", "return", "open-list", "verification-sheet"]
    other_county = make_user("wuyuan_agri", Role.COUNTY_AGRI, region=county("361130"))
    assert service.available_actions(submitted, other_county).names() == ["open-list", "verification-sheet"]
    assert names(submitted, "county_finance") == ["open-list", "verification-sheet"]   # nothing to pay yet


def test_each_finance_bureau_pays_while_its_levels_are_outstanding(world, db):
    claim = make_claim(status="verified", premium="100000.00")
    assert names(claim, "county_finance") == ["pay", "open-list", "verification-sheet"]
    assert names(claim, "city_finance") == ["pay", "open-list", "verification-sheet"]
    assert names(claim, "county_agri") == ["open-list", "verification-sheet"]
    service.confirm_payment(claim, ShareLevel.COUNTY, D("5000.00"), date(2026, 3, 1), "K1", user("county_finance"))
    assert names(claim, "county_finance") == ["open-list", "verification-sheet"]     # its level is paid
    assert service.payment_levels(claim, user("city_finance")) == [ShareLevel.CITY, ShareLevel.PROVINCIAL,
                                                                    ShareLevel.CENTRAL]


def test_the_open_list_action_says_whether_the_list_can_still_be_uploaded(world, db):
    draft = make_claim()
    actions = service.available_actions(draft, user("insurer"))
    assert str(actions["open-list"].label) == "上传或查看清单"
    assert str(service.available_actions(draft, user("admin"))["open-list"].label) == "查看清单"


def test_the_pages_offer_what_the_service_allows(world, login, db):
    draft = make_claim()
    insurer = login("insurer")
    page = read_text(insurer.get(f"/subsidies/claims/{draft.id}"))
    assert 'id="submit-claim"' in page and f"/subsidies/claims/{draft.id}/edit" in page and "删除草稿" in page
    assert "新建申请" in read_text(insurer.get("/subsidies/claims"))
    admin = login("admin")
    page = read_text(admin.get(f"/subsidies/claims/{draft.id}"))
    assert 'id="submit-claim"' not in page and "删除草稿" not in page and 'id="open-list"' in page
    assert "新建申请" not in read_text(admin.get("/subsidies/claims"))
    page = read_text(insurer.get(f"/underwriting/claims/{draft.id}"))
    assert 'id="upload-form"' in page and 'id="template-download"' in page
    assert 'id="upload-form"' not in read_text(admin.get(f"/underwriting/claims/{draft.id}"))
