"""Who calls the API: a bearer token, never a session cookie.

Every /api/v1 request is authenticated here, before its view, from its `Authorization: Bearer …` header alone;
the user the token belongs to becomes `current_user` for that request, so the roles (`roles_required`), the
organisation scope (`scope_clause`, `scoped_get_or_404`) and the services see the same user as on the pages. A
browser's session cookie is ignored on these routes, which is why they may be exempt from CSRF: a page on another
site can make a browser send its cookie, not a token."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import wraps

from flask import current_app, g, request
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import Unauthorized

from agri_insurance.access import roles_required
from agri_insurance.auth import service as accounts
from agri_insurance.clock import utcnow
from agri_insurance.extensions import db, login_manager

BEARER_SCHEME = "bearerAuth"
# A token's last use is written at most this often: a system polling a feed does not write on every read.
USE_RECORDED_EVERY = timedelta(minutes=1)
SECURITY = [{BEARER_SCHEME: []}]


def bearer_secret() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _space, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    return secret.strip()


def authenticate() -> None:
    """before_request of every API blueprint: the token's user, or anonymous. A token that is present but refused
    (unknown, revoked, expired, its owner locked or with a new password) is a 401 at once, whatever the route."""
    user = login_manager.anonymous_user()
    secret = bearer_secret()
    if secret is not None:
        now = utcnow()
        token = accounts.token_for(secret)
        refusal = accounts.token_refusal(token, now)
        if refusal is not None:
            raise _unauthorized(refusal)
        user = token.user
        g.api_token_name = token.name   # audit.record names the token of every write (see audit.service)
        g.api_token_id = token.id
        if token.last_used_at is None or token.last_used_at < now - USE_RECORDED_EVERY:
            _record_use(token.id, now)
    # Flask-Login keeps the request's user in g._login_user (what its own loaders set): the token's user here,
    # so the session's user is never consulted on an API route.
    g._login_user = user


def _record_use(token_id: int, now) -> None:
    """The token's last-used time, in a transaction of its own (as the clock's changes are): the request itself,
    a GET above all, writes nothing of its own."""
    with current_app.app_context():
        accounts.touch_token(token_id, now)
        db.session.commit()


def _unauthorized(detail: str) -> Unauthorized:
    error = Unauthorized()
    error.problem_detail = detail
    return error


def api_roles(*roles) -> Callable[[Callable], Callable]:
    """roles_required for the API: the same declaration (the access table checks it), but an anonymous caller gets
    a 401 problem instead of the login page, and a caller of another role a 403 problem."""

    def decorator(view: Callable) -> Callable:
        checked = roles_required(*roles)(view)

        @wraps(checked)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                raise _unauthorized(_sign_in_first())
            return checked(*args, **kwargs)

        return wrapped

    return decorator


def _sign_in_first() -> str:
    return _("请以接口令牌调用（Authorization: Bearer …）")
