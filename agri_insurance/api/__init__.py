"""The JSON API under /api/v1 for the insurers' systems and the province (issue 21): the same product as the pages.

Its views call the same services (never the pages' views), load with the same scope (`scoped_get_or_404`, 404 for
what the caller may not see), and validate input with the pages' own forms, so a refusal has the same words. Built
on flask-smorest (OpenAPI generated from the code, served at /api/v1/openapi.json, Swagger UI at /api/v1/docs from
static/vendor/swagger-ui); authentication by bearer token (security.py); errors as RFC 9457 problem details
(problems.py); a rate limit per token (Flask-Limiter: counted in Redis when REDIS_URL is set, so every web process
shares the count; in memory otherwise)."""

from __future__ import annotations

import hashlib
from functools import wraps

from flask import Flask, current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_smorest import Api as SmorestApi

from agri_insurance.access import public
from agri_insurance.api.problems import ProblemSchema
from agri_insurance.api.security import BEARER_SCHEME, bearer_secret

PREFIX = "/api/v1"
DEFAULT_RATE_LIMIT = "120 per minute"


class Api(SmorestApi):
    """flask-smorest's Api with problem details: its errors are answered by the application's handlers (the API's
    part in agri_insurance/__init__.py), not by a JSON handler of its own for every page."""

    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self):
        return None


def rate_limit_key() -> str:
    """Per token (its hash: the secret itself never reaches the limiter's storage); per address without one."""
    secret = bearer_secret()
    if secret:
        return "token:" + hashlib.sha256(secret.encode()).hexdigest()[:32]
    return "ip:" + get_remote_address()


def rate_limit() -> str:
    return current_app.config.get("API_RATE_LIMIT", DEFAULT_RATE_LIMIT)


limiter = Limiter(key_func=rate_limit_key, default_limits=[], headers_enabled=True)
api = Api()


def init_app(app: Flask) -> None:
    app.config.setdefault("API_TITLE", "农险遴选与补贴管理系统 API")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.1.0")
    app.config.setdefault("OPENAPI_URL_PREFIX", PREFIX)
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault("OPENAPI_SWAGGER_UI_PATH", "/docs")
    # vendored (static/vendor/swagger-ui, swagger-ui-dist 5.35.0): no CDN
    app.config.setdefault("OPENAPI_SWAGGER_UI_URL", "/static/vendor/swagger-ui/")
    app.config.setdefault("API_SPEC_OPTIONS", {
        "info": {"description": "docs/api.md: tokens, errors, paging, change feeds, idempotent writes."},
        "components": {"securitySchemes": {BEARER_SCHEME: {"type": "http", "scheme": "bearer"}}},
    })
    # Redis (REDIS_URL) shares the counts between the web processes; memory in tests and on one server.
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config.get("REDIS_URL") or "memory://")
    app.config.setdefault("API_RATE_LIMIT", DEFAULT_RATE_LIMIT)

    api.init_app(app)
    limiter.init_app(app)
    _declare_docs_public(app)

    from agri_insurance.api import awards, bids, jobs, reference, subsidies, tenders

    for module in (reference, tenders, awards, bids, subsidies, jobs):
        limiter.limit(rate_limit)(module.blp)
        api.register_blueprint(module.blp, url_prefix=PREFIX + module.blp.url_prefix)


def _declare_docs_public(app: Flask) -> None:
    """The spec and its browsable page are public, like the API's public resources (enforce_declared_access
    refuses an endpoint that declares nothing)."""
    for endpoint, view in list(app.view_functions.items()):
        if endpoint.startswith(api._make_doc_blueprint_name() + "."):
            app.view_functions[endpoint] = public(_plain(view))


def _plain(view):
    @wraps(view)
    def call(*args, **kwargs):
        return view(*args, **kwargs)

    return call


def is_api_request() -> bool:
    return request.path == PREFIX or request.path.startswith(PREFIX + "/")
