"""Job factories and test job kinds."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from agri_insurance.auth.models import User
from agri_insurance.clock import utcnow
from agri_insurance.errors import DomainError
from agri_insurance.extensions import db
from agri_insurance.jobs.context import JobContext
from agri_insurance.jobs.models import Job, JobStatus
from agri_insurance.jobs.registry import job_handler

# Test handlers wait on these gates (by marker; job ids restart in every test) so a test can look at a job while it runs.
GATES: dict[str, threading.Event] = {}
REACHED: dict[str, threading.Event] = {}


def user(username: str) -> User:
    return db.session.scalar(sa.select(User).where(User.username == username))


def job_of(username: str, status: JobStatus = JobStatus.DONE) -> Job:
    """A job of the user (created once), finished unless `status` says otherwise. Not dispatched."""
    owner = user(username)
    job = db.session.scalar(sa.select(Job).where(Job.created_by_id == owner.id, Job.kind == "test.record"))
    if job is None:
        done = status is JobStatus.DONE
        job = Job(kind="test.record", status=status, progress=100 if done else 0, params={},
                  result={"summary": "ok"} if done else None, created_by_id=owner.id,
                  finished_at=utcnow() if done else None)
        db.session.add(job)
        db.session.commit()
    return job


def _write_marker(ctx: JobContext, marker: str) -> None:
    from agri_insurance.audit.service import record

    record(ctx.actor, "test.job_marker", None, marker, job_id=ctx.job_id)
    db.session.flush()  # the row is written (and on SQLite the file locked) inside the job's transaction


@job_handler("test.record")
def record_job(ctx: JobContext, marker: str = "m", gate: bool = False, redirect: str | None = None) -> dict:
    """Writes one audit entry, reports 50 %, optionally waits for the test to open its gate, then succeeds."""
    _write_marker(ctx, marker)
    ctx.progress(50, "half way")
    if gate:
        REACHED.setdefault(marker, threading.Event()).set()
        if not GATES.setdefault(marker, threading.Event()).wait(timeout=15):
            raise RuntimeError("test gate never opened")
    return {"summary": f"wrote {marker}", "rows": 1, "redirect": redirect}


@job_handler("test.domain_error")
def domain_error_job(ctx: JobContext, marker: str = "m") -> dict:
    _write_marker(ctx, marker)
    ctx.progress(60, "almost")
    raise DomainError("第3行：证件号码校验位不正确")


@job_handler("test.crash")
def crash_job(ctx: JobContext, marker: str = "m") -> dict:
    _write_marker(ctx, marker)
    ctx.progress(30, "working")
    return {"ratio": 1 / 0}


def markers(marker: str) -> int:
    """Committed audit entries the test handlers wrote with `marker` (read on a fresh connection)."""
    from agri_insurance.audit.models import AuditEntry

    with db.engine.connect() as conn:
        return conn.scalar(sa.select(sa.func.count()).select_from(AuditEntry)
                           .where(AuditEntry.action == "test.job_marker", AuditEntry.summary == marker))


def _detail(job, user) -> list:
    """What test.detail shows on its page once failed: an error table, to the job's creator only."""
    from agri_insurance.actions import PagePart

    if job.status is not JobStatus.FAILED or job.created_by_id != user.id:
        return []
    return [PagePart("result", "underwriting/_import_errors.html", {
        "summary": {"error_count": 1, "first": [[3, "证件号码", "校验位不正确"]]}, "report_url": "/jobs"})]


@job_handler("test.detail", detail=_detail)
def detail_job(ctx: JobContext, marker: str = "m", gate: bool = False) -> dict:
    """Waits for the test to open its gate (when `gate`), then fails; its page then shows what `_detail` gives."""
    ctx.progress(40, "checking")
    if gate:
        REACHED.setdefault(marker, threading.Event()).set()
        if not GATES.setdefault(marker, threading.Event()).wait(timeout=15):
            raise RuntimeError("test gate never opened")
    raise DomainError("清单有 1 处错误，未导入任何数据。")
