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
