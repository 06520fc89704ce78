"""Writing the audit log. Services call record() for every create, update and state change."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from agri_insurance.audit.models import AuditEntry
from agri_insurance.extensions import db


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "value") and not isinstance(value, str | int | float | bool):
        return value.value  # enums
    return value


def record(actor, action: str, obj, summary: str, **details: Any) -> AuditEntry:
    """Append one entry. `actor` is a User or None (system); `obj` any mapped object with an id.

    The caller commits, so the entry lands in the same transaction as the change it describes.
    """
    if obj is not None and getattr(obj, "id", None) is None:
        db.session.flush()  # new objects need their id before we can name them
    entry = AuditEntry(
        actor_id=getattr(actor, "id", None),
        actor_name=getattr(actor, "username", None) or "system",
        action=action,
        object_type=type(obj).__name__ if obj is not None else "",
        object_id=str(obj.id) if obj is not None else None,
        summary=summary[:500],
        details=_jsonable(details),
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
            diff[name] = [_jsonable(old), _jsonable(new)]
    return diff
