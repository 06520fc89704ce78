"""The payout pages as each role uses them: the insurer uploads (a job), the county reviews the flags, every
official reads the measured figures and their export; finance sees aggregates only."""

import io
from pathlib import Path

import sqlalchemy as sa
from openpyxl import load_workbook

from agri_insurance.audit.models import AuditEntry
from agri_insurance.auth.models import Role
from agri_insurance.jobs import service as jobs
from agri_insurance.payouts.models import PayoutFlag, PayoutList
from tests.factories import county, make_user, read_text
from tests.payouts.factories import import_file, insured, payout, write_csv, write_xlsx
from tests.subsidies.factories import product


def upload(client, path: Path, event="2026年6月洪涝"):
    with path.open("rb") as fh:
        response = client.post("/payouts/upload", data={
            "region_id": county().id, "product_id": product("rice").id, "year": 2026, "event": event,
            "file": (fh, path.name)}, content_type="multipart/form-data")
    assert response.status_code == 302 and "/jobs/" in response.location, response.location
    return jobs.wait(int(response.location.rsplit("/", 1)[1]), timeout=30)


def test_upload_review_and_measured_service(world, login, db, tmp_path):
    farmers = insured(tmp_path, count=4)
    insurer = login("insurer")
    job = upload(insurer, write_csv(tmp_path / "p.csv", [payout(farmers[0], 10, 2), payout(farmers[1], 40, 20)]))
    assert job.status.value == "done" and "已导入 2 行，标记 1 处" in job.result["summary"]
    lst = db.session.scalar(sa.select(PayoutList))
    page = read_text(insurer.get(f"/payouts/lists/{lst.id}"))
    assert farmers[0][1] in page and "达成协议后超过10日支付" in page   # the insurer reads its own full IDs

    county_user = login("county_agri")
    home = read_text(county_user.get("/"))
    assert "待审核理赔标记" in home and "1 处理赔标记待审核" in home      # the menu and the to-do list
    flag = db.session.scalar(sa.select(PayoutFlag))
    response = county_user.post(f"/payouts/flags/{flag.id}/accept", data={"comment": "已核实：农户外出", "back": "flags"})
    assert response.status_code == 302 and response.location.endswith("/payouts/flags")
    assert "没有待审核的标记" in read_text(county_user.get("/payouts/flags"))
    assert "理赔标记待审核" not in read_text(county_user.get("/"))
    assert "已核实：农户外出" in read_text(county_user.get(f"/payouts/lists/{lst.id}"))

    for username in ("county_agri", "city_agri", "county_finance", "city_finance", "insurer"):
        page = read_text(login(username).get(f"/payouts/service/insurers/{lst.insurer_id}"))
        assert "50.00%" in page, username     # 100.00 paid / 200.00 premium
    finance = login("county_finance")
    assert finance.get(f"/payouts/lists/{lst.id}").status_code == 403
    export = finance.get("/payouts/service.xlsx?year=2026")
    ws = load_workbook(io.BytesIO(export.data)).active
    header = [c.value for c in ws[1]]
    row = dict(zip(header, [c.value for c in ws[2]], strict=True))
    assert row["赔付率"] == 0.5 and row["报案至支付天数中位数"] == 25 and row["协议后10日内支付占比"] == 0.5


def test_a_bad_file_fails_its_job_with_every_error_for_the_insurer_alone(world, login, db, tmp_path):
    farmers = insured(tmp_path, count=2)
    bad = [payout(farmers[0], 10, 2), payout(farmers[1], 10, 2)]
    bad[1][1] = float(bad[1][1][:17])
    insurer = login("insurer")
    job = upload(insurer, write_xlsx(tmp_path / "p.xlsx", bad))
    assert job.status.value == "failed"
    page = read_text(insurer.get("/payouts/"))
    assert 'id="import-errors"' in page and "存成了数字" in page
    assert insurer.get(f"/payouts/jobs/{job.id}/errors.xlsx").status_code == 200
    assert db.session.scalar(sa.select(sa.func.count(PayoutList.id))) == 0


def test_another_county_neither_sees_the_list_nor_its_figures(world, login, db, tmp_path):
    farmers = insured(tmp_path, count=2)
    upload(login("insurer"), write_csv(tmp_path / "p.csv", [payout(farmers[0], 10, 2)]))
    lst = db.session.scalar(sa.select(PayoutList))
    make_user("wuyuan_agri", Role.COUNTY_AGRI, region=county("361130"))
    other = login("wuyuan_agri")
    assert other.get(f"/payouts/lists/{lst.id}").status_code == 404
    assert other.get(f"/payouts/service/counties/{county().id}").status_code == 404
    assert "暂无数据" in read_text(other.get("/payouts/service"))
    assert "暂无理赔清单" in read_text(other.get("/payouts/"))


def test_the_pages_query_nothing_per_row(world, login, db, tmp_path, app):
    from tests.lists import statements
    from tests.payouts.factories import import_file

    farmers = insured(tmp_path, count=12)
    few = import_file(write_csv(tmp_path / "a.csv", [payout(f, 40, 20) for f in farmers[:2]]), event="a")
    county_user, insurer = login("county_agri"), login("insurer")

    def counts(lst):
        found = []
        for client, url in ((county_user, f"/payouts/lists/{lst.id}"), (county_user, "/payouts/flags"),
                            (insurer, "/payouts/"), (county_user, "/payouts/service")):
            with statements(app) as seen:
                assert client.get(url).status_code == 200
            found.append(len(seen))
        return found

    small = counts(few)
    many = import_file(write_csv(tmp_path / "b.csv", [payout(f, 40, 20) for f in farmers[2:]]), event="b")
    assert many.flag_count == 10 and few.flag_count == 2     # paid 20 days after the agreement
    assert counts(many) == small


def test_the_downloaded_template_filled_in_imports(world, login, db, tmp_path):
    from tests.payouts.factories import HEADERS

    farmers = insured(tmp_path, count=2)
    response = login("insurer").get("/payouts/template.xlsx")
    wb = load_workbook(io.BytesIO(response.data))
    ws = wb.worksheets[0]
    assert [c.value for c in ws[1]] == HEADERS and ws.data_validations.dataValidation   # dates and amounts checked
    for row_no, row in enumerate([payout(farmers[0], 10, 2), payout(farmers[1], 12, 3)], start=2):
        for col, value in enumerate(row, start=1):
            ws.cell(row=row_no, column=col, value=value)
    path = tmp_path / "filled.xlsx"
    wb.save(path)
    job = upload(login("insurer"), path)
    assert job.status.value == "done" and job.result["rows"] == 2


def test_the_villages_payout_notice_is_a_masked_a4_pdf_read_back(world, login, db, tmp_path):
    import io

    from pypdf import PdfReader

    farmers = insured(tmp_path, count=3)          # 农户0 in 饶丰镇第0村, 农户1 第1村, 农户2 第2村
    farmers[1][0] = "张建华"
    lst = import_file(write_csv(tmp_path / "p.csv", [payout(farmers[0], 10, 1), payout(farmers[1], 10, 1,
                                                                                         paid="80.00", agreed="80.00")]))
    bureau = login("county_agri")
    page = bureau.get(f"/payouts/lists/{lst.id}").get_data(as_text=True)
    assert "尚未填写公示期" in page and "notice-period-form" not in page
    assert bureau.get(f"/payouts/lists/{lst.id}/notices.pdf").status_code == 302   # no period yet
    insurer = login("insurer")
    page = insurer.get(f"/payouts/lists/{lst.id}").get_data(as_text=True)
    assert 'id="to-notices"' in page and "notice-period-form" in page
    assert insurer.post(f"/payouts/lists/{lst.id}/notice-period",
                        data={"starts_on": "2026-04-20", "days": "7"}).status_code == 302
    page = insurer.get(f"/payouts/lists/{lst.id}").get_data(as_text=True)
    assert "2026-04-20 至 2026-04-26" in page and "village-pdf" in page
    response = insurer.get(f"/payouts/lists/{lst.id}/notices/village.pdf?township=饶丰镇&village=第1村")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(response.data))
    words = "".join(p.extract_text() for p in reader.pages).replace(" ", "").replace("\n", "")
    width, height = reader.pages[0].mediabox.width, reader.pages[0].mediabox.height
    assert (round(float(width)), round(float(height))) == (595, 842)            # A4
    assert "理赔公示" in words and "张*华" in words and "张建华" not in words
    assert farmers[1][1] not in words and farmers[1][1][:6] in words            # ID masked
    assert "80.00" in words and "2026年4月20日至2026年4月26日" in words and "农户0" not in words
    whole = PdfReader(io.BytesIO(bureau.get(f"/payouts/lists/{lst.id}/notices.pdf").data))
    assert len(whole.pages) == 2                                                # one village per page
    audit = db.session.scalar(sa.select(AuditEntry.action).where(AuditEntry.action == "payout_notice.period_set"))
    assert audit == "payout_notice.period_set"
