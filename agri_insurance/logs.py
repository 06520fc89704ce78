"""Logs a production server can search: one JSON object a line, each carrying the request id.

The request id comes from nginx (`X-Request-ID`, docs/deploy.md) or is made here; it is returned in the response's
`X-Request-ID` header, added to every record logged while the request runs, and a line per request says what was
asked, by whom, how it ended and how long it took. With LOG_FORMAT=json (gunicorn.conf.py sets it) the app's
records are written as JSON to stderr; otherwise the usual text (`make run`, tests).
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
import uuid
from datetime import UTC, datetime

from flask import Flask, g, has_request_context, request

request_log = logging.getLogger("agri_insurance.request")
_SAFE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record (None outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = getattr(g, "request_id", None) if has_request_context() else None
        return True


class JsonFormatter(logging.Formatter):
    FIELDS = ("method", "path", "status", "duration_ms", "user_id", "remote_addr")

    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
                 "level": record.levelname, "logger": record.name, "message": record.getMessage(),
                 "request_id": getattr(record, "request_id", None)}
        for name in self.FIELDS:
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure(json_format: bool) -> None:
    """The root logger's handler for this process (once): JSON lines or text, with the request id."""
    root = logging.getLogger()
    if any(getattr(h, "_agri", False) for h in root.handlers):
        return
    handler = logging.StreamHandler()
    handler._agri = True
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if json_format else logging.Formatter(
        "%(asctime)s %(levelname)s [%(name)s] [%(request_id)s] %(message)s"))
    root.addHandler(handler)
    root.setLevel(os.environ.get("LOG_LEVEL", "INFO").upper())


def init_app(app: Flask) -> None:
    if os.environ.get("LOG_FORMAT", "").lower() == "json":
        configure(json_format=True)

    @app.before_request
    def _start() -> None:
        given = request.headers.get("X-Request-ID", "")
        g.request_id = given if _SAFE_ID.fullmatch(given) else uuid.uuid4().hex
        g.request_started = time.monotonic()

    @app.after_request
    def _finish(response):
        request_id = getattr(g, "request_id", None)
        if request_id is None:
            return response
        response.headers.setdefault("X-Request-ID", request_id)
        if request.endpoint != "static":
            from flask_login import current_user

            user_id = getattr(current_user, "id", None) if current_user else None
            request_log.info("%s %s %s", request.method, request.path, response.status_code, extra={
                "method": request.method, "path": request.path, "status": response.status_code,
                "duration_ms": round((time.monotonic() - g.request_started) * 1000, 1), "user_id": user_id,
                "remote_addr": request.remote_addr})
        return response
