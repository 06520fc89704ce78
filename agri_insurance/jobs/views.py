"""Job pages: a list of the user's jobs, a job's progress page, and the JSON the page polls."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, jsonify, render_template
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import selectinload

from agri_insurance.access import login_required, scope_clause, scoped_get_or_404
from agri_insurance.auth.models import User
from agri_insurance.extensions import db
from agri_insurance.jobs import handlers, service  # noqa: F401 - handlers registers the built-in kinds
from agri_insurance.jobs.models import Job, JobStatus
from agri_insurance.jobs.registry import kind_label, registered_kinds
from agri_insurance.paging import ListFilters, Option, paginate, record_number, text_matches

bp = Blueprint("jobs", __name__, url_prefix="/jobs")


@bp.get("")
@login_required
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


@bp.get("/<int:job_id>")
@login_required
def job_detail(job_id: int):
    job = scoped_get_or_404(Job, job_id)
    return render_template("jobs/job_detail.html", job=job, state=service.snapshot(job.id))


@bp.get("/<int:job_id>.json")
@login_required
def job_status(job_id: int):
    job = scoped_get_or_404(Job, job_id)
    state = service.snapshot(job.id)
    if state is None:  # pragma: no cover - deleted between the two reads
        abort(404)
    db.session.refresh(job)
    return jsonify(job_payload(job, state))


def job_payload(job: Job, state: dict) -> dict:
    status = state["status"]
    return {
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
