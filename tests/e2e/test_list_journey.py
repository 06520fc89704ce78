"""A city officer narrows the claims list down (search, year, status), pages through it, bookmarks a page and
comes back to it, clears the filters; a finance officer's ledger filtered by county totals that county only."""

from decimal import Decimal

import pytest

from agri_insurance.extensions import db as _db
from agri_insurance.subsidies.models import ClaimStatus as S
from tests.e2e.conftest import log_in
from tests.subsidies.test_claim_lists import build_claims

pytestmark = pytest.mark.browser


@pytest.fixture
def claims(demo, db):
    world = build_claims(600)
    _db.session.commit()
    return world


def test_filter_page_bookmark_and_clear(page, browser, live_server, claims):
    log_in(page, "city_agri")
    page.click("nav >> text=保费补贴")  # the menu, then its first entry
    page.click("nav >> text=补贴申请")
    visible = [c for c in claims.claims if c.status is not S.DRAFT]
    assert f"共 {len(visible)} 条" in page.locator("#pagination").inner_text()

    name = claims.insurer_names[1]
    page.fill("#claim-filters input[name=q]", name)
    page.fill("#claim-filters input[name=year]", "2026")
    page.click("#apply-filters")
    expected = sorted((c for c in visible if c.insurer == 1 and c.year == 2026), key=lambda c: -c.id)
    assert len(expected) > 50
    assert f"共 {len(expected)} 条，显示第 1–50 条" in page.locator("#pagination").inner_text()
    page.click("#pagination a[rel=next]")
    assert "显示第 51–" in page.locator("#pagination").inner_text()
    assert page.locator("#claim-filters input[name=q]").input_value() == name  # the form shows what is in use
    first_id = page.locator("#claims tbody tr td").first.inner_text()
    assert first_id == f"#{expected[50].id}"

    # the page's address is a bookmark: another session opens the same rows
    bookmark = page.url
    assert "page=2" in bookmark and "year=2026" in bookmark
    other = browser.new_context(base_url=live_server).new_page()
    log_in(other, "city_agri")
    other.goto(bookmark)
    assert other.locator("#claims tbody tr td").first.inner_text() == first_id
    other.context.close()

    page.select_option("#claim-filters select[name=status]", "settled")
    page.click("#apply-filters")
    settled = [c for c in expected if c.status is S.SETTLED]
    assert f"共 {len(settled)} 条" in page.locator("#pagination").inner_text()
    assert "page=" not in page.url  # a new filter starts on the first page
    premium = sum(c.premium for c in settled)
    assert f"{premium:,.2f}" in page.locator("#claims-total").inner_text()

    page.click("#clear-filters")
    assert f"共 {len(visible)} 条" in page.locator("#pagination").inner_text()
    page.goto("/subsidies/claims?year=next")
    assert "年度：“next”无效，已忽略" in page.locator("#filter-problems").inner_text()


def test_a_ledger_filtered_by_county_totals_that_county(page, claims):
    log_in(page, "city_finance")
    page.goto("/subsidies/ledger?year=2026")
    page.select_option("#ledger-filters select[name=region_id]", str(claims.counties["361130"]))
    page.click("#apply-filters")
    rows = [c for c in claims.claims if c.county == "361130" and c.year == 2026
            and c.status in (S.SUBMITTED, S.VERIFIED, S.PAYING, S.SETTLED)]
    assert "婺源县" in page.locator("h1").inner_text()
    total = page.locator("#ledger-total td")
    assert total.nth(2).inner_text() == f"{sum((c.due for c in rows), Decimal(0)):,.2f}"
    assert "region_id=" in page.locator("#ledger-download").get_attribute("href")
