"""Job pages: a list of the user's jobs, a job's progress page, and the JSON the page polls."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, jsonify, render_template
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import selectinload

from agri_insurance.access import ALL_ROLES, roles_required, scope_clause, scoped_get_or_404
from agri_insurance.auth.models import User
from agri_insurance.extensions import db
from agri_insurance.jobs import handlers, service  # noqa: F401 - handlers registers the built-in kinds
from agri_insurance.jobs.models import Job, JobStatus
from agri_insurance.jobs.registry import detail_parts, kind_label, registered_kinds
from agri_insurance.paging import ListFilters, Option, paginate, record_number, text_matches

bp = Blueprint("jobs", __name__, url_prefix="/jobs")


@bp.get("")
@roles_required(*ALL_ROLES)
def jobs():
    filters = ListFilters()
    stmt = sa.select(Job).where(scope_clause(Job, current_user)).options(selectinload(Job.created_by))
    kinds = [Option(kind, kind_label(kind)) for kind in registered_kinds()]
    if kind := filters.choice("kind", _("作业"), kinds):
        stmt = stmt.where(Job.kind == kind.value)
    if status := filters.choice("status", _("状态"), JobStatus):
        stmt = stmt.where(Job.status == status)
    if text := filters.text("q"):
        found = [text_matches(text, Job.message, Job.error),
                 Job.created_by_id.in_(sa.select(User.id).where(text_matches(text, User.username,
                                                                               User.display_name)))]
        if (number := record_number(text)) is not None:
            found.append(Job.id == number)
        stmt = stmt.where(sa.or_(*found))
    page = paginate(stmt.order_by(Job.created_at.desc(), Job.id.desc()), filters)
    return render_template("jobs/jobs.html", page=page, filters=filters, kinds=kinds, statuses=list(JobStatus))


TIME_FORMAT = "yyyy-MM-dd HH:mm:ss"


@bp.get("/<int:job_id>")
@roles_required(*ALL_ROLES)
def job_detail(job_id: int):
    job = scoped_get_or_404(Job, job_id)
    state = service.snapshot(job.id)
    db.session.refresh(job)  # at least as new as the state: a job that finished meanwhile shows its end time
    return render_template("jobs/job_detail.html", job=job, state=state, parts=detail_parts(job, current_user),
                           time_format=TIME_FORMAT)


@bp.get("/<int:job_id>.json")
@roles_required(*ALL_ROLES)
def job_status(job_id: int):
    job = scoped_get_or_404(Job, job_id)
    state = service.snapshot(job.id)
    if state is None:  # pragma: no cover - deleted between the two reads
        abort(404)
    db.session.refresh(job)
    payload = job_payload(job, state)
    if state["status"].finished and job.status.finished:
        # what the job's kind shows once it is finished (a failed import's errors), for the page to draw in
        payload["detail_html"] = render_template("jobs/_detail_parts.html",
                                                 parts=detail_parts(job, current_user)).strip()
    return jsonify(payload)


def _local(value) -> str | None:
    return format_datetime(value, TIME_FORMAT) if value else None


def job_payload(job: Job, state: dict) -> dict:
    status = state["status"]
    return {
        "started_at": _local(job.started_at),
        "finished_at": _local(job.finished_at),
        "id": job.id,
        "kind": job.kind,
        "status": status.value,
        "status_label": status.label,
        "finished": status.finished,
        "progress": state["progress"],
        "message": state["message"],
        "error": state["error"],
        "summary": job.summary,
        "redirect": job.redirect_url,
    }
