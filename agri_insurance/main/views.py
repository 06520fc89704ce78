import sqlalchemy as sa
from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_login import current_user

from agri_insurance.access import login_required, public
from agri_insurance.extensions import db
from agri_insurance.forms_util import safe_next
from agri_insurance.main.service import dashboard_figures, todo_list

bp = Blueprint("main", __name__)


@bp.get("/")
@login_required
def dashboard():
    return render_template("main/dashboard.html", todos=todo_list(current_user),
                           figures=dashboard_figures(current_user))


@bp.get("/lang/<code>")
@public
def set_language(code: str):
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
    return redirect(safe_next(request.args.get("next"), url_for("main.dashboard")))


@bp.get("/healthz")
@public
def healthz():
    """For the load balancer and monitoring: 200 when the database answers and, with REDIS_URL, Redis too;
    503 naming what does not (no page, no session, nothing written)."""
    checks = {"database": _database_answers(), "redis": _redis_answers()}
    healthy = all(state in ("ok", "not used") for state in checks.values())
    return {"status": "ok" if healthy else "unavailable", **checks}, 200 if healthy else 503


def _database_answers() -> str:
    try:
        with db.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return "ok"
    except Exception as e:  # any failure is an answer here, logged for the operator
        current_app.logger.error("healthz: database unreachable: %s", e)
        return "unreachable"


def _redis_answers() -> str:
    url = current_app.config.get("REDIS_URL")
    if not url:
        return "not used"
    try:
        from redis import Redis

        Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2).ping()
        return "ok"
    except Exception as e:
        current_app.logger.error("healthz: Redis unreachable: %s", e)
        return "unreachable"
