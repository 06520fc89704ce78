"""Subsidy claims, their shares and payments, within the caller's scope; the writes of an insurer's, a county
bureau's and a finance bureau's systems: a claim created, its underwriting list uploaded (the same import job as
the list page), submitted; verified with an opinion; a payment recorded with its voucher number. Each write goes
through the page's form (the same words for bad input) and the same service (the same rules, locks and audit),
and accepts an Idempotency-Key."""

from __future__ import annotations

from decimal import Decimal

import marshmallow as ma
import sqlalchemy as sa
from flask_login import current_user

from agri_insurance import clock
from agri_insurance.access import scope_clause, scoped_get_or_404
from agri_insurance.api import cursor
from agri_insurance.api.common import blueprint, json_form, validated
from agri_insurance.api.idempotency import HEADER, run_write
from agri_insurance.api.jobs import with_errors
from agri_insurance.api.schemas import (
    AdvanceList,
    BudgetList,
    ClaimFromListIn,
    ClaimIn,
    ClaimList,
    ClaimOut,
    FundList,
    JobOut,
    LedgerList,
    PaymentIn,
    PaymentList,
    PaymentOut,
    ReturnIn,
    SettlementList,
    UploadIn,
    VerifyIn,
)
from agri_insurance.api.security import SECURITY, api_roles
from agri_insurance.extensions import db
from agri_insurance.reference.models import Region, RegionLevel
from agri_insurance.roles import Role
from agri_insurance.subsidies import lists, service
from agri_insurance.subsidies.forms import ClaimForm, PaymentForm, ReturnForm, VerifyForm
from agri_insurance.subsidies.models import (
    GOVERNMENT_LEVELS,
    Advance,
    ClaimStatus,
    FundAllocation,
    Payment,
    Settlement,
    ShareLevel,
    SubsidyClaim,
)
from agri_insurance.underwriting import uploads
from agri_insurance.underwriting.forms import NewClaimFromListForm, UploadListForm

blp = blueprint("subsidies", "/subsidies", "Subsidy claims, shares and payments")
READERS = (Role.ADMIN, Role.CITY_AGRI, Role.CITY_FINANCE, Role.COUNTY_AGRI, Role.COUNTY_FINANCE, Role.INSURER)
IDEMPOTENCY = [{"in": "header", "name": HEADER, "required": False, "schema": {"type": "string", "maxLength": 200},
                "description": "a retry with the same key returns the first answer and writes nothing again"}]


def _body(schema) -> dict:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _write_doc(schema=None, multipart=None) -> dict:
    doc = {"security": SECURITY, "parameters": IDEMPOTENCY}
    if schema is not None:
        doc["requestBody"] = _body(schema)
    if multipart is not None:
        doc["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": multipart}}}
    return doc


class ClaimFilters(cursor.PageArgs):
    """The claims list's filters (lists.ClaimFilters, as the pages' selects and search box)."""

    status = ma.fields.String(load_default=None, metadata={"description": "draft, submitted, verified, …"})
    year = ma.fields.Integer(load_default=None)
    region_id = ma.fields.Integer(load_default=None)
    insurer_id = ma.fields.Integer(load_default=None)
    product_id = ma.fields.Integer(load_default=None)
    q = ma.fields.String(load_default=None, metadata={"description": "a claim number, or text of its insurer, "
                                                                    "product or period"})


def _filter_clauses(args: dict) -> list:
    status = args.get("status")
    return lists.ClaimFilters(
        region_id=args.get("region_id"), insurer_id=args.get("insurer_id"), product_id=args.get("product_id"),
        year=args.get("year"), status=ClaimStatus(status) if status in {s.value for s in ClaimStatus} else None,
        text=(args.get("q") or "").strip() or None).clauses()


def _claims(args=None):
    return sa.select(SubsidyClaim).where(scope_clause(SubsidyClaim, current_user), *_filter_clauses(args or {}))


@blp.route("/claims", methods=["GET"])
@api_roles(*READERS)
@blp.arguments(ClaimFilters, location="query")
@blp.response(200, ClaimList)
@blp.doc(security=SECURITY)
def claims(args):
    items, nxt = cursor.page(_claims(args), SubsidyClaim, args)
    return {"items": items, "next": nxt}


@blp.route("/claims/changes", methods=["GET"])
@api_roles(*READERS)
@blp.arguments(cursor.FeedArgs, location="query")
@blp.response(200, ClaimList)
@blp.doc(security=SECURITY)
def claim_changes(args):
    """Claims in the order they last changed (created, edited, submitted, verified, returned, paid, settled)."""
    items, nxt = cursor.feed(_claims(), SubsidyClaim, SubsidyClaim.updated_at, args)
    return {"items": items, "next": nxt}


@blp.route("/claims/<int:claim_id>", methods=["GET"])
@api_roles(*READERS)
@blp.response(200, ClaimOut)
@blp.doc(security=SECURITY)
def claim(claim_id: int):
    return scoped_get_or_404(SubsidyClaim, claim_id)


class PaymentFilters(ClaimFilters):
    """The claims' filters (the payments of the claims they select), and the level and dates paid."""

    level = ma.fields.String(load_default=None, validate=ma.validate.OneOf([lvl.value for lvl in GOVERNMENT_LEVELS]))
    paid_from = ma.fields.Date(load_default=None)
    paid_to = ma.fields.Date(load_default=None)


def _payments(args=None):
    args = args or {}
    stmt = sa.select(Payment).where(Payment.claim_id.in_(sa.select(SubsidyClaim.id).where(
        scope_clause(SubsidyClaim, current_user), *_filter_clauses(args))))
    if args.get("level"):
        stmt = stmt.where(Payment.level == ShareLevel(args["level"]))
    if args.get("paid_from"):
        stmt = stmt.where(Payment.paid_on >= args["paid_from"])
    if args.get("paid_to"):
        stmt = stmt.where(Payment.paid_on <= args["paid_to"])
    return stmt


@blp.route("/payments", methods=["GET"])
@api_roles(*READERS)
@blp.arguments(PaymentFilters, location="query")
@blp.response(200, PaymentList)
@blp.doc(security=SECURITY)
def payments(args):
    items, nxt = cursor.page(_payments(args), Payment, args)
    return {"items": items, "next": nxt}


@blp.route("/payments/changes", methods=["GET"])
@api_roles(*READERS)
@blp.arguments(cursor.FeedArgs, location="query")
@blp.response(200, PaymentList)
@blp.doc(security=SECURITY)
def payment_changes(args):
    """Payments in the order they were recorded (a payment is never changed afterwards)."""
    items, nxt = cursor.feed(_payments(), Payment, Payment.recorded_at, args)
    return {"items": items, "next": nxt}


# --- ledgers and budgets -------------------------------------------------------------------------------------

OFFICIALS = (Role.ADMIN, Role.CITY_AGRI, Role.CITY_FINANCE, Role.COUNTY_AGRI, Role.COUNTY_FINANCE)


class LedgerFilters(ClaimFilters):
    year = ma.fields.Integer(load_default=None, metadata={"description": "this year unless given, as the page"})


@blp.route("/ledger", methods=["GET"])
@api_roles(*OFFICIALS)
@blp.arguments(LedgerFilters, location="query")
@blp.response(200, LedgerList)
@blp.doc(security=SECURITY)
def ledger(args):
    """The ledger (补贴台账) of a year as the page shows it: the claims submitted or verified, with their government
    shares due, paid and outstanding; `totals` cover every claim the filters select."""
    args = {**args, "year": args.get("year") or clock.local_today().year}
    clauses = [scope_clause(SubsidyClaim, current_user), SubsidyClaim.status.in_(service.REPORTED),
               *_filter_clauses(args)]
    claims, nxt = cursor.page(sa.select(SubsidyClaim).where(*clauses)
                              .options(sa.orm.selectinload(SubsidyClaim.shares)), SubsidyClaim, args)
    lines = [service.LedgerLine(claim, *_due_and_paid(claim.shares)) for claim in claims]
    count, totals = service.ledger_summary(clauses)
    return {"items": lines, "next": nxt, "totals": {"claims": count, **totals}}


def _due_and_paid(shares) -> tuple[Decimal, Decimal]:
    government = [s for s in shares if s.level in GOVERNMENT_LEVELS]
    return sum((s.amount for s in government), Decimal("0.00")), sum((s.paid for s in government), Decimal("0.00"))


class YearArg(ma.Schema):
    year = ma.fields.Integer(load_default=None, metadata={"description": "this year unless given"})


@blp.route("/budgets", methods=["GET"])
@api_roles(*OFFICIALS)
@blp.arguments(YearArg, location="query")
@blp.response(200, BudgetList)
@blp.doc(security=SECURITY)
def budgets(args):
    """The year's budgets (补贴预算) as the page shows them: a county's users their county's; the city's the city's
    and every county's, with what is committed and paid against each."""
    if current_user.role.needs_county:
        regions = [current_user.region]
    else:
        regions = list(db.session.scalars(sa.select(Region).where(
            Region.level.in_((RegionLevel.CITY, RegionLevel.COUNTY))).order_by(Region.level, Region.code)))
    return {"items": service.budget_lines(args.get("year") or clock.local_today().year, regions)}


# --- the year's money: funds from above, advances, settlements --------------------------------------------------

class MoneyFilters(cursor.PageArgs):
    year = ma.fields.Integer(load_default=None)
    level = ma.fields.String(load_default=None, validate=ma.validate.OneOf([lvl.value for lvl in GOVERNMENT_LEVELS]))
    region_id = ma.fields.Integer(load_default=None, metadata={"description": "the county (funds: the receiver)"})
    insurer_id = ma.fields.Integer(load_default=None, metadata={"description": "advances and settlements only"})


def _money_rows(model, args: dict, region_column, insurer_column=None):
    stmt = sa.select(model).where(scope_clause(model, current_user))
    if args.get("year") is not None:
        stmt = stmt.where(model.year == args["year"])
    if args.get("level"):
        stmt = stmt.where(model.level == ShareLevel(args["level"]))
    if args.get("region_id") is not None:
        stmt = stmt.where(region_column == args["region_id"])
    if insurer_column is not None and args.get("insurer_id") is not None:
        stmt = stmt.where(insurer_column == args["insurer_id"])
    return stmt


@blp.route("/funds", methods=["GET"])
@api_roles(*OFFICIALS)
@blp.arguments(MoneyFilters, location="query")
@blp.response(200, FundList)
@blp.doc(security=SECURITY)
def fund_allocations(args):
    """Central and provincial money received from above (文号) and passed on by the city (资金下达与拨付): the
    city's users every movement, a county's what reached it."""
    stmt = _money_rows(FundAllocation, args, FundAllocation.to_region_id)
    items, nxt = cursor.page(stmt, FundAllocation, args)
    return {"items": items, "next": nxt}


@blp.route("/advances", methods=["GET"])
@api_roles(*READERS)
@blp.arguments(MoneyFilters, location="query")
@blp.response(200, AdvanceList)
@blp.doc(security=SECURITY)
def advances(args):
    """Advances (预拨) with what verified claims have drawn of them: an underwriter's own, a county's, all for the
    city."""
    items, nxt = cursor.page(_money_rows(Advance, args, Advance.region_id, Advance.insurer_id), Advance, args)
    return {"items": items, "next": nxt}


@blp.route("/settlements", methods=["GET"])
@api_roles(*READERS)
@blp.arguments(MoneyFilters, location="query")
@blp.response(200, SettlementList)
@blp.doc(security=SECURITY)
def settlements(args):
    """Year-end settlements (清算单) of closed years: verified = advanced + paid + balance; what was transferred."""
    items, nxt = cursor.page(_money_rows(Settlement, args, Settlement.region_id, Settlement.insurer_id),
                             Settlement, args)
    return {"items": items, "next": nxt}


# --- writes ---------------------------------------------------------------------------------------------------

def _claim_answer(claim_id: int, status: int = 200):
    db.session.flush()
    db.session.expire_all()   # the answer shows the claim as stored (shares, status), read again
    return ClaimOut().dump(db.session.get(SubsidyClaim, claim_id)), status


@blp.route("/claims", methods=["POST"])
@api_roles(Role.INSURER)
@blp.response(201, ClaimOut)
@blp.doc(**_write_doc(ClaimIn))
def create_claim():
    """A draft claim, as the claim form (新建补贴申请) saves it."""
    form = json_form(ClaimForm)
    insurer = current_user.insurer

    def act():
        created = service.save_claim(None, form.data, insurer, current_user)
        return _claim_answer(created.id, 201)

    return run_write(act)


@blp.route("/claims/from-list", methods=["POST"])
@api_roles(Role.INSURER)
@blp.response(202, JobOut)
@blp.doc(**_write_doc(multipart=ClaimFromListIn))
def create_claim_from_list():
    """A new draft claim whose figures are the totals of its underwriting list (按承保清单新建申请), created by the
    same import job as on that page: poll the job; its `result` names the claim, a failed import's `errors` the
    rows. The choices are checked before the file is kept (422 naming the field)."""
    form = NewClaimFromListForm(meta={"csrf": False})
    validated(form)

    def act():
        job = uploads.start_new_claim_import(form, None, current_user)
        db.session.flush()
        return JobOut().dump(with_errors(job)), 202

    return run_write(act)


@blp.route("/claims/<int:claim_id>/list", methods=["POST"])
@api_roles(Role.INSURER)
@blp.response(202, JobOut)
@blp.doc(**_write_doc(multipart=UploadIn))
def upload_list(claim_id: int):
    """The claim's underwriting list (xlsx or csv, field `file`), imported by the same job as on the list page:
    poll the job resource; a failed import's errors come with their rows."""
    found = scoped_get_or_404(SubsidyClaim, claim_id)
    form = UploadListForm(meta={"csrf": False})

    def act():
        job = uploads.start_import(found, form, current_user)
        db.session.flush()
        return JobOut().dump(with_errors(job)), 202

    return run_write(act)


@blp.route("/claims/<int:claim_id>/submit", methods=["POST"])
@api_roles(Role.INSURER)
@blp.response(200, ClaimOut)
@blp.doc(**_write_doc())
def submit_claim(claim_id: int):
    found = scoped_get_or_404(SubsidyClaim, claim_id)

    def act():
        service.submit_claim(found, current_user)
        return _claim_answer(found.id)

    return run_write(act)


@blp.route("/claims/<int:claim_id>/verify", methods=["POST"])
@api_roles(Role.COUNTY_AGRI)
@blp.response(200, ClaimOut)
@blp.doc(**_write_doc(VerifyIn))
def verify_claim(claim_id: int):
    found = scoped_get_or_404(SubsidyClaim, claim_id)
    form = json_form(VerifyForm)

    def act():
        service.verify_claim(found, current_user, form.opinion.data,
                             confirm_over_budget=bool(form.confirm_over_budget.data),
                             flags_reviewed=bool(form.flags_reviewed.data))
        return _claim_answer(found.id)

    return run_write(act)


@blp.route("/claims/<int:claim_id>/return", methods=["POST"])
@api_roles(Role.COUNTY_AGRI)
@blp.response(200, ClaimOut)
@blp.doc(**_write_doc(ReturnIn))
def return_claim(claim_id: int):
    """The county bureau returns a submitted claim to its insurer with a reason (退回), as on the claim's page."""
    found = scoped_get_or_404(SubsidyClaim, claim_id)
    form = json_form(ReturnForm)

    def act():
        service.return_claim(found, form.reason.data, current_user)
        return _claim_answer(found.id)

    return run_write(act)


@blp.route("/claims/<int:claim_id>/payments", methods=["POST"])
@api_roles(Role.COUNTY_FINANCE, Role.CITY_FINANCE)
@blp.response(201, PaymentOut)
@blp.doc(**_write_doc(PaymentIn))
def add_payment(claim_id: int):
    found = scoped_get_or_404(SubsidyClaim, claim_id)
    form = json_form(PaymentForm, levels=service.payable_levels(current_user))

    def act():
        payment = service.confirm_payment(found, ShareLevel(form.level.data), form.amount.data, form.paid_on.data,
                                          form.voucher_no.data, current_user)
        return PaymentOut().dump(payment), 201

    return run_write(act)
