"""Funds from above in the browser: the city finance bureau finds 资金下达与拨付 in the menu, records a central
allocation with its document number, passes part of it on to a county (and is refused more than it holds), and
reads the path on the page and on the ledger; the page, with its data and its refusal, meets WCAG 2.1 AA."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from agri_insurance.subsidies import funds
from tests.e2e.conftest import log_in
from tests.factories import county

pytestmark = pytest.mark.browser
WCAG = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
        "resultTypes": ["violations"]}


def _record(page, source: str, to_region_id: int, document_no: str, amount: str) -> None:
    page.select_option("#passed_on", source)
    page.select_option("#to_region_id", str(to_region_id))
    page.select_option("#level", "central")
    page.fill("#year", "2025")
    page.fill("#document_no", document_no)
    page.fill("#issued_on", "2025-03-01")
    page.fill("#amount", amount)
    page.click("#save-funds")


def test_funds_received_passed_on_and_their_path(page, live_server, demo, db):
    city_id, county_id = funds.city().id, county().id
    log_in(page, "city_finance")
    page.goto("/")
    expect(page.locator('nav a[href="/subsidies/funds"]')).to_have_count(1)
    page.goto("/subsidies/funds?year=2025")
    _record(page, "0", city_id, "财金〔2025〕10号", "100000.00")
    expect(page.get_by_text("资金已登记")).to_be_visible()
    _record(page, "1", county_id, "饶财农〔2025〕3号", "100000.01")
    expect(page.get_by_text("转拨金额超出市本级2025年度收到的中央财政资金余额 100,000.00 元")).to_be_visible()
    found = Axe().run(page, options=WCAG).response["violations"]
    assert not found, [v["id"] for v in found]
    page.fill("#amount", "30000.00")
    page.click("#save-funds")
    expect(page.get_by_text("资金已登记")).to_be_visible()
    city_row = page.locator(f'#funds-path-table tr[data-level=central][data-region="{funds.city().code}"]')
    assert "70,000.00" in city_row.inner_text()
    county_row = page.locator(f'#funds-path-table tr[data-level=central][data-region="{county().code}"]')
    assert "30,000.00" in county_row.inner_text()
    assert "饶财农〔2025〕3号" in page.locator("#fund-allocations").inner_text()
    found = Axe().run(page, options=WCAG).response["violations"]
    assert not found, [v["id"] for v in found]
    page.goto("/subsidies/ledger?year=2025")
    expect(page.locator("#funds-path")).to_be_visible()
