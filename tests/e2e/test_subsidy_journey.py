"""Insurer submits a claim, the county verifies, county finance confirms payment, the dashboard updates."""

import pytest

from tests.e2e.conftest import log_in
from tests.subsidies.factories import assign, claim_data

pytestmark = pytest.mark.browser


@pytest.fixture
def underwriting(demo, db):
    assign()
    db.session.commit()
    return claim_data(premium="1234567.89")


def test_claim_from_submission_to_payment(page, browser, live_server, underwriting, tmp_path):
    data = underwriting
    log_in(page, "insurer")
    page.goto("/subsidies/claims/new")
    page.select_option("#region_id", str(data["region_id"]))
    page.select_option("#product_id", str(data["product_id"]))
    page.fill("#period", data["period"])
    for name in ("quantity", "sum_insured", "premium_rate", "total_premium", "farmer_premium"):
        page.fill(f"#{name}", str(data[name]))
    page.fill("#households", "850")
    page.fill("#list_rows", "850")
    page.click("#claim-form button[type=submit]")
    page.wait_for_url("**/subsidies/claims/*")
    assert page.locator("#shares tr[data-level=central] td").nth(2).inner_text() == "555,555.56"
    claim_url = page.url

    # The underwriting list: uploaded, checked as a background job with a progress bar, then reconciled.
    from agri_insurance.extensions import db as _db
    from agri_insurance.subsidies.models import SubsidyClaim
    from agri_insurance.underwriting.demo import matching_rows
    from tests.underwriting.factories import write_csv

    claim = _db.session.get(SubsidyClaim, int(claim_url.rsplit("/", 1)[1]))
    list_file = write_csv(tmp_path / "承保清单.csv", matching_rows(claim))
    page.click("#open-list")
    page.set_input_files("#file", str(list_file))
    page.click("#upload-form button")
    # The bar fills as the job runs; when it is done the bar reads 100 % and a link leads back to the list.
    page.wait_for_function("document.querySelector('.progress-bar').textContent.trim() === '100%'",
                           timeout=30_000)
    page.wait_for_selector(".job-redirect:visible", timeout=10_000)
    page.click(".job-redirect")
    assert page.locator("#reconciled").is_visible()
    page.goto(claim_url)
    page.click("#submit-claim")
    assert page.get_by_text("已提交，等待县农业农村局核验").is_visible()

    county = browser.new_context(base_url=live_server).new_page()
    log_in(county, "county_agri")
    county.goto(claim_url)
    county.click("#verify-claim")
    assert county.get_by_text("核验通过，拨付期限为").is_visible()

    finance = browser.new_context(base_url=live_server).new_page()
    log_in(finance, "county_finance")
    finance.goto(claim_url)
    finance.select_option("#level", "county")
    finance.fill("#amount", "61728.39")
    finance.fill("#voucher_no", "鄱财农〔2026〕12号")
    finance.click("#confirm-payment")
    assert finance.get_by_text("拨付已登记").is_visible()
    assert finance.locator("#shares tr[data-level=county] td").nth(4).inner_text() == "0.00"
    assert "鄱财农〔2026〕12号" in finance.locator("#payments").inner_text()

    finance.goto("/subsidies/ledger?year=2026")
    assert "61,728.39" in finance.locator("table").inner_text()
    finance.goto("/subsidies/overview?year=2026")
    finance.wait_for_function("document.querySelectorAll('canvas').length === 3")
    assert "鄱阳县" in finance.locator("#growth").inner_text()
