"""The pages' own scripts run under the Content-Security-Policy (no inline script, no eval): the subsidy
overview draws its charts, the claim form fills the unit from the product, and the browser reports no refusal."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import log_in

pytestmark = pytest.mark.browser


def test_page_scripts_run_under_the_policy(browser, live_server, db):
    from tests.subsidies.factories import assign

    assign()  # the insurer's underwriting assignment: products to choose on the claim form
    db.session.commit()
    context = browser.new_context(base_url=live_server, locale="zh-CN", bypass_csp=False)
    page = context.new_page()
    page.set_default_timeout(10_000)
    refused = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    try:
        log_in(page, "city_finance")
        page.goto("/subsidies/overview?year=2026")
        expect(page.locator("canvas#chart-growth")).to_be_visible()
        assert page.evaluate("['chart-disbursement', 'chart-products', 'chart-growth']"
                             ".every((id) => Chart.getChart(document.getElementById(id)) !== undefined)")
        context.clear_cookies()
        log_in(page, "insurer")
        page.goto("/subsidies/claims/new")
        options = page.locator("#product_id option:not([value=''])")
        page.select_option("#product_id", options.first.get_attribute("value"))
        expect(page.locator("#unit")).not_to_have_value("")
        assert refused == []
    finally:
        context.close()
