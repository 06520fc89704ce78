"""RFC 9457 problem details: the one shape every /api/v1 error has.

    {"type": "about:blank", "title": "Unprocessable Content", "status": 422, "detail": "核验须填写核验意见",
     "instance": "/api/v1/subsidies/claims/7/verify", "errors": [{"field": "opinion", "message": "…"}]}

`detail` and each error's `message` are the words the pages show (the services' DomainError, the forms' field
messages), in the caller's language; `field` names the input it is about and `row` the spreadsheet row where the
pages name one (an underwriting list's import errors, on the job resource)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import jsonify, request
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

from agri_insurance.errors import DomainError

MEDIA_TYPE = "application/problem+json"


class ProblemErrorSchema(ma.Schema):
    field = ma.fields.String(metadata={"description": "the input the message is about"})
    row = ma.fields.Integer(metadata={"description": "the spreadsheet row, where there is one"})
    message = ma.fields.String(required=True)


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details."""

    type = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    status = ma.fields.Integer(required=True)
    detail = ma.fields.String()
    instance = ma.fields.String()
    errors = ma.fields.List(ma.fields.Nested(ProblemErrorSchema))


def problem(status: int, detail: str | None = None, errors: list[dict[str, Any]] | None = None,
            headers: dict[str, str] | None = None):
    body: dict[str, Any] = {"type": "about:blank", "title": HTTP_STATUS_CODES.get(status, "Error"),
                            "status": status, "instance": request.path}
    if detail:
        body["detail"] = str(detail)
    if errors:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    response.mimetype = MEDIA_TYPE
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def from_domain_error(error: DomainError):
    """A service's refusal: 422 with its words, on its field."""
    errors = [{"field": error.field, "message": error.message}] if error.field else None
    return problem(422, error.message, errors)


def _flatten(messages, prefix: str = "") -> list[dict[str, Any]]:
    """webargs' {"json": {"amount": ["Not a valid number."]}} → [{"field": "amount", "message": …}]."""
    out: list[dict[str, Any]] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            if key in ("json", "form", "files", "query", "headers") and not prefix:
                out.extend(_flatten(value, ""))
            else:
                out.extend(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(messages, list):
        for message in messages:
            if isinstance(message, (dict, list)):
                out.extend(_flatten(message, prefix))
            else:
                out.append({"field": prefix or None, "message": str(message)})
    else:
        out.append({"field": prefix or None, "message": str(messages)})
    for error in out:
        if error["field"] is None:
            del error["field"]
    return out


def from_http_exception(error: HTTPException):
    data = getattr(error, "data", None) or {}
    errors = _flatten(data.get("messages") or data.get("errors") or {}) or None
    detail = data.get("message")
    if detail is None and errors:
        detail = errors[0]["message"]
    if detail is None:
        detail = getattr(error, "problem_detail", None) or error.description
    headers = dict(data.get("headers") or {})
    if error.code == 401:
        headers.setdefault("WWW-Authenticate", 'Bearer realm="api"')
    retry_after = getattr(error, "retry_after", None)
    if retry_after:
        headers["Retry-After"] = str(retry_after)
    return problem(error.code or 500, detail, errors, headers)
