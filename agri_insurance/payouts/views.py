
import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from agri_insurance import storage
from agri_insurance.access import roles_required, scoped_get_or_404, scoped_query
from agri_insurance.audit import service as audit
from agri_insurance.clock import local_today
from agri_insurance.errors import DomainError
from agri_insurance.extensions import db
from agri_insurance.farmer_notices.documents import safe_filename, village_pdf, villages_pdf, villages_zip
from agri_insurance.farmer_notices.forms import NoticePeriodForm, NoticePhotoForm
from agri_insurance.farmer_notices.service import NOTICE_MIN_DAYS
from agri_insurance.forms_util import commit_or_flash, flash_form_errors
from agri_insurance.i18n import join_sentences
from agri_insurance.jobs import service as jobs
from agri_insurance.jobs.models import Job
from agri_insurance.masking import mask_account, mask_id
from agri_insurance.paging import ListFilters, paginate
from agri_insurance.payouts import exports, notices, service
from agri_insurance.payouts.forms import ReviewFlagForm, UploadPayoutsForm
from agri_insurance.payouts.jobs import IMPORT_KIND, failed_import_summary, report_path
from agri_insurance.payouts.models import PayoutFlag, PayoutList, PayoutRow
from agri_insurance.reference.models import Insurer, Region, RegionLevel
from agri_insurance.roles import Role
from agri_insurance.spreadsheets import XLSX_MIMETYPE, download, xlsx_download
from agri_insurance.subsidies import service as subsidies

bp = Blueprint("payouts", __name__, url_prefix="/payouts")
LIST_READERS = (Role.ADMIN, Role.CITY_AGRI, Role.COUNTY_AGRI, Role.INSURER)   # finance: aggregates only
FIGURE_READERS = (*LIST_READERS, Role.CITY_FINANCE, Role.COUNTY_FINANCE)
REVIEWERS = (Role.ADMIN, Role.CITY_AGRI, Role.COUNTY_AGRI)


def _sees_full(lst: PayoutList) -> bool:
    """The insurer that paid and the county bureau reviewing need the full numbers; the city reads them masked."""
    if current_user.role is Role.INSURER:
        return current_user.insurer_id == lst.insurer_id
    return current_user.role is Role.COUNTY_AGRI and current_user.region_id == lst.region_id


@bp.get("/template.xlsx")
@roles_required(*LIST_READERS)
def template():
    return xlsx_download(exports.template_workbook(), _("理赔清单模板.xlsx"))


@bp.get("/")
@roles_required(*LIST_READERS)
def lists():
    filters = ListFilters(request.args)
    year = filters.integer("year", _("年度"), minimum=2000, maximum=2100)
    stmt = scoped_query(PayoutList).options(sa.orm.joinedload(PayoutList.insurer), sa.orm.joinedload(PayoutList.region),
                                            sa.orm.joinedload(PayoutList.product))
    if year:
        stmt = stmt.where(PayoutList.year == year)
    page = paginate(stmt.order_by(PayoutList.year.desc(), PayoutList.id.desc()), filters)
    form = None
    failed = None
    if service.may_upload(current_user):
        form = UploadPayoutsForm(scopes=subsidies.claim_scopes(current_user.insurer_id))
        job = db.session.scalar(sa.select(Job).where(Job.kind == IMPORT_KIND, Job.created_by_id == current_user.id)
                                .order_by(Job.id.desc()).limit(1))
        failed = failed_import_summary(job, current_user)
        failed = {"summary": failed, "report_url": url_for(".error_report", job_id=job.id)} if failed else None
    return render_template("payouts/lists.html", page=page, filters=filters, form=form, failed=failed,
                           actions=service.lists_actions(current_user))


@bp.post("/upload")
@roles_required(Role.INSURER)
def upload():
    form = UploadPayoutsForm(scopes=subsidies.claim_scopes(current_user.insurer_id))
    started = commit_or_flash(lambda: _start_import(form))
    if started:
        return redirect(url_for("jobs.job_detail", job_id=started.value.id))
    return redirect(url_for(".lists"))


def _start_import(form: UploadPayoutsForm) -> Job:
    if not form.validate_on_submit():   # the list page does not show the form's errors again: say them
        raise DomainError(join_sentences([_("%(field)s：%(error)s", field=form[name].label.text, error=error)
                                          for name, errors in form.errors.items() for error in errors])
                          or _("请选择文件"))
    scope = {"region_id": form.region_id.data, "product_id": form.product_id.data, "year": form.year.data,
             "event": form.event.data}
    service.check_scope(scope, current_user)
    path = storage.keep_upload(form.file.data, "incoming")   # a full or read-only disk is refused in words
    return jobs.submit(IMPORT_KIND, {"path": str(path), "filename": form.file.data.filename, "scope": scope},
                       current_user)


@bp.get("/jobs/<int:job_id>/errors.xlsx")
@roles_required(Role.INSURER, Role.ADMIN, Role.CITY_AGRI)
def error_report(job_id: int):
    job = db.session.get(Job, job_id)
    if job is None or job.kind != IMPORT_KIND:
        abort(404)
    if current_user.role is Role.INSURER and job.created_by_id != current_user.id:
        abort(404)
    path = report_path(job.id)
    if not path.exists():
        abort(404)
    return send_file(path, mimetype=XLSX_MIMETYPE, as_attachment=True, download_name=_("理赔清单错误报告.xlsx"))


@bp.get("/lists/<int:list_id>")
@roles_required(*LIST_READERS)
def list_detail(list_id: int):
    lst = scoped_get_or_404(PayoutList, list_id)
    filters = ListFilters(request.args)
    rows = paginate(sa.select(PayoutRow).where(PayoutRow.list_id == lst.id).order_by(PayoutRow.row_no), filters)
    flags = db.session.scalars(sa.select(PayoutFlag).where(PayoutFlag.list_id == lst.id)
                               .options(sa.orm.joinedload(PayoutFlag.row), sa.orm.joinedload(PayoutFlag.reviewed_by),
                                        sa.orm.joinedload(PayoutFlag.list))
                               .order_by(PayoutFlag.row_no, PayoutFlag.id).limit(500)).all()
    full = _sees_full(lst)
    if full and (rows.items or flags):   # 个人信息保护法: who saw which farmers' numbers in full, and why
        shown = {r.row_no for r in (*rows.items, *(f.row for f in flags)) if r is not None}
        audit.record_personal_data_view(current_user, request.endpoint, lst, len(shown))
    return render_template("payouts/list_detail.html", lst=lst, rows=rows, flags=flags, form=ReviewFlagForm(),
                           may_review=lambda f: service.may_review(f, current_user),
                           show_id=(lambda n: n if full else mask_id(n)),
                           show_account=(lambda a: (a or "") if full else mask_account(a)),
                           **_notice_context(lst))


# --- the list's notice to farmers (理赔公示) ------------------------------------------------------------------------

PDF_MIMETYPE = "application/pdf"
ZIP_MIMETYPE = "application/zip"


def _notice_context(lst: PayoutList) -> dict:
    """The list page's notice section, for those who see notices (not finance): the period, the villages with the
    photos of their posted notice, and the insurer's forms."""
    if not notices.may_see(lst, current_user):
        return {"notice": None}
    state = notices.state_of(lst)
    actions = notices.notice_actions(lst, current_user, state)
    period_form = photo_form = None
    if "notice-period" in actions:
        period_form = NoticePeriodForm(formdata=None)
        period_form.starts_on.data = state.period.starts_on if state.period else local_today()
        period_form.days.data = state.period.days if state.period else NOTICE_MIN_DAYS
        photo_form = NoticePhotoForm(formdata=None, villages=state.missing + [v for v in state.villages
                                                                               if v.has_evidence])
        photo_form.posted_on.data = state.period.starts_on if state.period else None
    return {"notice": state, "notice_actions": actions, "period_form": period_form, "photo_form": photo_form,
            "notice_villages": {
                "villages": state.villages, "required": False, "columns": notices.TOTAL_COLUMNS,
                "photo_url": notices.photo_url, "pdf_url": lambda v: notices.village_pdf_url(lst, state.period, v),
                "delete_action": lambda p: notices.delete_photo_action(lst, current_user, p),
                "posted_late": state.posted_late}}


def _notice_list_or_404(list_id: int) -> PayoutList:
    lst = scoped_get_or_404(PayoutList, list_id)
    if not notices.may_see(lst, current_user):
        abort(404)
    return lst


def _back_to_notices(lst: PayoutList):
    return redirect(url_for(".list_detail", list_id=lst.id, _anchor="notices"))


@bp.post("/lists/<int:list_id>/notice-period")
@roles_required(Role.INSURER)
def set_notice_period(list_id: int):
    lst = _notice_list_or_404(list_id)
    form = NoticePeriodForm()
    if form.validate_on_submit():
        commit_or_flash(lambda: notices.set_period(lst, form.starts_on.data, form.days.data, current_user),
                        _("公示期已保存"))
    else:
        flash(join_sentences([error for errors in form.errors.values() for error in errors]), "danger")
    return _back_to_notices(lst)


@bp.post("/lists/<int:list_id>/notice-photos")
@roles_required(Role.INSURER)
def upload_notice_photos(list_id: int):
    lst = _notice_list_or_404(list_id)
    form = NoticePhotoForm()
    if form.validate_on_submit():
        commit_or_flash(lambda: notices.add_photos(lst, form.village_key(), form.posted_on.data,
                                                   form.photos.data or [], current_user), _("张贴照片已上传"))
    else:
        flash_form_errors(form)
    return _back_to_notices(lst)


def _photo_or_404(photo_id: int):
    """A notice photo and its list, if the user may see the list's notices."""
    photo = notices.photo_of(photo_id)
    if photo is None:
        abort(404)
    return photo, _notice_list_or_404(photo.list_id)


@bp.post("/notice-photos/<int:photo_id>/delete")
@roles_required(Role.INSURER)
def delete_notice_photo(photo_id: int):
    photo, lst = _photo_or_404(photo_id)
    commit_or_flash(lambda: notices.remove_photo(lst, photo, current_user), _("照片已删除"))
    return _back_to_notices(lst)


@bp.get("/notice-photos/<int:photo_id>")
@roles_required(*LIST_READERS)
def notice_photo(photo_id: int):
    photo, _lst = _photo_or_404(photo_id)
    return storage.send_stored(photo.file, inline=True)


def _period_or_back(lst: PayoutList):
    notice = notices.notice_of(lst)
    if notice is None:
        flash(_("请先填写公示期"), "warning")
    return notice


@bp.get("/lists/<int:list_id>/notices/village.pdf")
@roles_required(*LIST_READERS)
def village_notice_pdf(list_id: int):
    """One village's notice (A4), named by its township and village (?township=…&village=…)."""
    lst = _notice_list_or_404(list_id)
    notice = _period_or_back(lst)
    if notice is None:
        return _back_to_notices(lst)
    key = (request.args.get("township", ""), request.args.get("village", ""))
    sheet = next(notices.village_sheets(lst, notice.period, only=key), None)
    if sheet is None:
        abort(404)
    return download(village_pdf(sheet), safe_filename(f"{lst.region.name}{key[0]}{key[1]}理赔公示.pdf"), PDF_MIMETYPE)


def _all_villages(list_id: int, fmt: str):
    lst = _notice_list_or_404(list_id)
    notice = _period_or_back(lst)
    if notice is None:
        return _back_to_notices(lst)
    if lst.rows > notices.direct_rows():
        flash(_("清单有 %(n)s 行，请逐村下载公示", n=f"{lst.rows:,}"), "warning")
        return _back_to_notices(lst)
    sheets = notices.village_sheets(lst, notice.period)
    title = notices.files_title(lst)
    if fmt == "zip":
        return download(villages_zip(sheets), safe_filename(f"{title}.zip"), ZIP_MIMETYPE)
    return download(villages_pdf(sheets, title), safe_filename(f"{title}.pdf"), PDF_MIMETYPE)


@bp.get("/lists/<int:list_id>/notices.zip")
@roles_required(*LIST_READERS)
def notices_zip(list_id: int):
    """Every village's notice, one PDF each, in a zip."""
    return _all_villages(list_id, "zip")


@bp.get("/lists/<int:list_id>/notices.pdf")
@roles_required(*LIST_READERS)
def notices_pdf(list_id: int):
    """Every village's notice in one PDF, each village from a new page."""
    return _all_villages(list_id, "pdf")


@bp.get("/flags")
@roles_required(*REVIEWERS)
def flags():
    filters = ListFilters(request.args)
    stmt = (sa.select(PayoutFlag).join(PayoutFlag.list).where(service_scope(), PayoutFlag.reviewed_at.is_(None))
            .options(sa.orm.joinedload(PayoutFlag.row), sa.orm.joinedload(PayoutFlag.list).joinedload(PayoutList.insurer))
            .order_by(PayoutFlag.list_id, PayoutFlag.row_no, PayoutFlag.id))
    page = paginate(stmt, filters)
    return render_template("payouts/flags.html", page=page, form=ReviewFlagForm(),
                           may_review=lambda f: service.may_review(f, current_user))


def service_scope():
    return PayoutList.visible_to(current_user)


@bp.post("/flags/<int:flag_id>/accept")
@roles_required(Role.COUNTY_AGRI)
def accept_flag(flag_id: int):
    flag = db.session.scalar(sa.select(PayoutFlag).join(PayoutFlag.list).where(PayoutFlag.id == flag_id, service_scope()))
    if flag is None:
        abort(404)
    form = ReviewFlagForm()
    commit_or_flash(lambda: service.accept_flag(flag, current_user, form.comment.data or ""), _("已审核"))
    # back to the page the review was made on: the county's flags, or the list
    if request.form.get("back") == "flags":
        return redirect(url_for(".flags"))
    return redirect(url_for(".list_detail", list_id=flag.list_id))


# --- measured service ---------------------------------------------------------------------------------------------

def _year_filter(filters: ListFilters) -> int | None:
    return filters.integer("year", _("年度"), minimum=2000, maximum=2100)


def _chart(figures, label_of) -> dict:
    """The loss ratio and the share paid within 10 days per row of the table, for the page's chart."""
    return {
        "labels": [label_of(m) for m in figures],
        "loss_ratio": [None if m.loss_ratio is None else float(m.loss_ratio * 100) for m in figures],
        "within": [None if m.within_10_share is None else float(m.within_10_share * 100) for m in figures],
    }


@bp.get("/service")
@roles_required(*FIGURE_READERS)
def service_overview():
    return _service_page(_("理赔服务指标"), None, lambda m, names: (names[0].get(m.insurer_id), names[1].get(m.region_id)))


@bp.get("/service/insurers/<int:insurer_id>")
@roles_required(*FIGURE_READERS)
def service_insurer(insurer_id: int):
    insurer = scoped_get_or_404(Insurer, insurer_id)   # an insurer's users: their own only
    return _service_page(_("%(name)s 理赔服务指标", name=insurer.short_name), insurer.short_name,
                         lambda m, names: (names[1].get(m.region_id), names[2].get(m.product_id)),
                         insurer_id=insurer_id)


@bp.get("/service/counties/<int:region_id>")
@roles_required(*FIGURE_READERS)
def service_county(region_id: int):
    region = scoped_get_or_404(Region, region_id)      # a county's users: their own only
    if region.level is not RegionLevel.COUNTY:
        abort(404)
    return _service_page(_("%(name)s 理赔服务指标", name=region.label), region.label,
                         lambda m, names: (names[0].get(m.insurer_id), names[2].get(m.product_id)),
                         region_id=region_id)


def _service_page(title: str, subject: str | None, chart_label, **scope):
    """The measured-service page (overview, one insurer, one county): figures, table and chart, whose bars are
    named by `chart_label(figure, (insurers, regions, products))` and the year."""
    filters = ListFilters(request.args)
    year = _year_filter(filters)
    figures = service.measured_for(current_user, year=year, **scope)
    names = service.names()
    insurers, regions, products = names
    return render_template("payouts/service.html", figures=figures, filters=filters, year=year, insurers=insurers,
                           regions=regions, products=products, title=title, subject=subject,
                           chart=_chart(figures, lambda m: " · ".join(
                               [*(str(part) for part in chart_label(m, names)), str(m.year)])))


@bp.get("/service.xlsx")
@roles_required(*FIGURE_READERS)
def service_xlsx():
    filters = ListFilters(request.args)
    year = _year_filter(filters)
    insurer_id = filters.integer("insurer_id", _("承保机构"), minimum=1)
    region_id = filters.integer("region_id", _("县（市、区）"), minimum=1)
    if current_user.role is Role.INSURER and insurer_id and insurer_id != current_user.insurer_id:
        abort(404)
    figures = service.measured_for(current_user, year=year, insurer_id=insurer_id, region_id=region_id)
    insurers, regions, products = service.names()
    return xlsx_download(exports.measured_workbook(figures, insurers, regions, products), _("理赔服务指标.xlsx"))
