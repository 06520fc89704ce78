"""The home page's to-do list and the menu's badges for the subsidy work: the county bureau's verifications, the
finance bureaus' payments (due and overdue), the insurer's drafts and returned claims, the city's overdue shares.
Each test builds the situation, finds the line and its link, does the work through the pages and sees it go."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from agri_insurance.auth.models import Role
from agri_insurance.subsidies.models import ClaimStatus, ShareLevel, SubsidyClaim
from agri_insurance.underwriting.demo import attach_matching_list
from tests.factories import county, make_user, read_text
from tests.subsidies.factories import assign, claim_data, make_claim, user

VERIFIED = datetime(2026, 1, 5, 2, tzinfo=UTC)          # 10:00 in Shangrao; due 30 days later: 2026-02-04
BEFORE_DUE = datetime(2026, 1, 20, 2, tzinfo=UTC)
AFTER_DUE = datetime(2026, 2, 10, 2, tzinfo=UTC)          # 6 days overdue


@pytest.fixture
def world(demo, db):
    assign()
    assign(county_code="361130")
    db.session.commit()
    return db


def todo(page: str, element_id: str) -> str:
    """The to-do line with that element id ('' when the page has none)."""
    found = re.search(rf'<li[^>]*id="{re.escape(element_id)}"[^>]*>(.*?)</li>', page, re.S)
    return found.group(1) if found else ""


def badge(page: str, endpoint: str) -> int:
    """The count the menu shows next to the page `endpoint` (0 without a badge)."""
    found = re.search(rf'id="nav-badge-{endpoint.replace(".", "-")}">(\d+)<', page)
    return int(found.group(1)) if found else 0


def _form(data: dict) -> dict:
    return {k: ("" if v is None else str(v)) for k, v in data.items()}


def _claim(db, claim_id: int) -> SubsidyClaim:
    db.session.expire_all()
    return db.session.get(SubsidyClaim, claim_id)


def _other_insurer_user() -> str:
    """A user of another demo insurer, which may claim in the demo county too."""
    from agri_insurance.extensions import db
    from agri_insurance.reference.models import Insurer

    own = user("insurer").insurer
    insurer = db.session.scalar(sa.select(Insurer).where(Insurer.id != own.id).order_by(Insurer.id))
    assign(insurer=insurer)
    make_user("other_insurer", Role.INSURER, insurer=insurer)
    return "other_insurer"


def test_county_bureau_sees_its_claims_to_verify_until_it_verifies_them(world, login, db):
    own = make_claim("submitted")
    make_claim("submitted", county_code="361130")        # another county's: never on this list
    make_claim("draft", period="2026年第二季度")            # a draft is no bureau's business yet
    client = login("county_agri")
    page = read_text(client.get("/"))
    line = todo(page, "todo-claims-to-verify")
    assert "1 份补贴申请待核验" in line and 'href="/subsidies/claims?status=submitted"' in line
    assert badge(page, "subsidies.claims") == 1
    listed = read_text(client.get("/subsidies/claims?status=submitted"))
    assert f"#{own.id}" in listed   # the link leads to what the line counts
    client.get("/lang/en")
    page = read_text(client.get("/"))
    assert "Subsidy claims awaiting verification: 1" in todo(page, "todo-claims-to-verify") and "To do" in page
    client.get("/lang/zh_CN")

    other = make_user("wuyuan_agri", Role.COUNTY_AGRI, region=county("361130"))
    assert other.region_id != own.region_id
    assert "1 份补贴申请待核验" in todo(read_text(login("wuyuan_agri").get("/")), "todo-claims-to-verify")

    response = client.post(f"/subsidies/claims/{own.id}/verify", data={"flags_reviewed": "y",
                                                                       "confirm_over_budget": "y",
                                                                       "opinion": "同意拨付"})
    assert response.status_code == 302 and _claim(db, own.id).status is ClaimStatus.VERIFIED
    page = read_text(client.get("/"))
    assert not todo(page, "todo-claims-to-verify") and 'id="todo-empty"' in page
    assert badge(page, "subsidies.claims") == 0 and "nav-badge" not in page


def test_county_finance_pays_its_share_due_then_overdue(world, login, db):
    with time_machine.travel(VERIFIED, tick=False):
        own = make_claim("verified")
        make_claim("verified", county_code="361130")       # another county's share: not this bureau's
    county_share = own.share(ShareLevel.COUNTY)
    with time_machine.travel(BEFORE_DUE, tick=False):
        client = login("county_finance")
        page = read_text(client.get("/"))
        line = todo(page, f"todo-payment-{own.id}")
        assert f'href="/subsidies/claims/{own.id}"' in line
        assert f"县级财政 {county_share.outstanding:,.2f} 元" in line and "拨付期限 2026-02-04" in line
        assert "市级财政" not in line                       # the city's share is the city's to pay
        assert badge(page, "subsidies.claims") == 1 and badge(page, "subsidies.overdue") == 0
        assert 'id="todo-payments-overdue"' not in page
    with time_machine.travel(AFTER_DUE, tick=False):
        page = read_text(client.get("/"))
        assert not todo(page, f"todo-payment-{own.id}")
        line = todo(page, "todo-payments-overdue")
        assert "1 份申请的本级补贴已逾期未付，最长已逾期 6 天" in line and 'href="/subsidies/overdue"' in line
        assert "link-danger" in line
        assert badge(page, "subsidies.overdue") == 1 and badge(page, "subsidies.claims") == 0
        response = client.post(f"/subsidies/claims/{own.id}/payments", data={
            "level": "county", "amount": str(county_share.outstanding), "paid_on": "2026-02-10",
            "voucher_no": "PZ-2026-001"})
        assert response.status_code == 302, read_text(response)
        page = read_text(client.get("/"))
        assert 'id="todo-empty"' in page and badge(page, "subsidies.overdue") == 0


def test_city_finance_sees_its_three_levels_on_every_county_and_the_rest_in_one_line(world, login, db):
    with time_machine.travel(VERIFIED, tick=False):
        claims = [make_claim("verified", county_code=code, period=period)
                  for code in ("361128", "361130") for period in ("2026年第一季度", "2026年第二季度", "2026年第三季度")]
    with time_machine.travel(BEFORE_DUE, tick=False):
        page = read_text(login("city_finance").get("/"))
    shown = [c for c in claims if todo(page, f"todo-payment-{c.id}")]
    assert len(shown) == 5                                          # the five soonest due, one by one
    line = todo(page, f"todo-payment-{shown[0].id}")
    assert "市级财政" in line and "省级财政" in line and "中央财政" in line and "县级财政" not in line
    assert "另有 1 份申请的本级补贴待拨付" in todo(page, "todo-payments-more")
    assert badge(page, "subsidies.claims") == 6


def test_city_bureau_sees_the_whole_citys_overdue_shares(world, login, db):
    with time_machine.travel(VERIFIED, tick=False):
        make_claim("verified")
        make_claim("verified", county_code="361130")
    with time_machine.travel(BEFORE_DUE, tick=False):
        assert not todo(read_text(login("city_agri").get("/")), "todo-overdue")
    with time_machine.travel(AFTER_DUE, tick=False):
        client = login("city_agri")
        page = read_text(client.get("/"))
        line = todo(page, "todo-overdue")
        assert "全市逾期未付补贴 8 项，最长已逾期 6 天" in line and 'href="/subsidies/overdue"' in line
        assert badge(page, "subsidies.overdue") == 8
        assert read_text(client.get("/subsidies/overdue")).count('class="table-danger"') == 8  # as the page lists
        assert 'id="todo-overdue"' not in read_text(login("county_agri").get("/"))           # not the county's list


def test_insurer_finishes_its_drafts_and_files_again_what_was_returned(world, login, db):
    draft = make_claim("draft")
    returned = make_claim("submitted", period="2026年第二季度")
    other = make_claim("draft", insurer_username=_other_insurer_user(), period="2026年第三季度")
    client = login("insurer")
    page = read_text(client.get("/"))
    line = todo(page, "todo-claim-drafts")
    assert "1 份补贴申请草稿尚未提交" in line and 'href="/subsidies/claims?status=draft"' in line
    assert f"#{other.id}" not in page                                     # another insurer's draft
    assert badge(page, "subsidies.claims") == 1

    # the county bureau returns a claim: the insurer is told why, on a line leading to the claim
    response = login("county_agri").post(f"/subsidies/claims/{returned.id}/return",
                                         data={"reason": "承保数量与清单不符"})
    assert response.status_code == 302 and _claim(db, returned.id).status is ClaimStatus.RETURNED
    page = read_text(client.get("/"))
    line = todo(page, f"todo-claim-returned-{returned.id}")
    assert "已被退回（承保数量与清单不符），请修改后重新申报" in line
    assert f'href="/subsidies/claims/{returned.id}"' in line and badge(page, "subsidies.claims") == 2

    # the draft is submitted (with its list) and the returned claim filed again: both lines go, the new draft comes
    attach_matching_list(_claim(db, draft.id), user("insurer"))
    db.session.commit()
    assert client.post(f"/subsidies/claims/{draft.id}/submit").status_code == 302
    assert _claim(db, draft.id).status is ClaimStatus.SUBMITTED
    response = client.post("/subsidies/claims/new", data=_form(claim_data(period="2026年第二季度")))
    assert response.status_code == 302, read_text(response)
    page = read_text(client.get("/"))
    assert not todo(page, f"todo-claim-returned-{returned.id}")
    assert "1 份补贴申请草稿尚未提交" in todo(page, "todo-claim-drafts")   # the new one, to submit in turn
    assert badge(page, "subsidies.claims") == 1


def test_the_sql_due_date_rule_agrees_with_the_claims_due_date_around_midnight(world, db):
    """`payments_waiting` (SQL, both databases) counts a claim overdue when `claim.due_date < today`, on the last
    due day, just before and just after local midnight, and for a verification late in the local evening (the next
    UTC day)."""
    from agri_insurance import clock
    from agri_insurance.subsidies import service
    from agri_insurance.subsidies.models import GOVERNMENT_LEVELS

    late_evening = datetime(2026, 1, 5, 15, 59, 59, 900000, tzinfo=UTC)   # 23:59:59.9 in Shangrao
    just_after = datetime(2026, 1, 5, 16, 0, 0, tzinfo=UTC)               # 00:00 on 6 January
    made = []
    for moment, period in ((late_evening, "2026年第一季度"), (just_after, "2026年第二季度")):
        with time_machine.travel(moment, tick=False):
            made.append(make_claim("verified", period=period))
    for claim in made:
        due = _claim(db, claim.id).due_date
        for today in (due - timedelta(days=1), due, due + timedelta(days=1)):
            waiting = service.payments_waiting(SubsidyClaim.id == claim.id, GOVERNMENT_LEVELS, limit=0, today=today)
            assert (waiting.overdue_claims, waiting.due_claims) == ((1, 0) if due < today else (0, 1)), (due, today)
            assert waiting.days_overdue(today) == max(0, (today - due).days)
    assert [clock.local_date(_claim(db, c.id).verified_at).day for c in made] == [5, 6]
