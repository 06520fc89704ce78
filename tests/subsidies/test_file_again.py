"""A returned claim filed again: its insurer's to-do line leads to the returned claim, whose page offers to file it
again (typed, or from the corrected list) with the returned claim's values filled in; the new claim names the one it
corrects, so the line goes even when the correction changes the period, and comes back if the new draft is deleted."""

import re
from pathlib import Path

import lxml.html
import pytest
import sqlalchemy as sa

from agri_insurance.audit.models import AuditEntry
from agri_insurance.auth.models import Role
from agri_insurance.errors import DomainError
from agri_insurance.jobs import service as jobs
from agri_insurance.reference.models import Insurer
from agri_insurance.subsidies import service
from agri_insurance.subsidies.models import ClaimStatus, SubsidyClaim
from tests.factories import make_user, read_text
from tests.subsidies.factories import assign, claim_data, make_claim, user
from tests.underwriting.factories import rows, totals, write_csv

REASON = "申请期间应为2026年全年"


@pytest.fixture
def returned(demo, db):
    assign()
    db.session.commit()
    claim = make_claim("submitted")
    service.return_claim(claim, REASON, user("county_agri"))
    db.session.commit()
    return claim


def _claim(db, claim_id: int) -> SubsidyClaim:
    db.session.expire_all()
    return db.session.get(SubsidyClaim, claim_id)


def _form(data: dict) -> dict:
    return {k: ("" if v is None else str(v)) for k, v in data.items()}


def _todo_ids(page: str) -> list[str]:
    return re.findall(r'<li class="py-1" id="([^"]+)"', page)


def test_only_its_insurer_may_file_a_returned_claim_again_and_only_once(returned, login, db):
    assert service.available_actions(returned, user("insurer")).names()[:2] == ["file-again", "file-again-from-list"]
    assert "file-again" not in service.available_actions(returned, user("county_agri")).names()
    assert "file-again" not in service.available_actions(make_claim("submitted", period="2026年第二季度"),
                                                         user("insurer")).names()   # a claim not returned
    page = lxml.html.fromstring(read_text(login("insurer").get(f"/subsidies/claims/{returned.id}")))
    assert page.get_element_by_id("file-again").get("href") == f"/subsidies/claims/new?from_claim={returned.id}"
    assert page.get_element_by_id("file-again-from-list").get("href") == \
        f"/underwriting/claims/new-from-list?from_claim={returned.id}"

    corrected = service.save_claim(None, claim_data(period="2026年全年"), returned.insurer, user("insurer"),
                                   corrects=returned)
    db.session.commit()
    assert service.filed_again_as(_claim(db, returned.id)).id == corrected.id
    assert service.available_actions(_claim(db, returned.id), user("insurer")).names() == [
        "open-list", "verification-sheet"]
    with pytest.raises(DomainError, match="不是本机构待重新申报的退回申请"):
        service.save_claim(None, claim_data(period="2026年第三季度"), returned.insurer, user("insurer"),
                           corrects=_claim(db, returned.id))


def test_the_typed_form_comes_filled_from_the_returned_claim(returned, login, db):
    client = login("insurer")
    page = read_text(client.get(f"/subsidies/claims/new?from_claim={returned.id}"))
    form = lxml.html.fromstring(page)
    assert f"重新申报被退回的补贴申请 #{returned.id}" in form.get_element_by_id("filing-again").text_content()
    assert REASON in form.get_element_by_id("filing-again").text_content()
    assert form.get_element_by_id("period").get("value") == returned.period
    assert form.get_element_by_id("total_premium").get("value") == f"{returned.total_premium}"
    assert form.get_element_by_id("file-again-from-list").get("href").endswith(f"?from_claim={returned.id}")
    # another insurer's claim is none of this one's business; a claim not returned fills nothing
    other = db.session.scalar(sa.select(Insurer).where(Insurer.id != returned.insurer_id).limit(1))
    make_user("xinjiang_clerk", Role.INSURER, insurer=other)
    assert login("xinjiang_clerk").get(f"/subsidies/claims/new?from_claim={returned.id}").status_code == 404
    submitted = make_claim("submitted", period="2026年第二季度")
    assert 'id="filing-again"' not in read_text(client.get(f"/subsidies/claims/new?from_claim={submitted.id}"))


def test_a_correction_under_another_period_clears_the_to_do_line_and_links_both_claims(returned, login, db):
    client = login("insurer")
    assert f"todo-claim-returned-{returned.id}" in _todo_ids(read_text(client.get("/")))
    response = client.post(f"/subsidies/claims/new?from_claim={returned.id}",
                           data=_form(claim_data(period="2026年全年")))
    assert response.status_code == 302, read_text(response)
    corrected = db.session.scalar(sa.select(SubsidyClaim).where(SubsidyClaim.period == "2026年全年"))
    assert corrected.corrects_id == returned.id
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "claim.created",
                                                          AuditEntry.object_id == str(corrected.id)))
    assert entry.details["corrects"] == returned.id
    assert f"todo-claim-returned-{returned.id}" not in _todo_ids(read_text(client.get("/")))

    old_page = lxml.html.fromstring(read_text(client.get(f"/subsidies/claims/{returned.id}")))
    assert f"#{corrected.id}" in old_page.get_element_by_id("filed-again-as").text_content()
    new_page = lxml.html.fromstring(read_text(client.get(f"/subsidies/claims/{corrected.id}")))
    assert REASON in new_page.get_element_by_id(f"returned-before-{returned.id}").text_content()

    # the correction's draft deleted: the returned claim waits for its insurer again
    assert client.post(f"/subsidies/claims/{corrected.id}/delete").status_code == 302
    assert f"todo-claim-returned-{returned.id}" in _todo_ids(read_text(client.get("/")))


def test_a_claim_typed_afresh_for_the_same_period_still_follows_the_returned_one(returned, login, db):
    client = login("insurer")
    response = client.post("/subsidies/claims/new", data=_form(claim_data()))
    assert response.status_code == 302, read_text(response)
    assert service.filed_again_as(_claim(db, returned.id)) is not None
    assert f"todo-claim-returned-{returned.id}" not in _todo_ids(read_text(client.get("/")))


def test_filed_again_from_the_corrected_list(returned, login, db, tmp_path: Path):
    client = login("insurer")
    page = lxml.html.fromstring(read_text(client.get(f"/underwriting/claims/new-from-list?from_claim={returned.id}")))
    assert REASON in page.get_element_by_id("filing-again").text_content()
    assert page.get_element_by_id("period").get("value") == returned.period
    assert page.xpath('//select[@name="year"]/option[@selected]')[0].get("value") == "2026"

    data = rows(20, premium="33.35", farmer="6.67")
    path = write_csv(tmp_path / "承保清单.csv", data)
    with path.open("rb") as fh:
        response = client.post(f"/underwriting/claims/new-from-list?from_claim={returned.id}", data={
            "region_id": str(returned.region_id), "product_id": str(returned.product_id), "year": "2026",
            "period": "2026年全年", "premium_rate": "5", "file": (fh, "承保清单.csv")},
            content_type="multipart/form-data")
    assert response.status_code == 302, read_text(response)
    job = jobs.wait(int(response.location.rsplit("/", 1)[1]), timeout=30)
    assert job.status.value == "done", job.error
    corrected = db.session.scalar(sa.select(SubsidyClaim).where(SubsidyClaim.status == ClaimStatus.DRAFT))
    assert corrected.corrects_id == returned.id and corrected.total_premium == totals(data)["premium"]
    assert service.filed_again_as(_claim(db, returned.id)).id == corrected.id
