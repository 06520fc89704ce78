"""Writing the audit log. Services call record() for every create, update and state change.

A summary given as a lazy string (``_l("...", name=...)``) is kept as its message id and parameters as well as
its Chinese text, so that every reader sees it in their own language (``AuditEntry.display_summary``); a plain
string is kept as it is.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import g, has_app_context, has_request_context
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from werkzeug.local import LocalProxy

from agri_insurance.audit.models import (
    MINIMUM_RETENTION_DAYS,
    SYSTEM_ACTOR,
    AuditEntry,
    AuditSetting,
    PersonalDataView,
)
from agri_insurance.clock import utcnow
from agri_insurance.db_types import jsonable
from agri_insurance.errors import require
from agri_insurance.extensions import db
from agri_insurance.i18n import in_record_language


def _message(text: LazyString) -> dict[str, Any]:
    """A lazy string as {"msgid", "params"}; a parameter that is itself a lazy string (a status label) is kept
    the same way, so that it is translated too."""
    msgid, params = text._args[0], text._kwargs
    return {"msgid": msgid, "params": {name: _message(value) if isinstance(value, LazyString) else jsonable(value)
                                       for name, value in params.items()}}


def _stored_text(summary: str | LazyString) -> str:
    """The summary's text as stored: a lazy one in the system's default language (Chinese)."""
    if isinstance(summary, LazyString) and has_app_context():
        with in_record_language():
            return str(summary)
    return str(summary)


def _real(value):
    """The object behind a proxy (Flask-Login's `current_user`), so the entry names a User, not a LocalProxy."""
    return value._get_current_object() if isinstance(value, LocalProxy) else value


def _text_or_none(value, longest: int) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text[:longest] or None


def _organisation_of(actor) -> str | None:
    """The county or insurer the actor belongs to, named as a record is written (in Chinese)."""
    if not has_app_context():
        return _text_or_none(getattr(actor, "organisation_name", None), 200)
    with in_record_language():
        return _text_or_none(getattr(actor, "organisation_name", None), 200)


def record(actor, action: str, obj, summary: str | LazyString, **details: Any) -> AuditEntry:
    """Append one entry. `actor` is a User or None (system); `obj` any mapped object with an id; `summary`
    preferably a lazy string (see the module's docstring). Either may be given as a proxy (`current_user`).

    The actor's login name, display name, role and organisation are copied as they are now; an actor without a
    display name (a sealed bidder, see bids.service.sealed_actor) is named by its login name alone.
    The caller commits, so the entry lands in the same transaction as the change it describes.
    """
    actor, obj = _real(actor), _real(obj)
    token = g.get("api_token_name") if has_request_context() else None
    if token is not None:
        details = {**details, "api_token": token}   # a write through the API names the token that made it
    if obj is not None and getattr(obj, "id", None) is None:
        db.session.flush()  # new objects need their id before we can name them
    display_name = _text_or_none(getattr(actor, "display_name", None), 100)
    role = getattr(actor, "role", None) if display_name else None
    entry = AuditEntry(
        actor_id=getattr(actor, "id", None),
        actor_name=getattr(actor, "username", None) or SYSTEM_ACTOR,
        actor_display_name=display_name,
        actor_role=_text_or_none(getattr(role, "value", role), 32),
        actor_organisation=_organisation_of(actor) if display_name else None,
        action=action,
        object_type=type(obj).__name__ if obj is not None else "",
        object_id=str(obj.id) if obj is not None else None,
        summary=_stored_text(summary)[:500],
        summary_message=_message(summary) if isinstance(summary, LazyString) else None,
        details=jsonable(details),
    )
    db.session.add(entry)
    return entry


def changes(obj, fields: list[str], new_values: dict[str, Any]) -> dict[str, list[Any]]:
    """{field: [old, new]} for the fields that differ: the details of an 'updated' entry."""
    diff = {}
    for name in fields:
        old = getattr(obj, name)
        new = new_values.get(name, old)
        if old != new:
            diff[name] = [jsonable(old), jsonable(new)]
    return diff


# --- retention (GB/T 22239-2019 8.1.4.3: kept at least six months) ------------------------------------------------

def retention_days() -> int:
    """How many days an audit entry is kept before it may be deleted (the database refuses an earlier delete)."""
    days = db.session.scalar(sa.select(AuditSetting.retention_days).where(AuditSetting.id == 1))
    return days or MINIMUM_RETENTION_DAYS


def retention_cutoff(now: datetime | None = None) -> datetime:
    """Entries written before this moment are past their retention (archived, then they may be deleted)."""
    return (now or utcnow()) - timedelta(days=retention_days())


def set_retention(days: int, actor) -> None:
    """Keep entries `days` days (at least the minimum). Caller commits."""
    require(days >= MINIMUM_RETENTION_DAYS,
            _l("审计日志至少保存%(n)s天", n=MINIMUM_RETENTION_DAYS), "days")
    setting = db.session.get(AuditSetting, 1)
    old = setting.retention_days if setting else MINIMUM_RETENTION_DAYS
    if setting is None:
        setting = AuditSetting(id=1, retention_days=days)
        db.session.add(setting)
    setting.retention_days = days
    db.session.flush()
    record(actor, "audit.retention_set", setting, _l("审计日志保存期改为%(n)s天", n=days), changes={
        "retention_days": [old, days]})


def purge_past_retention(before: datetime, actor) -> int:
    """Delete the entries written before `before` (which must be past the retention: the database refuses any
    younger entry whatever this says). Archive them first (the audit administrator's export). Caller commits."""
    require(before <= retention_cutoff(), "the entries to delete must be past the audit log's retention")
    deleted = db.session.execute(sa.delete(AuditEntry).where(AuditEntry.created_at < before)
                                 .execution_options(synchronize_session=False)).rowcount
    record(actor, "audit.purged", None, _l("删除超过保存期的审计记录%(n)s条（%(before)s之前）", n=deleted,
                                            before=f"{before:%Y-%m-%d %H:%M}"), before=before, deleted=deleted)
    return deleted


def entries_for_export(stmt, batch: int = 1000) -> Iterator[AuditEntry]:
    """The entries of `stmt` a thousand at a time (an archive of millions streams in constant memory)."""
    last_id = 0
    while True:
        chunk = db.session.scalars(stmt.where(AuditEntry.id > last_id).order_by(AuditEntry.id).limit(batch)).all()
        if not chunk:
            return
        yield from chunk
        last_id = chunk[-1].id
        db.session.expunge_all()


# --- views of unmasked personal data ---------------------------------------------------------------------------

FULL_VIEW_REASONS = {  # why a role may see a list's personal data in full (what the log keeps as its reason)
    "insurer": _l("承保机构：本机构采集、报送的清单"),
    "county_agri": _l("县农业农村局：核验本县的清单"),
}


def full_view_reason(user) -> str:
    role = getattr(getattr(user, "role", None), "value", "")
    with in_record_language():
        return str(FULL_VIEW_REASONS.get(role, role))


def record_personal_data_view(user, what: str, obj, rows: int, reason: str | None = None) -> None:
    """Log that `user` was shown `rows` people's ID numbers or bank accounts in full through `what` (an endpoint),
    from `obj` (the list), because of `reason`. Written and committed on a connection of its own, so that a GET
    changes nothing of the request's own session (tests/test_get_reads_only.py allows this table only)."""
    user = _real(user)
    role = getattr(user, "role", None)
    reason = reason if reason is not None else full_view_reason(user)
    values = {"created_at": utcnow(), "user_id": getattr(user, "id", None),
              "username": getattr(user, "username", None) or SYSTEM_ACTOR,
              "role": str(getattr(role, "value", role) or ""), "what": what[:64],
              "object_type": type(_real(obj)).__name__ if obj is not None else "",
              "object_id": str(obj.id) if obj is not None else None, "rows": rows, "reason": str(reason)[:200]}
    with db.engine.begin() as connection:
        connection.execute(sa.insert(PersonalDataView).values(**values))
