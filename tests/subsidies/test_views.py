import io
from decimal import Decimal as D

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from agri_insurance.auth.models import Role
from agri_insurance.subsidies.models import ClaimStatus, Payment, ShareLevel, SubsidyClaim
from tests.factories import county, make_insurer, make_user, read_text
from tests.subsidies.factories import assign, claim_data, make_claim


def _form(data: dict) -> dict:
    return {k: ("" if v is None else str(v)) for k, v in data.items()}


def upload_matching_list(client, db, claim_id, tmp_dir=None):
    """Upload (through the page) a list matching the claim, and wait for the import job to finish."""
    import tempfile
    from pathlib import Path

    from agri_insurance.jobs import service as jobs
    from agri_insurance.underwriting.demo import matching_rows
    from tests.underwriting.factories import write_csv

    with tempfile.TemporaryDirectory() as folder:
        path = write_csv(Path(folder) / "list.csv", matching_rows(_claim(db, claim_id)))
        with path.open("rb") as fh:
            response = client.post(f"/underwriting/claims/{claim_id}/upload", data={"file": (fh, "清单.csv")},
                                   content_type="multipart/form-data")
    assert response.status_code == 302, read_text(response)
    job_id = int(response.location.rstrip("/").rsplit("/", 1)[1])
    job = jobs.wait(job_id, timeout=30)
    assert job.status.value == "done", job.error
    return job


def _claim(db, claim_id):
    db.session.expire_all()
    return db.session.get(SubsidyClaim, claim_id)


def test_full_journey_through_the_pages(world, login, db):
    insurer = login("insurer")
    response = insurer.post("/subsidies/claims/new", data=_form(claim_data(premium="1234567.89")))
    assert response.status_code == 302
    claim_id = int(response.location.rsplit("/", 1)[1])
    page = read_text(insurer.get(response.location))
    assert "555,555.56" in page and "草稿" in page   # central 555,555.5505 + the fen left over
    page = read_text(insurer.post(f"/subsidies/claims/{claim_id}/submit", follow_redirects=True))
    assert "请先上传承保清单" in page and _claim(db, claim_id).status is ClaimStatus.DRAFT
    upload_matching_list(insurer, db, claim_id)
    insurer.post(f"/subsidies/claims/{claim_id}/submit")
    assert _claim(db, claim_id).status is ClaimStatus.SUBMITTED

    county_agri = login("county_agri")
    assert "核验通过" in read_text(county_agri.get(f"/subsidies/claims/{claim_id}"))
    county_agri.post(f"/subsidies/claims/{claim_id}/verify", data={"opinion": "清单与申请一致，同意拨付。"})
    assert _claim(db, claim_id).status is ClaimStatus.VERIFIED

    finance = login("county_finance")
    page = read_text(finance.get(f"/subsidies/claims/{claim_id}"))
    assert "确认拨付" in page
    response = finance.post(f"/subsidies/claims/{claim_id}/payments", data={
        "level": "county", "amount": "61728.39", "paid_on": "2026-03-01", "voucher_no": "鄱财农〔2026〕12号"})
    assert response.status_code == 302
    claim = _claim(db, claim_id)
    assert claim.status is ClaimStatus.PAYING and claim.share(ShareLevel.COUNTY).outstanding == 0
    timeline = read_text(finance.get(f"/subsidies/claims/{claim_id}")).split('id="timeline"')[1]
    assert "提交补贴申请" in timeline and "核验通过" in timeline and "确认拨付" in timeline


def test_form_errors_name_the_field_and_nothing_is_saved(world, login, db):
    insurer = login("insurer")
    data = claim_data()
    data["farmer_premium"] = data["farmer_premium"] + D("5")
    response = insurer.post("/subsidies/claims/new", data=_form(data))
    assert response.status_code == 400
    page = read_text(response)
    assert "农户自缴保费应为 200,000.00 元" in page and 'id="farmer_premium"' in page
    assert db.session.scalar(sa.select(sa.func.count(SubsidyClaim.id))) == 0


def test_insurer_cannot_see_another_insurers_claim(world, login, db):
    other = make_insurer()
    assign(insurer=other, product_code="peanut")
    make_user("other_ins", Role.INSURER, insurer=other)
    claim = make_claim(status="submitted", insurer_username="other_ins", product_code="peanut")
    client = login("insurer")
    assert client.get(f"/subsidies/claims/{claim.id}").status_code == 404
    # (the product filter offers 花生: the list itself must not show the claim)
    assert "花生" not in read_text(client.get("/subsidies/claims")).split('id="claims"')[1]
    # The statement is always the user's own insurer, whatever the URL says.
    workbook = load_workbook(io.BytesIO(client.get(f"/subsidies/statement.xlsx?insurer_id={other.id}&year=2026").data))
    assert "赣鄱财险" in workbook.active["A1"].value


def test_county_user_cannot_verify_or_pay_another_countys_claim(world, login, db):
    assign(county_code="361130")
    claim = make_claim(status="submitted", county_code="361130")
    wuyuan_id = claim.id
    county_agri = login("county_agri")                  # 鄱阳县
    assert county_agri.post(f"/subsidies/claims/{wuyuan_id}/verify").status_code == 404
    assert _claim(db, wuyuan_id).status is ClaimStatus.SUBMITTED
    from agri_insurance.subsidies import service
    from tests.subsidies.factories import user

    wuyuan_agri = make_user("wuyuan_agri", Role.COUNTY_AGRI, region=county("361130"))
    service.verify_claim(_claim(db, wuyuan_id), wuyuan_agri, "同意")
    db.session.commit()
    finance = login("county_finance")
    response = finance.post(f"/subsidies/claims/{wuyuan_id}/payments", data={
        "level": "county", "amount": "1.00", "paid_on": "2026-03-01", "voucher_no": "X"})
    assert response.status_code == 404
    assert db.session.scalar(sa.select(sa.func.count(Payment.id))) == 0
    assert user("county_agri").region.code == "361128"


def test_overpayment_through_the_page_is_refused_with_the_balance(world, login, db):
    claim = make_claim(status="verified", premium="100000.00")
    finance = login("county_finance")
    response = finance.post(f"/subsidies/claims/{claim.id}/payments", data={
        "level": "county", "amount": "5000.01", "paid_on": "2026-03-01", "voucher_no": "K1"}, follow_redirects=True)
    assert "拨付金额超出应付余额 5,000.00 元" in read_text(response)
    assert db.session.scalar(sa.select(sa.func.count(Payment.id))) == 0


def test_a_refused_payment_keeps_what_was_typed_with_each_error_at_its_field(world, login, db):
    import lxml.html

    claim = make_claim(status="verified", premium="100000.00")
    finance = login("county_finance")
    for data, field, message in (
            ({"amount": "-5", "voucher_no": ""}, "voucher_no", "必填"),
            ({"amount": "5000.01", "voucher_no": "XC-2026-0099"}, "amount", "超出应付余额")):
        response = finance.post(f"/subsidies/claims/{claim.id}/payments",
                                data={"level": "county", "paid_on": "2026-03-01", **data})
        assert response.status_code == 400
        form = lxml.html.fromstring(read_text(response)).xpath('//form[.//input[@name="amount"]]')[0]

        def value(name, form=form):
            return form.xpath(f'.//input[@name="{name}"]')[0].get("value", "")

        assert value("amount") == data["amount"] and value("voucher_no") == data["voucher_no"]
        assert value("paid_on") == "2026-03-01"                                   # not reset to today
        assert message in form.xpath(f'.//input[@name="{field}"]/..')[0].text_content()
    assert db.session.scalar(sa.select(sa.func.count(Payment.id))) == 0


def test_over_budget_verification_needs_the_confirmation_box(world, login, db):
    from agri_insurance.subsidies import service
    from tests.subsidies.factories import user

    service.save_budget(2026, county(), D("1000.00"), user("county_finance"))
    claim = make_claim(status="submitted", premium="100000.00")
    client = login("county_agri")
    page = read_text(client.post(f"/subsidies/claims/{claim.id}/verify", data={"opinion": "同意拨付"},
                                 follow_redirects=True))
    assert "超出预算" in page and "confirm_over_budget" in page
    assert "同意拨付</textarea>" in page          # what the verifier typed is still there to confirm
    assert _claim(db, claim.id).status is ClaimStatus.SUBMITTED
    client.post(f"/subsidies/claims/{claim.id}/verify", data={"opinion": "同意拨付", "confirm_over_budget": "y"})
    assert _claim(db, claim.id).over_budget_confirmed


def test_return_needs_a_reason(world, login, db):
    claim = make_claim(status="submitted")
    client = login("county_agri")
    page = read_text(client.post(f"/subsidies/claims/{claim.id}/return", data={"reason": " "}, follow_redirects=True))
    assert "退回须填写理由" in page
    client.post(f"/subsidies/claims/{claim.id}/return", data={"reason": "清单与申请户数不符"})
    assert _claim(db, claim.id).status is ClaimStatus.RETURNED
    assert "清单与申请户数不符" in read_text(login("insurer").get(f"/subsidies/claims/{claim.id}"))


def test_ledger_xlsx_has_the_right_totals(world, login, db):
    from agri_insurance.subsidies import service
    from tests.subsidies.factories import user

    first = make_claim(status="verified", premium="1234567.89")
    make_claim(status="verified", premium="100000.00", period="2026年第二季度")
    draft = make_claim(premium="999999.00", period="2026年第三季度")  # the insurer's unfinished work: not owed
    assert login("county_finance").get(f"/subsidies/claims/{draft.id}").status_code == 404
    service.confirm_payment(first, ShareLevel.COUNTY, D("1000.50"), __import__("datetime").date(2026, 3, 1), "K",
                            user("county_finance"))
    db.session.commit()
    response = login("county_agri").get("/subsidies/ledger.xlsx?year=2026")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    ws = load_workbook(io.BytesIO(response.data)).active
    assert "鄱阳县" in ws["A1"].value
    headers = [c.value for c in ws[3]]
    rows = list(ws.iter_rows(min_row=4, values_only=True))
    end = next(i for i, row in enumerate(rows) if row[0] == "合计")   # the signature lines follow the totals
    data, total = rows[:end], rows[end]
    assert len(data) == 2
    premium_col = headers.index("保费合计（元）")
    assert D(str(total[premium_col])) == D("1334567.89")
    paid_col = headers.index("县级财政已付")
    assert D(str(total[paid_col])) == D("1000.50")
    outstanding_col = headers.index("政府补贴未付合计")
    # Government shares: 1,234,567.89 − 246,913.58 (farmer) + 100,000 − 20,000 = 1,067,654.31; less 1,000.50 paid.
    assert D(str(total[outstanding_col])) == D("1066653.81")
    assert ws.cell(row=4, column=premium_col + 1).number_format == "#,##0.00"


def test_county_ledger_shows_only_its_county(world, login, db):
    assign(county_code="361130")
    make_claim(status="verified", county_code="361130")
    make_claim(status="verified")
    page = read_text(login("county_finance").get("/subsidies/ledger?year=2026&region_id=" + str(county("361130").id)))
    assert "婺源县" not in page.split("<tbody>")[1]


def test_dashboard_shows_overdue_first(world, login, db):
    from datetime import UTC, datetime

    import time_machine

    with time_machine.travel(datetime(2026, 1, 5, 2, tzinfo=UTC), tick=False):
        make_claim(status="verified", premium="100000.00")
    with time_machine.travel(datetime(2026, 3, 1, 2, tzinfo=UTC), tick=False):
        page = read_text(login("county_finance").get("/"))
    assert page.index("overdue-card") < page.index('id="figures"')
    assert "逾期未付补贴：4 项" in page and "5,000.00" in page


def test_overview_shows_negative_growth(world, login, db):
    assign(start=2024, end=2024)
    make_claim(status="verified", premium="200000.00", year=2025)
    make_claim(status="verified", premium="100000.00", year=2026)
    page = read_text(login("city_agri").get("/subsidies/overview?year=2026"))
    growth = page.split('id="growth"')[1]
    assert "负增长" in growth and "-50.0%" in growth and "鄱阳县" in growth
    # an English reader gets the county's English name in the reports and the ledger's title
    city = login("city_agri")
    city.get("/lang/en")
    growth = read_text(city.get("/subsidies/overview?year=2026")).split('id="growth"')[1]
    assert "Poyang County" in growth and "鄱阳县" not in growth
    county = login("county_finance")
    county.get("/lang/en")
    assert "<h1" in (page := read_text(county.get("/subsidies/ledger?year=2026"))) and "Poyang County" in page
    ws = load_workbook(io.BytesIO(county.get("/subsidies/ledger.xlsx?year=2026").data)).active
    first = [c.value for c in ws[4]]
    assert "Poyang County" in first and "Rice" in first and "鄱阳县" not in first


def test_city_agri_records_an_assignment(world, login, db):
    from agri_insurance.subsidies.models import UnderwritingAssignment
    from tests.subsidies.factories import demo_insurer, product

    client = login("city_agri")
    response = client.post("/subsidies/assignments", data={
        "insurer_id": demo_insurer().id, "region_id": county("361130").id, "product_id": product("citrus").id,
        "start_year": 2026, "end_year": 2028, "notes": "临时指定"})
    assert response.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count(UnderwritingAssignment.id))) == 2
    response = client.post("/subsidies/assignments", data={
        "insurer_id": demo_insurer().id, "region_id": county("361130").id, "product_id": product("citrus").id,
        "start_year": 2028, "end_year": 2029})
    assert response.status_code == 400 and "重叠" in read_text(response)


def _draft_with_list(db):
    from agri_insurance.underwriting.demo import attach_matching_list
    from tests.subsidies.factories import user

    claim = make_claim()
    claim.list_rows = claim.households
    attach_matching_list(claim, user("insurer"))
    db.session.commit()
    return claim.id


def test_a_draft_with_an_uploaded_list_can_be_deleted(world, login, db):
    claim_id = _draft_with_list(db)
    response = login("insurer").post(f"/subsidies/claims/{claim_id}/delete", follow_redirects=True)
    assert response.status_code == 200 and "草稿已删除" in read_text(response)
    assert _claim(db, claim_id) is None


def test_changing_the_product_of_a_draft_asks_for_the_list_again(world, login, db):
    from agri_insurance.underwriting import service as underwriting

    assign(product_code="rapeseed")
    claim_id = _draft_with_list(db)
    insurer = login("insurer")
    assert "原清单将被删除" in read_text(insurer.get(f"/subsidies/claims/{claim_id}/edit"))
    claim = _claim(db, claim_id)
    data = {k: getattr(claim, k) for k in ("region_id", "year", "period", "quantity", "unit", "sum_insured",
                                           "premium_rate", "total_premium", "households", "list_rows", "notes")}
    rapeseed = claim_data(product_code="rapeseed")
    data.update(product_id=rapeseed["product_id"], farmer_premium=rapeseed["farmer_premium"])
    page = read_text(insurer.post(f"/subsidies/claims/{claim_id}/edit", data=_form(data), follow_redirects=True))
    assert "原承保清单已删除，请重新上传承保清单" in page and "尚未上传" in page
    assert underwriting.list_of(_claim(db, claim_id)) is None
    page = read_text(insurer.post(f"/subsidies/claims/{claim_id}/submit", follow_redirects=True))
    assert "请先上传承保清单" in page and _claim(db, claim_id).status is ClaimStatus.DRAFT


@pytest.mark.parametrize("amount", ["Infinity", "NaN", "1e30", "12345678901234567890123456789"])
def test_huge_or_non_finite_amounts_are_form_errors(world, login, db, amount):
    from agri_insurance.subsidies.models import Budget

    claim = make_claim(status="verified")
    finance = login("county_finance")
    page = read_text(finance.post(f"/subsidies/claims/{claim.id}/payments", data={
        "level": "county", "amount": amount, "paid_on": "2026-03-01", "voucher_no": "K1"}, follow_redirects=True))
    assert "拨付金额（元）" in page and ("数值过大" in page or "应为数字" in page)
    assert db.session.scalar(sa.select(sa.func.count(Payment.id))) == 0
    response = finance.post("/subsidies/budgets", data={"region_id": county().id, "year": "2026", "amount": amount})
    assert response.status_code == 400 and ("数值过大" in read_text(response) or "应为数字" in read_text(response))
    assert db.session.scalar(sa.select(sa.func.count(Budget.id))) == 0
    data = _form(claim_data(period="二"))
    data["sum_insured"] = amount
    response = login("insurer").post("/subsidies/claims/new", data=data)
    assert response.status_code == 400 and ("数值过大" in read_text(response) or "应为数字" in read_text(response))


def test_an_edit_that_keeps_the_list_shows_the_list_checked_against_the_new_figures(world, login, db):
    from agri_insurance.underwriting import service as underwriting

    claim_id = _draft_with_list(db)
    insurer = login("insurer")
    claim = _claim(db, claim_id)
    data = {k: getattr(claim, k) for k in ("region_id", "product_id", "year", "period", "quantity", "unit",
                                           "sum_insured", "premium_rate", "total_premium", "farmer_premium",
                                           "households", "list_rows", "notes")}
    n = claim.households
    assert "与申请一致" in read_text(insurer.get(f"/subsidies/claims/{claim_id}"))
    insurer.post(f"/subsidies/claims/{claim_id}/edit", data=_form({**data, "households": n + 1}))
    assert "与申请不一致" in read_text(insurer.get(f"/subsidies/claims/{claim_id}"))
    page = read_text(insurer.get(f"/underwriting/claims/{claim_id}"))
    assert "清单与申请不一致" in page and f"承保户数：清单 {n} 户，申请填报 {n + 1} 户" in page
    claim = _claim(db, claim_id)
    assert underwriting.reconcile(claim, underwriting.list_of(claim))
    # The differences read in the reader's language.
    insurer.get("/lang/en")
    page = read_text(insurer.get(f"/underwriting/claims/{claim_id}"))
    assert f"Households: {n} in the list, {n + 1} in the claim" in page
    insurer.get("/lang/zh_CN")
    insurer.post(f"/subsidies/claims/{claim_id}/edit", data=_form(data))
    assert "清单与申请一致，可以提交" in read_text(insurer.get(f"/underwriting/claims/{claim_id}"))
    claim = _claim(db, claim_id)
    assert not underwriting.reconcile(claim, underwriting.list_of(claim))


def test_the_overdue_page_counts_and_sums_every_overdue_share_and_shows_them_a_page_at_a_time(world, login, db):
    from datetime import UTC, datetime

    import time_machine

    from agri_insurance.subsidies import service

    with time_machine.travel(datetime(2026, 4, 1, 2, 0, tzinfo=UTC), tick=False):
        first = make_claim(status="verified", premium="100000.00")
    with time_machine.travel(datetime(2026, 4, 2, 2, 0, tzinfo=UTC), tick=False):
        make_claim(status="verified", premium="1000.00", period="2026年第二季度")
    with time_machine.travel(datetime(2026, 5, 11, 8, 0, tzinfo=UTC), tick=False):
        summary = service.overdue_summary(sa.true())
        assert (summary.shares, summary.claims, summary.outstanding) == (8, 2, D("80800.00"))
        page = read_text(login("city_agri").get("/subsidies/overdue"))
        assert "共 8 项（2 个申请），未付合计 80,800.00 元" in page and "共 8 条，显示第 1–8 条" in page
        assert "逾期未付补贴：8 项" in read_text(login("city_agri").get("/"))
        # the longest overdue first (verified a day earlier), its shares by level as every table lists them
        items = service.overdue_items(sa.true(), limit=4)
        assert [(i.claim.id, i.share.level) for i in items] == [
            (first.id, level) for level in (ShareLevel.CENTRAL, ShareLevel.PROVINCIAL, ShareLevel.CITY,
                                            ShareLevel.COUNTY)]
