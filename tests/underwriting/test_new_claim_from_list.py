"""A claim from its underwriting list: the insurer chooses county, product, year, period and rate and uploads the
list; the same import job checks it and, if it is clean, creates the draft with the list's totals, in one
transaction (the claim and its list, or neither)."""

import io
import tempfile
from decimal import Decimal as D
from pathlib import Path

import lxml.html
import sqlalchemy as sa
from openpyxl import load_workbook

from agri_insurance.audit.models import AuditEntry
from agri_insurance.jobs import service as jobs
from agri_insurance.jobs.models import Job
from agri_insurance.subsidies.models import ClaimStatus, ShareLevel, SubsidyClaim
from agri_insurance.underwriting.models import UnderwritingList, UnderwritingRow
from tests.factories import county, read_text
from tests.subsidies.factories import product
from tests.underwriting.factories import rows, totals, write_csv, write_xlsx

URL = "/underwriting/claims/new-from-list"


def choices(period="2026年全年", rate="5", **overrides) -> dict:
    data = {"region_id": county().id, "product_id": product("rice").id, "year": 2026, "period": period,
            "premium_rate": rate}
    data.update(overrides)
    return {k: str(v) for k, v in data.items()}


def post_list(client, data: list[list], name="承保清单.csv", **overrides):
    """Post the form with the list; returns the response (a redirect to the job when it was accepted)."""
    with tempfile.TemporaryDirectory() as folder:
        writer = write_xlsx if name.endswith(".xlsx") else write_csv
        path = writer(Path(folder) / name, data)
        with path.open("rb") as fh:
            return client.post(URL, data={**choices(**overrides), "file": (fh, name)},
                               content_type="multipart/form-data")


def run(client, data, **overrides) -> Job:
    response = post_list(client, data, **overrides)
    assert response.status_code == 302, read_text(response)
    return jobs.wait(int(response.location.rsplit("/", 1)[1]), timeout=30)


def count(db, model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_the_claims_list_and_the_new_claim_form_lead_to_it(world, login):
    client = login("insurer")
    page = lxml.html.fromstring(read_text(client.get("/subsidies/claims")))
    assert page.get_element_by_id("new-claim-from-list").get("href") == URL
    assert 'id="new-claim-from-list"' in read_text(client.get("/subsidies/claims/new"))
    assert 'id="new-claim-from-list"' not in read_text(login("county_agri").get("/subsidies/claims"))
    form = lxml.html.fromstring(read_text(client.get(URL)))
    assert [o.text_content() for o in form.xpath('//select[@name="region_id"]/option') if o.get("value")] == ["鄱阳县"]


def test_a_clean_list_becomes_a_draft_with_its_totals_and_shares(world, login, db):
    data = rows(37, premium="33.35", farmer="6.67")   # per row 667.00 insured at 5 %; the farmer pays 20 %
    expected = totals(data)
    client = login("insurer")
    job = run(client, data)
    assert job.status.value == "done", job.error

    claim = db.session.scalar(sa.select(SubsidyClaim))
    assert claim.status is ClaimStatus.DRAFT and claim.period == "2026年全年" and claim.unit == "亩"
    assert (claim.quantity, claim.sum_insured, claim.total_premium, claim.farmer_premium) == (
        expected["quantity"], expected["sum_insured"], expected["premium"], expected["farmer"])
    assert (claim.households, claim.list_rows) == (37, 37)
    assert claim.total_premium == D("1233.95") and claim.premium_rate == D("5")
    # the shares as for any claim: the farmers' is what they paid, the levels share the rest to the fen
    assert claim.share(ShareLevel.FARMER).amount == D("246.79")
    assert claim.share(ShareLevel.CENTRAL).amount == D("555.27")      # 555.2775 → 555.28, less the fen over
    assert sum(s.amount for s in claim.shares) == claim.total_premium
    lst = db.session.scalar(sa.select(UnderwritingList))
    assert lst.claim_id == claim.id and count(db, UnderwritingRow) == 37
    # the job is about the claim now: it leads there, and the claim's list page shows it as its last import
    assert job.subject_id == claim.id and job.result["redirect"] == f"/subsidies/claims/{claim.id}"
    entries = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.object_type == "SubsidyClaim",
                                                             AuditEntry.object_id == str(claim.id))
                                 .order_by(AuditEntry.id)).all()
    assert [e.action for e in entries] == ["claim.created", "underwriting_list.imported"]
    assert entries[0].details["from_list"] is True and entries[1].details["reconciled"] is True

    page = read_text(client.get(f"/subsidies/claims/{claim.id}"))
    assert "与申请一致" in page and "按承保清单新建补贴申请" in page
    assert client.post(f"/subsidies/claims/{claim.id}/submit").status_code == 302
    db.session.expire_all()
    assert db.session.get(SubsidyClaim, claim.id).status is ClaimStatus.SUBMITTED


def test_a_list_with_errors_creates_nothing_and_reports_them_as_any_upload(world, login, db):
    data = rows(30)
    data[4][1] = ""                                  # the fifth farmer's ID number is missing
    client = login("insurer")
    job = run(client, data, name="承保清单.xlsx")
    assert job.status.value == "failed" and "第6行" in job.error
    assert count(db, SubsidyClaim) == 0 and count(db, UnderwritingList) == 0 and count(db, UnderwritingRow) == 0
    page = lxml.html.fromstring(read_text(client.get(URL)))          # the form again, with the errors
    errors = page.get_element_by_id("import-errors")
    assert "证件号码" in errors.text_content()
    report = client.get(errors.xpath(".//a")[0].get("href"))
    ws = load_workbook(io.BytesIO(report.data)).active
    assert [c.value for c in ws[3]][:2] == [6, "证件号码"]


def test_list_totals_that_break_a_claims_rules_create_nothing(world, login, db):
    client = login("insurer")
    job = run(client, rows(10, farmer="0.00"))                  # farmers paid nothing: the scheme says 20 %
    assert job.status.value == "failed"
    assert "按清单合计新建申请未成功" in job.error and "农户自缴保费应为 100.00 元" in job.error
    # a report left on disk under the next job's number (ids counted again after a reset) is not this job's
    from agri_insurance.underwriting.exports import write_error_report
    from agri_insurance.underwriting.jobs import report_path
    from agri_insurance.underwriting.parsing import Findings

    stale = Findings()
    stale.add(9, "村", "旧报告")
    write_error_report(stale, report_path(db.session.scalar(sa.select(sa.func.max(Job.id))) + 1))
    job = run(client, rows(10), rate="6")                       # 500.00 is not 6 % of 10,000.00
    assert job.status.value == "failed" and "保险金额×费率" in job.error
    # neither the claim, nor its list, nor a trace of either in the audit log
    assert count(db, SubsidyClaim) == 0 and count(db, UnderwritingList) == 0 and count(db, UnderwritingRow) == 0
    assert db.session.scalar(sa.select(sa.func.count(AuditEntry.id)).where(
        AuditEntry.object_type == "SubsidyClaim")) == 0
    page = read_text(client.get(URL))
    assert "按清单合计新建申请未成功" in page and "保险金额×费率" in page and "旧报告" not in page
    assert run(client, rows(10)).status.value == "done"
    assert "未成功" not in read_text(client.get(URL))       # the last attempt succeeded: no old failure shown


def test_choices_the_insurer_may_not_make_are_refused_before_the_list_is_read(world, login, db):
    client = login("insurer")
    response = post_list(client, rows(5), region_id=county("361127").id)      # 余干县: no assignment
    assert response.status_code == 400 and "贵机构在所选县（市、区）没有承保安排" in read_text(response)
    response = post_list(client, rows(5), year=2030)
    assert response.status_code == 400 and "不承保此险种" in read_text(response)
    assert run(client, rows(5)).status.value == "done"
    response = post_list(client, rows(5))                                    # the same period again
    assert response.status_code == 400 and "已有补贴申请" in read_text(response)
    assert count(db, Job) == 1 and count(db, SubsidyClaim) == 1
