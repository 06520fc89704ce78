
import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from agri_insurance import clock, storage
from agri_insurance.access import ALL_ROLES, roles_required, scoped_get_or_404
from agri_insurance.extensions import db
from agri_insurance.forms_util import commit_or_flash
from agri_insurance.paging import ListFilters, paginate
from agri_insurance.reference.models import Product, Region, RegionLevel
from agri_insurance.roles import Role
from agri_insurance.spreadsheets import xlsx_download
from agri_insurance.tenders import exports, lists, service
from agri_insurance.tenders.forms import (
    CancelForm,
    ExceptionForm,
    LotDesignForm,
    LotForm,
    RoundForm,
    UploadForm,
)
from agri_insurance.tenders.models import (
    MIN_NOTICE_WORKING_DAYS,
    TERM_YEARS,
    CountyException,
    Lot,
    RoundStatus,
    SelectionRound,
)

bp = Blueprint("tenders", __name__, url_prefix="/tenders")
MANAGERS = (Role.CITY_AGRI,)


def _counties():
    return db.session.scalars(sa.select(Region).where(Region.level == RegionLevel.COUNTY).order_by(Region.code)).all()


def _products():
    return db.session.scalars(sa.select(Product).where(Product.active).order_by(Product.category, Product.code)).all()


def _round(round_id: int) -> SelectionRound:
    return scoped_get_or_404(SelectionRound, round_id)


# --- rounds ------------------------------------------------------------------------------------------

@bp.get("/")
@roles_required(*ALL_ROLES)
def rounds():
    filters = ListFilters()
    stmt = (sa.select(SelectionRound, lists.lot_count())
            .where(SelectionRound.visible_to(current_user), *lists.round_filter_clauses(filters))
            .order_by(*lists.NEWEST_FIRST))
    return render_template("tenders/rounds.html", page=paginate(stmt, filters, scalars=False), filters=filters,
                           statuses=list(RoundStatus), actions=service.list_actions(current_user))


def _round_data(form: RoundForm) -> dict:
    data = {name: getattr(form, name).data for name in service.ROUND_FIELDS}
    data["bid_deadline"] = clock.to_utc(data["bid_deadline"])
    data["opening_time"] = clock.to_utc(data["opening_time"])
    for name in ("contact", "notes", "notice_short_reason"):
        data[name] = (data[name] or "").strip() or None
    return data


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def new_round():
    form = RoundForm()
    if form.validate_on_submit():
        done = commit_or_flash(lambda: service.create_round(_round_data(form), current_user), _("已保存"), form)
        if done:
            return redirect(url_for(".round_detail", round_id=done.value.id))
    return render_template("tenders/round_form.html", form=form, rnd=None,
                           min_notice_days=MIN_NOTICE_WORKING_DAYS), 400 if form.errors else 200


@bp.route("/<int:round_id>/edit", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def edit_round(round_id: int):
    rnd = _round(round_id)
    form = RoundForm(obj=rnd)
    if request.method == "GET":
        form.bid_deadline.data = clock.to_local(rnd.bid_deadline)
        form.opening_time.data = clock.to_local(rnd.opening_time)
    if form.validate_on_submit():
        done = commit_or_flash(lambda: service.update_round(rnd, _round_data(form), current_user), _("已保存"), form)
        if done:
            return redirect(url_for(".round_detail", round_id=rnd.id))
    return render_template("tenders/round_form.html", form=form, rnd=rnd,
                           min_notice_days=MIN_NOTICE_WORKING_DAYS), 400 if form.errors else 200


LOTS_PER_PAGE = 100   # a round's lots, a page at a time: a city-wide round may have hundreds


@bp.get("/<int:round_id>")
@roles_required(*ALL_ROLES)
def round_detail(round_id: int):
    rnd = _round(round_id)
    counts = service.lot_counts(rnd)
    # one page of the lots with their products (a select-in of at most a page of lots: one statement)
    lots = paginate(sa.select(Lot).where(Lot.round_id == rnd.id).order_by(Lot.code, Lot.id)
                    .options(sa.orm.selectinload(Lot.products)), ListFilters(), per_page=LOTS_PER_PAGE,
                    total=sum(counts.values()))
    return render_template(
        "tenders/round_detail.html", rnd=rnd, limits=service.county_limits(rnd, list(counts)),
        lot_counts={r.id: n for r, n in counts.items()}, lots=lots,
        actions=service.available_actions(rnd, current_user), parts=service.page_parts(rnd, current_user))


@bp.post("/<int:round_id>/publish")
@roles_required(*MANAGERS)
def publish(round_id: int):
    rnd = _round(round_id)
    commit_or_flash(lambda: service.publish_round(rnd, current_user), _("遴选轮次已发布，开始接受投标"))
    return redirect(url_for(".round_detail", round_id=rnd.id))


@bp.post("/<int:round_id>/cancel")
@roles_required(*MANAGERS)
def cancel(round_id: int):
    rnd = _round(round_id)
    form = CancelForm()
    commit_or_flash(lambda: service.cancel_round(rnd, form.reason.data or "", current_user), _("遴选轮次已取消"))
    return redirect(url_for(".round_detail", round_id=rnd.id))


# --- county exceptions (R3) -----------------------------------------------------------------------

@bp.route("/<int:round_id>/exceptions/new", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def new_exception(round_id: int):
    rnd = _round(round_id)
    form = ExceptionForm(counties=_counties())
    if form.validate_on_submit():
        done = commit_or_flash(lambda: service.add_exception(
            rnd, db.session.get(Region, form.region_id.data), form.max_insurers.data, form.approval_doc_no.data,
            form.approval_date.data, storage.save_pdf(form.document.data, current_user), current_user),
            _("已保存"), form)
        if done:
            return redirect(url_for(".round_detail", round_id=rnd.id))
    return render_template("tenders/exception_form.html", form=form, rnd=rnd), 400 if form.errors else 200


@bp.get("/exceptions/<int:exception_id>/document")
@roles_required(*ALL_ROLES)
def exception_document(exception_id: int):
    exception = scoped_get_or_404(CountyException, exception_id)
    return storage.send_stored(exception.document)


@bp.post("/exceptions/<int:exception_id>/delete")
@roles_required(*MANAGERS)
def delete_exception(exception_id: int):
    exception = scoped_get_or_404(CountyException, exception_id)
    round_id = exception.round_id
    commit_or_flash(lambda: service.delete_exception(exception, current_user), _("已删除"))
    return redirect(url_for(".round_detail", round_id=round_id))


# --- lots ---------------------------------------------------------------------------------------------

def _lot_data(form: LotForm) -> dict:
    return {name: getattr(form, name).data for name in (*service.LOT_FIELDS, "product_ids")}


def _lot_form_cycle(rnd: SelectionRound, lot: Lot | None):
    form = LotForm(obj=lot, counties=_counties(), products=_products())
    if request.method == "GET" and lot is not None:
        form.product_ids.data = [p.id for p in lot.products]
    if rnd.changes_invalidate_bids and request.method == "GET":
        flash(_("本轮正在接受投标：修改标段将使已提交的投标文件失效，投标人须重新确认。"), "warning")
    if form.validate_on_submit():
        done = commit_or_flash(lambda: service.save_lot(rnd, lot, _lot_data(form), current_user), _("已保存"), form)
        if done:
            return redirect(url_for(".round_detail", round_id=rnd.id))
    return render_template("tenders/lot_form.html", form=form, rnd=rnd, lot=lot), 400 if form.errors else 200


@bp.route("/<int:round_id>/lots/new", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def new_lot(round_id: int):
    return _lot_form_cycle(_round(round_id), None)


@bp.route("/lots/<int:lot_id>/edit", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def edit_lot(lot_id: int):
    lot = scoped_get_or_404(Lot, lot_id)
    return _lot_form_cycle(_round(lot.round_id), lot)


@bp.post("/lots/<int:lot_id>/delete")
@roles_required(*MANAGERS)
def delete_lot(lot_id: int):
    lot = scoped_get_or_404(Lot, lot_id)
    round_id = lot.round_id
    commit_or_flash(lambda: service.delete_lot(lot, current_user), _("已删除"))
    return redirect(url_for(".round_detail", round_id=round_id))


@bp.get("/lots/template.xlsx")
@roles_required(*MANAGERS)
def lots_template():
    return xlsx_download(exports.lots_template(), _("标段导入模板.xlsx"))


@bp.route("/<int:round_id>/lots/import", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def import_lots(round_id: int):
    rnd = _round(round_id)
    form = UploadForm()
    problems: list[str] = []
    if form.validate_on_submit():
        rows, issues = exports.parse_lots(rnd, form.file.data.read())
        problems = issues.messages()
        if not issues:
            done = commit_or_flash(lambda: service.import_lots(rnd, rows, current_user), problems=problems)
            if done:
                flash(_("已导入 %(n)s 个标段", n=len(done.value)), "success")
                return redirect(url_for(".round_detail", round_id=rnd.id))
    status = 400 if (problems or form.errors) else 200
    return render_template("tenders/lot_import.html", form=form, rnd=rnd, problems=problems), status


@bp.get("/<int:round_id>/lots.xlsx")
@roles_required(*ALL_ROLES)
def lots_export(round_id: int):
    rnd = _round(round_id)
    return xlsx_download(exports.lots_workbook(rnd, service.county_limits(rnd)),
                         _("标段_%(name)s.xlsx", name=rnd.name))


# --- lot design assistant (R2) ------------------------------------------------------------------------

def _fill_from_stored_data(rnd: SelectionRound, form: LotDesignForm) -> None:
    """The history field filled from the county's stored lists (?region_id=…&from_data=1, and &by_township=1 for a
    line per township where the lists carry it), for the bureau to read, change and propose from; a county without
    stored data says so and keeps the field for pasting."""
    region = db.session.get(Region, request.args.get("region_id", type=int) or 0)
    if region is None or region.level is not RegionLevel.COUNTY:
        flash(_("请选择县（市、区）"), "warning")
        return
    form.region_id.data = region.id
    history = service.stored_lot_history(rnd, region, by_township=bool(request.args.get("by_township")))
    if history:
        form.history.data = history
        flash(_("已按%(county)s %(first)s—%(last)s 年已存的承保清单和理赔清单填入历史数据，可修改后生成方案",
                county=region.label, first=rnd.term_start_year - TERM_YEARS, last=rnd.term_start_year - 1), "info")
    else:
        flash(_("%(county)s %(first)s—%(last)s 年没有已存的承保清单，请粘贴历史数据", county=region.label,
                first=rnd.term_start_year - TERM_YEARS, last=rnd.term_start_year - 1), "warning")


@bp.route("/<int:round_id>/lot-design", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def lot_design_assistant(round_id: int):
    """R2: propose k lots for a county from its historical premium and loss ratio per product (the partition is
    `optimization.lot_design.design_lots`); the bureau edits codes, names and membership, then accepts."""
    rnd = _round(round_id)
    form = LotDesignForm(counties=_counties())
    design, cells, region = None, {}, None
    products = {p.code: p for p in _products()}
    if request.method == "GET" and request.args.get("from_data"):
        _fill_from_stored_data(rnd, form)
    if form.validate_on_submit():
        region = db.session.get(Region, form.region_id.data)
        parsed = commit_or_flash(lambda: service.parse_lot_history(form.history.data, list(products.values())),
                                 None, form)
        if parsed:
            cells = {c.id: c for c in parsed.value}
            if request.form.get("accept"):
                picks = [(request.form.get(f"code_{i}", ""), request.form.get(f"name_{i}", ""),
                          request.form.getlist(f"group_{i}")) for i in range(form.lot_count.data)]
                done = commit_or_flash(lambda: service.apply_lot_design(rnd, region, parsed.value, picks,
                                                                        current_user), None, form)
                if done:
                    flash(_("已按方案新建 %(n)s 个标段", n=len(done.value)), "success")
                    return redirect(url_for(".round_detail", round_id=rnd.id))
            else:
                proposal = commit_or_flash(lambda: service.propose_lots(parsed.value, form.lot_count.data), None,
                                           form)
                design = proposal.value
    return render_template("tenders/lot_design.html", form=form, rnd=rnd, design=design, cells=cells,
                           region=region, products=products), 400 if form.errors else 200



# --- the next round from the last -------------------------------------------------------------------------

@bp.route("/<int:round_id>/previous-lots", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def previous_lots(round_id: int):
    """The previous term's lots with their measured loss ratios; the bureau copies them into this round."""
    rnd = _round(round_id)
    if request.method == "POST":
        done = commit_or_flash(lambda: service.copy_previous_lots(rnd, current_user))
        if done:
            flash(_("已从上一服务期复制 %(n)s 个标段", n=len(done.value)), "success")
            return redirect(url_for(".round_detail", round_id=rnd.id))
    previous, rows = service.previous_lots(rnd)
    return render_template("tenders/previous_lots.html", rnd=rnd, previous=previous, rows=rows,
                           actions=service.available_actions(rnd, current_user))
