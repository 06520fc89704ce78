
import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from agri_insurance import clock
from agri_insurance.access import roles_required, scope_clause, scoped_get_or_404
from agri_insurance.actions import parts_for
from agri_insurance.audit.models import AuditEntry
from agri_insurance.extensions import db
from agri_insurance.forms_util import commit_or_flash, flash_form_errors, int_arg
from agri_insurance.paging import ListFilters, paginate
from agri_insurance.reference.models import Insurer, Product, Region, RegionLevel
from agri_insurance.roles import CITY_ROLES, Role
from agri_insurance.spreadsheets import download, xlsx_download
from agri_insurance.subsidies import checkpoints, exports, funds, lists, reports, service, yearend
from agri_insurance.subsidies.forms import (
    AdvanceEditForm,
    AdvanceForm,
    AssignmentForm,
    BudgetForm,
    ClaimForm,
    FundForm,
    PaymentForm,
    ReturnForm,
    TransferForm,
    VerifyForm,
)
from agri_insurance.subsidies.models import (
    FUND_LEVELS,
    Advance,
    FundAllocation,
    Settlement,
    ShareLevel,
    SubsidyClaim,
    UnderwritingAssignment,
)
from agri_insurance.subsidies.signals import claim_page_parts

bp = Blueprint("subsidies", __name__, url_prefix="/subsidies")
CLAIM_READERS = (Role.ADMIN, Role.CITY_AGRI, Role.CITY_FINANCE, Role.COUNTY_AGRI, Role.COUNTY_FINANCE, Role.INSURER)
ASSIGNMENT_EDITORS = (Role.ADMIN, Role.CITY_AGRI)
FINANCE = (Role.COUNTY_FINANCE, Role.CITY_FINANCE)
BUDGET_ROLES = (Role.ADMIN, Role.CITY_AGRI, Role.CITY_FINANCE, Role.COUNTY_AGRI, Role.COUNTY_FINANCE)


def _counties():
    stmt = sa.select(Region).where(Region.level == RegionLevel.COUNTY).order_by(Region.code)
    return db.session.scalars(stmt).all()


def _products():
    return db.session.scalars(sa.select(Product).where(Product.active).order_by(Product.category,
                                                                               Product.code)).all()


def _year_arg() -> int:
    return request.args.get("year", type=int_arg) or clock.local_today().year


# --- claims ------------------------------------------------------------------------------------------

@bp.get("/claims")
@roles_required(*CLAIM_READERS)
def claims():
    filters = ListFilters()
    chosen = lists.read_claim_filters(filters, current_user)
    stmt = (sa.select(SubsidyClaim).where(scope_clause(SubsidyClaim, current_user), *chosen.clauses())
            .order_by(SubsidyClaim.id.desc()))
    page = paginate(stmt, filters, sums={"premium": "total_premium"})
    return render_template("subsidies/claims.html", page=page, filters=filters, chosen=chosen,
                           actions=service.list_actions(current_user, chosen.year))


def _page_parts(claim: SubsidyClaim | None, page: str) -> dict[str, list]:
    """What other modules show on a claim's page ("detail", "form"), by the slot the page shows it in."""
    parts = claim_page_parts.collect(claim, user=current_user, page=page) if claim is not None else []
    return {slot: parts_for(parts, slot) for slot in {p.slot for p in parts}}


def returned_claim_to_file_again() -> SubsidyClaim | None:
    """The returned claim a new claim corrects (`?from_claim=`, the returned claim's "file again" action): its
    choices and figures fill the new form. None without one, or once it was filed again (a stale link): an empty
    form then, and the period's own rule says if the period is taken."""
    claim_id = request.args.get("from_claim", type=int_arg)
    returned = scoped_get_or_404(SubsidyClaim, claim_id) if claim_id else None
    return returned if returned is not None and service.may_file_again(returned, current_user) else None


def _claim_form(claim=None, returned=None):
    """The claim form, offering the counties, products and years of the insurer's underwriting assignments;
    `returned`: a returned claim filed again, whose values fill a new claim's form."""
    scopes = service.claim_scopes(current_user.insurer_id)
    form = ClaimForm(obj=claim or (returned if request.method == "GET" else None), scopes=scopes)
    if claim is None and returned is None and request.method == "GET":
        this_year = clock.local_today().year
        form.year.data = this_year if this_year in scopes.years else (scopes.years[-1] if scopes.years else None)
    return form, scopes


def _save_claim_view(claim):
    returned = returned_claim_to_file_again() if claim is None else None
    form, scopes = _claim_form(claim, returned)
    if form.validate_on_submit():
        notices: list = []   # what other modules dropped with the claim's old county, product or year
        done = commit_or_flash(lambda: service.save_claim(claim, form.data, current_user.insurer, current_user,
                                                          notices=notices, corrects=returned),
                               _("已保存草稿，核对无误后请提交"), form)
        if done:
            for notice in notices:
                flash(str(notice), "warning")
            return redirect(url_for(".claim_detail", claim_id=done.value.id))
    units = {p.id: p.unit for p in scopes.products}
    # a new claim may also start from its underwriting list (what other modules offer on the claims list)
    alternatives = None if claim is not None else (
        service.available_actions(returned, current_user).only("file-again-from-list") if returned is not None
        else service.list_actions(current_user).only("new-from-list"))
    return render_template("subsidies/claim_form.html", form=form, claim=claim, units=units,
                           combos=scopes.combos, alternatives=alternatives, returned=returned,
                           page_parts=_page_parts(claim, "form")), 400 if form.errors else 200


@bp.route("/claims/new", methods=["GET", "POST"])
@roles_required(Role.INSURER)
def new_claim():
    return _save_claim_view(None)


@bp.route("/claims/<int:claim_id>/edit", methods=["GET", "POST"])
@roles_required(Role.INSURER)
def edit_claim(claim_id: int):
    claim = scoped_get_or_404(SubsidyClaim, claim_id)
    if not service.is_editable(claim):
        flash(_("只有草稿可以修改"), "warning")
        return redirect(url_for(".claim_detail", claim_id=claim.id))
    return _save_claim_view(claim)


@bp.get("/claims/<int:claim_id>")
@roles_required(*CLAIM_READERS)
def claim_detail(claim_id: int):
    return _claim_page(scoped_get_or_404(SubsidyClaim, claim_id))


def _claim_page(claim: SubsidyClaim, payment_form: PaymentForm | None = None,
                verify_form: VerifyForm | None = None):
    """The claim page; `payment_form`, `verify_form`: a posted form to show again with its errors and values."""
    timeline = db.session.scalars(sa.select(AuditEntry).where(
        AuditEntry.object_type == "SubsidyClaim", AuditEntry.object_id == str(claim.id)).order_by(AuditEntry.id))
    actions = service.available_actions(claim, current_user)
    if payment_form is None:
        payment_form = PaymentForm(levels=service.payment_levels(claim, current_user), formdata=None)
        payment_form.paid_on.data = clock.local_today()
    budget = service.budget_checks(claim) if "verify" in actions else []
    return render_template("subsidies/claim_detail.html", claim=claim, timeline=list(timeline), actions=actions,
                           page_parts=_page_parts(claim, "detail"), payment_form=payment_form,
                           verify_form=verify_form or VerifyForm(formdata=None),
                           return_form=ReturnForm(formdata=None), budget_checks=budget,
                           filed_again_as=service.filed_again_as(claim),
                           returned_before=service.returned_before(claim), printed_on=clock.local_today())


def _act(claim, action, success: str):
    commit_or_flash(action, success)
    return redirect(url_for(".claim_detail", claim_id=claim.id))


@bp.post("/claims/<int:claim_id>/submit")
@roles_required(Role.INSURER)
def submit_claim(claim_id: int):
    claim = scoped_get_or_404(SubsidyClaim, claim_id)
    return _act(claim, lambda: service.submit_claim(claim, current_user), _("已提交，等待县农业农村局核验"))


@bp.post("/claims/<int:claim_id>/delete")
@roles_required(Role.INSURER)
def delete_claim(claim_id: int):
    claim = scoped_get_or_404(SubsidyClaim, claim_id)
    if commit_or_flash(lambda: service.delete_draft(claim, current_user), _("草稿已删除")):
        return redirect(url_for(".claims"))
    return redirect(url_for(".claim_detail", claim_id=claim.id))


@bp.post("/claims/<int:claim_id>/verify")
@roles_required(Role.COUNTY_AGRI)
def verify_claim(claim_id: int):
    claim = scoped_get_or_404(SubsidyClaim, claim_id)
    form = VerifyForm()
    # Over budget, the service refuses with a warning that asks for the confirmation box (service.OverBudget). A
    # refused verification shows the page again with what was typed (the opinion is not lost).
    if form.validate_on_submit() and commit_or_flash(lambda: service.verify_claim(
            claim, current_user, form.opinion.data, confirm_over_budget=bool(form.confirm_over_budget.data),
            flags_reviewed=bool(form.flags_reviewed.data))):
        # the due date counts from the verification: known once it is saved
        flash(_("核验通过，拨付期限为 %(due)s", due=claim.due_date.isoformat()), "success")
        return redirect(url_for(".claim_detail", claim_id=claim.id))
    return _claim_page(claim, verify_form=form), 400


@bp.get("/claims/<int:claim_id>/verification-sheet")
@roles_required(*CLAIM_READERS)
def verification_sheet(claim_id: int):
    """The county bureau's verification sheet (核验单), printed on A4 to be signed and sealed."""
    claim = scoped_get_or_404(SubsidyClaim, claim_id)
    if not claim.was_submitted:
        abort(404)
    return render_template("subsidies/verification_sheet.html", claim=claim,
                           page_parts=_page_parts(claim, "sheet"), printed_on=clock.local_today())


@bp.post("/claims/<int:claim_id>/return")
@roles_required(Role.COUNTY_AGRI)
def return_claim(claim_id: int):
    claim = scoped_get_or_404(SubsidyClaim, claim_id)
    form = ReturnForm()
    return _act(claim, lambda: service.return_claim(claim, form.reason.data, current_user), _("已退回"))


@bp.post("/claims/<int:claim_id>/payments")
@roles_required(*FINANCE)
def add_payment(claim_id: int):
    claim = scoped_get_or_404(SubsidyClaim, claim_id)
    form = PaymentForm(levels=service.payable_levels(current_user))
    if form.validate_on_submit() and commit_or_flash(lambda: service.confirm_payment(
            claim, ShareLevel(form.level.data), form.amount.data, form.paid_on.data, form.voucher_no.data,
            current_user), _("拨付已登记"), form):
        return redirect(url_for(".claim_detail", claim_id=claim.id))
    # the form again, with what was typed and each error at its field
    return _claim_page(claim, payment_form=form), 400


# --- underwriting assignments ----------------------------------------------------------------------------

@bp.route("/assignments", methods=["GET", "POST"])
@roles_required(*CLAIM_READERS)
def assignments():
    editable = current_user.role in ASSIGNMENT_EDITORS
    form = None
    if editable:
        insurers = db.session.scalars(sa.select(Insurer).where(Insurer.active).order_by(Insurer.name)).all()
        form = AssignmentForm(insurers=insurers, counties=_counties(), products=_products())
        if request.method == "GET":
            form.start_year.data = clock.local_today().year
            form.end_year.data = clock.local_today().year + 2
        if form.validate_on_submit():
            done = commit_or_flash(lambda: service.save_assignment(form.data, current_user), _("承保安排已登记"), form)
            if done:
                return redirect(url_for(".assignments"))
    elif request.method == "POST":
        abort(403)
    rows = db.session.scalars(sa.select(UnderwritingAssignment)
                              .where(scope_clause(UnderwritingAssignment, current_user))
                              .order_by(UnderwritingAssignment.region_id, UnderwritingAssignment.product_id)).all()
    return render_template("subsidies/assignments.html", assignments=rows, form=form, editable=editable), \
        400 if form is not None and form.errors else 200


@bp.post("/assignments/<int:assignment_id>/delete")
@roles_required(*ASSIGNMENT_EDITORS)
def delete_assignment(assignment_id: int):
    assignment = db.get_or_404(UnderwritingAssignment, assignment_id)
    commit_or_flash(lambda: service.delete_assignment(assignment, current_user), _("承保安排已删除"))
    return redirect(url_for(".assignments"))


# --- budgets -----------------------------------------------------------------------------------------

@bp.route("/budgets", methods=["GET", "POST"])
@roles_required(*BUDGET_ROLES)
def budgets():
    year = _year_arg()
    editable_regions = service.budget_regions(current_user)
    form = BudgetForm(regions=editable_regions) if editable_regions else None
    if form is not None:
        if request.method == "GET":
            form.year.data = year
        elif form.validate_on_submit() and commit_or_flash(lambda: service.save_budget(
                form.year.data, db.session.get(Region, form.region_id.data), form.amount.data, current_user),
                _("预算已保存"), form):
            return redirect(url_for(".budgets", year=form.year.data))
    elif request.method == "POST":
        abort(403)
    if current_user.role.needs_county:
        regions = [current_user.region]
    else:
        city = db.session.scalars(sa.select(Region).where(Region.level == RegionLevel.CITY)).all()
        regions = list(city) + list(_counties())
    lines = service.budget_lines(year, regions)
    return render_template("subsidies/budgets.html", lines=lines, form=form, year=year), \
        400 if form is not None and form.errors else 200


# --- funds from above and passed on ------------------------------------------------------------------------

def _fund_form() -> FundForm | None:
    regions = funds.recipients(current_user)
    if not regions:
        return None
    form = FundForm(regions=regions, levels=FUND_LEVELS, products=_products(),
                    city_finance=current_user.role is Role.CITY_FINANCE)
    if request.method == "GET":
        form.year.data = _year_arg()
        form.issued_on.data = clock.local_today()
    return form


def _funds_page(year: int, form: FundForm | None, status: int = 200):
    return render_template("subsidies/funds.html", year=year, form=form,
                           allocations=funds.allocations(scope_clause(FundAllocation, current_user), year),
                           fund_path=funds.path_for(current_user, year)), status


@bp.get("/funds")
@roles_required(*BUDGET_ROLES)
def fund_allocations():
    """Funds by level and year: received from above, passed on, paid to the underwriters."""
    return _funds_page(_year_arg(), _fund_form())


@bp.post("/funds")
@roles_required(*FINANCE)
def add_fund_allocation():
    form = _fund_form()
    if form is not None and form.validate_on_submit() and commit_or_flash(lambda: funds.record_allocation(
            {"year": form.year.data, "level": form.level.data, "product_id": form.product_id.data or None,
             "to_region_id": form.to_region_id.data, "passed_on": bool(form.passed_on.data),
             "document_no": form.document_no.data, "issued_on": form.issued_on.data, "amount": form.amount.data,
             "notes": form.notes.data}, current_user), _("资金已登记"), form):
        return redirect(url_for(".fund_allocations", year=form.year.data))
    return _funds_page(form.year.data if form is not None and form.year.data else clock.local_today().year, form, 400)


# --- overdue, ledgers, overview ------------------------------------------------------------------------

@bp.get("/overdue")
@roles_required(*CLAIM_READERS)
def overdue():
    """Every government share overdue within the user's scope, one page at a time (counted and summed in SQL)."""
    today = clock.local_today()
    scope = scope_clause(SubsidyClaim, current_user)
    filters = ListFilters()
    summary = service.overdue_summary_for(current_user, today, claims=True)
    page = paginate(service.overdue_statement(scope, today), filters, total=summary.shares)
    page.items = service.overdue_shares(page.items, today)
    setting = checkpoints.interest_setting()
    interest = {(i.claim.id, i.share.level): checkpoints.late_interest(i.share.outstanding, i.days_overdue, setting)
                for i in page.items} if setting.enabled else None
    return render_template("subsidies/overdue.html", page=page, summary=summary,
                           today=today, interest=interest, interest_setting=setting)


def _ledger_filters(filters: ListFilters) -> tuple[lists.ClaimFilters, str]:
    """The ledger's filters (a year always: this year unless another is asked for) and its title's name: a
    county user's own county, else the county chosen, else the city."""
    chosen = lists.read_claim_filters(filters, current_user, statuses=service.REPORTED)
    chosen.year = chosen.year or clock.local_today().year
    if current_user.role.needs_county:
        return chosen, current_user.region.label
    return chosen, chosen.county_label or _("上饶市")


def _ledger_clauses(chosen: lists.ClaimFilters) -> list:
    return [scope_clause(SubsidyClaim, current_user), SubsidyClaim.status.in_(service.REPORTED), *chosen.clauses()]


@bp.get("/ledger")
@roles_required(*BUDGET_ROLES)
def ledger():
    filters = ListFilters()
    chosen, name = _ledger_filters(filters)
    clauses = _ledger_clauses(chosen)
    count, totals = service.ledger_summary(clauses)
    page = paginate(lists.ledger_statement(clauses), filters, scalars=False, total=count)
    page.items = [service.LedgerLine(claim, due, paid) for claim, due, paid in page.items]
    page.totals = totals
    return render_template("subsidies/ledger.html", page=page, filters=filters, chosen=chosen, name=name,
                           year=chosen.year, fund_path=funds.path_for(current_user, chosen.year),
                           download_url=url_for(".ledger_xlsx", **{**filters.kept, "year": chosen.year}))


@bp.get("/ledger.xlsx")
@roles_required(*BUDGET_ROLES)
def ledger_xlsx():
    """The ledger as shown (the same filters), every row."""
    chosen, name = _ledger_filters(ListFilters())
    rows = service.stream_claims(sa.select(SubsidyClaim).where(*_ledger_clauses(chosen)))
    title = _("%(name)s %(year)s年度农业保险保费补贴台账", name=name, year=chosen.year)
    return xlsx_download(exports.ledger_workbook(rows, title), f"{title}.xlsx")


def _payment_list_scope(filters: ListFilters):
    """(the bureau asked for, the bureaus the user may choose from, the year); 404 for a bureau not theirs."""
    bureaus = service.finance_bureaus_for(current_user)
    if not bureaus:
        abort(404)
    region_id = filters.integer("region_id", _("财政局"))
    bureau = next((b for b in bureaus if b.region.id == region_id), None) if region_id else bureaus[0]
    if bureau is None:
        abort(404)
    return bureau, bureaus, filters.integer("year", _("年度"), *lists.YEARS) or clock.local_today().year


@bp.get("/payment-list")
@roles_required(*BUDGET_ROLES)
def payment_list():
    """A finance bureau's list of the shares it paid and still owes for a year, a page at a time with the totals of
    every line (printable; the whole list as xlsx)."""
    filters = ListFilters()
    bureau, bureaus, year = _payment_list_scope(filters)
    plist = service.payment_totals(bureau, year)
    page = paginate(service.payment_statement(bureau, year), filters, total=plist.total.lines)
    plist.lines = page.items = service.payment_lines(page.items)
    return render_template("subsidies/payment_list.html", plist=plist, page=page, filters=filters,
                           bureaus=bureaus, year=year, printed_on=clock.local_today())


@bp.get("/payment-list.xlsx")
@roles_required(*BUDGET_ROLES)
def payment_list_xlsx():
    """The whole list, its lines read and written a batch at a time."""
    bureau, _bureaus, year = _payment_list_scope(ListFilters())
    title = _("%(bureau)s %(year)s年度保费补贴拨付清单", bureau=bureau.name, year=year)
    workbook = exports.payment_list_workbook(service.stream_payment_lines(bureau, year),
                                             service.payment_totals(bureau, year), title)
    return xlsx_download(workbook, f"{title}.xlsx")


@bp.get("/statement.xlsx")
@roles_required(Role.INSURER, Role.ADMIN, Role.CITY_AGRI, Role.CITY_FINANCE)
def statement_xlsx():
    year = _year_arg()
    insurer_id = current_user.insurer_id if current_user.role is Role.INSURER else request.args.get(
        "insurer_id", type=int_arg)
    insurer = db.session.get(Insurer, insurer_id) if insurer_id else None
    if insurer is None:
        abort(404)
    rows = service.claims_for_report(scope_clause(SubsidyClaim, current_user), year, insurer_id=insurer.id)
    title = _("%(name)s %(year)s年度保费补贴对账单", name=insurer.short_name, year=year)
    return xlsx_download(exports.ledger_workbook(rows, title), f"{title}.xlsx")


@bp.get("/overview")
@roles_required(*BUDGET_ROLES)
def overview():
    year = _year_arg()
    scope = scope_clause(SubsidyClaim, current_user)
    disbursement = service.disbursement_by_county(year, scope)
    by_product = service.premium_by_product(year, scope)
    growth = service.premium_growth(year, scope)
    chart_data = {
        # Decimal as strings: Chart.js parses them; no money passes through a float here.
        "disbursement": {"labels": [r["county"] for r in disbursement],
                         "due": [str(r["due"]) for r in disbursement],
                         "paid": [str(r["paid"]) for r in disbursement]},
        "products": {"labels": [r["product"] for r in by_product], "premium": [str(r["premium"]) for r in by_product]},
        "growth": {"labels": [r["county"] for r in growth],
                   "pct": [str(r["growth_pct"]) if r["growth_pct"] is not None else None for r in growth]},
    }
    insurers = db.session.scalars(sa.select(Insurer).order_by(Insurer.name)).all() \
        if current_user.role in CITY_ROLES else []
    return render_template("subsidies/overview.html", year=year, disbursement=disbursement, by_product=by_product,
                           growth=growth, chart=chart_data,
                           insurers=insurers)


# --- the year's money: advances, the close, settlements -------------------------------------------------------------

MONEY_READERS = CLAIM_READERS


def _advance_form(year: int) -> AdvanceForm | None:
    """The form to record an advance, for a bureau that pays a level (None for everyone else)."""
    levels = yearend.advance_levels(current_user)
    if not levels:
        return None
    regions = [current_user.region] if current_user.role is Role.COUNTY_FINANCE else _counties()
    insurers = db.session.scalars(sa.select(Insurer).where(Insurer.active).order_by(Insurer.short_name)).all()
    form = AdvanceForm(insurers=insurers, regions=regions, levels=levels)
    if request.method == "GET":
        form.year.data = year
        form.paid_on.data = clock.local_today()
    return form


def _year_money_page(year: int, form: AdvanceForm | None, status: int = 200):
    scope_advances = yearend.advances(scope_clause(Advance, current_user), year)
    editable = {a.id for a in scope_advances if yearend.may_edit_advance(a, current_user)}
    return render_template(
        "subsidies/year_money.html", year=year, form=form, advances=scope_advances, editable=editable,
        edit_form=AdvanceEditForm(formdata=None), closed=service.year_closed(year),
        may_close=yearend.may_close(year, current_user),
        settlements=yearend.settlements(scope_clause(Settlement, current_user), year),
        default_pct=yearend.default_pct(), checkpoints=checkpoints.checkpoints(year, current_user),
        threshold=checkpoints.threshold(), today=clock.local_today(),
        reports_upward=current_user.role in REPORT_ROLES), status


@bp.get("/year-money")
@roles_required(*MONEY_READERS)
def year_money():
    """One year's money: the advances, the close (年度清算) and its settlements."""
    year = _year_arg()
    return _year_money_page(year, _advance_form(year))


@bp.post("/advances")
@roles_required(*FINANCE)
def add_advance():
    form = _advance_form(request.form.get("year", type=int_arg) or clock.local_today().year)
    if form is not None and form.validate_on_submit() and commit_or_flash(lambda: yearend.save_advance(
            {"year": form.year.data, "insurer_id": form.insurer_id.data, "region_id": form.region_id.data,
             "level": form.level.data, "amount": form.amount.data, "paid_on": form.paid_on.data,
             "voucher_no": form.voucher_no.data}, current_user), _("预拨已登记"), form):
        return redirect(url_for(".year_money", year=form.year.data))
    return _year_money_page(form.year.data or clock.local_today().year, form, 400)


@bp.post("/advances/<int:advance_id>")
@roles_required(*FINANCE)
def edit_advance(advance_id: int):
    advance = scoped_get_or_404(Advance, advance_id)
    form = AdvanceEditForm()
    if form.validate_on_submit():
        commit_or_flash(lambda: yearend.save_advance(
            {"amount": form.amount.data, "paid_on": form.paid_on.data, "voucher_no": form.voucher_no.data},
            current_user, advance), _("预拨已修改"))
    else:
        flash_form_errors(form)
    return redirect(url_for(".year_money", year=advance.year))


@bp.post("/years/<int:year>/close")
@roles_required(Role.CITY_FINANCE)
def close_year(year: int):
    commit_or_flash(lambda: yearend.close_year(year, current_user), _("年度清算已完成，请双方确认清算单"))
    return redirect(url_for(".year_money", year=year))


@bp.get("/settlements/<int:settlement_id>")
@roles_required(*MONEY_READERS)
def settlement_detail(settlement_id: int, transfer_form: TransferForm | None = None):
    settlement = scoped_get_or_404(Settlement, settlement_id)
    if transfer_form is None and yearend.may_record_transfer(settlement, current_user):
        transfer_form = TransferForm(formdata=None)
        transfer_form.amount.data = settlement.remaining
        transfer_form.paid_on.data = clock.local_today()
    return render_template("subsidies/settlement.html", settlement=settlement,
                           lines=yearend.statement_lines(settlement), bureau=yearend.bureau_name(settlement),
                           summary=yearend.summary_rows(settlement), transfer_form=transfer_form,
                           actions=yearend.available_actions(settlement, current_user))


@bp.post("/settlements/<int:settlement_id>/confirm")
@roles_required(Role.COUNTY_FINANCE, Role.CITY_FINANCE, Role.INSURER)
def confirm_settlement(settlement_id: int):
    settlement = scoped_get_or_404(Settlement, settlement_id)
    commit_or_flash(lambda: yearend.confirm_settlement(settlement, current_user), _("已确认清算单"))
    return redirect(url_for(".settlement_detail", settlement_id=settlement.id))


@bp.post("/settlements/<int:settlement_id>/transfers")
@roles_required(*FINANCE)
def record_transfer(settlement_id: int):
    settlement = scoped_get_or_404(Settlement, settlement_id)
    form = TransferForm()
    if form.validate_on_submit() and commit_or_flash(lambda: yearend.record_transfer(
            settlement, form.amount.data, form.paid_on.data, form.voucher_no.data, current_user),
            _("已登记"), form):
        return redirect(url_for(".settlement_detail", settlement_id=settlement.id))
    return settlement_detail(settlement.id, transfer_form=form), 400


def _statement(settlement_id: int):
    settlement = scoped_get_or_404(Settlement, settlement_id)
    return (settlement, yearend.statement_lines(settlement), yearend.bureau_name(settlement),
            yearend.statement_title(settlement), yearend.summary_rows(settlement))


@bp.get("/settlements/<int:settlement_id>/statement.xlsx")
@roles_required(*MONEY_READERS)
def settlement_xlsx(settlement_id: int):
    settlement, lines, bureau, title, summary = _statement(settlement_id)
    return xlsx_download(exports.settlement_workbook(settlement, lines, bureau, title, summary), f"{title}.xlsx")


@bp.get("/settlements/<int:settlement_id>/statement.pdf")
@roles_required(*MONEY_READERS)
def settlement_pdf(settlement_id: int):
    settlement, lines, bureau, title, summary = _statement(settlement_id)
    return download(exports.settlement_pdf(settlement, lines, bureau, title, summary), f"{title}.pdf",
                    "application/pdf")


# --- reports upward -------------------------------------------------------------------------------------------------

REPORT_ROLES = (Role.ADMIN, Role.CITY_AGRI, Role.CITY_FINANCE)


@bp.get("/estimate.xlsx")
@roles_required(*REPORT_ROLES)
def estimate_xlsx():
    """Next year's subsidy estimate (测算表) by product and level (`?year=`: the year estimated)."""
    year = request.args.get("year", type=int_arg) or clock.local_today().year + 1
    title = _("上饶市%(year)s年度农业保险保费补贴测算表", year=year)
    return xlsx_download(reports.estimate_workbook(year, reports.estimate(year), title), f"{title}.xlsx")


@bp.get("/performance.xlsx")
@roles_required(*REPORT_ROLES)
def performance_xlsx():
    """The performance report (绩效) of a year's subsidy funds, per county."""
    year = _year_arg()
    title = _("上饶市%(year)s年度农业保险保费补贴资金绩效情况表", year=year)
    return xlsx_download(reports.performance_workbook(year, reports.performance(year), title), f"{title}.xlsx")
