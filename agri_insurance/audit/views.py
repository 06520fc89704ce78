from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import Blueprint, render_template, request
from sqlalchemy.orm import selectinload

from agri_insurance import clock
from agri_insurance.access import roles_required
from agri_insurance.audit.models import AuditEntry, object_type_label, object_type_of, stored_object_types
from agri_insurance.extensions import db
from agri_insurance.forms_util import int_arg
from agri_insurance.roles import Role

bp = Blueprint("audit", __name__, url_prefix="/audit")
PAGE_SIZE = 50


def _parse_date(value: str | None):
    try:
        return datetime.strptime(value, "%Y-%m-%d").date() if value else None
    except ValueError:
        return None


@bp.get("/")
@roles_required(Role.ADMIN, Role.CITY_AGRI)
def entries():
    args = request.args
    stmt = sa.select(AuditEntry).options(selectinload(AuditEntry.actor))
    if actor := (args.get("actor") or "").strip():
        # the login name, the person's name or their organisation
        pattern = f"%{actor}%"
        stmt = stmt.where(sa.or_(AuditEntry.actor_name.ilike(pattern), AuditEntry.actor_display_name.ilike(pattern),
                                 AuditEntry.actor_organisation.ilike(pattern)))
    if args.get("action"):
        stmt = stmt.where(AuditEntry.action.ilike(f"{args['action'].strip()}%"))
    if args.get("object_type"):
        stmt = stmt.where(AuditEntry.object_type.in_(stored_object_types(args["object_type"])))
    if args.get("object_id"):
        stmt = stmt.where(AuditEntry.object_id == args["object_id"].strip())
    # Dates are local calendar days; entries are stored in UTC.
    if date_from := _parse_date(args.get("from")):
        stmt = stmt.where(AuditEntry.created_at >= clock.start_of_local_day(date_from))
    if date_to := _parse_date(args.get("to")):
        stmt = stmt.where(AuditEntry.created_at < clock.start_of_local_day(date_to + timedelta(days=1)))
    page = max(1, args.get("page", 1, type=int_arg))
    pagination = db.paginate(stmt.order_by(AuditEntry.id.desc()), page=page, per_page=PAGE_SIZE, error_out=False)
    stored = db.session.scalars(sa.select(AuditEntry.object_type).distinct())
    object_types = sorted({object_type_of(t) for t in stored if t})
    return render_template("audit/entries.html", pagination=pagination, object_types=object_types,
                           object_type_label=object_type_label,
                           args=args, filter_args={k: v for k, v in args.items() if k != "page" and v})
