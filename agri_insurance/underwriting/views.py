import uuid
from pathlib import Path

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from agri_insurance import clock
from agri_insurance.access import roles_required, scoped_get_or_404
from agri_insurance.errors import DomainError
from agri_insurance.extensions import db
from agri_insurance.forms_util import commit_or_flash, int_arg
from agri_insurance.i18n import join_sentences
from agri_insurance.jobs import service as jobs
from agri_insurance.jobs.models import Job
from agri_insurance.roles import Role
from agri_insurance.spreadsheets import xlsx_download
from agri_insurance.subsidies import service as subsidies
from agri_insurance.subsidies.models import SubsidyClaim
from agri_insurance.underwriting import exports, service
from agri_insurance.underwriting.forms import NewClaimFromListForm, UploadListForm
from agri_insurance.underwriting.jobs import (
    EXPORT_KIND,
    IMPORT_KIND,
    export_path,
    failed_import_summary,
    import_errors_part,
    new_claim_params,
    report_path,
)
from agri_insurance.underwriting.models import UnderwritingFlag, UnderwritingRow
from agri_insurance.underwriting.parsing import mask_account, mask_id

bp = Blueprint("underwriting", __name__, url_prefix="/underwriting")
READERS = (Role.ADMIN, Role.CITY_AGRI, Role.CITY_FINANCE, Role.COUNTY_AGRI, Role.COUNTY_FINANCE, Role.INSURER)
PREVIEW_ROWS = 50


def sees_full_ids(claim) -> bool:
    """The insurer that collected the list and the county bureau verifying it need the full numbers."""
    if current_user.role is Role.INSURER:
        return current_user.insurer_id == claim.insurer_id
    return current_user.role is Role.COUNTY_AGRI and current_user.region_id == claim.region_id


@bp.get("/template.xlsx")
@roles_required(*READERS)
def template():
    claim_id = request.args.get("claim_id", type=int_arg)
    claim = scoped_get_or_404(SubsidyClaim, claim_id) if claim_id else None
    wb = exports.template_workbook(claim.product.name if claim else "", claim.product.unit if claim else "")
    return xlsx_download(wb, _("承保清单模板.xlsx"))


@bp.get("/claims/<int:claim_id>")
@roles_required(*READERS)
def list_detail(claim_id: int):
    claim = scoped_get_or_404(SubsidyClaim, claim_id)
    lst = service.list_of(claim)
    flags, preview, problems = [], [], []
    if lst is not None:
        # Reconciled afresh against the claim as it is now, in the reader's language.
        problems = service.reconcile(claim, lst)
        flags = db.session.scalars(sa.select(UnderwritingFlag).where(UnderwritingFlag.list_id == lst.id)
                                   .options(sa.orm.joinedload(UnderwritingFlag.row))
                                   .order_by(UnderwritingFlag.kind, UnderwritingFlag.id).limit(500)).all()
        preview = db.session.scalars(sa.select(UnderwritingRow).where(UnderwritingRow.list_id == lst.id)
                                     .order_by(UnderwritingRow.row_no).limit(PREVIEW_ROWS)).all()
    job = jobs.latest_for(IMPORT_KIND, claim.id)
    # the failed upload's findings quote its cells: for the insurer that uploaded it, not for the bureaus
    failed_summary = failed_import_summary(job, current_user)
    actions = service.list_actions(claim, current_user, lst)
    show_full = sees_full_ids(claim)
    return render_template("underwriting/list_detail.html", claim=claim, lst=lst, flags=flags, preview=preview,
                           problems=problems, actions=actions, job=job, failed_summary=failed_summary,
                           failed_part=import_errors_part(job, failed_summary) if failed_summary else None,
                           importing=job is not None and not job.status.finished,
                           awaiting_submission=subsidies.is_editable(claim),
                           form=UploadListForm() if "upload" in actions else None,
                           may_name=lambda other: service.may_name_claim(other, current_user),
                           show_id=(lambda n: n if show_full else mask_id(n)),
                           show_account=(lambda a: (a or "") if show_full else mask_account(a)))


@bp.post("/claims/<int:claim_id>/upload")
@roles_required(Role.INSURER)
def upload(claim_id: int):
    claim = scoped_get_or_404(SubsidyClaim, claim_id)
    started = commit_or_flash(lambda: _start_import(claim, UploadListForm()))
    if started:
        return redirect(url_for("jobs.job_detail", job_id=started.value.id))
    return redirect(url_for(".list_detail", claim_id=claim.id))


def _start_import(claim: SubsidyClaim, form: UploadListForm) -> Job:
    """Keep the uploaded file and queue its import (the job checks and stores it). Caller commits."""
    service.require_uploadable(claim)
    if not form.validate_on_submit():   # the page that posted it does not show the form's errors: say them
        raise DomainError(join_sentences(form.file.errors) or _("请选择文件"))
    path = _keep_upload(form.file.data)
    return jobs.submit(IMPORT_KIND, {"claim_id": claim.id, "path": str(path), "filename": form.file.data.filename},
                       current_user, subject_id=claim.id)


def _keep_upload(upload_file) -> Path:
    """The uploaded file, kept for the import job (which deletes it when done)."""
    suffix = Path(upload_file.filename).suffix.lower()
    folder = Path(current_app.config["UPLOAD_DIR"]) / "incoming"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4().hex}{suffix}"
    upload_file.save(path)
    return path


@bp.route("/claims/new-from-list", methods=["GET", "POST"])
@roles_required(Role.INSURER)
def new_claim_from_list():
    """A new claim from its underwriting list: the insurer chooses the county, product, year, period and rate and
    uploads the list; the import job checks it as any upload and creates the draft with the list's totals."""
    scopes = subsidies.claim_scopes(current_user.insurer_id)
    returned = _returned_claim_to_file_again()
    # a returned claim filed again: its county, product, year, period and rate fill the form
    form = NewClaimFromListForm(obj=returned if request.method == "GET" else None, scopes=scopes)
    if request.method == "GET":
        if returned is None:
            this_year = clock.local_today().year
            form.year.data = this_year if this_year in scopes.years else (scopes.years[-1] if scopes.years else None)
    elif form.validate_on_submit():
        started = commit_or_flash(lambda: _start_new_claim_import(form, returned), form=form)
        if started:
            return redirect(url_for("jobs.job_detail", job_id=started.value.id))
    job = service.latest_new_claim_import(current_user)
    failed_summary = failed_import_summary(job, current_user)
    return render_template("underwriting/new_claim_from_list.html", form=form, combos=scopes.combos, job=job,
                           failed_summary=failed_summary, returned=returned), 400 if form.errors else 200


def _returned_claim_to_file_again() -> SubsidyClaim | None:
    """The returned claim filed again from its corrected list (`?from_claim=`, its "file again from the list"
    action), whose choices fill the form; None without one or once it was filed again (a stale link)."""
    claim_id = request.args.get("from_claim", type=int_arg)
    returned = scoped_get_or_404(SubsidyClaim, claim_id) if claim_id else None
    return returned if returned is not None and subsidies.may_file_again(returned, current_user) else None


def _start_new_claim_import(form: NewClaimFromListForm, returned: SubsidyClaim | None) -> Job:
    """Check the choices (all that can be checked before the list is read), keep the file, queue the import that
    creates the claim with its list (filing `returned` again, if given). Caller commits."""
    data = subsidies.check_claim_from_list({**form.data, "corrects_id": returned.id if returned else None},
                                           current_user.insurer)
    path = _keep_upload(form.file.data)
    return jobs.submit(IMPORT_KIND, {"new_claim": new_claim_params(data), "path": str(path),
                                     "filename": form.file.data.filename}, current_user)


@bp.get("/jobs/<int:job_id>/errors.xlsx")
@roles_required(Role.INSURER, Role.ADMIN, Role.CITY_AGRI)
def error_report(job_id: int):
    job = scoped_get_or_404(Job, job_id)
    path = report_path(job.id)
    if job.kind != IMPORT_KIND or not path.exists():
        abort(404)
    return send_file(path, as_attachment=True, download_name=_("承保清单错误报告.xlsx"))


@bp.get("/claims/<int:claim_id>/list.xlsx")
@roles_required(*READERS)
def list_xlsx(claim_id: int):
    claim = scoped_get_or_404(SubsidyClaim, claim_id)
    lst = service.list_of(claim)
    if lst is None:
        abort(404)
    if lst.rows > current_app.config["DIRECT_EXPORT_ROWS"]:
        flash(_("清单有 %(n)s 行，请用“后台导出”", n=f"{lst.rows:,}"), "warning")
        return redirect(url_for(".list_detail", claim_id=claim.id))
    title = exports.list_title(claim)
    # Exports are masked for everyone: a file travels further than a page.
    return xlsx_download(exports.list_workbook(lst, service.rows_of(lst), title, show_full_ids=False),
                         f"{title}.xlsx")


@bp.post("/claims/<int:claim_id>/export")
@roles_required(*READERS)
def export_list(claim_id: int):
    """A large list is written by a background job (progress bar); its page links to the file."""
    claim = scoped_get_or_404(SubsidyClaim, claim_id)
    if service.list_of(claim) is None:
        abort(404)
    job = jobs.submit(EXPORT_KIND, {"claim_id": claim.id}, current_user, subject_id=claim.id)
    db.session.commit()
    return redirect(url_for("jobs.job_detail", job_id=job.id))


@bp.get("/exports/<int:job_id>.xlsx")
@roles_required(*READERS)
def exported_list(job_id: int):
    job = scoped_get_or_404(Job, job_id)  # the user who asked for it (and the supervisors)
    path = export_path(job.id)
    if job.kind != EXPORT_KIND or job.status.value != "done" or not path.exists():
        abort(404)
    scoped_get_or_404(SubsidyClaim, (job.params or {}).get("claim_id") or 0)  # and the claim must be theirs to see
    return send_file(path, as_attachment=True, download_name=(job.result or {}).get("filename") or path.name)
