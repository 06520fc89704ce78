"""Jobs on both runners: the in-process thread pool and RQ on the real Redis at 127.0.0.1:6379."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid

import pytest
import sqlalchemy as sa
from flask_babel import format_datetime

from agri_insurance.errors import DomainError
from agri_insurance.extensions import db as _db
from agri_insurance.jobs import service
from agri_insurance.jobs.models import Job, JobStatus
from agri_insurance.jobs.runners import InProcessRunner, RQRunner
from tests.jobs.factories import GATES, REACHED, job_of, markers, user

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _redis_or_skip() -> None:
    from redis import Redis
    from redis.exceptions import ConnectionError as RedisDown

    try:
        Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except RedisDown as e:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {e}")


class Runners:
    """The runner under test, with `drain()`: run what is queued (RQ: an in-process burst worker)."""

    def __init__(self, app, kind: str) -> None:
        self.app, self.kind = app, kind
        self.original = app.extensions["agri_jobs"]
        if kind == "rq":
            _redis_or_skip()
            self.runner = RQRunner(REDIS_URL, f"agri_test_{uuid.uuid4().hex[:12]}", job_timeout=60)
        else:
            self.runner = InProcessRunner(app, threads=2)
        app.extensions["agri_jobs"] = self.runner

    def drain(self) -> None:
        if self.kind == "rq":
            from rq import SimpleWorker
            from rq.timeouts import TimerDeathPenalty

            class Worker(SimpleWorker):
                death_penalty_class = TimerDeathPenalty  # leave SIGALRM to pytest-timeout

            Worker([self.runner.queue], connection=self.runner.connection).work(burst=True, logging_level="WARNING")

    def close(self) -> None:
        self.app.extensions["agri_jobs"] = self.original
        if self.kind == "rq":
            self.runner.queue.delete(delete_jobs=True)
            for key in self.runner.connection.scan_iter(f"{self.runner.live.prefix}:*"):
                self.runner.connection.delete(key)
        else:
            self.runner._pool.shutdown(wait=True)


@pytest.fixture(params=["inprocess", "rq"])
def runners(request, app, demo):
    r = Runners(app, request.param)
    yield r
    r.close()


def _submit(kind: str, username: str = "insurer", **params) -> int:
    job = service.submit(kind, params, user(username))
    _db.session.commit()
    return job.id


def _wait_for(condition, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)
    return value


def test_progress_is_visible_from_another_session_while_the_job_runs(runners, app, db):
    marker = f"ok-{runners.kind}"
    job_id = _submit("test.record", marker=marker, gate=True)
    seen = {}

    def watch():
        ctx = app.app_context()
        ctx.push()
        try:
            REACHED.setdefault(marker, threading.Event()).wait(timeout=10)
            state = _wait_for(lambda: (s := service.snapshot(job_id)) and s["progress"] == 50 and s)
            seen["state"] = state
            seen["committed_markers"] = markers(marker)  # the handler's row is not committed yet
            with _db.engine.connect() as conn:
                seen["db_progress"] = conn.scalar(sa.select(Job.progress).where(Job.id == job_id))
        finally:
            GATES.setdefault(marker, threading.Event()).set()
            ctx.pop()

    watcher = threading.Thread(target=watch)
    watcher.start()
    runners.drain()  # RQ: runs the job here while `watch` looks on; in-process: a pool thread runs it
    watcher.join(timeout=20)
    job = service.wait(job_id, timeout=15)

    assert seen["state"]["status"] is JobStatus.RUNNING and seen["state"]["message"] == "half way"
    assert seen["committed_markers"] == 0
    if _db.engine.dialect.name == "postgresql":
        assert seen["db_progress"] == 50  # written in its own transaction, not only to the live store
    assert (job.status, job.progress, job.error) == (JobStatus.DONE, 100, None)
    assert job.result["summary"] == f"wrote {marker}" and job.started_at and job.finished_at
    assert markers(marker) == 1  # committed together with the job's done status


def test_a_domain_error_is_recorded_as_it_is_and_nothing_the_job_wrote_is_kept(runners, db):
    job_id = _submit("test.domain_error", marker="bad-1")
    runners.drain()
    job = service.wait(job_id, timeout=15)
    assert job.status is JobStatus.FAILED
    assert job.error == "第3行：证件号码校验位不正确" and job.finished_at
    assert markers("bad-1") == 0


def test_a_crash_gives_a_short_readable_error_without_traceback_and_keeps_nothing(runners, db, caplog):
    job_id = _submit("test.crash", marker="crash-1")
    runners.drain()
    job = service.wait(job_id, timeout=15)
    assert job.status is JobStatus.FAILED
    assert "ZeroDivisionError" in job.error and "未保存任何数据" in job.error
    assert "Traceback" not in job.error and "1 / 0" not in job.error
    assert markers("crash-1") == 0
    assert "Traceback" in caplog.text  # the full story is in the log


def test_errors_are_in_the_submitters_language(runners, app, db):
    from flask_babel import force_locale

    with force_locale("en"):  # as when an English page submits the job
        job = service.submit("test.crash", {"marker": "crash-en"}, user("insurer"))
    _db.session.commit()
    runners.drain()
    assert service.wait(job.id, timeout=15).error.startswith("The job stopped on a system error (ZeroDivisionError)")


def test_the_job_is_dispatched_only_after_the_commit_and_never_after_a_rollback(app, demo, db):
    dispatched = []

    class Spy:
        name, live = "spy", None

        def dispatch(self, job_id):
            dispatched.append(job_id)

    original, app.extensions["agri_jobs"] = app.extensions["agri_jobs"], Spy()
    try:
        job = service.submit("test.record", {"marker": "rb"}, user("insurer"))
        assert job.id and job.status is JobStatus.QUEUED and dispatched == []
        _db.session.rollback()
        _db.session.commit()
        assert dispatched == [] and _db.session.scalar(sa.select(sa.func.count()).select_from(Job)) == 0

        job = service.submit("test.record", {"marker": "ok"}, user("insurer"))
        assert dispatched == []
        _db.session.commit()
        assert dispatched == [job.id]
    finally:
        app.extensions["agri_jobs"] = original


def test_unknown_kind_is_refused_and_a_job_runs_only_once(app, demo, db):
    with pytest.raises(DomainError):
        service.submit("no.such.kind", {}, user("insurer"))
    job = job_of("insurer")  # already done
    assert service.run(job.id) is None
    assert service.run(999_999) is None


def test_result_redirect_and_json_endpoint(runners, login, db):
    job_id = _submit("test.record", marker="j", redirect="/subsidies/claims")
    runners.drain()
    service.wait(job_id, timeout=15)
    data = login("insurer").get(f"/jobs/{job_id}.json").get_json()
    job = _db.session.get(Job, job_id)
    times = {name: format_datetime(getattr(job, name), "yyyy-MM-dd HH:mm:ss") for name in ("started_at", "finished_at")}
    assert data == {"id": job_id, "kind": "test.record", "status": "done", "status_label": "已完成",
                    "finished": True, "progress": 100, "message": "wrote j", "error": None,
                    "summary": "wrote j", "redirect": "/subsidies/claims", **times, "detail_html": ""}


def test_selftest_job_builds_its_redirect_with_url_for(runners, db):
    job_id = _submit("jobs.selftest", steps=2, delay=0)
    runners.drain()
    job = service.wait(job_id, timeout=15)
    assert job.status is JobStatus.DONE and job.redirect_url == f"/jobs/{job_id}"


def test_owner_sees_the_job_another_insurer_gets_404_and_supervisors_see_all(login, db):
    job = job_of("insurer")
    failed = Job(kind="test.crash", status=JobStatus.FAILED, error="第3行：<b>错</b>", created_by_id=user("insurer").id,
                 finished_at=job.finished_at, message="")
    _db.session.add(failed)
    _db.session.commit()
    owner = login("insurer")
    assert owner.get(f"/jobs/{job.id}.json").status_code == 200
    page = owner.get(f"/jobs/{failed.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'data-job-progress' in html and 'class="progress-bar' in html
    assert "第3行：&lt;b&gt;错&lt;/b&gt;" in html  # the error is shown, escaped
    assert "js/jobs.js" in html

    from agri_insurance.auth.models import Role
    from tests.factories import make_insurer, make_user

    make_user("other_insurer", Role.INSURER, insurer=make_insurer())
    _db.session.commit()
    other = login("other_insurer")
    for url in (f"/jobs/{job.id}", f"/jobs/{job.id}.json"):
        response = other.get(url)
        assert response.status_code == 404 and "wrote" not in response.get_data(as_text=True)
    assert f'href="/jobs/{job.id}"' not in other.get("/jobs").get_data(as_text=True)
    assert f'href="/jobs/{job.id}"' in owner.get("/jobs").get_data(as_text=True)
    for supervisor in ("admin", "city_agri"):
        assert login(supervisor).get(f"/jobs/{job.id}.json").status_code == 200
    assert login("county_agri").get(f"/jobs/{job.id}.json").status_code == 404


def test_running_job_page_renders_a_live_progress_bar(login, db):
    job = Job(kind="jobs.selftest", status=JobStatus.RUNNING, progress=40, message="第 2/5 步",
              created_by_id=user("insurer").id, params={})
    _db.session.add(job)
    _db.session.commit()
    html = login("insurer").get(f"/jobs/{job.id}").get_data(as_text=True)
    assert 'aria-valuenow="40"' in html and "width: 40%" in html and "第 2/5 步" in html and "作业自检" in html
    assert f'data-url="/jobs/{job.id}.json"' in html


def test_flask_worker_needs_redis_url_and_runs_the_queue(app, demo, db):
    result = app.test_cli_runner().invoke(args=["worker", "--burst"])
    assert result.exit_code != 0 and "REDIS_URL is not set" in result.output

    r = Runners(app, "rq")
    try:
        job_id = _submit("test.record", marker="cli")
        result = app.test_cli_runner().invoke(args=["worker", "--burst"])
        assert result.exit_code == 0, result.output
        assert service.wait(job_id, timeout=5).status is JobStatus.DONE
    finally:
        r.close()


def test_rq_worker_command_runs_jobs_given_the_environment(app, demo, db, tmp_path):
    """`rq worker` in its own process builds the app from the environment and runs the job there."""
    r = Runners(app, "rq")
    try:
        job_id = _submit("jobs.selftest", steps=2, delay=0)
        fail_id = _submit("jobs.selftest", steps=1, delay=0, fail=True)
        env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "REDIS_URL": REDIS_URL,
               "SECRET_KEY": "test", "AGRI_INSTANCE_DIR": str(tmp_path)}
        done = subprocess.run([sys.executable, "-m", "rq.cli", "worker", "--burst", "--url", REDIS_URL,
                               r.runner.queue.name], env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        job = service.wait(job_id, timeout=5)
        assert job.status is JobStatus.DONE and job.result["summary"] == "作业自检完成：2 步"
        failed = service.wait(fail_id, timeout=5)
        assert failed.status is JobStatus.FAILED and failed.error == "作业自检按要求失败，未保存任何数据。"
        with _db.engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT details FROM audit_entries WHERE action = 'jobs.selftest'")).all()
        kept = [d if isinstance(d, dict) else json.loads(d) for (d,) in rows]
        assert [d["job_id"] for d in kept] == [job_id]
    finally:
        r.close()


def test_a_kind_shows_what_it_will_on_its_jobs_page_and_in_the_json(runners, login, db):
    job_id = _submit("test.detail", marker="d")
    runners.drain()
    job = service.wait(job_id, timeout=15)
    assert job.status is JobStatus.FAILED
    page = login("insurer").get(f"/jobs/{job_id}").get_data(as_text=True)
    assert 'id="import-errors"' in page and "校验位不正确" in page
    assert "校验位不正确" in login("insurer").get(f"/jobs/{job_id}.json").get_json()["detail_html"]
    # the hook decides who sees it (the supervisors see the job, not this), and a kind without one shows nothing
    assert "校验位不正确" not in login("city_agri").get(f"/jobs/{job_id}").get_data(as_text=True)
    other = _submit("test.record", marker="e")
    runners.drain()
    service.wait(other, timeout=15)
    detail = login("insurer").get(f"/jobs/{other}").get_data(as_text=True).split('id="job-detail"')[1]
    assert detail.split("</div>")[0].strip() == f'data-job-detail="{other}">'
