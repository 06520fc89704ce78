"""A job: long work (optimisation, large imports, bulk exports) run outside the request, with progress."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from agri_insurance.clock import utcnow
from agri_insurance.db_types import enum_type
from agri_insurance.extensions import db
from agri_insurance.jobs.registry import kind_label, page_url
from agri_insurance.roles import Role


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"

    @property
    def label(self) -> str:
        return str(STATUS_LABELS[self])

    @property
    def finished(self) -> bool:
        return self in (JobStatus.DONE, JobStatus.FAILED)

    @property
    def succeeded(self) -> bool:
        return self is JobStatus.DONE

    @property
    def badge(self) -> str:
        """The Bootstrap badge class a page shows this status in (static/js/jobs.js keeps the same table)."""
        return BADGES[self]

    @property
    def bar(self) -> str:
        """The progress bar's class: green when done, red when failed, moving while queued or running."""
        return {JobStatus.DONE: "bg-success", JobStatus.FAILED: "bg-danger"}.get(
            self, "progress-bar-striped progress-bar-animated")


STATUS_LABELS = {
    JobStatus.QUEUED: _l("排队中"),
    JobStatus.RUNNING: _l("运行中"),
    JobStatus.DONE: _l("已完成"),
    JobStatus.FAILED: _l("失败"),
}
BADGES = {
    JobStatus.QUEUED: "text-bg-secondary",
    JobStatus.RUNNING: "text-bg-primary",
    JobStatus.DONE: "text-bg-success",
    JobStatus.FAILED: "text-bg-danger",
}
# Roles that see every job (the bureau running the tender, and the administrator).
JOB_SUPERVISORS = frozenset({Role.ADMIN, Role.CITY_AGRI})


class Job(db.Model):
    __tablename__ = "jobs"
    __table_args__ = (
        sa.CheckConstraint("progress >= 0 AND progress <= 100", name="progress_range"),
        sa.CheckConstraint("status <> 'done' OR progress = 100", name="done_complete"),
        sa.CheckConstraint("status <> 'failed' OR error IS NOT NULL", name="failed_has_error"),
        sa.CheckConstraint("status NOT IN ('done', 'failed') OR finished_at IS NOT NULL", name="finished_has_time"),
        sa.Index("ix_jobs_status_created", "status", "created_at"),
        sa.Index("ix_jobs_kind_subject", "kind", "subject_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(64))
    status: Mapped[JobStatus] = mapped_column(enum_type(JobStatus), default=JobStatus.QUEUED)
    progress: Mapped[int] = mapped_column(default=0)
    message: Mapped[str] = mapped_column(sa.String(500), default="")
    params: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    # The record the job works on, its type given by `kind` (the claim of an underwriting import): pages find
    # "the latest job for this claim" with an index instead of reading every job's params.
    subject_id: Mapped[int | None]
    result: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    error: Mapped[str | None] = mapped_column(sa.Text)
    # The submitter's language: messages and errors the job writes are in it.
    locale: Mapped[str] = mapped_column(sa.String(10), default="zh_CN")
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    created_by = relationship("User")

    @classmethod
    def visible_to(cls, user):
        """The creator sees its job; admin and city_agri see every job."""
        if user.role in JOB_SUPERVISORS:
            return sa.true()
        return cls.created_by_id == user.id

    @property
    def kind_label(self) -> str:
        return kind_label(self.kind)

    @property
    def page_url(self) -> str | None:
        """The page the job was started from, if its kind names one."""
        return page_url(self.kind, self.params or {})

    @property
    def summary(self) -> str | None:
        """The handler's one-line summary of its result, if it gave one."""
        return (self.result or {}).get("summary") if self.status is JobStatus.DONE else None

    @property
    def redirect_url(self) -> str | None:
        """Where the handler wants the user to go once the job is done (a path on this site)."""
        url = (self.result or {}).get("redirect") if self.status is JobStatus.DONE else None
        # Only local paths: a result must not send users to another site.
        return url if isinstance(url, str) and url.startswith("/") and not url.startswith("//") else None
