"""Insurer submits a claim (typed, or from its underwriting list), the county verifies with its opinion and prints
the verification sheet, county finance confirms payment and reads its payment list, the dashboard updates."""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import log_in
from tests.subsidies.factories import assign, claim_data

pytestmark = pytest.mark.browser
OPINION = "经核验，承保清单与申请一致，同意拨付。"


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
    expect(page.locator("#reconciled")).to_be_visible()
    page.goto(claim_url)
    page.click("#submit-claim")
    expect(page.get_by_text("已提交，等待县农业农村局核验")).to_be_visible()

    county = browser.new_context(base_url=live_server).new_page()
    log_in(county, "county_agri")
    county.goto(claim_url)
    assert county.locator("#opinion").get_attribute("required") is not None   # no verification without it
    county.fill("#opinion", OPINION)
    county.click("#verify-claim")
    expect(county.get_by_text("核验通过，拨付期限为")).to_be_visible()
    assert county.locator("#verification-opinion").inner_text() == OPINION

    # the verification sheet, printed on A4: the opinion and room to sign and seal, without menu or buttons
    county.click("#verification-sheet")
    assert county.locator("#sheet-opinion").inner_text() == OPINION
    county.evaluate("window.print = () => { window.printed = true; }")
    county.click("#print-page")
    assert county.evaluate("window.printed") is True
    county.emulate_media(media="print")
    assert not county.locator("nav.navbar").is_visible() and not county.locator("#print-page").is_visible()
    assert county.locator("#sheet-opinion").is_visible() and county.get_by_text("经办人（签字）").is_visible()
    county.emulate_media(media="screen")

    finance = browser.new_context(base_url=live_server).new_page()
    log_in(finance, "county_finance")
    finance.goto(claim_url)
    finance.select_option("#level", "county")
    finance.fill("#amount", "61728.39")
    finance.fill("#voucher_no", "鄱财农〔2026〕12号")
    finance.click("#confirm-payment")
    expect(finance.get_by_text("拨付已登记")).to_be_visible()
    assert finance.locator("#shares tr[data-level=county] td").nth(4).inner_text() == "0.00"
    assert "鄱财农〔2026〕12号" in finance.locator("#payments").inner_text()

    finance.goto("/subsidies/payment-list?year=2026")
    assert "鄱财农〔2026〕12号" in finance.locator("#payment-list").inner_text()
    assert "61,728.39" in finance.locator("#payment-list-total").inner_text()

    finance.goto("/subsidies/ledger?year=2026")
    assert "61,728.39" in finance.locator("table#ledger").inner_text()
    finance.goto("/subsidies/overview?year=2026")
    finance.wait_for_function("document.querySelectorAll('canvas').length === 3")
    assert "鄱阳县" in finance.locator("#growth").inner_text()


def test_claim_from_its_underwriting_list(page, underwriting, tmp_path):
    """The other way in: the insurer uploads the list first and the claim takes its totals."""
    from tests.factories import county
    from tests.subsidies.factories import product
    from tests.underwriting.factories import rows, write_xlsx

    list_file = write_xlsx(tmp_path / "承保清单.xlsx", rows(120, premium="33.35", farmer="6.67"))
    log_in(page, "insurer")
    page.goto("/subsidies/claims")
    page.click("#new-claim-from-list")
    page.select_option("#region_id", str(county().id))
    page.select_option("#product_id", str(product("rice").id))
    page.select_option("#year", "2026")
    page.fill("#period", "2026年全年")
    page.fill("#premium_rate", "5")
    page.set_input_files("#file", str(list_file))
    page.click("#from-list-form button[type=submit]")
    page.wait_for_function("document.querySelector('.progress-bar').textContent.trim() === '100%'",
                           timeout=30_000)
    page.wait_for_selector(".job-redirect:visible", timeout=10_000)
    page.click(".job-redirect")
    page.wait_for_url("**/subsidies/claims/*")
    assert page.locator("#shares tr[data-level=farmer] td").nth(2).inner_text() == "800.40"   # 120 × 6.67
    assert "120 行，120 户" in page.locator("#list-card").inner_text()
    assert "与申请一致" in page.locator("#list-card").inner_text()
    page.click("#submit-claim")
    expect(page.get_by_text("已提交，等待县农业农村局核验")).to_be_visible()
