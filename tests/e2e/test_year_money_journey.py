"""The year's money in the browser: the county finance bureau advances part of an underwriter's county share, the
county bureau verifies a claim that draws it down, the city finance bureau closes the year, the statement is
confirmed by both sides and the refund of what was left of the advance is recorded."""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import log_in
from tests.subsidies.factories import assign, demo_insurer, make_claim

pytestmark = pytest.mark.browser
OPINION = "经核验，承保清单与申请一致，同意拨付。"


@pytest.fixture
def underwriting(demo, db):
    assign()
    db.session.commit()
    return db


def test_advance_drawn_down_year_closed_statement_confirmed_refund_recorded(page, browser, live_server,
                                                                             underwriting):
    finance = page
    log_in(finance, "county_finance")
    finance.goto("/")
    # reachable from the menu (保费补贴 → 预拨与清算)
    expect(finance.locator('nav a[href="/subsidies/year-money"]')).to_have_count(1)
    finance.goto("/subsidies/year-money?year=2025")
    finance.select_option("#insurer_id", str(demo_insurer().id))
    finance.select_option("#level", "county")
    finance.fill("#year", "2025")
    finance.fill("#amount", "8000.00")
    finance.fill("#paid_on", "2025-02-01")
    finance.fill("#voucher_no", "鄱财预〔2025〕1号")
    finance.click("#save-advance")
    expect(finance.get_by_text("预拨已登记")).to_be_visible()
    assert "8,000.00" in finance.locator("#advances").inner_text()

    claim = make_claim(status="submitted", premium="100000.00", year=2025, period="2025年全年")   # county 5,000.00
    county = browser.new_context(base_url=live_server).new_page()
    log_in(county, "county_agri")
    county.goto(f"/subsidies/claims/{claim.id}")
    county.fill("#opinion", OPINION)
    county.click("#verify-claim")
    expect(county.get_by_text("核验通过，拨付期限为")).to_be_visible()
    county_row = county.locator("#shares tr[data-level=county]")
    assert "其中预拨抵扣 5,000.00" in county_row.inner_text()
    assert county_row.locator("td").nth(4).inner_text() == "0.00"

    city = browser.new_context(base_url=live_server).new_page()
    log_in(city, "city_finance")
    city.goto("/subsidies/year-money?year=2025")
    city.on("dialog", lambda dialog: dialog.accept())
    city.click("#close-year")
    expect(city.get_by_text("年度清算已完成，请双方确认清算单")).to_be_visible()
    expect(city.locator("#year-closed")).to_be_visible()

    finance.goto("/subsidies/year-money?year=2025")
    finance.locator("#settlements tr[data-level=county] a").click()
    expect(finance.locator("#settlement-summary")).to_be_visible()
    assert "3,000.00" in finance.locator("#settlement-summary").inner_text()      # 8,000 − 5,000: to refund
    statement_url = finance.url
    finance.click("#confirm-settlement")
    expect(finance.get_by_text("已确认清算单")).to_be_visible()

    insurer = browser.new_context(base_url=live_server).new_page()
    log_in(insurer, "insurer")
    insurer.goto(statement_url)
    insurer.click("#confirm-settlement")
    expect(insurer.locator("#settlement-status")).to_have_text("已确认待结算")

    finance.goto(statement_url)
    finance.fill("#voucher_no", "鄱财退〔2026〕1号")
    finance.click("#record-transfer")
    expect(finance.locator("#settlement-status")).to_have_text("已结清")
    assert "鄱财退〔2026〕1号" in finance.locator("#transfers").inner_text()
    with finance.expect_download() as download:
        finance.click("text=下载清算单（Excel）")
    assert download.value.suggested_filename.endswith(".xlsx")

    # reports upward: the estimate of the next year and the performance report, opened and checked
    import io
    from decimal import Decimal

    from openpyxl import load_workbook

    city.goto("/subsidies/year-money?year=2025")
    with city.expect_download() as estimate:
        city.click("#estimate-xlsx")
    ws = load_workbook(io.BytesIO(open(estimate.value.path(), "rb").read())).active
    rice = next(row for row in ws.iter_rows(values_only=True) if row[0] == "水稻")
    assert Decimal(str(rice[1])) == Decimal("100000")                          # 2025's premium, the basis
    with city.expect_download() as performance:
        city.click("#performance-xlsx")
    ws = load_workbook(io.BytesIO(open(performance.value.path(), "rb").read())).active
    county_row = next(row for row in ws.iter_rows(values_only=True) if row[0] == "鄱阳县")
    assert Decimal(str(county_row[2])) == Decimal("100000")                    # premium
    assert Decimal(str(county_row[6])) == Decimal("5000")                      # county share, from the advance
