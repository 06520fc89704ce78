"""`Idempotency-Key`: a retried write returns the first answer and writes nothing again.

The key is stored in the write's own transaction, with the answer. Two requests with the same key at once: the
second one's INSERT waits on the unique (user, key) index until the first commits, then fails, and the second
returns the stored answer. A refused write (a DomainError) is rolled back with its key: a retry is tried again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import jsonify, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from agri_insurance.api.models import IdempotencyKey
from agri_insurance.api.problems import from_domain_error, problem
from agri_insurance.errors import DomainError
from agri_insurance.extensions import db

HEADER = "Idempotency-Key"
KEY_MAX = 200


def _stored(key: str) -> IdempotencyKey | None:
    return db.session.scalar(sa.select(IdempotencyKey).where(IdempotencyKey.user_id == current_user.id,
                                                             IdempotencyKey.key == key))


def _replay(row: IdempotencyKey, signature: str):
    if row.request != signature:
        return problem(422, _("该 Idempotency-Key 已用于另一请求"), [{"field": HEADER, "message": _(
            "该 Idempotency-Key 已用于另一请求")}])
    response = jsonify(row.response)
    response.status_code = row.status_code
    response.headers["Idempotent-Replayed"] = "true"
    return response


def run_write(action: Callable[[], tuple[dict[str, Any], int]]):
    """Run `action` (a service call returning the answer's body and status) and commit; with an Idempotency-Key,
    at most once per key. A DomainError is rolled back and answered as a 422 problem."""
    key = (request.headers.get(HEADER) or "").strip()
    signature = f"{request.method} {request.path}"
    if len(key) > KEY_MAX:
        return problem(400, _("Idempotency-Key 过长"), [{"field": HEADER, "message": _("Idempotency-Key 过长")}])
    row = None
    if key:
        existing = _stored(key)
        if existing is not None:
            return _replay(existing, signature)
        row = IdempotencyKey(user_id=current_user.id, key=key, request=signature, status_code=0, response={})
        db.session.add(row)
        try:
            db.session.flush()   # takes the key now: a concurrent retry waits here until this one ends
        except IntegrityError:
            db.session.rollback()
            existing = _stored(key)
            if existing is not None:
                return _replay(existing, signature)
            raise
    try:
        body, status = action()
    except DomainError as e:
        db.session.rollback()
        return from_domain_error(e)
    if row is not None:
        row.status_code, row.response = status, body
    db.session.commit()
    response = jsonify(body)
    response.status_code = status
    return response
