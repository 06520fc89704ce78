"""Keyboard only: a clerk who uses no mouse logs in, files a subsidy claim and submits a bid. Every control is reached
with Tab (or the arrow keys inside a menu or a select) and worked with Enter or Space; nothing here clicks."""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from agri_insurance.clock import utcnow
from tests.subsidies.factories import assign, claim_data
from tests.tenders.factories import make_round

pytestmark = pytest.mark.browser


def tab_to(page, selector: str, limit: int = 250) -> None:
    """Press Tab until the focused element matches `selector`: proves it can be reached from the keyboard."""
    for _ in range(limit):
        if page.evaluate("(s) => !!document.activeElement && document.activeElement.matches(s)", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{selector} cannot be reached with Tab")


def type_into(page, selector: str, text: str) -> None:
    tab_to(page, selector)
    page.keyboard.press("Control+A")
    page.keyboard.type(text)


def choose(page, selector: str, value: str) -> None:
    """A select is changed with the arrow keys once focused (Home first, then down to the option)."""
    tab_to(page, selector)
    page.keyboard.press("Home")
    for _ in range(page.locator(f"{selector} option").count()):
        if page.locator(selector).input_value() == value:
            return
        page.keyboard.press("ArrowDown")
    assert page.locator(selector).input_value() == value, f"{selector}: {value} not reachable with the arrow keys"


def open_from_menu(page, menu: str, href_end: str) -> None:
    """Open a menu with Space (a button), go down to the entry with the arrow keys and follow it with Enter."""
    toggle = f"#mainNav li.dropdown:has(a[href$='{href_end}']) > button.dropdown-toggle"
    tab_to(page, toggle)
    assert menu in page.locator(toggle).inner_text()
    page.keyboard.press("Space")
    expect(page.locator(f"#mainNav li.dropdown:has(a[href$='{href_end}']) .dropdown-menu")).to_be_visible()
    for _ in range(20):
        if page.evaluate("(h) => document.activeElement.getAttribute('href')?.endsWith(h)", href_end):
            break
        page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**{href_end}")


def keyboard_log_in(page, username: str) -> None:
    page.goto("/login")
    type_into(page, "#username", username)
    type_into(page, "#password", "demo1234")
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/login" not in url)


def test_a_clerk_without_a_mouse_files_a_claim_and_submits_a_bid(page, db):
    assign()
    db.session.commit()
    data = claim_data(premium="1234567.89")
    rnd = make_round(deadline=utcnow() + timedelta(days=1), opening=utcnow() + timedelta(days=1, hours=1),
                     publish=True)
    first_lot = rnd.lots[0].id

    keyboard_log_in(page, "insurer")
    # the first Tab on a page reaches the skip link, which leads past the menu to the page's content
    page.keyboard.press("Tab")
    expect(page.locator(".skip-link")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main#content")).to_be_focused()

    # a claim: from the menu to its page, every field typed or chosen from the keyboard
    open_from_menu(page, "补贴", "/subsidies/claims")
    tab_to(page, "a[href$='/subsidies/claims/new']")
    page.keyboard.press("Enter")
    page.wait_for_url("**/subsidies/claims/new")
    choose(page, "#region_id", str(data["region_id"]))
    choose(page, "#product_id", str(data["product_id"]))
    type_into(page, "#period", data["period"])
    for name in ("quantity", "sum_insured", "premium_rate", "total_premium", "farmer_premium"):
        type_into(page, f"#{name}", str(data[name]))
    type_into(page, "#households", "850")
    type_into(page, "#list_rows", "850")
    tab_to(page, "#claim-form button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/subsidies/claims/\d+$"))
    expect(page.locator("#shares tr[data-level=central] td").nth(2)).to_have_text("555,555.56")

    # a bid: started from the open round, lots ticked with Space, figures typed, saved and submitted with Enter
    open_from_menu(page, "遴选", "/bids/")
    tab_to(page, "#open-rounds button")
    page.keyboard.press("Enter")
    page.wait_for_url("**/edit")
    tab_to(page, f"input[name=lot_ids][value='{first_lot}']")
    page.keyboard.press("Space")
    expect(page.locator(f"input[name=lot_ids][value='{first_lot}']")).to_be_checked()
    tab_to(page, "input[name='county_setups-0-has_county_branch']")
    page.keyboard.press("Space")
    type_into(page, "input[name='county_setups-0-township_stations']", "9")
    type_into(page, "input[name='county_setups-0-agri_staff']", "26")
    for name, value in (("avg_settlement_days", "15.5"), ("on_time_settlement_pct", "98"),
                        ("complaints_per_10k", "0.2"), ("premium_income_y1", "61000000"),
                        ("premium_income_y2", "65000000"), ("premium_income_y3", "70000000"),
                        ("reinsurance_arrangement", "成数分保"), ("catastrophe_reserve", "12000000"),
                        ("comprehensive_solvency_pct", "245"), ("core_solvency_pct", "190"),
                        ("control_declaration", "本公司与本轮其他投标人不存在关联关系。")):
        type_into(page, f"#{name}", value)
    choose(page, "#service_rating", "A")
    choose(page, "#risk_rating", "A")
    tab_to(page, "#save-bid")
    page.keyboard.press("Enter")
    page.wait_for_selector("#bid-status")
    tab_to(page, "#submit-bid")
    page.keyboard.press("Enter")
    expect(page.locator("#bid-status")).to_have_text("已提交")
    expect(page.locator("#receipt")).to_be_visible()
