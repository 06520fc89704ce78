"""Submitting, running and waiting for jobs.

Dispatch happens after the caller's commit: `submit` adds the job row and flushes; an `after_commit` hook of
the session then hands the new job ids to the app's runner. A rollback (or a session closed without commit)
drops them, so a job is never dispatched without its row; `run` also ignores an id without a row.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from agri_insurance.auth.models import User
from agri_insurance.clock import utcnow
from agri_insurance.db_types import jsonable
from agri_insurance.errors import DomainError, require
from agri_insurance.extensions import db
from agri_insurance.jobs.context import JobContext
from agri_insurance.jobs.models import Job, JobStatus
from agri_insurance.jobs.registry import after_commit_hook, failure_hook, get_handler

log = logging.getLogger(__name__)
_PENDING = "agri_jobs_pending"
HEARTBEAT_SECONDS = 5  # how often a running job's process says it is alive (runners: how long a beat counts)


def submit(kind: str, params: dict[str, Any], actor, subject_id: int | None = None) -> Job:
    """Create a queued job of `kind` with `params` (JSON-able). Caller commits; the job starts after that.
    `subject_id`: the record the job works on (its type follows from `kind`), for `latest_for`.

    Raises DomainError for an unknown kind.
    """
    require(get_handler(kind) is not None, _("未知的作业类型：%(kind)s", kind=kind))
    job = Job(kind=kind, status=JobStatus.QUEUED, progress=0, message="", params=jsonable(dict(params)),
              subject_id=subject_id,
              locale=str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"]),
              created_by_id=getattr(actor, "id", None))
    db.session.add(job)
    db.session.flush()
    db.session.info.setdefault(_PENDING, []).append(job.id)
    return job


def latest_for(kind: str, subject_id: int) -> Job | None:
    """The newest job of `kind` submitted for the record `subject_id`."""
    return db.session.scalar(sa.select(Job).where(Job.kind == kind, Job.subject_id == subject_id)
                             .order_by(Job.id.desc()).limit(1))


RECENT_FAILURE_DAYS = 7  # how long a failed job stays on the administrator's to-do list


def recent_failures(days: int = RECENT_FAILURE_DAYS) -> int:
    """Jobs that failed in the last `days` days and were not followed by a job of the same kind, user and subject
    that succeeded (the work was done again). One query."""
    since = utcnow() - timedelta(days=days)
    later = sa.orm.aliased(Job)
    redone = sa.exists().where(later.kind == Job.kind, later.created_by_id.is_not_distinct_from(Job.created_by_id),
                               later.subject_id.is_not_distinct_from(Job.subject_id), later.id > Job.id,
                               later.status == JobStatus.DONE)
    return db.session.scalar(sa.select(sa.func.count(Job.id)).where(
        Job.status == JobStatus.FAILED, Job.finished_at >= since, ~redone)) or 0

def request_cancel(job: Job) -> None:
    """Ask a queued or running job to stop; the handler stops at its next `ctx.check_cancelled()`.

    Written at once in a short transaction of its own, so the running job sees it.
    """
    require(not job.status.finished, _("作业已结束，无法取消。"))
    with db.engine.begin() as conn:
        conn.execute(sa.update(Job).where(Job.id == job.id).values(cancel_requested=True))


@sa.event.listens_for(Session, "after_commit")
def _dispatch_after_commit(session: Session) -> None:
    job_ids = session.info.pop(_PENDING, None)
    if not job_ids:
        return
    runner = current_app.extensions["agri_jobs"]
    for job_id in job_ids:
        try:
            runner.dispatch(job_id)
        except Exception as e:  # e.g. Redis unreachable: the job must not stay queued for ever
            log.exception("job %s could not be dispatched", job_id)
            _mark_failed_directly(job_id, _("作业无法排队（%(type)s），请稍后重试或联系管理员。",
                                            type=type(e).__name__))


@sa.event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


def run(job_id: int) -> JobStatus | None:
    """Execute job `job_id` in a fresh app (and request) context of the current app, with its own session.

    Marks it running, calls its handler; on success commits the handler's work together with the result and
    status done (100 %); on any exception rolls back everything the handler did and marks the job failed
    with a readable error (the traceback goes to the log only). Returns the final status (None: no such
    job, or it was not queued, e.g. already taken by another worker). The request context lets handlers
    call `url_for` for their "redirect".
    """
    app = current_app._get_current_object()
    with app.app_context(), app.test_request_context("/"):
        return _run(job_id)


def _after_commit(job_id: int, kind: str, result: dict) -> None:
    """The kind's after-commit step (registry.job_handler); the job is done whatever becomes of it."""
    hook = after_commit_hook(kind)
    if hook is None:
        return
    try:
        hook(result)
    except Exception:
        db.session.rollback()
        log.warning("job %s (%s): after-commit step failed:\n%s", job_id, kind, traceback.format_exc())


def _run(job_id: int) -> JobStatus | None:
    session = db.session
    job = session.get(Job, job_id, with_for_update=_row_lock())
    if job is None or job.status is not JobStatus.QUEUED:
        log.warning("job %s: not queued (%s); not run", job_id, None if job is None else job.status)
        session.rollback()
        return None
    job.status = JobStatus.RUNNING
    job.started_at = utcnow()
    handler = get_handler(job.kind)
    kind, params, locale, actor_id = job.kind, dict(job.params or {}), job.locale, job.created_by_id
    runner = current_app.extensions.get("agri_jobs")
    heartbeat = _Heartbeat(runner, job_id)  # beating before anyone can see the job running
    session.commit()
    with heartbeat, force_locale(locale):
        try:
            if handler is None:
                raise DomainError(_("未知的作业类型：%(kind)s", kind=kind))
            actor = session.get(User, actor_id) if actor_id else None
            result = handler(JobContext(job_id, actor), **params)
            job = session.get(Job, job_id, with_for_update=True, populate_existing=True)
            if job.status is not JobStatus.RUNNING:  # recorded as lost meanwhile (reap_orphans): keep it failed
                raise DomainError(job.error or orphan_message())
            job.status = JobStatus.DONE
            job.progress = 100
            job.result = jsonable(dict(result or {}))
            job.message = str(job.result.get("summary") or _("已完成"))[:500]
            job.finished_at = utcnow()
            session.commit()
            status = JobStatus.DONE
            _after_commit(job_id, kind, job.result)
        except Exception as e:
            session.rollback()
            if isinstance(e, DomainError):
                error = e.message
            else:
                log.error("job %s (%s) failed:\n%s", job_id, kind, traceback.format_exc())
                error = _("作业因系统错误中止（%(type)s），未保存任何数据。请稍后重试或联系管理员。",
                          type=type(e).__name__)
            _mark_failed_directly(job_id, error)
            status = JobStatus.FAILED
    if runner is not None:
        runner.live.forget(job_id)
    return status


class _Heartbeat:
    """While a job runs, a thread tells the runner every few seconds that its process is alive (runners.py
    HEARTBEAT_SECONDS); a job whose beats stop lost its process (is_orphaned)."""

    def __init__(self, runner, job_id: int) -> None:
        self.runner, self.job_id = runner, job_id
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"agri-job-{job_id}-heartbeat", daemon=True)
        if runner is not None:
            runner.live.beat(job_id)

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            self.runner.live.beat(self.job_id)

    def __enter__(self) -> _Heartbeat:
        if self.runner is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.runner is not None:
            self._stop.set()
            self._thread.join()
            self.runner.live.stop_beating(self.job_id)


def is_orphaned(job: Job) -> bool:
    """Whether an unfinished job lost the process running it (killed, crashed): it will never finish, and nothing
    it did was committed. Read only (pages ask it); reap_orphans records it."""
    if job.status.finished:
        return False
    runner = current_app.extensions.get("agri_jobs")
    orphaned = getattr(runner, "orphaned", None)
    return bool(orphaned is not None and orphaned(job))


def orphan_message() -> str:
    return _("作业中止：运行它的进程意外退出（如服务器重启），未保存任何数据，可以立即重新开始。")


def reap_orphans(kind: str | None = None, subject_id: int | None = None) -> int:
    """Record the unfinished jobs (of `kind`, about `subject_id`) that lost their process as failed, each in a
    short transaction of its own (what their kind does on failure, such as removing a kept upload, included).
    Returns how many."""
    query = sa.select(Job).where(Job.status.in_((JobStatus.QUEUED, JobStatus.RUNNING)))
    if kind is not None:
        query = query.where(Job.kind == kind)
    if subject_id is not None:
        query = query.where(Job.subject_id == subject_id)
    with db.engine.connect() as conn:
        candidates = [Job(id=r.id, kind=r.kind, status=JobStatus(r.status), created_at=r.created_at)
                      for r in conn.execute(sa.select(Job.id, Job.kind, Job.status, Job.created_at)
                                            .where(query.whereclause))]
    reaped = 0
    for job in candidates:
        if is_orphaned(job):
            log.warning("job %s (%s) lost its process: recorded as failed", job.id, job.kind)
            _mark_failed_directly(job.id, orphan_message())
            reaped += 1
    return reaped


def _row_lock() -> bool | dict:
    # Two workers must not both start the same job: lock its row while marking it running (PostgreSQL).
    return {"skip_locked": True} if db.engine.dialect.name == "postgresql" else False


def _mark_failed_directly(job_id: int, error: str) -> None:
    """The job failed (its work rolled back): record that, and what its kind records then (`on_failure`), in one
    short transaction of its own."""
    with db.engine.begin() as conn:
        failed = conn.execute(
            sa.update(Job).where(Job.id == job_id, Job.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]))
            .values(status=JobStatus.FAILED, error=str(error), message=str(error)[:500], finished_at=utcnow())
            .returning(Job.kind, Job.params)).one_or_none()
        hook = failure_hook(failed.kind) if failed is not None else None
        if hook is not None:
            hook(conn, dict(failed.params or {}), str(error))


def mark_interrupted(job_id: int) -> None:
    """A worker died or timed out while the job ran: record it as failed (nothing was committed)."""
    _mark_failed_directly(job_id, _("作业被中断（超时或工作进程退出），未保存任何数据。"))


def snapshot(job_id: int) -> dict[str, Any] | None:
    """The job's state as pages show it, read fresh from the database plus the runner's live progress."""
    with db.engine.connect() as conn:
        row = conn.execute(sa.select(Job.status, Job.progress, Job.message, Job.error, Job.kind, Job.created_at)
                           .where(Job.id == job_id)).one_or_none()
    if row is None:
        return None
    status = JobStatus(row.status)
    state = {"status": status, "progress": row.progress, "message": row.message or "", "error": row.error}
    if not status.finished:
        job = Job(id=job_id, kind=row.kind, status=status, created_at=row.created_at)  # not added to the session
        if is_orphaned(job):  # shown as it will be recorded (a page never writes)
            error = orphan_message()
            return {"status": JobStatus.FAILED, "progress": row.progress, "message": error, "error": error}
    if status is JobStatus.RUNNING:
        runner = current_app.extensions.get("agri_jobs")
        live = runner.live.get(job_id) if runner is not None else None
        if live is not None and live[0] >= state["progress"]:
            state["progress"], state["message"] = live
    return state


def wait(job_id: int, timeout: float = 30.0) -> Job:
    """Block until the job is done or failed (tests, CLI); TimeoutError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    runner = current_app.extensions.get("agri_jobs")
    if runner is not None:
        runner.join(job_id, timeout)
    delay = 0.02
    while True:
        state = snapshot(job_id)
        if state is None:
            raise LookupError(f"job {job_id} does not exist")
        if state["status"].finished:
            break
        if time.monotonic() >= deadline:
            raise TimeoutError(f"job {job_id} still {state['status']} after {timeout} s")
        time.sleep(delay)
        delay = min(delay * 2, 0.25)
    db.session.expire_all()
    return db.session.get(Job, job_id)
