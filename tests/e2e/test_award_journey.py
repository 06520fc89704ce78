"""Browser journeys: the city bureau runs the allocation for a round whose evaluation is final, watches the progress
bar reach 100 %, reads the result, adopts the run, publishes the result and downloads an award notice (a draft
until the result is final). The other branch: the round's market-share cap admits no allocation, the bureau
records an approved rule departure, runs a what-if under it, adopts and publishes; the public notice states the
departure and leads a bidder who wants to object to the login page and on to its objection.

The round is built through the services: three insurers bid on every lot of 鄱阳县 and 婺源县 (two lots each:
X-1 premium 1,000,000, X-2 premium 2,000,000), the expert gives 赣鄱财险 5, 信江农险 3 and 怀玉财险 1 point on
every expert criterion, and the panel is closed. Each county needs two insurers, so the premium-weighted optimum
gives the better-scored 赣鄱财险 the larger lot X-2 in each county and 信江农险 X-1; 怀玉财险 wins nothing and is
each county's backup underwriter."""

import io
import re
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from docx import Document
from pypdf import PdfReader

from agri_insurance.allocation import jobs as allocation_jobs
from agri_insurance.clock import local_today
from agri_insurance.evaluation import service as evaluation
from tests.e2e.conftest import log_in
from tests.evaluation.factories import insurer, make_evaluation_round, panel_ready, score_all
from tests.tenders.factories import PDF_BYTES, user

pytestmark = pytest.mark.browser

# Records every text the progress bar shows, across the redirect to the result page.
WATCH_PROGRESS = """
document.addEventListener("DOMContentLoaded", function () {
  var bar = document.querySelector("[data-job-progress] .progress-bar");
  if (!bar) { return; }
  window.reportProgress(bar.textContent.trim());
  new MutationObserver(function () { window.reportProgress(bar.textContent.trim()); })
    .observe(bar, {childList: true, characterData: true, subtree: true});
});
"""


@pytest.fixture
def final_round(demo, db):
    rnd, bids = make_evaluation_round({"赣鄱财险": {}, "信江农险": {}, "怀玉财险": {}})
    members = panel_ready(rnd)
    criteria = evaluation.subjective_criteria(rnd)
    points = {short: {c.code: value for c in criteria}
              for short, value in (("赣鄱财险", "5"), ("信江农险", "3"), ("怀玉财险", "1"))}
    score_all(rnd, members["expert"], points)
    evaluation.close_panel(rnd, user("city_agri"))
    db.session.commit()
    assert evaluation.is_final(rnd)
    return rnd


@pytest.fixture
def solver_gate(monkeypatch):
    """Holds the allocation job just before the solver until the test has seen the progress bar (the real solver
    then runs); without it a small scenario could finish before the page is drawn."""
    gate = threading.Event()
    real = allocation_jobs.solve_scenario

    def gated(scenario):
        gate.wait(timeout=30)
        return real(scenario)

    monkeypatch.setattr(allocation_jobs, "solve_scenario", gated)
    yield gate
    gate.set()


def test_bureau_allocates_adopts_publishes_and_downloads_a_notice(page, final_round, solver_gate):
    rnd = final_round
    best, second, third = (insurer(s).name for s in ("赣鄱财险", "信江农险", "怀玉财险"))
    seen: list[str] = []
    page.expose_function("reportProgress", lambda text: seen.append(text))
    page.add_init_script(WATCH_PROGRESS)

    log_in(page, "city_agri")
    page.goto(f"/tenders/{rnd.id}")
    page.click("#allocation-link")
    page.wait_for_url(f"**/allocation/rounds/{rnd.id}")
    page.click("#start-run")

    # The run page shows the job's progress bar while the solver waits at the gate.
    bar = page.locator("[data-job-progress] .progress-bar")
    bar.wait_for()
    assert bar.inner_text() != "100%"
    # the page polls: it shows the job reach the solver (20 %) and stay there while the gate is shut
    page.wait_for_function(
        "document.querySelector('[data-job-progress] .job-message').textContent.includes('求解中')")
    assert bar.inner_text() == "20%"
    solver_gate.set()

    # The page polls, the bar reaches 100 % and the page turns into the result.
    page.wait_for_selector("#run-summary", timeout=30_000)
    assert "100%" in seen and seen[0] != "100%"
    assert page.locator("#solver-status").inner_text() == "最优解"
    tables = page.locator("table.county-result")
    assert tables.count() == 2
    rows = {}
    for i in range(tables.count()):
        for row in tables.nth(i).locator("tbody tr").all():
            cells = row.locator("td").all_inner_texts()
            rows[cells[0].split()[0]] = cells
    assert {code: cells[2] for code, cells in rows.items()} == {
        "361128-1": second, "361128-2": best, "361130-1": second, "361130-2": best}
    assert rows["361128-2"][4].startswith(second)  # the runner-up on the larger lot
    assert all(re.fullmatch(r"\d+\.\d{2}", cells[3]) for cells in rows.values())  # scores with two decimals

    page.click("#adopt-run")
    page.wait_for_url(f"**/awards/rounds/{rnd.id}")
    assert page.locator("#round-status").inner_text() == "已分配"
    winners = page.locator("#award-table td.winner").all_inner_texts()
    assert sorted(winners) == sorted([best, best, second, second])
    assert third in page.locator("#award-table").inner_text()  # the backup underwriter

    page.click("#publish-awards")
    page.wait_for_selector("#notice-period")
    assert "公示中" in page.locator("#notice-period").inner_text()
    assert page.locator("#round-status").inner_text() == "公示中"

    # The bureau downloads 赣鄱财险's award notice (a preview until the result is final) and reads it back.
    row = page.locator("#notices tbody tr", has_text=best).filter(has_text="中标通知书")
    with page.expect_download() as info:
        row.locator(".notice-docx").click()
    docx = info.value
    assert docx.suggested_filename.endswith(".docx") and best in docx.suggested_filename
    document = Document(docx.path())
    text = "\n".join(p.text for p in document.paragraphs)
    text += "\n".join(cell.text for table in document.tables for r in table.rows for cell in r.cells)
    assert "中标通知书" in text and best in text and rnd.name in text
    assert "草稿" in text and "公示期满" not in text  # the result is not final yet
    assert "361128-2" in text and "361130-2" in text
    assert "361128-1" not in text and "361130-1" not in text
    assert "4,000,000.00" in text  # the two lots' expected premium

    with page.expect_download() as info:
        row.locator(".notice-pdf").click()
    pdf_text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(open(info.value.path(), "rb").read())).pages)
    flat = pdf_text.replace("\n", "").replace(" ", "")
    assert best in flat and "361128-2" in flat and "361130-2" in flat and "361128-1" not in flat

    # Anyone can read the public notice without logging in.
    page.context.clear_cookies()
    page.goto(f"/awards/public/{rnd.id}")
    assert "公示期" in page.locator("#public-round").inner_text()
    assert page.locator("#award-table td.winner").count() == 4


def test_a_cap_no_allocation_meets_is_passed_by_a_recorded_departure(page, final_round, db, tmp_path):
    """A 30 % cap (1,800,000 of 6,000,000) leaves nobody able to take a 2,000,000 lot; the collective decision
    raises it to 40 %."""
    rnd = final_round
    rnd.market_share_cap_pct = Decimal("30")  # written directly: the rules are fixed once the bids are opened
    db.session.commit()
    doc_no = "饶农局党组会〔2026〕7号"
    minutes = tmp_path / "局党组会议纪要.pdf"
    minutes.write_bytes(PDF_BYTES)

    log_in(page, "city_agri")
    page.goto(f"/allocation/rounds/{rnd.id}")
    page.click("#start-run")
    page.wait_for_selector("#run-summary", timeout=30_000)
    assert page.locator("#solver-status").inner_text() == "无可行分配"
    infeasible_url = page.url

    # the page points to the way out: record the approved departure
    page.click("#departure-hint a")
    page.wait_for_url(f"**/allocation/rounds/{rnd.id}/departures/new")
    assert "30%" in page.locator("#published-rules").inner_text()
    page.fill("input[name=approved_cap_pct]", "40")
    page.check("input[name=basis][value=collective]")
    page.fill("input[name=doc_no]", doc_no)
    page.fill("input[name=decided_on]", (local_today() - timedelta(days=1)).isoformat())
    page.fill("textarea[name=reason]", "第2标段预计保费超过市场份额上限，按公布的规则无法分配。")
    page.set_input_files("input[name=document]", str(minutes))
    page.click("#save-departure")
    page.wait_for_url(f"**/allocation/rounds/{rnd.id}#departures")
    row = page.locator("#departures tr.departure")
    assert doc_no in row.inner_text() and "30% → 40%" in row.inner_text() and "集体决策" in row.inner_text()

    # a what-if under the departure is optimal and adopted
    page.goto(infeasible_url)
    offered = page.locator("select[name=departure] option").all_inner_texts()
    assert len(offered) == 2 and doc_no in offered[1]
    page.select_option("select[name=departure]", index=1)
    page.click("#run-whatif")
    page.wait_for_selector("#run-summary", timeout=30_000)
    assert page.locator("#solver-status").inner_text() == "最优解"
    assert page.locator("#adoption-problem").count() == 0
    page.click("#adopt-run")
    page.wait_for_url(f"**/awards/rounds/{rnd.id}")
    page.click("#publish-awards")
    page.wait_for_selector("#notice-period")
    assert doc_no in page.locator("#departures").inner_text()

    # the public notice states it, names the contact and shows the way to object
    page.context.clear_cookies()
    page.goto(f"/awards/public/{rnd.id}")
    assert doc_no in page.locator("#departures").inner_text()
    assert rnd.contact in page.locator("#public-contact").inner_text()
    assert "加盖单位公章的质疑函（PDF）" in page.locator("#how-to-object").inner_text()
    page.click("#object-login")
    page.wait_for_url("**/login?**")
    page.fill("#username", "insurer")
    page.fill("#password", "demo1234")
    page.click("button[type=submit]")
    page.wait_for_url(f"**/awards/rounds/{rnd.id}")
    assert page.get_by_role("link", name="提出质疑").count() == 1
