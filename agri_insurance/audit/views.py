from datetime import timedelta

import sqlalchemy as sa
from flask import Blueprint, render_template
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from agri_insurance import clock
from agri_insurance.access import roles_required
from agri_insurance.audit.models import OBJECT_TYPE_LABELS, AuditEntry, object_type_label, stored_object_types
from agri_insurance.paging import ListFilters, Option, like_pattern, paginate, text_matches
from agri_insurance.roles import Role

bp = Blueprint("audit", __name__, url_prefix="/audit")

COUNTED_ENTRIES = 10_000   # the page counts the log's entries up to here ("more than 10,000"), never a million


@bp.get("/")
@roles_required(Role.ADMIN, Role.CITY_AGRI)
def entries():
    filters = ListFilters()
    # the kinds of record the code audits (a constant), not a DISTINCT over the whole log
    object_types = [Option(t, object_type_label(t)) for t in sorted(OBJECT_TYPE_LABELS)]
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
    page = paginate(stmt.order_by(AuditEntry.id.desc()), filters, count_limit=COUNTED_ENTRIES)
    return render_template("audit/entries.html", page=page, filters=filters, object_types=object_types)
