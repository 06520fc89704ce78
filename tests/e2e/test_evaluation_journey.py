"""Browser journey: an expert logs in, declares no conflict, scores two bids and submits; the city bureau closes
the evaluation and sees the ranking."""

import pytest

from agri_insurance.evaluation import service
from tests.e2e.conftest import log_in
from tests.evaluation.factories import make_evaluation_round, panel_ready

pytestmark = pytest.mark.browser


def test_expert_scores_two_bids_and_the_bureau_sees_the_ranking(page, db):
    rnd, bids = make_evaluation_round({"赣鄱财险": {}, "信江农险": {}})
    panel_ready(rnd)
    criteria = service.subjective_criteria(rnd)
    names = {short: bid.insurer.name for short, bid in bids.items()}

    log_in(page, "expert")
    page.get_by_role("button", name="遴选").click()
    page.locator("#mainNav").get_by_role("link", name="评审").click()
    page.locator(".expert-round-link").first.click()
    page.click("#declare-button")  # nothing ticked: no conflict of interest
    assert "与本轮投标人均无利益冲突" in page.locator("#declaration").inner_text()

    for short, points in (("赣鄱财险", "4"), ("信江农险", "3")):
        page.locator(f"#bid-{bids[short].id}").get_by_role("link", name="评分").click()
        for c in criteria:
            page.fill(f"#c{c.id}", points)
        page.click("#save-scores")
        page.wait_for_url("**/expert")
    page.click("#submit-scores")
    assert "评分已提交" in page.content()
    assert page.locator("#panel-scores").is_visible()

    page.context.clear_cookies()
    log_in(page, "city_agri")
    page.goto(f"/evaluation/rounds/{rnd.id}")
    page.click("#close-panel")
    page.wait_for_url("**/ranking")
    rows = page.locator("#ranking tbody tr")
    assert rows.count() == 2
    first = rows.nth(0).inner_text()
    assert names["赣鄱财险"] in first and "1" in first.split()[0]
    assert names["信江农险"] in rows.nth(1).inner_text()
    assert page.locator("#county-361128").is_visible()
