from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_login import current_user

from agri_insurance.access import login_required, public
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
    return {"status": "ok"}
