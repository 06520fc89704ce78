"""An import whose process was killed (kill -9 of the RQ worker, or of the web process running in-process jobs)
does not block its claim: it is shown and recorded as failed with words saying nothing was saved, its kept upload
is removed, and the insurer uploads again at once."""

from __future__ import annotations

import tempfile
import threading
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from agri_insurance.extensions import db as _db
from agri_insurance.jobs import service as jobs
from agri_insurance.jobs.models import Job, JobStatus
from agri_insurance.underwriting import service
from agri_insurance.underwriting.models import UnderwritingList
from tests.jobs.factories import GATES, REACHED
from tests.jobs.test_jobs import Runners, _submit
from tests.subsidies.factories import user
from tests.underwriting.conftest import claim_for
from tests.underwriting.factories import write_csv

ORPHAN = "运行它的进程意外退出（如服务器重启），未保存任何数据，可以立即重新开始"


def _left_running(app, claim, created_at) -> tuple[Job, Path]:
    """An import at 59 % whose process is gone, and the upload it kept."""
    kept = Path(app.config["UPLOAD_DIR"]) / "incoming" / "left-behind.csv"
    kept.parent.mkdir(parents=True, exist_ok=True)
    kept.write_text("姓名/名称\n", encoding="utf-8")
    job = Job(kind=service.IMPORT_KIND, status=JobStatus.RUNNING, progress=59, message="已读取 59 %",
              params={"claim_id": claim.id, "path": str(kept), "filename": "清单.csv"}, subject_id=claim.id,
              created_by_id=user("insurer").id, created_at=created_at, started_at=created_at)
    _db.session.add(job)
    _db.session.commit()
    return job, kept


def _upload(client, claim_id, data):
    with tempfile.TemporaryDirectory() as folder:
        path = write_csv(Path(folder) / "f.csv", data)
        with path.open("rb") as fh:
            return client.post(f"/underwriting/claims/{claim_id}/upload", data={"file": (fh, "清单.csv")},
                               content_type="multipart/form-data")


def test_an_in_process_import_left_by_a_killed_web_process_fails_and_the_insurer_uploads_again(
        app, world, login, db, small_list):
    claim = claim_for(small_list)
    runner = app.extensions["agri_jobs"]
    # submitted by the web process before this one (killed mid-import a minute after the restart's predecessor
    # started it): well within the hour the old timeout waited
    job, kept = _left_running(app, claim, runner.started_at - timedelta(minutes=1))
    assert not service.import_pending(claim)
    client = login("insurer")
    state = client.get(f"/jobs/{job.id}.json").get_json()
    assert state["status"] == "failed" and ORPHAN in state["message"]
    response = _upload(client, claim.id, small_list)
    assert response.status_code == 302 and "/jobs/" in response.location, response.location
    new = jobs.wait(int(response.location.rsplit("/", 1)[1]), timeout=30)
    assert new.status is JobStatus.DONE
    _db.session.expire_all()
    old = _db.session.get(Job, job.id)
    assert old.status is JobStatus.FAILED and ORPHAN in old.error and old.finished_at is not None
    assert not kept.exists()
    assert _db.session.scalar(sa.select(UnderwritingList.rows).where(UnderwritingList.claim_id == claim.id)) == 40


def test_an_rq_import_whose_worker_was_killed_is_told_by_its_silent_heartbeat(app, world, db, small_list):
    claim = claim_for(small_list)
    r = Runners(app, "rq")
    try:
        job, kept = _left_running(app, claim, _db.session.get(Job, _submit("jobs.selftest", steps=0)).created_at)
        r.runner.live.beat(job.id)  # a worker is running it
        assert service.import_pending(claim)
        r.runner.live.stop_beating(job.id)  # its worker was killed: no more beats (they expire in seconds)
        assert not service.import_pending(claim)
        # a worker (re)started records it as failed and removes its upload
        result = app.test_cli_runner().invoke(args=["worker", "--burst"])
        assert result.exit_code == 0, result.output
        _db.session.expire_all()
        assert _db.session.get(Job, job.id).status is JobStatus.FAILED and not kept.exists()
    finally:
        r.close()


def test_a_running_job_beats_until_it_ends(app, demo, db):
    r = Runners(app, "rq")
    seen = {}
    try:
        job_id = _submit("test.record", marker="beat", gate=True)

        def watch():
            with app.app_context():
                REACHED.setdefault("beat", threading.Event()).wait(timeout=10)
                seen["beating"] = r.runner.live.beating(job_id)
                seen["orphaned"] = jobs.is_orphaned(_db.session.get(Job, job_id))
                GATES.setdefault("beat", threading.Event()).set()

        watcher = threading.Thread(target=watch)
        watcher.start()
        r.drain()
        watcher.join(timeout=20)
        assert jobs.wait(job_id, timeout=15).status is JobStatus.DONE
        assert seen == {"beating": True, "orphaned": False}
        assert r.runner.live.beating(job_id) is False
    finally:
        r.close()


def test_a_job_recorded_as_lost_while_it_still_ran_stays_failed(app, demo, db):
    """Had a beat been missed (a machine paused), the job finishing later must not turn "failed, nothing saved"
    into done with its work committed."""
    if _db.engine.dialect.name == "sqlite":
        pytest.skip("SQLite: the running job holds the only write lock")
    r = Runners(app, "inprocess")
    try:
        job_id = _submit("test.record", marker="late", gate=True)
        REACHED.setdefault("late", threading.Event()).wait(timeout=10)
        with _db.engine.begin() as conn:
            conn.execute(sa.update(Job).where(Job.id == job_id).values(
                status=JobStatus.FAILED, error="lost", finished_at=_db.func.now()))
        GATES.setdefault("late", threading.Event()).set()
        r.runner.join(job_id, 15)
        _db.session.expire_all()
        assert _db.session.get(Job, job_id).status is JobStatus.FAILED
        with _db.engine.connect() as conn:
            assert conn.scalar(sa.text("SELECT count(*) FROM audit_entries WHERE action = 'test.job_marker' "
                                       "AND summary = 'late'")) == 0
    finally:
        r.close()


def test_the_first_request_of_a_restarted_web_process_records_its_predecessors_jobs_as_failed(
        app, world, db, small_list):
    from agri_insurance.jobs.runners import _reaper_at_start_up

    claim = claim_for(small_list)
    job, kept = _left_running(app, claim, app.extensions["agri_jobs"].started_at - timedelta(minutes=1))
    reap = _reaper_at_start_up()
    with app.test_request_context("/jobs"):
        reap()
    _db.session.expire_all()
    assert _db.session.get(Job, job.id).status is JobStatus.FAILED and not kept.exists()
