import pytest

from tests.e2e.conftest import log_in

pytestmark = pytest.mark.browser


def test_city_agri_logs_in_sees_chinese_switches_to_english_and_logs_out(page):
    log_in(page, "city_agri")
    assert page.locator("h1").inner_text().startswith("欢迎")
    assert page.locator("#figures").get_by_text("县（市、区）").is_visible()
    assert page.locator("#figures .display-6").first.inner_text() == "12"

    page.get_by_role("link", name="English").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text().startswith("Welcome")
    page.get_by_role("button", name="Reference data").click()
    page.locator("#mainNav").get_by_role("link", name="Subsidy schemes").click()
    assert page.locator("h1").inner_text() == "Subsidy schemes"

    page.locator("#user-menu").click()
    page.locator("#logout-button").click()
    page.wait_for_url("**/login")
    assert page.get_by_text("You are logged out").is_visible()


def test_lockout_is_explained_on_the_login_page(page):
    for _ in range(5):
        page.goto("/login")
        page.fill("#username", "expert")
        page.fill("#password", "not-the-password1")
        page.click("button[type=submit]")
    assert "账户已锁定" in page.locator("#login-error").inner_text()
