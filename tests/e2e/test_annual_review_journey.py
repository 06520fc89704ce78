"""The annual evaluation from an empty database: the city opens the 2025 evaluation, the bureaus of 鄱阳县 and
婺源县 score the demo insurer (赣鄱财险; the other underwriter's results are scored through the service), the
underwriter reads its draft result and replies, the city finalises once the reply periods are over, and the
underwriter downloads its report and reads it back. Then the next round: the underwriter rated 不合格 in 鄱阳县
in 2024 and 2025 reads at the eligibility check why it may not win a lot there."""

import io
from datetime import timedelta

import pytest
import time_machine
from playwright.sync_api import expect
from pypdf import PdfReader

from agri_insurance.annual_review import service
from agri_insurance.clock import utcnow
from agri_insurance.extensions import db
from tests.annual_review.factories import county_user, evaluated_year, make_term, score
from tests.e2e.conftest import log_in
from tests.evaluation.factories import make_evaluation_round
from tests.tenders.factories import user

pytestmark = pytest.mark.browser


def _score_in_page(page, points, comment):
    for field in page.locator("#score-form input[name^=points-]").all():
        field.fill(points)
    for field in page.locator("#score-form textarea[name^=comment-]").all():
        field.fill(comment)
    page.click("#submit-scores")
    expect(page.locator("#result-status")).to_have_text("初评结果（待定稿）")


def test_evaluation_opened_scored_replied_finalised_and_report_read_back(page, browser, live_server, demo):
    make_term(2024)
    county_user("361130")
    db.session.commit()
    own = user("insurer").insurer_id

    log_in(page, "city_agri")
    page.click("nav >> text=考评")
    page.click("nav >> text=承保机构年度考评")
    page.fill("#year", "2025")
    page.click("#new-review button")
    expect(page.locator("#indicators")).to_contain_text("理赔及时率")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("button:has-text('开始考评')")
    expect(page.locator("#review-status")).to_have_text("考评进行中")
    for result in service.results_of(service.review_of(2025)):
        if result.insurer_id != own:
            score(result, 10)

    for username, county in (("county_agri", "鄱阳县"), ("county361130", "婺源县")):
        bureau = browser.new_context(base_url=live_server, locale="zh-CN").new_page()
        log_in(bureau, username)
        bureau.goto("/annual-review/2025")
        bureau.click("#results tr:has-text('赣鄱财产保险') a")
        expect(bureau.locator("h1")).to_contain_text("赣鄱财产保险")
        _score_in_page(bureau, "8", f"{county}：部分乡镇服务站人员不足")
        expect(bureau.locator("#result-total")).to_have_text("94.00")       # 70 measured + 3 × 8
        expect(bureau.locator("#result-grade")).to_have_text("优秀")
        bureau.context.close()

    insurer = browser.new_context(base_url=live_server, locale="zh-CN").new_page()
    log_in(insurer, "insurer")
    insurer.click("nav >> text=考评")
    insurer.click("nav >> text=承保机构年度考评")
    insurer.click("text=2025 年度考评")
    expect(insurer.locator("#results tbody tr")).to_have_count(2)           # its own results only
    insurer.click("#results tr:has-text('鄱阳县') a")
    insurer.fill("#reply", "对服务网络扣分有异议：新设三个服务站已于11月投入使用")
    insurer.click("#reply-form button")
    expect(insurer.locator("#reply-text")).to_contain_text("新设三个服务站")

    with time_machine.travel(utcnow() + timedelta(days=14)):               # every reply period is over
        page.reload()
        page.once("dialog", lambda dialog: dialog.accept())
        page.click("button:has-text('定稿')")
        expect(page.locator("#review-status")).to_have_text("已定稿")

    insurer.reload()
    expect(insurer.locator("#result-status")).to_have_text("已定稿")
    with insurer.expect_download() as info:
        insurer.click("text=下载考评报告（PDF）")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(open(info.value.path(), "rb").read())).pages)
    flat = text.replace("\n", "").replace(" ", "")
    assert "2025年度农业保险承保机构考评报告" in flat and "94.00" in flat and "新设三个服务站" in flat


def test_the_excluded_underwriter_reads_why_at_the_eligibility_check(page, demo):
    own = user("insurer").insurer_id
    make_term(2024)
    evaluated_year(2024, {(own, "361128"): 0})
    evaluated_year(2025, {(own, "361128"): 0})
    rnd, _bids = make_evaluation_round({"赣鄱财险": {}, "信江农险": {}})
    from agri_insurance.evaluation import service as evaluation

    evaluation.check_eligibility(rnd, user("city_agri"))
    db.session.commit()
    log_in(page, "city_agri")
    page.goto(f"/evaluation/rounds/{rnd.id}")
    expect(page.locator("body")).to_contain_text("鄱阳县：2024、2025年度考评连续不合格，不得参加该县本轮遴选")
