from datetime import timedelta

import sqlalchemy as sa
from flask import Blueprint, render_template
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from agri_insurance import clock
from agri_insurance.access import roles_required
from agri_insurance.audit.models import AuditEntry, object_type_label, object_type_of, stored_object_types
from agri_insurance.extensions import db
from agri_insurance.paging import ListFilters, Option, like_pattern, paginate, text_matches
from agri_insurance.roles import Role

bp = Blueprint("audit", __name__, url_prefix="/audit")


@bp.get("/")
@roles_required(Role.ADMIN, Role.CITY_AGRI)
def entries():
    filters = ListFilters()
    stored = db.session.scalars(sa.select(AuditEntry.object_type).distinct())
    object_types = [Option(t, object_type_label(t)) for t in sorted({object_type_of(t) for t in stored if t})]
    stmt = sa.select(AuditEntry).options(selectinload(AuditEntry.actor))
    if actor := filters.text("actor"):
        # the login name, the person's name or their organisation
        stmt = stmt.where(text_matches(actor, AuditEntry.actor_name, AuditEntry.actor_display_name,
                                       AuditEntry.actor_organisation))
    if action := filters.text("action"):
        stmt = stmt.where(AuditEntry.action.ilike(like_pattern(action, starting=True), escape="\\"))
    if object_type := filters.choice("object_type", _("对象类型"), object_types):
        stmt = stmt.where(AuditEntry.object_type.in_(stored_object_types(object_type.value)))
    if object_id := filters.text("object_id", max_length=40):
        stmt = stmt.where(AuditEntry.object_id == object_id)
    # Dates are local calendar days; entries are stored in UTC.
    if date_from := filters.day("from", _("起始日期")):
        stmt = stmt.where(AuditEntry.created_at >= clock.start_of_local_day(date_from))
    if date_to := filters.day("to", _("截止日期")):
        stmt = stmt.where(AuditEntry.created_at < clock.start_of_local_day(date_to + timedelta(days=1)))
    page = paginate(stmt.order_by(AuditEntry.id.desc()), filters)
    return render_template("audit/entries.html", page=page, filters=filters, object_types=object_types)
