import csv
import io
import json
import tempfile
from datetime import timedelta

import sqlalchemy as sa
from flask import Blueprint, render_template, send_file
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from openpyxl import Workbook
from sqlalchemy.orm import selectinload

from agri_insurance import clock
from agri_insurance.access import roles_required
from agri_insurance.actions import Action, Actions
from agri_insurance.audit import service
from agri_insurance.audit.models import (
    OBJECT_TYPE_LABELS,
    AuditEntry,
    PersonalDataView,
    object_type_label,
    stored_object_types,
)
from agri_insurance.paging import ListFilters, Option, like_pattern, paginate, text_matches
from agri_insurance.roles import Role
from agri_insurance.spreadsheets import XLSX_MIMETYPE, cell_text

bp = Blueprint("audit", __name__, url_prefix="/audit")

COUNTED_ENTRIES = 10_000   # the page counts the log's entries up to here ("more than 10,000"), never a million

# 三员分立: the audit administrator reads and exports the log; the city bureau reads it (its rounds' history); the
# system and security administrators, whose actions it records, do not.
READERS = (Role.AUDIT_ADMIN, Role.CITY_AGRI)
EXPORTERS = (Role.AUDIT_ADMIN,)
EXPORT_HEADERS = (_l("编号"), _l("时间"), _l("登录名"), _l("操作人"), _l("单位"), _l("操作"), _l("对象类型"),
                  _l("对象编号"), _l("摘要"), _l("详情"))


def _filtered_entries(filters: ListFilters) -> tuple[sa.Select, list[Option]]:
    """The entries the filters choose, and the object types to choose among."""
    stmt = sa.select(AuditEntry)
    if actor := filters.text("actor"):
        # the login name, the person's name or their organisation
        stmt = stmt.where(text_matches(actor, AuditEntry.actor_name, AuditEntry.actor_display_name,
                                       AuditEntry.actor_organisation))
    if action := filters.text("action"):
        stmt = stmt.where(AuditEntry.action.ilike(like_pattern(action, starting=True), escape="\\"))
    # the kinds of record the code audits (a constant), not a DISTINCT over the whole log
    object_types = [Option(t, object_type_label(t)) for t in sorted(OBJECT_TYPE_LABELS)]
    if object_type := filters.choice("object_type", _("对象类型"), object_types):
        stmt = stmt.where(AuditEntry.object_type.in_(stored_object_types(object_type.value)))
    if object_id := filters.text("object_id", max_length=40):
        stmt = stmt.where(AuditEntry.object_id == object_id)
    # Dates are local calendar days; entries are stored in UTC.
    if date_from := filters.day("from", _("起始日期")):
        stmt = stmt.where(AuditEntry.created_at >= clock.start_of_local_day(date_from))
    if date_to := filters.day("to", _("截止日期")):
        stmt = stmt.where(AuditEntry.created_at < clock.start_of_local_day(date_to + timedelta(days=1)))
    if filters.text("archive", max_length=1) == "1":   # the entries past their retention, to archive
        stmt = stmt.where(AuditEntry.created_at < service.retention_cutoff())
    return stmt, object_types


def _page_actions(filters: ListFilters) -> Actions:
    if current_user.role not in EXPORTERS:
        return Actions()
    kept = dict(filters.kept)
    return Actions([
        Action("csv", _l("导出 CSV"), "audit.export", {**kept, "fmt": "csv"}, order=10),
        Action("xlsx", _l("导出 Excel"), "audit.export", {**kept, "fmt": "xlsx"}, order=20),
        Action("archive", _l("导出超过保存期的记录（归档）"), "audit.export", {"archive": "1", "fmt": "csv"},
               order=30),
        Action("data_views", _l("个人信息查看记录"), "audit.data_views", order=40),
    ])


@bp.get("/")
@roles_required(*READERS)
def entries():
    filters = ListFilters()
    stmt, object_types = _filtered_entries(filters)
    page = paginate(stmt.options(selectinload(AuditEntry.actor)).order_by(AuditEntry.id.desc()), filters,
                    count_limit=COUNTED_ENTRIES)
    return render_template("audit/entries.html", page=page, filters=filters, object_types=object_types,
                           actions=_page_actions(filters), retention_days=service.retention_days())


def _export_row(e: AuditEntry) -> list:
    return [e.id, clock.to_local(e.created_at).strftime("%Y-%m-%d %H:%M:%S"), e.actor_name, e.actor_label,
            e.actor_unit, e.action, e.object_label, e.object_id or "", e.display_summary,
            json_text(e.details)]


def json_text(details) -> str:
    return json.dumps(details or {}, ensure_ascii=False, sort_keys=True)


@bp.get("/export.<any(csv, xlsx):fmt>")
@roles_required(*EXPORTERS)
def export(fmt: str):
    """The filtered log (or, with archive=1, the entries past their retention) as CSV or xlsx, read a thousand
    entries at a time and written row by row (openpyxl's write-only mode for xlsx) into a temporary file, which is
    streamed to the browser: memory stays flat however long the log."""
    filters = ListFilters()
    stmt, _types = _filtered_entries(filters)
    stamp = clock.local_today().isoformat()
    if fmt == "xlsx":
        wb = Workbook(write_only=True)
        ws = wb.create_sheet(_("审计日志"))
        ws.append([str(h) for h in EXPORT_HEADERS])
        for entry in service.entries_for_export(stmt):
            ws.append([cell_text(v) if isinstance(v, str) else v for v in _export_row(entry)])
        spool = tempfile.TemporaryFile()
        wb.save(spool)
        spool.seek(0)
        return send_file(spool, mimetype=XLSX_MIMETYPE, as_attachment=True,
                         download_name=_("审计日志-%(day)s.xlsx", day=stamp))

    spool = tempfile.SpooledTemporaryFile(max_size=1 << 20)
    text = io.TextIOWrapper(spool, encoding="utf-8-sig", newline="")   # a BOM: Excel and WPS read it as UTF-8
    writer = csv.writer(text)
    writer.writerow([str(h) for h in EXPORT_HEADERS])
    for entry in service.entries_for_export(stmt):
        writer.writerow(_export_row(entry))
    text.flush()
    text.detach()
    spool.seek(0)
    return send_file(spool, mimetype="text/csv; charset=utf-8", as_attachment=True,
                     download_name=_("审计日志-%(day)s.csv", day=stamp))


@bp.get("/personal-data-views")
@roles_required(*EXPORTERS)
def data_views():
    """Who was shown farmers' ID numbers or bank accounts in full, what, when and why (个人信息保护法)."""
    filters = ListFilters()
    stmt = sa.select(PersonalDataView)
    if who := filters.text("user"):
        stmt = stmt.where(text_matches(who, PersonalDataView.username))
    if date_from := filters.day("from", _("起始日期")):
        stmt = stmt.where(PersonalDataView.created_at >= clock.start_of_local_day(date_from))
    if date_to := filters.day("to", _("截止日期")):
        stmt = stmt.where(PersonalDataView.created_at < clock.start_of_local_day(date_to + timedelta(days=1)))
    page = paginate(stmt.order_by(PersonalDataView.id.desc()), filters)
    return render_template("audit/data_views.html", page=page, filters=filters)
