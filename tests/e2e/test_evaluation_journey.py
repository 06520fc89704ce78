"""Browser journeys: an expert logs in, declares no conflict, scores two bids and submits; the city bureau closes
the evaluation and sees the ranking. The branch of a common-control pair: the bureau decides it on the panel page
and starts the scoring, the expert scores with the bid's documents."""

import pytest
from playwright.sync_api import expect

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
    expect(page.locator("#panel-scores")).to_be_visible()
    assert "评分已提交" in page.content()

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


def test_the_bureau_decides_a_common_control_pair_and_the_expert_reads_the_bid_documents(page, db):
    """The demo's 三清 and 灵山 share a parent: the bureau admits one and excludes the other on the panel page,
    assigns an expert and starts the scoring; the expert scores 三清 with its PDF and data sheet at hand."""
    rnd, bids = make_evaluation_round({"赣鄱财险": {}, "三清财险": {}, "灵山财险": {}})
    log_in(page, "city_agri")
    page.goto(f"/evaluation/rounds/{rnd.id}")
    page.click("#check-eligibility")
    for short, decision, note in (("三清财险", "准予参加评审", "两家分别独立经营"),
                                  ("灵山财险", "不予参加评审", "同一集团只允许一家参加")):
        row = page.locator("#eligibility tbody tr", has_text=bids[short].insurer.name)
        row.locator("select[name=decision]").select_option(label=decision)
        row.locator("input[name=note]").fill(note)
        row.get_by_role("button", name="记录决定").click()
        page.wait_for_load_state()
        assert decision in page.locator("#eligibility tbody tr", has_text=bids[short].insurer.name).inner_text()
    page.locator("#add-member select").select_option(label="评审专家 陈教授（expert）")
    page.locator("#add-member button").click()
    page.click("#start-scoring")
    assert page.locator("#panel-status").inner_text() == "专家评分"

    page.context.clear_cookies()
    log_in(page, "expert")
    page.goto(f"/evaluation/rounds/{rnd.id}/expert")
    page.click("#declare-button")
    assert page.locator(f"#bid-{bids['灵山财险'].id}").count() == 0  # excluded: not scored
    page.locator(f"#bid-{bids['三清财险'].id}").get_by_role("link", name="评分").click()
    pdf = page.request.get(page.locator(".bid-attachment").first.get_attribute("href"))
    assert pdf.ok and pdf.body().startswith(b"%PDF")
    sheet = page.request.get(page.locator("#bid-data-sheet").get_attribute("href"))
    assert sheet.ok and sheet.body().startswith(b"PK")
