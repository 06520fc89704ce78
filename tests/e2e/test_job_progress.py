import pytest

from agri_insurance.extensions import db
from agri_insurance.jobs import service
from tests.e2e.conftest import log_in
from tests.jobs.factories import user

pytestmark = pytest.mark.browser


def test_progress_bar_reaches_100_percent_for_a_short_job(page, demo):
    log_in(page, "city_agri")
    job = service.submit("jobs.selftest", {"steps": 4, "delay": 0.4}, user("city_agri"))
    db.session.commit()  # the in-process runner starts it now
    page.goto(f"/jobs/{job.id}")
    bar = page.locator(f"#job-progress-{job.id} .progress-bar")
    page.wait_for_function(
        f"document.querySelector('#job-progress-{job.id} .progress-bar').textContent.trim() === '100%'")
    assert bar.inner_text() == "100%"
    assert page.locator(f"#job-progress-{job.id} .job-summary").is_visible()
    assert "作业自检完成" in page.locator(f"#job-progress-{job.id} .job-summary").inner_text()
    assert page.get_by_role("link", name="查看结果").get_attribute("href") == f"/jobs/{job.id}"


def test_a_job_that_fails_while_watched_shows_its_end_time(page, demo):
    log_in(page, "city_agri")
    job = service.submit("jobs.selftest", {"steps": 3, "delay": 0.4, "fail": True}, user("city_agri"))
    db.session.commit()
    page.goto(f"/jobs/{job.id}")
    page.wait_for_selector(f"#job-progress-{job.id} .job-error:not(.d-none)")
    assert "作业自检按要求失败" in page.locator(f"#job-progress-{job.id} .job-error").inner_text()
    page.wait_for_function("document.querySelector('#job-finished-at').textContent.trim() !== '—'")
    finished = page.locator("#job-finished-at").inner_text()
    assert len(finished) == 19 and finished.startswith("20")   # yyyy-MM-dd HH:mm:ss


def test_a_failed_list_upload_lands_on_a_job_page_with_its_errors_and_report(page, demo, tmp_path):
    from tests.subsidies.factories import assign
    from tests.underwriting.conftest import claim_for
    from tests.underwriting.factories import rows, write_csv

    assign()
    db.session.commit()
    data = rows(40)
    claim = claim_for(data)
    data[5][5] = "十亩"
    list_file = write_csv(tmp_path / "承保清单.csv", data)
    log_in(page, "insurer")
    page.goto(f"/underwriting/claims/{claim.id}")
    page.set_input_files("#file", str(list_file))
    page.click("#upload-form button")
    page.wait_for_url("**/jobs/*")
    errors = page.locator("#import-errors")
    errors.wait_for(timeout=30_000)
    assert "最近一次上传有 1 处错误" in errors.inner_text()
    assert page.locator("#import-error-table tbody tr").first.inner_text().split("\t")[:2] == ["7", "承保数量"]
    assert page.locator("#job-finished-at").inner_text() != "—"
    with page.expect_download() as download:
        page.click("#import-error-report")
    assert download.value.suggested_filename.endswith(".xlsx")


def test_what_a_kind_shows_of_a_finished_job_appears_on_the_page_that_watched_it_run(page, demo):
    import threading

    from tests.jobs.factories import GATES, REACHED

    marker = "watched"
    GATES[marker], REACHED[marker] = threading.Event(), threading.Event()
    log_in(page, "insurer")
    job = service.submit("test.detail", {"marker": marker, "gate": True}, user("insurer"))
    db.session.commit()
    assert REACHED[marker].wait(timeout=15)
    page.goto(f"/jobs/{job.id}")
    assert page.locator("#import-errors").count() == 0 and page.locator("#job-finished-at").inner_text() == "—"
    GATES[marker].set()
    page.locator("#import-errors").wait_for(timeout=15_000)
    assert "校验位不正确" in page.locator("#import-error-table").inner_text()
    assert page.locator("#job-finished-at").inner_text() != "—"
