"""What a job handler gets besides its params (JobContext): the job id, the submitting user, progress and
cancellation, each read or written in a short transaction of its own."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.exc import OperationalError

from agri_insurance.extensions import db
from agri_insurance.jobs.models import Job, JobStatus
from agri_insurance.jobs.registry import JobCancelled

log = logging.getLogger(__name__)


class JobContext:
    """What a handler gets besides its params: the job id, the submitting user, progress and cancellation."""

    def __init__(self, job_id: int, actor=None) -> None:
        self.job_id = job_id
        self.actor = actor  # the User who submitted the job (in the job's session), or None
        self._last: tuple[int, str] | None = None

    def progress(self, percent: int, message: str = "") -> None:
        """Record progress (0–100) and a short message, visible to pages at once.

        Written in its own short transaction on a separate connection, so it is seen while the job's own
        transaction is still open. On SQLite, whose single writer may be the job itself, the database write
        is skipped when the file is locked and the page reads the runner's live progress instead.
        """
        percent = max(0, min(100, int(percent)))
        message = str(message)[:500]
        if self._last == (percent, message):
            return
        self._last = (percent, message)
        runner = current_app.extensions.get("agri_jobs")
        if runner is not None:
            runner.live.publish(self.job_id, percent, message)
        write_progress(self.job_id, percent, message)

    def check_cancelled(self) -> None:
        """Raise JobCancelled if a cancellation was requested (see service.request_cancel)."""
        try:
            with db.engine.connect() as conn:
                requested = conn.scalar(sa.select(Job.cancel_requested).where(Job.id == self.job_id))
        except OperationalError:  # pragma: no cover - a locked SQLite file: check again next time
            return
        if requested:
            raise JobCancelled(_("作业已按要求取消，未保存任何数据。"))


def write_progress(job_id: int, percent: int, message: str) -> bool:
    """UPDATE the job row's progress in a transaction of its own; False if the database was busy."""
    stmt = (sa.update(Job).where(Job.id == job_id, Job.status == JobStatus.RUNNING)
            .values(progress=percent, message=message))
    try:
        with db.engine.connect() as conn:
            sqlite = conn.dialect.name == "sqlite"
            if sqlite:  # do not queue behind the job's own write lock: fall back to live progress
                conn.exec_driver_sql("PRAGMA busy_timeout = 20")
                conn.commit()
            try:
                if conn.dialect.name == "postgresql":
                    conn.exec_driver_sql("SET LOCAL lock_timeout = '2s'")
                conn.execute(stmt)
                conn.commit()
            except OperationalError:
                conn.rollback()
                raise
            finally:
                if sqlite:
                    conn.exec_driver_sql("PRAGMA busy_timeout = 5000")
                    conn.commit()
        return True
    except OperationalError as e:
        log.debug("job %s: progress not written to the database (%s); live progress only", job_id, e)
        return False
