"""农险遴选与补贴管理系统 — the Flask application."""

from __future__ import annotations

from decimal import Decimal

from flask import Flask, render_template, request, session
from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from agri_insurance.config import PROJECT_ROOT, Config
from agri_insurance.extensions import babel, csrf, db, login_manager, migrate


def select_locale() -> str:
    from flask import current_app, has_request_context

    if has_request_context() and request.path.startswith("/api/"):
        # an API client says its language in Accept-Language (no session); Chinese by default
        return request.accept_languages.best_match(current_app.config["LANGUAGES"]) or \
            current_app.config["BABEL_DEFAULT_LOCALE"]
    lang = session.get("lang") if has_request_context() else None
    if lang in current_app.config["LANGUAGES"]:
        return lang
    return current_app.config["BABEL_DEFAULT_LOCALE"]


# Styles may be inline (style="width: 40%" on progress bars); scripts never are.
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                           "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "
                           "base-uri 'self'; form-action 'self'; frame-ancestors 'self'")


def create_app(config: Config | None = None) -> Flask:
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
        instance_path=str(PROJECT_ROOT / "instance"),
    )
    app.config.from_object(config or Config())
    if app.config.get("TRUSTED_PROXIES"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        proxies = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)

    db.init_app(app)
    # SQLite batch mode lets Alembic alter tables SQLite cannot ALTER in place.
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True,
                     compare_type=True)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("请先登录")
    login_manager.login_message_category = "warning"

    from agri_insurance import models  # noqa: F401 - register every mapped class
    from agri_insurance.auth.models import User

    @login_manager.user_loader
    def load_user(user_id: str):
        # "id.epoch" (User.get_id): a session signed in before the password changed or the account was locked
        # carries an older epoch and is refused (auth.views.enforce_session_lifetime says why on the login page)
        raw_id, _dot, epoch = user_id.partition(".")
        user = db.session.get(User, int(raw_id)) if raw_id.isdigit() else None
        if user is None or not user.active or epoch != str(user.session_epoch or 0):
            return None
        return user

    _connect_listeners()
    _register_blueprints(app)
    _register_template_helpers(app)
    _register_error_pages(app)

    from agri_insurance import logs

    logs.init_app(app)

    from agri_insurance.access import enforce_declared_access

    app.before_request(enforce_declared_access)
    app.before_request(_advance_the_clock)

    from agri_insurance.cli import register_cli

    register_cli(app)
    return app


def _advance_the_clock() -> None:
    """before_request: what the clock decided since the last request (a bid deadline passed, a term began) is
    done first, in a session and transaction of its own (a fresh app context), so the page shows it and the
    request itself only reads. Nothing due, nothing written: one indexed query."""
    from flask import current_app

    from agri_insurance.tenders.service import advance_by_clock

    if request.endpoint in (None, "static", "main.healthz"):  # a health check reads, and says if it cannot
        return
    with current_app.app_context():
        if advance_by_clock():
            db.session.commit()


def _connect_listeners() -> None:
    """Every module that reacts to another's announcements connects here, once (docs/architecture.md lists who
    listens to what). The owners of a life (tenders, subsidies) never import them."""
    from agri_insurance.allocation import listeners as _allocation  # noqa: F401
    from agri_insurance.annual_review import listeners as _annual_review  # noqa: F401
    from agri_insurance.auth import listeners as _auth  # noqa: F401
    from agri_insurance.awards import listeners as _awards  # noqa: F401
    from agri_insurance.bids import listeners as _bids  # noqa: F401
    from agri_insurance.evaluation import listeners as _evaluation  # noqa: F401
    from agri_insurance.payouts import listeners as _payouts  # noqa: F401
    from agri_insurance.underwriting import listeners as _underwriting  # noqa: F401


def _register_blueprints(app: Flask) -> None:
    from agri_insurance.forms_util import RecordIdConverter

    app.url_map.converters["int"] = RecordIdConverter  # before any route is added: every <int:...> uses it
    from agri_insurance.allocation.views import bp as allocation_bp
    from agri_insurance.annual_review.views import bp as annual_review_bp
    from agri_insurance.audit.views import bp as audit_bp
    from agri_insurance.auth.views import bp as auth_bp
    from agri_insurance.awards.views import bp as awards_bp
    from agri_insurance.bids.views import bp as bids_bp
    from agri_insurance.evaluation.views import bp as evaluation_bp
    from agri_insurance.jobs.views import bp as jobs_bp
    from agri_insurance.main.views import bp as main_bp
    from agri_insurance.payouts.views import bp as payouts_bp
    from agri_insurance.reference.views import bp as reference_bp
    from agri_insurance.subsidies.views import bp as subsidies_bp
    from agri_insurance.tenders.views import bp as tenders_bp
    from agri_insurance.underwriting.views import bp as underwriting_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(reference_bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(tenders_bp)
    app.register_blueprint(bids_bp)
    app.register_blueprint(evaluation_bp)
    app.register_blueprint(subsidies_bp)
    app.register_blueprint(underwriting_bp)
    app.register_blueprint(payouts_bp)
    app.register_blueprint(jobs_bp)
    app.register_blueprint(allocation_bp)
    app.register_blueprint(awards_bp)
    app.register_blueprint(annual_review_bp)
    from agri_insurance.api import init_app as init_api
    from agri_insurance.jobs.runners import init_app as init_jobs

    init_api(app)  # /api/v1: after the pages' blueprints (its views call their modules' services)
    init_jobs(app)  # the job runner (in-process, or RQ when REDIS_URL is set) and `flask worker`


def _register_template_helpers(app: Flask) -> None:
    from agri_insurance.main.navigation import navigation_for

    @app.template_filter("money")
    def money(value) -> str:
        if value is None:
            return "—"
        return f"{Decimal(value):,.2f}"

    @app.template_filter("pct")
    def pct(value) -> str:
        if value is None:
            return "—"
        text = f"{Decimal(value).normalize():f}"
        return f"{text}%"

    @app.template_filter("localtime")
    def localtime(value, fmt: str = "yyyy-MM-dd HH:mm") -> str:
        return format_datetime(value, fmt) if value else "—"

    from agri_insurance.actions import parts_for
    from agri_insurance.i18n import colon, join_names, with_note

    app.jinja_env.globals.update(with_note=with_note, colon=colon, join_names=join_names, parts_for=parts_for)

    @app.context_processor
    def inject_globals():
        from flask_babel import get_locale

        return {
            "navigation": navigation_for(current_user) if current_user.is_authenticated else [],
            "current_locale": str(get_locale()),
        }


def _register_error_pages(app: Flask) -> None:
    from flask_wtf.csrf import CSRFError
    from werkzeug.exceptions import HTTPException

    from agri_insurance.api import is_api_request
    from agri_insurance.api.common import BadInput
    from agri_insurance.api.problems import from_http_exception, problem

    def render_error(code: int, title: str, message: str):
        if is_api_request():   # the API answers every error as RFC 9457 problem details, in the pages' words
            return problem(code, str(message))
        return render_template("error.html", code=code, title=title, message=message), code

    @app.errorhandler(BadInput)
    def bad_api_input(e):
        return e.response

    @app.errorhandler(HTTPException)
    def other_http_error(e):
        # 400, 401, 422 (webargs), 429 (the rate limit)…: the API's as problems; the pages' as before
        if is_api_request():
            return from_http_exception(e)
        return e

    @app.errorhandler(403)
    def forbidden(_e):
        return render_error(403, _l("无权访问"), _l("您的角色或所属单位无权访问此页面。"))

    @app.errorhandler(404)
    def not_found(_e):
        return render_error(404, _l("页面不存在"), _l("您要找的页面不存在，或您无权查看。"))

    @app.errorhandler(405)
    def method_not_allowed(_e):
        return render_error(405, _l("不支持的操作"), _l("此页面不支持该请求方式。"))

    @app.errorhandler(413)
    def too_large(_e):
        return render_error(413, _l("文件过大"), _l("上传的文件超过了大小限制。"))

    @app.errorhandler(CSRFError)
    def csrf_error(_e):
        return render_error(400, _l("表单已失效"), _l("表单安全校验失败，请刷新页面后重新提交。"))

    @app.errorhandler(500)
    def server_error(_e):
        db.session.rollback()
        return render_error(500, _l("系统错误"), _l("系统出现错误，操作未保存。请稍后重试或联系管理员。"))

    @app.after_request
    def security_headers(response):
        # Scripts only from this site's files (static/): an injected <script> or onclick= does not run.
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        if request.is_secure:  # behind nginx: TRUSTED_PROXIES makes X-Forwarded-Proto count
            response.headers.setdefault("Strict-Transport-Security",
                                        f"max-age={app.config.get('HSTS_MAX_AGE', 31536000)}; includeSubDomains")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if request.endpoint != "static":
            response.headers.setdefault("Cache-Control", "no-store")
        return response
