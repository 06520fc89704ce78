
import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from agri_insurance import clock
from agri_insurance.access import roles_required, scoped_get_or_404
from agri_insurance.actions import Actions
from agri_insurance.audit import service as audit
from agri_insurance.extensions import db
from agri_insurance.farmer_notices.documents import safe_filename, village_pdf, villages_pdf, villages_zip
from agri_insurance.farmer_notices.forms import NoticePeriodForm, NoticePhotoForm
from agri_insurance.farmer_notices.service import NOTICE_MIN_DAYS
from agri_insurance.forms_util import commit_or_flash, flash_form_errors, int_arg
from agri_insurance.jobs import service as jobs
from agri_insurance.jobs.models import Job
from agri_insurance.masking import mask_account, mask_id
from agri_insurance.paging import ListFilters, paginate
from agri_insurance.roles import Role
from agri_insurance.spreadsheets import download, xlsx_download
from agri_insurance.storage import send_stored
from agri_insurance.subsidies import service as subsidies
from agri_insurance.subsidies.models import SubsidyClaim
from agri_insurance.underwriting import exports, notices, service, uploads
from agri_insurance.underwriting.forms import NewClaimFromListForm, UploadListForm
from agri_insurance.underwriting.jobs import (
    EXPORT_KIND,
    IMPORT_KIND,
    NOTICE_FORMATS,
    NOTICES_KIND,
    export_path,
    failed_import_summary,
    import_errors_part,
    notices_path,
    report_path,
)
from agri_insurance.underwriting.models import UnderwritingFlag, UnderwritingRow

bp = Blueprint("underwriting", __name__, url_prefix="/underwriting")
READERS = (Role.ADMIN, Role.CITY_AGRI, Role.CITY_FINANCE, Role.COUNTY_AGRI, Role.COUNTY_FINANCE, Role.INSURER)
NOTICE_READERS = notices.NOTICE_READERS
PREVIEW_ROWS = 50
FLAGS_PER_PAGE = 50
PDF_MIMETYPE = "application/pdf"
ZIP_MIMETYPE = "application/zip"


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
    flags, flags_page, preview, problems = [], None, [], []
    if lst is not None:
        # Reconciled afresh against the claim as it is now, in the reader's language.
        problems = service.reconcile(claim, lst)
        # the flags a page at a time (a large list has hundreds), counted when they were placed (lst.flag_count)
        flags_page = paginate(sa.select(UnderwritingFlag).where(UnderwritingFlag.list_id == lst.id)
                              .options(sa.orm.joinedload(UnderwritingFlag.row))
                              .order_by(UnderwritingFlag.kind, UnderwritingFlag.id),
                              ListFilters(), per_page=FLAGS_PER_PAGE, total=lst.flag_count)
        flags = flags_page.items
        preview = db.session.scalars(sa.select(UnderwritingRow).where(UnderwritingRow.list_id == lst.id)
                                     .order_by(UnderwritingRow.row_no).limit(PREVIEW_ROWS)).all()
    job = jobs.latest_for(IMPORT_KIND, claim.id)
    # the failed upload's findings quote its cells: for the insurer that uploaded it, not for the bureaus
    failed_summary = failed_import_summary(job, current_user)
    actions = service.list_actions(claim, current_user, lst)
    show_full = sees_full_ids(claim)
    if show_full and (preview or flags):   # 个人信息保护法: who saw which farmers' numbers in full, and why
        shown = {r.row_no for r in (*preview, *(f.row for f in flags)) if r is not None}
        audit.record_personal_data_view(current_user, request.endpoint, lst, len(shown))
    return render_template("underwriting/list_detail.html", claim=claim, lst=lst, flags=flags, flags_page=flags_page,
                           preview=preview,
                           **_notice_context(claim, lst),
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
    started = commit_or_flash(lambda: uploads.start_import(claim, UploadListForm(), current_user))
    if started:
        return redirect(url_for("jobs.job_detail", job_id=started.value.id))
    return redirect(url_for(".list_detail", claim_id=claim.id))


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
        started = commit_or_flash(lambda: uploads.start_new_claim_import(form, returned, current_user), form=form)
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


# --- the list's notice to farmers (承保公示) ------------------------------------------------------------------

def _notice_context(claim: SubsidyClaim, lst) -> dict:
    """The list page's notice section: for those who see notices (not finance), once the list is there."""
    if lst is None or not notices.may_see(claim, current_user):
        return {"notice": None}
    state = notices.state_of(claim, lst)
    actions = notices.notice_actions(claim, current_user, state)
    period_form = photo_form = None
    if "notice-period" in actions:
        period_form = NoticePeriodForm(formdata=None)
        period_form.starts_on.data = state.period.starts_on if state.period else clock.local_today()
        period_form.days.data = state.period.days if state.period else NOTICE_MIN_DAYS
        photo_form = NoticePhotoForm(formdata=None, villages=state.missing + [v for v in state.villages
                                                                               if v.has_evidence])
        photo_form.posted_on.data = state.period.starts_on if state.period else None
    return {"notice": state, "notice_actions": actions, "period_form": period_form, "photo_form": photo_form,
            "notice_villages": _villages_context(claim, state)}


def _villages_context(claim: SubsidyClaim, state) -> dict:
    """What templates/farmer_notices/_villages.html needs to draw the villages of `state`."""
    return {"villages": state.villages, "required": state.required, "columns": notices.TOTAL_COLUMNS,
            "photo_url": notices.photo_url, "pdf_url": lambda v: notices.village_pdf_url(claim, state, v),
            "delete_action": lambda p: notices.delete_photo_action(claim, current_user, p),
            "posted_late": state.posted_late}


def _notice_list_or_404(claim_id: int):
    """The claim (scoped to the user) and its list, for a notice route; 404 when there is no list."""
    claim = scoped_get_or_404(SubsidyClaim, claim_id)
    lst = service.list_of(claim)
    if lst is None or not notices.may_see(claim, current_user):
        abort(404)
    return claim, lst


def _back_to_notices(claim: SubsidyClaim):
    return redirect(url_for(".list_detail", claim_id=claim.id, _anchor="notices"))


@bp.post("/claims/<int:claim_id>/notice-period")
@roles_required(Role.INSURER)
def set_notice_period(claim_id: int):
    claim, lst = _notice_list_or_404(claim_id)
    form = NoticePeriodForm()
    if form.validate_on_submit():
        commit_or_flash(lambda: notices.set_period(claim, lst, form.starts_on.data, form.days.data, current_user),
                        _("公示期已保存，可以下载各村公示"))
    else:
        flash_form_errors(form)
    return _back_to_notices(claim)


@bp.post("/claims/<int:claim_id>/notice-photos")
@roles_required(Role.INSURER)
def upload_notice_photos(claim_id: int):
    claim, lst = _notice_list_or_404(claim_id)
    form = NoticePhotoForm()
    if form.validate_on_submit():
        commit_or_flash(lambda: notices.add_photos(claim, lst, form.village_key(), form.posted_on.data,
                                                   form.photos.data or [], current_user), _("张贴照片已上传"))
    else:
        flash_form_errors(form)
    return _back_to_notices(claim)


def _photo_or_404(photo_id: int):
    """A notice photo and its claim, if the user may see the claim's notices."""
    photo = notices.photo_of(photo_id)
    if photo is None:
        abort(404)
    claim = scoped_get_or_404(SubsidyClaim, notices.claim_of_photo(photo))
    if not notices.may_see(claim, current_user):
        abort(404)
    return photo, claim


@bp.post("/notice-photos/<int:photo_id>/delete")
@roles_required(Role.INSURER)
def delete_notice_photo(photo_id: int):
    photo, claim = _photo_or_404(photo_id)
    commit_or_flash(lambda: notices.remove_photo(claim, photo, current_user), _("照片已删除"))
    return _back_to_notices(claim)


@bp.get("/notice-photos/<int:photo_id>")
@roles_required(*NOTICE_READERS)
def notice_photo(photo_id: int):
    photo, _claim = _photo_or_404(photo_id)
    return send_stored(photo.file, inline=True)


def _notice_period_or_redirect(claim: SubsidyClaim, lst):
    notice = notices.notice_of(lst)
    if notice is None:
        flash(_("请先填写公示期"), "warning")
    return notice


@bp.get("/claims/<int:claim_id>/notices/village.pdf")
@roles_required(*NOTICE_READERS)
def village_notice_pdf(claim_id: int):
    """One village's notice (A4), named by its township and village (?township=…&village=…)."""
    claim, lst = _notice_list_or_404(claim_id)
    notice = _notice_period_or_redirect(claim, lst)
    if notice is None:
        return _back_to_notices(claim)
    key = (request.args.get("township", ""), request.args.get("village", ""))
    sheet = next(notices.village_sheets(claim, lst, notice.period, only=key), None)
    if sheet is None:
        abort(404)
    return download(village_pdf(sheet), safe_filename(f"{claim.region.name}{key[0]}{key[1]}承保公示.pdf"),
                    PDF_MIMETYPE)


def _all_villages(claim_id: int, fmt: str):
    claim, lst = _notice_list_or_404(claim_id)
    notice = _notice_period_or_redirect(claim, lst)
    if notice is None:
        return _back_to_notices(claim)
    if lst.rows > notices.direct_rows():
        flash(_("清单有 %(n)s 行，请用“后台生成”", n=f"{lst.rows:,}"), "warning")
        return _back_to_notices(claim)
    sheets = notices.village_sheets(claim, lst, notice.period)
    title = notices.files_title(claim)
    if fmt == "zip":
        return download(villages_zip(sheets), safe_filename(f"{title}.zip"), ZIP_MIMETYPE)
    return download(villages_pdf(sheets, title), safe_filename(f"{title}.pdf"), PDF_MIMETYPE)


@bp.get("/claims/<int:claim_id>/notices.zip")
@roles_required(*NOTICE_READERS)
def notices_zip(claim_id: int):
    """Every village's notice, one PDF each, in a zip."""
    return _all_villages(claim_id, "zip")


@bp.get("/claims/<int:claim_id>/notices.pdf")
@roles_required(*NOTICE_READERS)
def notices_pdf(claim_id: int):
    """Every village's notice in one PDF, each village from a new page."""
    return _all_villages(claim_id, "pdf")


@bp.post("/claims/<int:claim_id>/notices/export")
@roles_required(*NOTICE_READERS)
def export_notices(claim_id: int):
    """A large list's notices, written by a background job (progress bar); its page links to the file."""
    claim, lst = _notice_list_or_404(claim_id)
    fmt = request.args.get("format", "zip")
    if fmt not in NOTICE_FORMATS:
        abort(404)
    if _notice_period_or_redirect(claim, lst) is None:
        return _back_to_notices(claim)
    job = jobs.submit(NOTICES_KIND, {"claim_id": claim.id, "format": fmt}, current_user, subject_id=claim.id)
    db.session.commit()
    return redirect(url_for("jobs.job_detail", job_id=job.id))


@bp.get("/notice-exports/<int:job_id>")
@roles_required(*NOTICE_READERS)
def exported_notices(job_id: int):
    job = scoped_get_or_404(Job, job_id)  # the user who asked for it (and the supervisors)
    result = job.result or {}
    fmt = result.get("format")
    if job.kind != NOTICES_KIND or job.status.value != "done" or fmt not in NOTICE_FORMATS:
        abort(404)
    path = notices_path(job.id, fmt)
    if not path.exists():
        abort(404)
    _notice_list_or_404((job.params or {}).get("claim_id") or 0)  # and the claim's notices must be theirs to see
    return send_file(path, as_attachment=True, download_name=safe_filename(result.get("filename") or path.name))


# --- the city's rule: notice photos before verification, per product and year ------------------------------

@bp.get("/notice-rules")
@roles_required(*NOTICE_READERS)
def notice_rules():
    year = request.args.get("year", type=int_arg) or clock.local_today().year
    if not 2000 <= year <= 2100:
        year = clock.local_today().year
    products, rules = notices.rules_for_year(year)
    this_year = clock.local_today().year
    return render_template("underwriting/notice_rules.html", year=year, products=products, rules=rules,
                           years=sorted({this_year - 1, this_year, this_year + 1, year}),
                           actions=notices.rules_actions(current_user) if products else Actions())


@bp.post("/notice-rules")
@roles_required(*notices.RULE_EDITORS)
def save_notice_rules():
    year = request.form.get("year", type=int_arg)
    required = set(request.form.getlist("required", type=int_arg))
    commit_or_flash(lambda: notices.save_rules(year, required, current_user), _("已保存"))
    return redirect(url_for(".notice_rules", year=year) if year else url_for(".notice_rules"))
