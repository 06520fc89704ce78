"""The import as a background job (progress bar; nothing stored when it fails)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import current_app, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from agri_insurance.actions import PagePart
from agri_insurance.errors import DomainError
from agri_insurance.extensions import analyze, db
from agri_insurance.farmer_notices.documents import villages_pdf, villages_zip
from agri_insurance.jobs.context import JobContext
from agri_insurance.jobs.models import Job, JobStatus
from agri_insurance.jobs.registry import job_handler
from agri_insurance.print_layout import finish
from agri_insurance.roles import Role
from agri_insurance.subsidies.models import SubsidyClaim
from agri_insurance.underwriting import notices, service
from agri_insurance.underwriting.exports import list_title, list_workbook, write_error_report
from agri_insurance.underwriting.models import UnderwritingFlag, UnderwritingList, UnderwritingRow

IMPORT_KIND = service.IMPORT_KIND
EXPORT_KIND = "underwriting.export"


def report_path(job_id: int) -> Path:
    return Path(current_app.config["UPLOAD_DIR"]) / "reports" / f"underwriting-{job_id}-errors.xlsx"


def export_path(job_id: int) -> Path:
    return Path(current_app.config["UPLOAD_DIR"]) / "exports" / f"underwriting-{job_id}-list.xlsx"


def _list_page(params: dict) -> str:
    """The page an import was started from: the claim's list, or the form of a new claim from a list."""
    if params.get("claim_id") is None:
        return url_for("underwriting.new_claim_from_list")
    return url_for("underwriting.list_detail", claim_id=params["claim_id"])


def failed_import_summary(job: Job | None, user) -> dict[str, Any] | None:
    """A failed import's errors as its report's summary gives them ({"error_count", "first": [[row, column,
    message], ...]}, ID numbers masked as in the report): for the insurer that uploaded the file, whose cells
    they quote, not for the bureaus. None when there is nothing to show `user`."""
    if job is None or job.kind != IMPORT_KIND or job.status is not JobStatus.FAILED:
        return None
    if user.role is not Role.INSURER:
        return None
    claim_id = (job.params or {}).get("claim_id")
    if claim_id is None:  # a new claim from its list: the insurer that uploaded it
        if job.created_by_id != user.id:
            return None
    else:
        claim = db.session.get(SubsidyClaim, claim_id)
        if claim is None or claim.insurer_id != user.insurer_id:
            return None
    sidecar = report_path(job.id).with_suffix(".json")
    if not sidecar.exists():  # failed before the file was read (a damaged file, a claim no longer editable)
        return None
    return json.loads(sidecar.read_text(encoding="utf-8"))


def import_errors_part(job: Job, summary: dict[str, Any]) -> PagePart:
    """The failed import's first errors and the link to the full report (the list page and the job page)."""
    return PagePart("result", "underwriting/_import_errors.html",
                    {"summary": summary, "report_url": url_for("underwriting.error_report", job_id=job.id)})


def _import_detail(job: Job, user) -> list[PagePart]:
    """The job page of a failed import shows its errors where the insurer lands after uploading."""
    summary = failed_import_summary(job, user)
    return [import_errors_part(job, summary)] if summary is not None else []


def new_claim_params(data: dict) -> dict:
    """The choices of a new claim from its list (subsidies.check_claim_from_list), as the job's params keep them."""
    return {key: (str(value) if isinstance(value, Decimal) else value) for key, value in data.items()}


def _remove_upload(_conn, params: dict, _error: str) -> None:
    """A failed import's kept upload goes (the handler removes it itself, unless its process was killed)."""
    if params.get("path"):
        Path(params["path"]).unlink(missing_ok=True)


def _analyze(_result: dict) -> None:
    """The planner learns of the rows just imported before the next page asks for them (PostgreSQL)."""
    analyze(UnderwritingList, UnderwritingRow, UnderwritingFlag)


@job_handler(IMPORT_KIND, label=_l("导入承保清单"), page=_list_page, detail=_import_detail, on_failure=_remove_upload,
             after_commit=_analyze)
def import_list_job(ctx: JobContext, path: str, filename: str, claim_id: int | None = None,
                    new_claim: dict | None = None) -> dict:
    """The list of a claim (`claim_id`), or a new claim and its list (`new_claim`: its county, product, year,
    period and rate; the figures come from the list)."""
    upload = Path(path)
    # An error report left under this job's number (a database restored or reset, its ids counted again) must not
    # be shown as this job's: a failure other than the file's errors writes none.
    report = report_path(ctx.job_id)
    report.unlink(missing_ok=True)
    report.with_suffix(".json").unlink(missing_ok=True)
    try:
        if new_claim is not None:
            data = {**new_claim, "premium_rate": Decimal(new_claim["premium_rate"])}
            outcome = service.import_new_claim(data, upload, filename, ctx.actor, progress=ctx.progress,
                                               total_bytes=upload.stat().st_size)
        else:
            outcome = service.import_list(db.session.get(SubsidyClaim, claim_id), upload, filename, ctx.actor,
                                          progress=ctx.progress, total_bytes=upload.stat().st_size)
    except service.ListHasErrors as e:
        write_error_report(e.findings, report_path(ctx.job_id))
        raise
    finally:
        upload.unlink(missing_ok=True)  # the rows are in the database now, or nowhere
    lst = outcome.list
    summary = _("已导入 %(rows)s 行（%(households)s 户），标记 %(flags)s 处", rows=lst.rows, households=lst.households,
                flags=lst.flag_count)
    if new_claim is not None:
        # the job is about the claim it created from now on (its list page shows this import as its last)
        db.session.get(Job, ctx.job_id).subject_id = lst.claim_id
        summary = _("已按承保清单新建补贴申请 #%(id)s（草稿），核对无误后请提交。", id=lst.claim_id) + summary
        redirect = url_for("subsidies.claim_detail", claim_id=lst.claim_id)
    else:
        redirect = _list_page({"claim_id": claim_id})
        if not outcome.reconciled:
            summary += _("；清单与申请不一致，请修改后再提交")
    return {"summary": summary, "redirect": redirect, "rows": lst.rows, "claim_id": lst.claim_id,
            "normalised_cells": outcome.normalised_cells, "reconciled": outcome.reconciled}


@job_handler(EXPORT_KIND, label=_l("导出承保清单"), page=_list_page)
def export_list_job(ctx: JobContext, claim_id: int) -> dict:
    """A large list as xlsx, masked as every export is, written to a file the job's page links to."""
    claim = db.session.get(SubsidyClaim, claim_id)
    lst = service.list_of(claim) if claim is not None else None
    if lst is None:
        raise DomainError(_("该申请没有承保清单"))
    total = max(lst.rows, 1)
    title = list_title(claim)

    def progress(written: int) -> None:
        ctx.check_cancelled()
        ctx.progress(min(95, 95 * written // total), _("已写入 %(n)s / %(total)s 行", n=f"{written:,}",
                                                         total=f"{lst.rows:,}"))

    workbook = list_workbook(lst, service.rows_of(lst), title, show_full_ids=False, progress=progress)
    path = export_path(ctx.job_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    finish(workbook)
    workbook.save(path)
    return {"summary": _("已导出 %(n)s 行，证件号码已脱敏", n=f"{lst.rows:,}"),
            "redirect": url_for("underwriting.exported_list", job_id=ctx.job_id), "filename": f"{title}.xlsx"}


NOTICES_KIND = "underwriting.notices"
NOTICE_FORMATS = ("zip", "pdf")


def notices_path(job_id: int, fmt: str) -> Path:
    return Path(current_app.config["UPLOAD_DIR"]) / "exports" / f"underwriting-{job_id}-notices.{fmt}"


@job_handler(NOTICES_KIND, label=_l("生成各村承保公示"), page=_list_page)
def notices_job(ctx: JobContext, claim_id: int, format: str) -> dict:  # noqa: A002 - the job's parameter name
    """The notices of all villages of a large list: a zip of one PDF per village, or one PDF of them all."""
    claim = db.session.get(SubsidyClaim, claim_id)
    lst = service.list_of(claim) if claim is not None else None
    notice = notices.notice_of(lst) if lst is not None else None
    if notice is None or format not in NOTICE_FORMATS:
        raise DomainError(_("请先填写公示期"))
    total = max(1, len(notices.villages_of(lst)))

    def counted(sheets):
        for done, sheet in enumerate(sheets, start=1):
            ctx.check_cancelled()
            yield sheet
            ctx.progress(min(95, 95 * done // total), _("已生成 %(n)s / %(total)s 个村", n=done, total=total))

    sheets = counted(notices.village_sheets(claim, lst, notice.period))
    title = notices.files_title(claim)
    data = villages_zip(sheets) if format == "zip" else villages_pdf(sheets, title)
    path = notices_path(ctx.job_id, format)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return {"summary": _("已生成 %(n)s 个村的承保公示", n=total),
            "redirect": url_for("underwriting.exported_notices", job_id=ctx.job_id),
            "filename": f"{title}.{format}", "format": format}
