"""Access control used by every view: a role check and an organisation scope.

Every endpoint declares who may reach it with one of the decorators below; an endpoint without a
declaration is refused (see `enforce_declared_access`), so a new route cannot be forgotten.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

import sqlalchemy as sa
from flask import abort, current_app, request
from flask_login import current_user

from agri_insurance.extensions import db, login_manager
from agri_insurance.roles import CITY_ROLES, SEPARATED_ROLES, Role

# Every role that works with the business data: pages "for everyone" declare these. The security and audit
# administrators are not among them (三员分立): they reach their own pages and their account's (login_required).
ALL_ROLES = frozenset(Role) - SEPARATED_ROLES
PUBLIC = "public"
ANY_USER = "any_user"


def _declare(view: Callable, access) -> Callable:
    view.access = access
    return view


def public(view: Callable) -> Callable:
    """Reachable without logging in (login page, public notices)."""
    return _declare(view, PUBLIC)


def login_required(view: Callable) -> Callable:
    """Any logged-in user, whatever the role (their own account's pages: home, password, tokens, logout)."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        return view(*args, **kwargs)

    return _declare(wrapped, ANY_USER)


def roles_required(*roles: Role) -> Callable[[Callable], Callable]:
    """Logged in and holding one of `roles`; otherwise 403 (or the login page when anonymous)."""
    allowed = frozenset(roles)

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in allowed:
                abort(403)
            return view(*args, **kwargs)

        return _declare(wrapped, allowed)

    return decorator


def declared_access(endpoint: str):
    view = current_app.view_functions.get(endpoint)
    return getattr(view, "access", None)


def enforce_declared_access() -> None:
    """before_request hook: refuse endpoints that declare no access rule (default deny)."""
    endpoint = request.endpoint
    if endpoint is None or endpoint == "static":
        return
    if declared_access(endpoint) is None:
        abort(403)


# --- organisation scope ---------------------------------------------------------------------------

def is_city_level(user) -> bool:
    return user.role in CITY_ROLES


def scope_clause(model, user):
    """A WHERE clause limiting `model` rows to what `user` may see; models opt in with `visible_to`."""
    visible_to = getattr(model, "visible_to", None)
    return visible_to(user) if visible_to is not None else sa.true()


def scoped_query(model, user=None):
    user = user or current_user
    return sa.select(model).where(scope_clause(model, user))


def scoped_get_or_404(model, object_id: int, user=None):
    """The row if it exists and `user` may see it; 404 otherwise, so nothing reveals it exists."""
    user = user or current_user
    obj = db.session.scalar(scoped_query(model, user).where(model.id == object_id))
    if obj is None:
        abort(404)
    return obj
