"""Browser journey: an insurer fills and submits a bid and downloads its receipt; after the opening time the
city bureau opens the bids and sees the opening record."""

import io
from datetime import timedelta

import pytest
import time_machine
from pypdf import PdfReader

from agri_insurance.clock import utcnow
from tests.e2e.conftest import log_in
from tests.tenders.factories import make_round

pytestmark = pytest.mark.browser


def test_insurer_submits_a_bid_and_the_bureau_opens_it(page, db):
    rnd = make_round(deadline=utcnow() + timedelta(days=1), opening=utcnow() + timedelta(days=1, hours=1),
                     publish=True)
    lots = {lot.code: lot.id for lot in rnd.lots}

    log_in(page, "insurer")
    page.get_by_role("button", name="遴选").click()
    page.locator("#mainNav").get_by_role("link", name="本机构投标").click()
    page.locator("#open-rounds").get_by_role("button", name="编制投标文件").click()
    page.wait_for_url("**/edit")

    page.check(f"input[name=lot_ids][value='{lots['361128-1']}']")
    page.check(f"input[name=lot_ids][value='{lots['361128-2']}']")
    page.check("input[name='county_setups-0-has_county_branch']")  # 鄱阳县 comes first (by code)
    page.fill("input[name='county_setups-0-township_stations']", "9")
    page.fill("input[name='county_setups-0-agri_staff']", "26")
    for name, value in (("avg_settlement_days", "15.5"), ("on_time_settlement_pct", "98"),
                        ("complaints_per_10k", "0.2"), ("premium_income_y1", "61000000"),
                        ("premium_income_y2", "65000000"), ("premium_income_y3", "70000000.5"),
                        ("reinsurance_arrangement", "与某再保险公司签订成数分保合同"),
                        ("catastrophe_reserve", "12000000"), ("comprehensive_solvency_pct", "245"),
                        ("core_solvency_pct", "190"),
                        ("control_declaration", "本公司与本轮其他投标人不存在控股、管理等关联关系。")):
        page.fill(f"#{name}", value)
    page.select_option("#service_rating", "A")
    page.select_option("#risk_rating", "A")
    page.fill("input[name='innovations-0-name']", "水稻完全成本保险")
    page.fill("input[name='innovations-0-filed_on']", "2024-03-15")
    page.click("#save-bid")
    page.wait_for_selector("#bid-status")
    assert page.locator("#bid-lots li").count() == 2

    page.click("#submit-bid")
    page.wait_for_selector("#receipt")
    assert page.locator("#bid-status").inner_text() == "已提交"
    digest = page.locator("#receipt-hash").inner_text()
    assert len(digest) == 64
    with page.expect_download() as download_info:
        page.click("#receipt-pdf")
    pdf = download_info.value
    assert pdf.suggested_filename.endswith(".pdf")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(open(pdf.path(), "rb").read())).pages)
    assert digest in text.replace("\n", "")

    # The bureau sees only the count before the opening.
    page.context.clear_cookies()
    log_in(page, "city_agri")
    page.goto(f"/tenders/{rnd.id}")
    assert page.locator("#bid-count .display-6").inner_text() == "1"
    assert page.locator("#open-bids-button").count() == 0

    with time_machine.travel(rnd.opening_time + timedelta(minutes=1)):
        page.goto(f"/tenders/{rnd.id}")
        assert page.locator("#round-status").inner_text() == "已截标"
        page.click("#open-bids-button")
        page.wait_for_url("**/opening")
        record = page.locator("#opening-record")
        assert "赣鄱财产保险股份有限公司上饶中心支公司" in record.inner_text()
        assert digest in record.inner_text()
        assert "361128-1" in record.inner_text()
