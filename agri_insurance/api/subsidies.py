"""Subsidy claims, their shares and payments, within the caller's scope; the writes of an insurer's, a county
bureau's and a finance bureau's systems: a claim created, its underwriting list uploaded (the same import job as
the list page), submitted; verified with an opinion; a payment recorded with its voucher number. Each write goes
through the page's form (the same words for bad input) and the same service (the same rules, locks and audit),
and accepts an Idempotency-Key."""

from __future__ import annotations

import marshmallow as ma
import sqlalchemy as sa
from flask_login import current_user

from agri_insurance.access import scope_clause, scoped_get_or_404
from agri_insurance.api import cursor
from agri_insurance.api.common import blueprint, json_form
from agri_insurance.api.idempotency import HEADER, run_write
from agri_insurance.api.jobs import with_errors
from agri_insurance.api.schemas import (
    ClaimIn,
    ClaimList,
    ClaimOut,
    JobOut,
    PaymentIn,
    PaymentList,
    PaymentOut,
    UploadIn,
    VerifyIn,
)
from agri_insurance.api.security import SECURITY, api_roles
from agri_insurance.extensions import db
from agri_insurance.roles import Role
from agri_insurance.subsidies import service
from agri_insurance.subsidies.forms import ClaimForm, PaymentForm, VerifyForm
from agri_insurance.subsidies.models import ClaimStatus, Payment, ShareLevel, SubsidyClaim
from agri_insurance.underwriting import uploads
from agri_insurance.underwriting.forms import UploadListForm

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
    status = ma.fields.String(load_default=None, metadata={"description": "draft, submitted, verified, …"})
    year = ma.fields.Integer(load_default=None)
    region_id = ma.fields.Integer(load_default=None)


def _claims(args=None):
    stmt = sa.select(SubsidyClaim).where(scope_clause(SubsidyClaim, current_user))
    args = args or {}
    if args.get("status") in {s.value for s in ClaimStatus}:
        stmt = stmt.where(SubsidyClaim.status == ClaimStatus(args["status"]))
    if args.get("year") is not None:
        stmt = stmt.where(SubsidyClaim.year == args["year"])
    if args.get("region_id") is not None:
        stmt = stmt.where(SubsidyClaim.region_id == args["region_id"])
    return stmt


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


def _payments():
    return sa.select(Payment).where(Payment.claim_id.in_(
        sa.select(SubsidyClaim.id).where(scope_clause(SubsidyClaim, current_user))))


@blp.route("/payments", methods=["GET"])
@api_roles(*READERS)
@blp.arguments(cursor.PageArgs, location="query")
@blp.response(200, PaymentList)
@blp.doc(security=SECURITY)
def payments(args):
    items, nxt = cursor.page(_payments(), Payment, args)
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
