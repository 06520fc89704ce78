"""The import as a background job (progress bar; nothing stored when it fails)."""

from __future__ import annotations

from pathlib import Path

from flask import current_app, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from agri_insurance.extensions import db
from agri_insurance.jobs.registry import JobContext, job_handler
from agri_insurance.subsidies.models import SubsidyClaim
from agri_insurance.underwriting import service
from agri_insurance.underwriting.exports import write_error_report

IMPORT_KIND = service.IMPORT_KIND


def report_path(job_id: int) -> Path:
    return Path(current_app.config["UPLOAD_DIR"]) / "reports" / f"underwriting-{job_id}-errors.xlsx"


@job_handler(IMPORT_KIND, label=_l("导入承保清单"),
             page=lambda params: url_for("underwriting.list_detail", claim_id=params["claim_id"]))
def import_list_job(ctx: JobContext, claim_id: int, path: str, filename: str) -> dict:
    claim = db.session.get(SubsidyClaim, claim_id)
    upload = Path(path)
    try:
        outcome = service.import_list(claim, upload, filename, ctx.actor, progress=ctx.progress,
                                      total_bytes=upload.stat().st_size)
    except service.ListHasErrors as e:
        write_error_report(e.findings, report_path(ctx.job_id))
        raise
    finally:
        upload.unlink(missing_ok=True)  # the rows are in the database now, or nowhere
    lst = outcome.list
    summary = _("已导入 %(rows)s 行（%(households)s 户），标记 %(flags)s 处", rows=lst.rows, households=lst.households,
                flags=lst.flag_count)
    if not lst.reconciled:
        summary += _("；清单与申请不一致，请修改后再提交")
    return {"summary": summary, "redirect": f"/underwriting/claims/{claim_id}", "rows": lst.rows,
            "normalised_cells": outcome.normalised_cells, "reconciled": lst.reconciled}
