"""The payout list import as a background job (progress bar; nothing stored when it fails)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flask import current_app, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from agri_insurance.actions import PagePart
from agri_insurance.extensions import analyze
from agri_insurance.jobs.context import JobContext
from agri_insurance.jobs.models import Job, JobStatus
from agri_insurance.jobs.registry import job_handler
from agri_insurance.payouts import service
from agri_insurance.payouts.models import PayoutFlag, PayoutList, PayoutRow
from agri_insurance.underwriting.exports import write_error_report
from agri_insurance.underwriting.models import UnderwritingRow
from agri_insurance.underwriting.service import ListHasErrors

IMPORT_KIND = service.IMPORT_KIND


def report_path(job_id: int) -> Path:
    return Path(current_app.config["UPLOAD_DIR"]) / "reports" / f"payouts-{job_id}-errors.xlsx"


def _lists_page(params: dict) -> str:
    return url_for("payouts.lists")


def failed_import_summary(job: Job | None, user) -> dict[str, Any] | None:
    """A failed import's first errors, for the insurer user that uploaded the file (they quote its cells)."""
    if job is None or job.kind != IMPORT_KIND or job.status is not JobStatus.FAILED or job.created_by_id != user.id:
        return None
    sidecar = report_path(job.id).with_suffix(".json")
    if not sidecar.exists():  # failed before the file was read
        return None
    return json.loads(sidecar.read_text(encoding="utf-8"))


def _import_detail(job: Job, user) -> list[PagePart]:
    summary = failed_import_summary(job, user)
    if summary is None:
        return []
    return [PagePart("result", "underwriting/_import_errors.html",
                     {"summary": summary, "report_url": url_for("payouts.error_report", job_id=job.id)})]


def _analyze(_result: dict) -> None:
    """The planner learns of the rows just imported (and the underwriting rows they matched) before the next page
    asks for them (PostgreSQL)."""
    analyze(PayoutList, PayoutRow, PayoutFlag, UnderwritingRow)


@job_handler(IMPORT_KIND, label=_l("导入理赔清单"), page=_lists_page, detail=_import_detail, after_commit=_analyze)
def import_payouts_job(ctx: JobContext, path: str, filename: str, scope: dict) -> dict:
    upload = Path(path)
    report = report_path(ctx.job_id)
    report.unlink(missing_ok=True)
    report.with_suffix(".json").unlink(missing_ok=True)
    try:
        lst = service.import_payouts(scope, upload, filename, ctx.actor, progress=ctx.progress,
                                     total_bytes=upload.stat().st_size)
    except ListHasErrors as e:
        write_error_report(e.findings, report_path(ctx.job_id))
        raise
    finally:
        upload.unlink(missing_ok=True)  # the rows are in the database now, or nowhere
    return {"summary": _("已导入 %(rows)s 行，标记 %(flags)s 处", rows=lst.rows, flags=lst.flag_count),
            "redirect": url_for("payouts.list_detail", list_id=lst.id), "rows": lst.rows, "list_id": lst.id}
