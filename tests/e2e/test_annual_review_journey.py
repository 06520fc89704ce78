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


def test_next_round_created_from_the_last_and_the_excluded_underwriter_refused_with_the_years(page, demo):
    """The 2024–2026 term awarded; the demo insurer 不合格 in 鄱阳县 in 2024 and 2025 (the 2025 scheme, the latest
    final year, governs a 2027 term: two consecutive years, three looked back). The city copies the last term's lots
    into the 2027 round in the browser; after the bids are opened it runs the eligibility check and reads the
    refusal for 鄱阳县 naming the years; the insurer stays eligible in 婺源县."""
    from agri_insurance.bids import service as bids_service
    from agri_insurance.evaluation import service as evaluation
    from agri_insurance.tenders import service as tenders
    from tests.evaluation.factories import insurer, insurer_user
    from tests.factories import county
    from tests.tenders.factories import make_bid

    own = user("insurer").insurer_id
    last = make_term(2024)
    evaluated_year(2024, {(own, "361128"): 0})
    evaluated_year(2025, {(own, "361128"): 0})
    city = user("city_agri")
    now = utcnow()
    with time_machine.travel(now - timedelta(days=10)):
        rnd = tenders.create_round({
            "name": "2027–2029年度政策性农业保险承保机构遴选", "term_start_year": 2027,
            "bid_deadline": now - timedelta(days=2), "opening_time": now - timedelta(days=2),
            "notice_working_days": 5, "min_insurers": 2, "max_insurers": 3, "market_share_cap_pct": None,
            "contact": "市农业农村局 0793-0000000", "notes": None}, city)
        db.session.commit()
        log_in(page, "city_agri")
        page.goto(f"/tenders/{rnd.id}")
        page.get_by_role("link", name="从上一服务期复制标段").click()
        expect(page.locator("#previous-round")).to_have_text(last.name)
        page.click("#copy-previous")
        expect(page.get_by_text("已从上一服务期复制", exact=False)).to_be_visible()
        db.session.expire_all()
        assert sorted(lot.code for lot in rnd.lots) == sorted(lot.code for lot in last.lots)
        tenders.publish_round(rnd, city)
        db.session.commit()
        for short in ("赣鄱财险", "信江农险", "三清财险"):
            make_bid(rnd, insurer_user(short), parent_company=insurer(short).parent_company, penalties=[])
    with time_machine.travel(now - timedelta(days=1)):
        bids_service.open_bids(rnd, city)
        tenders.start_evaluation(rnd, city, len(bids_service.opened_bids(rnd)))
        db.session.commit()
        page.goto(f"/evaluation/rounds/{rnd.id}")
        page.click("#check-eligibility")
        row = page.locator("#eligibility tr", has_text=insurer("赣鄱财险").name)
        expect(row).to_contain_text("鄱阳县：2024、2025年度考评连续不合格，不得参加该县本轮遴选")
        expect(row).to_contain_text("合格")   # still eligible in 婺源县
    check = next(c for c in evaluation.eligibility_checks(rnd) if c.bid.insurer_id == own)
    assert check.eligible and evaluation.excluded_counties(check) == {county("361128").id}
