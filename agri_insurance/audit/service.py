"""Writing the audit log. Services call record() for every create, update and state change.

A summary given as a lazy string (``_l("...", name=...)``) is kept as its message id and parameters as well as
its Chinese text, so that every reader sees it in their own language (``AuditEntry.display_summary``); a plain
string is kept as it is.
"""

from __future__ import annotations

from typing import Any

from flask import g, has_app_context, has_request_context
from flask_babel.speaklater import LazyString
from werkzeug.local import LocalProxy

from agri_insurance.audit.models import SYSTEM_ACTOR, AuditEntry
from agri_insurance.db_types import jsonable
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
