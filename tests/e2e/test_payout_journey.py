"""A payout list from upload to measured service: the insurer uploads its flood payouts, watches the import job's
progress, opens the list, states the period of its notice to farmers (理赔公示) and uploads a photo of it posted in a
village; the county bureau reviews the flag from its menu and sees the photo on the list page; the measured service
page shows the underwriter's loss ratio and settlement days."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from agri_insurance import clock
from agri_insurance.extensions import db
from tests.e2e.conftest import log_in
from tests.images import jpeg_bytes
from tests.payouts.factories import insured, payout, write_xlsx
from tests.subsidies.factories import assign, product

pytestmark = pytest.mark.browser


def test_payout_list_uploaded_reviewed_and_measured(page, browser, live_server, demo, tmp_path):
    assign()
    db.session.commit()
    farmers = insured(tmp_path, count=4)           # premium 200.00
    # 40 days from report to payment, 20 after the agreement: flagged as paid late
    data = [payout(farmers[0], 10, 2), payout(farmers[1], 40, 20)]
    payout_file = write_xlsx(tmp_path / "理赔清单.xlsx", data, notes_sheet=True)

    log_in(page, "insurer")
    page.click("nav >> text=理赔")
    page.click("nav >> text=理赔清单")
    expect(page.locator("#payout-upload-form")).to_be_visible()
    page.select_option("#region_id", label="鄱阳县")
    page.select_option("#product_id", str(product("rice").id))
    page.select_option("#year", "2026")
    page.fill("#event", "2026年6月洪涝")
    page.set_input_files("#file", str(payout_file))
    page.click("#payout-upload")
    page.wait_for_url("**/jobs/*")
    summary = page.locator(".job-summary-text")
    expect(summary).to_contain_text("已导入 2 行，标记 1 处", timeout=30_000)
    expect(page.locator(".job-progress .progress-bar, .progress-bar").first).to_have_text("100%")
    page.click(".job-redirect")
    expect(page.locator("#payout-flags")).to_contain_text("达成协议后超过10日支付")

    # the notice to farmers: its period, then a photo of it posted in 饶丰镇第1村 (农户1's village)
    start = clock.local_today() - timedelta(days=2)
    page.fill("#starts_on", start.isoformat())
    page.fill("#days", "7")
    page.click("#save-notice-period")
    expect(page.locator("#notice-period")).to_contain_text("（7 天）")
    (tmp_path / "张贴.jpg").write_bytes(jpeg_bytes(640, 480))
    page.select_option("#village", label="饶丰镇第1村")
    page.fill("#posted_on", start.isoformat())
    page.set_input_files("#photos", str(tmp_path / "张贴.jpg"))
    page.click("#upload-notice-photos")
    expect(page.locator("#notice-evidence-summary")).to_have_text("2 个村，1 个村已上传张贴照片")

    county = browser.new_context(base_url=live_server, locale="zh-CN").new_page()
    log_in(county, "county_agri")
    county.click("nav >> text=理赔")
    county.click("nav >> text=待审核理赔标记")
    expect(county.locator("#flags-waiting")).to_contain_text("协议后第 20 天支付")
    county.fill("#flags-waiting input[name=comment]", "农户外出务工，协议后无法联系，已核实")
    county.click("#flags-waiting button")
    expect(county.locator("#no-flags")).to_be_visible()

    # the county bureau opens the list and sees the photo (a real image, shown), read-only
    county.click("nav >> text=理赔")
    county.click("nav >> text=理赔清单")
    county.click("text=2026年6月洪涝")
    expect(county.locator("#notice-evidence-summary")).to_have_text("2 个村，1 个村已上传张贴照片")
    posted = county.locator('#notice-villages tr[data-village="饶丰镇第1村"]')
    expect(posted.locator("img.notice-thumb")).to_have_count(1)
    county.wait_for_function("[...document.querySelectorAll('#notice-villages img.notice-thumb')]"
                             ".every(img => img.complete && img.naturalWidth === 640)")
    expect(county.locator('#notice-villages tr[data-village="饶丰镇第0村"] .no-photo')).to_have_text("未上传")
    expect(county.locator(".delete-notice-photo, #notice-photo-form")).to_have_count(0)

    county.click("nav >> text=理赔")
    county.click("nav >> text=理赔服务指标")
    table = county.locator("#service-table")
    expect(table).to_contain_text("50.00%")          # 100.00 paid / 200.00 premium
    expect(table).to_contain_text("25.0")            # median of 10 and 40 days
    county.click("#service-table a >> nth=1")        # the underwriter's own page
    expect(county.locator("h1")).to_contain_text("理赔服务指标")
    expect(county.locator("#service-table")).to_contain_text("50.00%")
