import io
import tempfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from agri_insurance.audit.models import PersonalDataView
from agri_insurance.auth.models import Role
from agri_insurance.jobs import service as jobs
from agri_insurance.underwriting.models import UnderwritingList, UnderwritingRow
from tests.factories import county, make_user, read_text
from tests.underwriting.conftest import claim_for
from tests.underwriting.factories import write_csv


def upload(client, claim_id, data, name="清单.csv"):
    with tempfile.TemporaryDirectory() as folder:
        path = write_csv(Path(folder) / "f.csv", data)
        with path.open("rb") as fh:
            response = client.post(f"/underwriting/claims/{claim_id}/upload", data={"file": (fh, name)},
                                   content_type="multipart/form-data")
    assert response.status_code == 302
    return jobs.wait(int(response.location.rsplit("/", 1)[1]), timeout=30)


def test_ids_are_masked_for_other_roles_and_in_exports(world, login, db, small_list):
    claim = claim_for(small_list)
    job = upload(login("insurer"), claim.id, small_list)
    assert job.status.value == "done"
    # a draft is the insurer's own: nobody else sees it (nor its list) until it is submitted
    assert login("county_agri").get(f"/underwriting/claims/{claim.id}").status_code == 404
    assert login("insurer").post(f"/subsidies/claims/{claim.id}/submit").status_code == 302
    full = small_list[0][1]
    masked = full[:6] + "********" + full[-4:]
    assert full in read_text(login("insurer").get(f"/underwriting/claims/{claim.id}"))       # the collector
    assert full in read_text(login("county_agri").get(f"/underwriting/claims/{claim.id}"))   # the verifier
    for role in ("county_finance", "city_finance", "city_agri", "admin"):
        page = read_text(login(role).get(f"/underwriting/claims/{claim.id}"))
        assert masked in page and full not in page, role
    # each view in full left its row (who, which list, how many people, why); the masked views none
    views = db.session.scalars(sa.select(PersonalDataView).order_by(PersonalDataView.id)).all()
    assert [(v.username, v.what, v.object_type, v.rows) for v in views] == [
        ("insurer", "underwriting.list_detail", "UnderwritingList", 40),
        ("county_agri", "underwriting.list_detail", "UnderwritingList", 40)]
    assert views[1].role == "county_agri" and "核验本县" in views[1].reason
    page = read_text(login("audit_admin").get("/audit/personal-data-views"))
    assert "county_agri" in page and "核验本县的清单" in page and "承保清单" in page
    for role in ("insurer", "county_agri"):
        ws = load_workbook(io.BytesIO(login(role).get(f"/underwriting/claims/{claim.id}/list.xlsx").data)).active
        ids = [row[2] for row in ws.iter_rows(min_row=3, values_only=True)]
        assert ids[0] == masked and full not in ids


def test_the_list_export_ends_with_its_totals_as_numbers(world, login, db, small_list):
    from decimal import Decimal

    from tests.underwriting.factories import totals

    claim = claim_for(small_list)
    client = login("insurer")
    upload(client, claim.id, small_list)
    ws = load_workbook(io.BytesIO(client.get(f"/underwriting/claims/{claim.id}/list.xlsx").data)).active
    table = list(ws.iter_rows(min_row=3))
    assert len(table) == len(small_list) + 1
    last = table[-1]
    expected = totals(small_list)
    assert last[0].value == "合计" and last[1].value == f"{expected['households']} 户" and last[0].font.bold
    assert [Decimal(str(c.value)) for c in last[5:9]] == \
        [expected[k] for k in ("quantity", "sum_insured", "premium", "farmer")]
    assert all(c.number_format == "#,##0.00" for c in last[6:9])
    # the rows above add up to it
    assert sum(Decimal(str(row[7].value)) for row in table[:-1]) == expected["premium"]


def test_a_large_list_is_exported_by_a_background_job_masked_with_its_totals(world, login, db, small_list, app,
                                                                            monkeypatch):
    claim = claim_for(small_list)
    upload(login("insurer"), claim.id, small_list)
    monkeypatch.setitem(app.config, "DIRECT_EXPORT_ROWS", 10)  # "large": more rows than written in the request
    county_user = login("county_finance")
    assert login("insurer").post(f"/subsidies/claims/{claim.id}/submit").status_code == 302
    page = read_text(county_user.get(f"/underwriting/claims/{claim.id}"))
    assert 'id="export-job"' in page and "后台导出（40 行" in page
    response = county_user.get(f"/underwriting/claims/{claim.id}/list.xlsx", follow_redirects=True)
    assert "请用“后台导出”" in read_text(response)
    response = county_user.post(f"/underwriting/claims/{claim.id}/export")
    job = jobs.wait(int(response.location.rsplit("/", 1)[1]), timeout=30)
    assert job.status.value == "done" and "已导出 40 行" in job.result["summary"]
    job_page = read_text(county_user.get(f"/jobs/{job.id}"))
    assert f"/underwriting/exports/{job.id}.xlsx" in job_page
    download = county_user.get(f"/underwriting/exports/{job.id}.xlsx")
    assert download.status_code == 200 and "attachment" in download.headers["Content-Disposition"]
    ws = load_workbook(io.BytesIO(download.data)).active
    table = list(ws.iter_rows(min_row=3, values_only=True))
    full = small_list[0][1]
    assert len(table) == 41 and table[0][2] == full[:6] + "********" + full[-4:] and table[-1][0] == "合计"
    # another county user cannot fetch this one's file
    other = make_user("other_finance", Role.COUNTY_FINANCE, region=county("361130"))
    assert other is not None and login("other_finance").get(f"/underwriting/exports/{job.id}.xlsx").status_code == 404


def test_a_drafts_export_is_the_insurers_until_the_claim_is_submitted(world, login, db, small_list, app,
                                                                     monkeypatch):
    claim = claim_for(small_list)
    insurer = login("insurer")
    upload(insurer, claim.id, small_list)
    monkeypatch.setitem(app.config, "DIRECT_EXPORT_ROWS", 10)
    job = jobs.wait(int(insurer.post(f"/underwriting/claims/{claim.id}/export").location.rsplit("/", 1)[1]), 30)
    assert insurer.get(f"/underwriting/exports/{job.id}.xlsx").status_code == 200
    # city_agri sees every job, but not a draft's list; the administrator sees drafts (support)
    assert login("city_agri").get(f"/underwriting/exports/{job.id}.xlsx").status_code == 404
    assert login("admin").get(f"/underwriting/exports/{job.id}.xlsx").status_code == 200


def test_a_failed_import_job_stores_nothing_and_reports_every_error(world, login, db, small_list):
    claim = claim_for(small_list)
    bad = [list(r) for r in small_list]
    bad[5][5] = "十亩"
    bad[-1][1] = "123"
    client = login("insurer")
    job = upload(client, claim.id, bad)
    assert job.status.value == "failed" and "2 处错误" in job.error
    assert db.session.scalar(sa.select(sa.func.count(UnderwritingRow.row_no))) == 0
    assert db.session.scalar(sa.select(sa.func.count(UnderwritingList.id))) == 0
    page = read_text(client.get(f"/underwriting/claims/{claim.id}"))
    assert "最近一次上传有 2 处错误" in page and "十亩" in page
    # the failed job's page leads back to the list page (it was a dead end)
    assert f'id="job-page" href="/underwriting/claims/{claim.id}"' in read_text(client.get(f"/jobs/{job.id}"))
    report = client.get(f"/underwriting/jobs/{job.id}/errors.xlsx")
    ws = load_workbook(io.BytesIO(report.data)).active
    rows = list(ws.iter_rows(min_row=3, values_only=True))
    assert [(r[0], r[1]) for r in rows] == [(7, "承保数量"), (41, "证件号码")]
    # Another insurer cannot fetch the report.
    from tests.factories import make_insurer

    other = make_user("other_ins", Role.INSURER, insurer=make_insurer())
    assert other is not None
    assert login("other_ins").get(f"/underwriting/jobs/{job.id}/errors.xlsx").status_code == 404


def test_reconciliation_failure_blocks_submission(world, login, db, small_list):
    claim = claim_for(small_list)
    client = login("insurer")
    upload(client, claim.id, small_list[:-1])           # one household short
    page = read_text(client.get(f"/underwriting/claims/{claim.id}"))
    assert "清单与申请不一致" in page and "承保户数：清单 39 户，申请填报 40 户" in page
    page = read_text(client.post(f"/subsidies/claims/{claim.id}/submit", follow_redirects=True))
    assert "承保清单与申请不一致" in page
    db.session.expire_all()
    assert claim.status.value == "draft"


def test_a_damaged_file_is_refused_in_words_a_user_understands(world, login, db, small_list):
    claim = claim_for(small_list)
    client = login("insurer")
    response = client.post(f"/underwriting/claims/{claim.id}/upload",
                           data={"file": (io.BytesIO(b"PK\x03\x04 not really a zip"), "清单.xlsx")},
                           content_type="multipart/form-data")
    job = jobs.wait(int(response.location.rsplit("/", 1)[1]), timeout=30)
    assert job.status.value == "failed"
    assert "文件已损坏，或不是 xlsx/csv 文件" in job.error and "Error" not in job.error


def test_an_id_number_quoted_in_an_error_message_is_masked(world, login, db, small_list):
    """Columns shifted: the ID number lands in the unit column and the error quotes it."""
    claim = claim_for(small_list)
    bad = [list(r) for r in small_list]
    full = bad[3][1]
    bad[3][6] = full                                   # the unit column
    job = upload(login("insurer"), claim.id, bad)
    assert job.status.value == "failed"
    page = read_text(login("insurer").get(f"/underwriting/claims/{claim.id}"))
    assert full[:6] + "********" + full[-4:] in page and full not in page
    ws = load_workbook(io.BytesIO(login("insurer").get(f"/underwriting/jobs/{job.id}/errors.xlsx").data)).active
    assert all(full not in str(c) for row in ws.iter_rows(values_only=True) for c in row)
    # the claim goes in with an earlier good list: the bureaus do not get the failed upload's findings
    upload(login("insurer"), claim.id, small_list)
    upload(login("insurer"), claim.id, bad)
    assert login("insurer").post(f"/subsidies/claims/{claim.id}/submit").status_code == 302
    assert "最近一次上传有" not in read_text(login("county_finance").get(f"/underwriting/claims/{claim.id}"))


def test_verifier_must_confirm_flagged_rows(world, login, db, small_list):
    data = [list(r) for r in small_list]
    data[1][1] = data[0][1]
    claim = claim_for(data)
    client = login("insurer")
    upload(client, claim.id, data)
    client.post(f"/subsidies/claims/{claim.id}/submit")
    verifier = login("county_agri")
    page = read_text(verifier.post(f"/subsidies/claims/{claim.id}/verify", data={"opinion": "同意"},
                                   follow_redirects=True))
    assert "请查看后勾选“已核查标记的行”再核验" in page
    db.session.expire_all()
    assert claim.status.value == "submitted"
    verifier.post(f"/subsidies/claims/{claim.id}/verify", data={"opinion": "同意", "flags_reviewed": "y"})
    db.session.expire_all()
    assert claim.status.value == "verified"


def test_template_has_the_exact_headers_and_text_id_column(world, login):
    from agri_insurance.underwriting.parsing import COLUMNS

    ws = load_workbook(io.BytesIO(login("insurer").get("/underwriting/template.xlsx").data)).active
    assert [c.value for c in ws[1]] == [header for _key, header in COLUMNS]
    assert ws["B2"].number_format == "@"
    assert county() is not None


def test_control_characters_are_reported_by_row_and_a_list_holding_them_still_exports(world, login, db, small_list):
    claim = claim_for(small_list)
    bad = [list(r) for r in small_list]
    bad[2][0] = "王\x0b小明"
    bad[4][5] = "1\x0b0"                          # quoted in its error message
    client = login("insurer")
    job = upload(client, claim.id, bad)
    assert job.status.value == "failed" and "2 处错误" in job.error   # not "系统错误": the report was written
    ws = load_workbook(io.BytesIO(client.get(f"/underwriting/jobs/{job.id}/errors.xlsx").data)).active
    assert [(r[0], r[1]) for r in ws.iter_rows(min_row=3, values_only=True)] == [(4, "姓名/名称"), (6, "承保数量")]

    # A list stored before the import refused them still exports (it was a 500).
    upload(client, claim.id, small_list)
    db.session.execute(sa.update(UnderwritingRow).where(UnderwritingRow.row_no == 2).values(name="李\x0b四"))
    db.session.commit()
    response = client.get(f"/underwriting/claims/{claim.id}/list.xlsx")
    assert response.status_code == 200
    ws = load_workbook(io.BytesIO(response.data)).active
    assert ws.cell(row=3, column=2).value == "李\ufffd四"


def test_no_second_upload_while_an_import_is_running(world, login, db, small_list):
    from agri_insurance.jobs.models import Job, JobStatus
    from agri_insurance.underwriting.jobs import IMPORT_KIND

    claim = claim_for(small_list)
    db.session.add(Job(kind=IMPORT_KIND, status=JobStatus.RUNNING, progress=10, message="", params={},
                       subject_id=claim.id))
    db.session.commit()
    with tempfile.TemporaryDirectory() as folder:
        path = write_csv(Path(folder) / "f.csv", small_list)
        with path.open("rb") as fh:
            page = read_text(login("insurer").post(f"/underwriting/claims/{claim.id}/upload",
                                                   data={"file": (fh, "清单.csv")}, content_type="multipart/form-data",
                                                   follow_redirects=True))
    assert "承保清单正在导入" in page
    assert db.session.scalar(sa.select(sa.func.count(Job.id))) == 1


def test_a_failed_import_shows_its_errors_and_report_on_the_job_page_where_the_insurer_lands(
        world, login, db, small_list):
    from flask_babel import format_datetime

    claim = claim_for(small_list)
    bad = [list(r) for r in small_list]
    bad[5][5] = "十亩"
    full = bad[3][1]
    bad[3][6] = full                                   # the unit column: its error quotes the ID number
    client = login("insurer")
    job = upload(client, claim.id, bad)
    assert job.status.value == "failed"
    page = read_text(client.get(f"/jobs/{job.id}"))
    # the end time of a finished job
    end = format_datetime(job.finished_at, "yyyy-MM-dd HH:mm:ss")
    assert f'data-job-field="finished_at">{end}</dd>' in page
    # the error table (row, column, message; the ID number masked) and the full report
    table = page.split('id="import-errors"', 1)[1].split("</div>", 1)[0]
    assert "最近一次上传有 2 处错误" in table and "<td>7</td><td>承保数量</td>" in table and "十亩" in table
    assert full[:6] + "********" + full[-4:] in table and full not in page
    assert f'href="/underwriting/jobs/{job.id}/errors.xlsx"' in table
    assert client.get(f"/underwriting/jobs/{job.id}/errors.xlsx").status_code == 200
    # a page that watched the job run gets the same once it is finished
    data = client.get(f"/jobs/{job.id}.json").get_json()
    assert data["finished_at"] == end and 'id="import-errors"' in data["detail_html"] and "十亩" in data["detail_html"]
    # the findings quote the insurer's cells: the bureau that supervises every job does not get them
    supervisor = read_text(login("city_agri").get(f"/jobs/{job.id}"))
    assert "作业失败" in supervisor and "import-errors" not in supervisor and "十亩" not in supervisor.split(
        'id="job-detail"', 1)[1]
    assert login("city_agri").get(f"/jobs/{job.id}.json").get_json()["detail_html"] == ""


def test_a_successful_import_job_page_shows_no_error_table(world, login, db, small_list):
    claim = claim_for(small_list)
    client = login("insurer")
    job = upload(client, claim.id, small_list)
    assert job.status.value == "done"
    page = read_text(client.get(f"/jobs/{job.id}"))
    assert "import-errors" not in page and 'data-job-field="finished_at">—' not in page


@pytest.mark.postgres
def test_an_import_job_analyzes_the_tables_it_filled_after_its_commit(world, login, db, small_list):
    """A freshly imported list is not queried before the planner has statistics of it (pg_class.reltuples is
    written by ANALYZE; -1: never analysed)."""
    reltuples = sa.text("SELECT reltuples FROM pg_class WHERE relname = 'underwriting_rows'")
    job = upload(login("insurer"), claim_for(small_list).id, small_list)
    assert job.status.value == "done"
    db.session.rollback()
    assert db.session.scalar(reltuples) == len(small_list)
