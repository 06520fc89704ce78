"""Cursor paging and change feeds.

A list is read in id order after an opaque cursor (`?cursor=`), `limit` rows at a time; the answer's `next` is the
cursor of the following page, or null on the last. A change feed is read in modification order after `?since=`
(an ISO time, or the `next` of the previous answer, which also carries the id so rows changed in the same instant
are neither skipped nor repeated)."""

from __future__ import annotations

import base64
import json
from datetime import datetime

import marshmallow as ma
import sqlalchemy as sa
from flask import abort
from flask_babel import gettext as _

from agri_insurance.extensions import db

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class PageArgs(ma.Schema):
    cursor = ma.fields.String(load_default=None)
    limit = ma.fields.Integer(load_default=DEFAULT_LIMIT, validate=ma.validate.Range(min=1, max=MAX_LIMIT))


class FeedArgs(ma.Schema):
    since = ma.fields.String(load_default=None, metadata={
        "description": "an ISO time (UTC) or the `next` of the previous answer"})
    limit = ma.fields.Integer(load_default=DEFAULT_LIMIT, validate=ma.validate.Range(min=1, max=MAX_LIMIT))


def _encode(data) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _decode(text: str):
    try:
        return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (ValueError, TypeError):
        _bad_cursor()


def _bad_cursor():
    from webargs.flaskparser import abort as webargs_abort

    webargs_abort(400, message=_("游标无效"), messages={"query": {"cursor": [_("游标无效")]}})


def page(stmt: sa.Select, model, args: dict) -> tuple[list, str | None]:
    """One page of `stmt` (already scoped and filtered) in id order after the cursor."""
    after = 0
    if args.get("cursor"):
        after = _decode(args["cursor"])
        if not isinstance(after, int):
            _bad_cursor()
    rows = list(db.session.scalars(stmt.where(model.id > after).order_by(model.id).limit(args["limit"] + 1)))
    more = len(rows) > args["limit"]
    rows = rows[:args["limit"]]
    return rows, (_encode(rows[-1].id) if more and rows else None)


def feed(stmt: sa.Select, model, changed_at, args: dict) -> tuple[list, str | None]:
    """Rows changed after `since`, oldest change first; `next` resumes after the last row given (also when this
    page was not full: a mirror keeps polling with it)."""
    after_time, after_id = datetime.min, 0
    since = args.get("since")
    if since:
        try:
            after_time = datetime.fromisoformat(since.replace("Z", "+00:00")).replace(tzinfo=None)
        except ValueError:
            data = _decode(since)
            if not (isinstance(data, list) and len(data) == 2):
                _bad_cursor()
            try:
                after_time, after_id = datetime.fromisoformat(data[0]), int(data[1])
            except (TypeError, ValueError):
                _bad_cursor()
    stmt = stmt.where(sa.or_(changed_at > after_time, sa.and_(changed_at == after_time, model.id > after_id)))
    rows = list(db.session.scalars(stmt.order_by(changed_at, model.id).limit(args["limit"])))
    if not rows:
        return rows, since
    last = rows[-1]
    return rows, _encode([getattr(last, changed_at.key).isoformat(), last.id])


def not_found():
    abort(404)
