"""Deleting asks first: a form marked data-confirm is sent only when the user says yes."""

from tests.e2e.conftest import log_in


def test_deleting_a_holiday_asks_first_and_cancel_keeps_it(page):
    log_in(page, "admin")
    page.goto("/awards/holidays")
    page.fill("input[name=day]", "2031-10-01")
    page.fill("input[name=name]", "国庆节")
    page.click("form:has(input[name=day]) button")
    row = page.locator("tr", has_text="国庆节")
    assert row.count() == 1
    questions = []

    def answer(dialog, accept):
        questions.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda dialog: answer(dialog, False))
    row.locator("button").click()
    page.wait_for_timeout(300)
    assert "国庆节" in questions[0] and page.locator("tr", has_text="国庆节").count() == 1
    page.once("dialog", lambda dialog: answer(dialog, True))
    with page.expect_navigation():
        row.locator("button").click()
    assert page.locator("tr", has_text="国庆节").count() == 0
