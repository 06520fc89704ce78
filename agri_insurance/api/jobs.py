"""Background jobs the caller may see (its own; every job for the city bureau and the administrator): progress,
and a failed underwriting list import's errors with their rows, as the job page shows them."""

from __future__ import annotations

from flask import url_for
from flask_login import current_user

from agri_insurance.access import ALL_ROLES, scoped_get_or_404, scoped_query
from agri_insurance.api import cursor
from agri_insurance.api.common import blueprint
from agri_insurance.api.schemas import JobList, JobOut
from agri_insurance.api.security import SECURITY, api_roles
from agri_insurance.jobs.models import Job
from agri_insurance.underwriting.jobs import failed_import_summary

blp = blueprint("jobs", "/jobs", "Background jobs: progress, result, an import's errors")


def with_errors(job: Job) -> Job:
    summary = failed_import_summary(job, current_user)
    if summary is not None:
        job.api_errors = {
            "errors": [{"row": row, "field": column, "message": message}
                       for row, column, message in summary.get("first", [])],
            "report": url_for("underwriting.error_report", job_id=job.id, _external=True),
        }
    return job


@blp.route("", methods=["GET"])
@api_roles(*ALL_ROLES)
@blp.arguments(cursor.PageArgs, location="query")
@blp.response(200, JobList)
@blp.doc(security=SECURITY)
def job_list(args):
    items, nxt = cursor.page(scoped_query(Job), Job, args)
    return {"items": items, "next": nxt}


@blp.route("/<int:job_id>", methods=["GET"])
@api_roles(*ALL_ROLES)
@blp.response(200, JobOut)
@blp.doc(security=SECURITY)
def job(job_id: int):
    return with_errors(scoped_get_or_404(Job, job_id))
