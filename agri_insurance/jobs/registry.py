"""Job kinds: `@job_handler("kind.name")` registers the function that does the work.

    @job_handler("underwriting.import")
    def import_list(ctx: JobContext, claim_id: int, file_id: int) -> dict:
        for i, chunk in enumerate(chunks):
            ctx.check_cancelled()
            ...                                  # work in db.session; run() commits or rolls back
            ctx.progress(100 * i // len(chunks), _("已校验 %(n)s 行", n=...))
        return {"summary": _("导入 %(n)s 行", n=n), "redirect": url_for("underwriting.list", ...)}

The handler works in `db.session` as any service does and never commits: `service.run` commits its work
together with the job's `done` status, or rolls all of it back when it raises. The returned dict (JSON-able;
Decimals and dates are converted) becomes `Job.result`; its optional keys "summary" (one line for the user)
and "redirect" (a path on this site, e.g. from `url_for`) are shown by the job page.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.exc import OperationalError

from agri_insurance.errors import DomainError
from agri_insurance.extensions import db

log = logging.getLogger(__name__)
Handler = Callable[..., dict[str, Any] | None]
_HANDLERS: dict[str, Handler] = {}
_LABELS: dict[str, object] = {}
_PAGES: dict[str, Callable[[dict[str, Any]], str]] = {}


class JobCancelled(DomainError):
    """Raised by `JobContext.check_cancelled` when someone asked the job to stop."""


def job_handler(kind: str, label=None, page: Callable[[dict[str, Any]], str] | None = None
                ) -> Callable[[Handler], Handler]:
    """Register `func(ctx: JobContext, **params) -> dict` as the handler of jobs of `kind`.

    `label` (a lazy_gettext string) names the kind on job pages; without it the kind itself is shown.
    `page(params)`: the URL of the page the job was started from (the claim's list, the round's runs), linked
    from the job's page whatever became of the job, so a failed job is no dead end.
    """

    def decorator(func: Handler) -> Handler:
        existing = _HANDLERS.get(kind)
        if existing is not None and existing.__qualname__ != func.__qualname__:
            raise ValueError(f"job kind {kind!r} is already handled by {existing.__module__}.{existing.__qualname__}")
        _HANDLERS[kind] = func
        if label is not None:
            _LABELS[kind] = label
        if page is not None:
            _PAGES[kind] = page
        return func

    return decorator


def get_handler(kind: str) -> Handler | None:
    return _HANDLERS.get(kind)


def kind_label(kind: str) -> str:
    return str(_LABELS.get(kind, kind))


def page_url(kind: str, params: dict[str, Any]) -> str | None:
    page = _PAGES.get(kind)
    try:
        return page(params) if page is not None else None
    except (KeyError, TypeError, ValueError):  # params of an older version of the kind
        return None


def registered_kinds() -> list[str]:
    return sorted(_HANDLERS)


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
        from agri_insurance.jobs.models import Job

        try:
            with db.engine.connect() as conn:
                requested = conn.scalar(sa.select(Job.cancel_requested).where(Job.id == self.job_id))
        except OperationalError:  # pragma: no cover - a locked SQLite file: check again next time
            return
        if requested:
            raise JobCancelled(_("作业已按要求取消，未保存任何数据。"))


def write_progress(job_id: int, percent: int, message: str) -> bool:
    """UPDATE the job row's progress in a transaction of its own; False if the database was busy."""
    from agri_insurance.jobs.models import Job, JobStatus

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
