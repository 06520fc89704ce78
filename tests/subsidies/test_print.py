"""Printed papers of a claim: the verification opinion on the claim, its verification sheet (核验单) and its audit
entry; the claim page and the finance bureaus' payment lists on A4 (and the payment list as xlsx)."""

import io
from datetime import date
from decimal import Decimal as D

import lxml.html
import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from agri_insurance.audit.models import AuditEntry
from agri_insurance.errors import DomainError
from agri_insurance.subsidies import service
from agri_insurance.subsidies.models import ClaimStatus, ShareLevel, SubsidyClaim
from tests.factories import ROOT, county, read_text
from tests.subsidies.factories import assign, make_claim, user

OPINION = "经核验，承保清单与申请一致，同意拨付。\n农户自缴保费已收齐。"


def _page(response):
    assert response.status_code == 200, response.status_code
    return lxml.html.fromstring(read_text(response))


def _text(page, element_id: str) -> str:
    return page.get_element_by_id(element_id).text_content().strip()


def _claim(db, claim_id):
    db.session.expire_all()
    return db.session.get(SubsidyClaim, claim_id)


def test_verifying_needs_an_opinion_which_the_claim_page_sheet_and_audit_entry_keep(world, login, db):
    claim = make_claim(status="submitted", premium="100000.00")
    verifier = login("county_agri")

    response = verifier.post(f"/subsidies/claims/{claim.id}/verify", data={"opinion": "  "})
    assert response.status_code == 400 and "核验须填写核验意见" in read_text(response)
    assert _claim(db, claim.id).status is ClaimStatus.SUBMITTED
    with pytest.raises(DomainError) as refused:      # the rule is the service's, whatever the form says
        service.verify_claim(_claim(db, claim.id), user("county_agri"), " ")
    assert refused.value.field == "opinion"
    db.session.rollback()

    response = verifier.post(f"/subsidies/claims/{claim.id}/verify", data={"opinion": OPINION})
    assert response.status_code == 302
    claim = _claim(db, claim.id)
    assert claim.status is ClaimStatus.VERIFIED and claim.verification_opinion == OPINION

    page = _page(login("insurer").get(f"/subsidies/claims/{claim.id}"))
    assert _text(page, "verification-opinion") == OPINION
    assert "核验意见：经核验" in _text(page, "timeline")
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "claim.verified",
                                                          AuditEntry.object_id == str(claim.id)))
    assert entry.details["opinion"] == OPINION

    sheet = _page(login("county_finance").get(f"/subsidies/claims/{claim.id}/verification-sheet"))
    assert _text(sheet, "sheet-opinion") == OPINION
    assert "鄱阳县农业农村局" in _text(sheet, "verification-sheet")
    assert "核验通过" in _text(sheet, "sheet-verified")
    # the claim's figures and its shares, which add up to its premium
    assert _text(sheet, "sheet-premium") == "100,000.00" == _text(sheet, "sheet-shares-total")
    shares = {tr.get("data-level"): tr.xpath("./td")[2].text_content() for tr in sheet.xpath('//*[@id="sheet-shares"]//tbody/tr')}
    assert shares == {"central": "45,000.00", "provincial": "25,000.00", "city": "5,000.00", "county": "5,000.00",
                      "farmer": "20,000.00"}
    assert "与申请一致" in _text(sheet, "sheet-list")              # the list it was verified with
    # room to sign and seal, and a button to print it
    sheet_text = _text(sheet, "verification-sheet")
    assert "经办人（签字）" in sheet_text and "负责人（签字）" in sheet_text and "（盖章）" in sheet_text
    assert sheet.get_element_by_id("print-page").get("data-print") is not None  # static/js/confirm.js prints


def test_the_sheet_leaves_lines_before_verification_and_keeps_a_returns_reason(world, login, db):
    draft = make_claim(period="2026年第三季度")
    assert login("insurer").get(f"/subsidies/claims/{draft.id}/verification-sheet").status_code == 404
    assert "verification-sheet" not in service.available_actions(draft, user("insurer"))

    claim = make_claim(status="submitted")
    county_agri = login("county_agri")
    claim_page = _page(county_agri.get(f"/subsidies/claims/{claim.id}"))
    sheet_url = claim_page.get_element_by_id("verification-sheet").get("href")
    sheet = _page(county_agri.get(sheet_url))
    assert "尚未核验" in _text(sheet, "sheet-opinion")
    assert len(sheet.get_element_by_id("sheet-opinion").find_class("blank-line")) == 3

    county_agri.post(f"/subsidies/claims/{claim.id}/return", data={"reason": "清单户数与申请不符"})
    assert _claim(db, claim.id).status is ClaimStatus.RETURNED
    sheet = _page(county_agri.get(sheet_url))
    assert _text(sheet, "sheet-opinion") == "退回理由：清单户数与申请不符"
    assert "清单户数与申请不符" in read_text(login("insurer").get(f"/subsidies/claims/{claim.id}"))


def test_claim_page_prints_clean_on_a4(world, login, db):
    claim = make_claim(status="verified", premium="100000.00")
    service.confirm_payment(claim, ShareLevel.COUNTY, D("5000.00"), date(2026, 3, 1), "鄱财农〔2026〕3号",
                            user("county_finance"))
    db.session.commit()
    page = _page(login("city_finance").get(f"/subsidies/claims/{claim.id}"))
    assert page.get_element_by_id("print-page").get("data-print") is not None  # static/js/confirm.js prints
    # on paper: the claim, its shares, verification and payments; not the forms, buttons and the audit trail
    for kept in ("shares", "verification", "payments"):
        assert "no-print" not in page.get_element_by_id(kept).get("class", "")
    assert page.get_element_by_id("payment-form").xpath('ancestor::*[contains(@class, "no-print")]')
    assert page.get_element_by_id("timeline").xpath('ancestor::*[contains(@class, "no-print")]')
    assert page.find_class("print-only")        # the date it was printed
    css = (ROOT / "static" / "css" / "app.css").read_text(encoding="utf-8")
    print_rules = css.split("@media print", 1)[1]
    assert "size: A4" in print_rules and "nav.navbar" in print_rules and ".no-print" in print_rules


@pytest.fixture
def paid_world(world, db):
    """Two verified claims in 鄱阳县 and one in 婺源县, a submitted one (not owed yet), some payments."""
    assign(county_code="361130")
    first = make_claim(status="verified", premium="100000.00")                            # county 5,000
    second = make_claim(status="verified", premium="1234567.89", period="2026年第二季度")   # county 61,728.39
    wuyuan = make_claim(status="verified", premium="200000.00", county_code="361130")     # county 10,000
    make_claim(status="submitted", premium="300000.00", period="2026年第三季度")
    service.confirm_payment(first, ShareLevel.COUNTY, D("1000.50"), date(2026, 3, 1), "KF-1", user("county_finance"))
    service.confirm_payment(second, ShareLevel.CITY, second.share(ShareLevel.CITY).amount, date(2026, 3, 2), "SF-1",
                            user("city_finance"))
    db.session.commit()
    return first, second, wuyuan


def _rows(table):
    return [[td.text_content().strip() for td in tr.xpath("./td")] for tr in table.xpath("./tbody/tr")]


def test_a_county_finance_bureaus_payment_list_is_its_county_share_and_adds_up(paid_world, login, db):
    first, second, _wuyuan = paid_world
    client = login("county_finance")
    page = _page(client.get("/subsidies/payment-list?year=2026"))
    assert _text(page, "payment-list-title") == "鄱阳县财政局 2026年度保费补贴拨付清单"
    rows = _rows(page.get_element_by_id("payment-list"))
    assert [(r[0], r[5]) for r in rows] == [(f"#{first.id}", "县级财政"), (f"#{second.id}", "县级财政")]
    assert [r[7:10] for r in rows] == [["5,000.00", "1,000.50", "3,999.50"], ["61,728.39", "0.00", "61,728.39"]]
    assert "KF-1" in rows[0][10]
    total = [td.text_content().strip() for td in page.get_element_by_id("payment-list-total").xpath("./td")]
    assert total[1:4] == ["66,728.39", "1,000.50", "65,727.89"]
    # another county's bureau is not this user's to read
    other = county("361130").id
    assert client.get(f"/subsidies/payment-list?region_id={other}").status_code == 404
    assert client.get(f"/subsidies/payment-list.xlsx?region_id={other}").status_code == 404

    response = client.get("/subsidies/payment-list.xlsx?year=2026")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    workbook = load_workbook(io.BytesIO(response.data))
    sheet = workbook.worksheets[0]
    assert sheet["A1"].value == "鄱阳县财政局 2026年度保费补贴拨付清单"
    headers = [c.value for c in sheet[3]]
    lines = list(sheet.iter_rows(min_row=4, values_only=True))
    end = next(i for i, line in enumerate(lines) if line[0] == "合计")
    data, totals = lines[:end], lines[end]
    assert len(data) == 2
    assert any(str(line[0] or "").startswith("经办人（签字）") for line in lines[end + 1:])   # then the bureau signs
    for name in ("应付（元）", "已付（元）", "未付（元）"):
        col = headers.index(name)
        assert sum(D(str(row[col])) for row in data) == D(str(totals[col]))
    assert [D(str(totals[headers.index(n)])) for n in ("应付（元）", "已付（元）", "未付（元）")] == [
        D("66728.39"), D("1000.50"), D("65727.89")]
    by_insurer = workbook.worksheets[1]
    summary = list(by_insurer.iter_rows(min_row=4, values_only=True))
    assert summary[0][0] == "赣鄱财险" and summary[-1][0] == "合计"
    assert [D(str(v)) for v in summary[-1][1:4]] == [D("66728.39"), D("1000.50"), D("65727.89")]


def test_the_city_finance_bureau_lists_the_city_central_and_provincial_shares_of_every_county(paid_world, login):
    first, second, wuyuan = paid_world
    client = login("city_finance")
    page = _page(client.get("/subsidies/payment-list?year=2026"))
    assert _text(page, "payment-list-title") == "上饶市财政局 2026年度保费补贴拨付清单"
    rows = _rows(page.get_element_by_id("payment-list"))
    assert {(r[0], r[5]) for r in rows} == {(f"#{c.id}", level) for c in (first, second, wuyuan)
                                           for level in ("中央财政", "省级财政", "市级财政")}
    subtotal = page.xpath('//tr[@data-total-level="city"]/td')
    assert [td.text_content().strip() for td in subtotal[1:4]] == ["76,728.39", "61,728.39", "15,000.00"]
    total = [td.text_content().strip() for td in page.get_element_by_id("payment-list-total").xpath("./td")]
    assert total[1:4] == ["1,150,925.92", "61,728.39", "1,089,197.53"]
    # the city may read a county bureau's list too
    page = _page(client.get(f"/subsidies/payment-list?year=2026&region_id={county('361130').id}"))
    assert [r[0] for r in _rows(page.get_element_by_id("payment-list"))] == [f"#{wuyuan.id}"]


def _amounts(cells) -> list[D]:
    return [D(cell.replace(",", "")) for cell in cells]


def test_a_long_payment_list_is_paged_and_its_totals_cover_every_line(paid_world, login):
    """The city bureau pays three shares of each claim: 17 verified claims are 51 lines, 50 on the first page and
    one on the second (whose link keeps the year and the bureau); under either page, and by insurer and by county,
    the totals are those of every line; the xlsx holds all 51."""
    for n in range(14):
        make_claim(status="verified", premium="10000.00", period=f"2026年补报{n + 1:02d}")
    client = login("city_finance")
    city = service.finance_bureaus_for(user("city_finance"))[0].region
    first = _page(client.get(f"/subsidies/payment-list?year=2026&region_id={city.id}"))
    rows = _rows(first.get_element_by_id("payment-list"))
    assert len(rows) == 50
    nxt = first.xpath('//a[@rel="next"]/@href')
    assert nxt and "page=2" in nxt[0] and "year=2026" in nxt[0] and f"region_id={city.id}" in nxt[0]
    second = _page(client.get(nxt[0]))
    last_rows = _rows(second.get_element_by_id("payment-list"))
    assert len(last_rows) == 1 and last_rows[0] not in rows
    every_line = [_amounts(r[7:10]) for r in rows + last_rows]
    summed = [sum(column, D("0")) for column in zip(*every_line, strict=True)]
    for page in (first, second):
        total = [td.text_content().strip() for td in page.get_element_by_id("payment-list-total").xpath("./td")]
        assert "全部 51 条" in total[0] and _amounts(total[1:4]) == summed
        for table in ("payment-list-by-insurer", "payment-list-by-county"):
            groups = [_amounts(r[1:4]) for r in _rows(page.get_element_by_id(table))]
            assert [sum(column, D("0")) for column in zip(*groups, strict=True)] == summed
    counties = [r[0] for r in _rows(first.get_element_by_id("payment-list-by-county"))]
    assert counties == ["鄱阳县", "婺源县"]

    workbook = load_workbook(io.BytesIO(client.get(f"/subsidies/payment-list.xlsx?year=2026&region_id={city.id}")
                                        .data))
    lines = list(workbook.worksheets[0].iter_rows(min_row=4, values_only=True))
    end = next(i for i, line in enumerate(lines) if line[0] == "合计")
    assert len(lines[:end]) == 51
    assert [D(str(v)) for v in lines[end][8:11]] == summed
    assert [sheet.title for sheet in workbook.worksheets] == ["拨付清单", "按承保机构汇总", "按县（市、区）汇总"]


def test_a_share_past_its_due_date_is_marked_overdue(paid_world, db):
    first, _second, _wuyuan = paid_world
    bureau = service.FinanceBureau(county())
    due = _claim(db, first.id).due_date
    lines = list(service.stream_payment_lines(bureau, 2026, today=due))
    assert all(line.days_overdue == 0 for line in lines)
    lines = list(service.stream_payment_lines(bureau, 2026, today=date.fromordinal(due.toordinal() + 9)))
    assert [line.days_overdue for line in lines] == [9, 9]
