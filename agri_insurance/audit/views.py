from datetime import timedelta

import sqlalchemy as sa
from flask import Blueprint, render_template
from flask_babel import gettext as _

from agri_insurance import clock
from agri_insurance.access import roles_required
from agri_insurance.audit.models import AuditEntry, object_type_label
from agri_insurance.extensions import db
from agri_insurance.paging import ListFilters, Option, like_pattern, paginate
from agri_insurance.roles import Role

bp = Blueprint("audit", __name__, url_prefix="/audit")


@bp.get("/")
@roles_required(Role.ADMIN, Role.CITY_AGRI)
def entries():
    filters = ListFilters()
    object_types = [Option(t, object_type_label(t)) for t in db.session.scalars(
        sa.select(AuditEntry.object_type).distinct().order_by(AuditEntry.object_type))]
    stmt = sa.select(AuditEntry)
    if actor := filters.text("actor"):
        stmt = stmt.where(AuditEntry.actor_name.ilike(like_pattern(actor), escape="\\"))
    if action := filters.text("action"):
        stmt = stmt.where(AuditEntry.action.ilike(like_pattern(action, starting=True), escape="\\"))
    if object_type := filters.choice("object_type", _("对象类型"), object_types):
        stmt = stmt.where(AuditEntry.object_type == object_type.value)
    if object_id := filters.text("object_id", max_length=40):
        stmt = stmt.where(AuditEntry.object_id == object_id)
    # Dates are local calendar days; entries are stored in UTC.
    if date_from := filters.day("from", _("起始日期")):
        stmt = stmt.where(AuditEntry.created_at >= clock.start_of_local_day(date_from))
    if date_to := filters.day("to", _("截止日期")):
        stmt = stmt.where(AuditEntry.created_at < clock.start_of_local_day(date_to + timedelta(days=1)))
    page = paginate(stmt.order_by(AuditEntry.id.desc()), filters)
    return render_template("audit/entries.html", page=page, filters=filters, object_types=object_types)
