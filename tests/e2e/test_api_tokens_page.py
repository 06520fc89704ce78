"""The token page in a browser: a token made, shown once (and then only by name and prefix), revoked; the page in
both languages meets WCAG 2.1 AA (it is in the access table, so the every-page check covers its empty state)."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.e2e.conftest import log_in

pytestmark = pytest.mark.browser
def violations(page) -> list[str]:
    return [f"{v['id']}: {[' '.join(n['target']) for n in v['nodes']][:3]}"
            for v in Axe().run(page, options=WCAG).response["violations"]]


WCAG = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
        "resultTypes": ["violations"]}


def test_a_token_is_made_shown_once_and_revoked(page, live_server):
    log_in(page, "insurer")
    page.goto("/account/tokens")
    page.fill("#name", "核心系统")
    page.click("button:has-text('生成令牌')")
    secret = page.locator("#new-token")
    expect(secret).to_contain_text("agri_")
    value = secret.inner_text()
    assert not violations(page)
    api = page.request.get("/api/v1/reference/products", headers={"Authorization": f"Bearer {value}"})
    assert api.status == 200
    page.goto("/account/tokens")
    expect(page.locator("#tokens")).to_contain_text("核心系统")
    assert value not in page.content()
    page.click("#tokens button:has-text('吊销')")
    expect(page.locator("#tokens")).to_contain_text("已吊销")
    page.goto("/lang/en?next=/account/tokens")
    expect(page.locator("#tokens")).to_contain_text("Revoked")
    assert not violations(page)
    refused = page.request.get("/api/v1/reference/products", headers={"Authorization": f"Bearer {value}"})
    assert refused.status == 401
