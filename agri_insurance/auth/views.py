from datetime import timedelta

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from agri_insurance.access import login_required, public, roles_required
from agri_insurance.auth import service
from agri_insurance.auth.forms import ApiTokenForm, ChangePasswordForm, LoginForm, ResetPasswordForm, UserForm
from agri_insurance.auth.models import ApiToken, User
from agri_insurance.clock import start_of_local_day, utcnow
from agri_insurance.extensions import db
from agri_insurance.forms_util import commit_or_flash, safe_next
from agri_insurance.paging import ListFilters, Option, options, paginate, text_matches
from agri_insurance.reference.models import Insurer, Region, RegionLevel
from agri_insurance.roles import ADMINISTRATOR_ROLES, Role

bp = Blueprint("auth", __name__)

# What a user who must still replace an initial or reset password may reach besides the change-password page.
PASSWORD_CHANGE_EXEMPT = frozenset({"auth.change_password", "auth.logout", "static", "main.set_language",
                                    "main.healthz"})


SESSION_EXPIRY_EXEMPT = frozenset({"static", "auth.login", "main.healthz"})


@bp.before_app_request
def enforce_session_lifetime():
    """End a session idle for SESSION_IDLE_MINUTES, or older than SESSION_MAX_HOURS since its login, or whose user
    changed the password or was locked since (a user id of another epoch: Flask-Login loads no user); the login page
    then says why. Times are the clock's (moved in tests), kept in the signed session cookie."""
    if request.endpoint in SESSION_EXPIRY_EXEMPT or request.path.startswith("/api/"):
        return None   # API requests carry a token, not a session (api.security checks its expiry)
    now = utcnow().timestamp()
    if not current_user.is_authenticated:
        if session.get("_user_id"):   # a session of an older epoch: its user changed the password or was locked
            session.clear()
            flash(_("您的账户密码已修改或账户已被锁定，请重新登录"), "warning")
            return redirect(url_for("auth.login"))
        return None
    config = current_app.config
    issued, seen = session.get("signed_in_at", now), session.get("seen_at", now)
    reason = None
    if now - seen > config["SESSION_IDLE_MINUTES"] * 60:
        reason = _("您已%(n)s分钟没有操作，为保护账户安全已自动退出，请重新登录", n=config["SESSION_IDLE_MINUTES"])
    elif now - issued > config["SESSION_MAX_HOURS"] * 3600:
        reason = _("登录已超过%(n)s小时，为保护账户安全已自动退出，请重新登录", n=config["SESSION_MAX_HOURS"])
    if reason:
        logout_user()
        session.clear()
        flash(reason, "warning")
        return redirect(url_for("auth.login", next=request.full_path if request.method == "GET" else None))
    session.setdefault("signed_in_at", now)
    session["seen_at"] = now
    return None


def start_session(user: User) -> None:
    """Sign `user` in on this browser, counting the session's lifetime from now."""
    login_user(user)
    session["signed_in_at"] = session["seen_at"] = utcnow().timestamp()


@bp.before_app_request
def require_password_change():
    """An account with an initial or reset password can do nothing else until it chooses its own."""
    if request.endpoint is None or request.endpoint in PASSWORD_CHANGE_EXEMPT:
        return None
    if request.path.startswith("/api/"):
        return None  # the API authenticates by token, never by this session; such an account's tokens are refused
    if current_user.is_authenticated and current_user.must_change_password:
        flash(_("请先修改初始密码"), "warning")
        return redirect(url_for("auth.change_password"))
    return None


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        result = service.authenticate(form.username.data, form.password.data)
        db.session.commit()  # failure counters and lockouts are kept too
        if result.user is not None:
            start_session(result.user)
            if result.user.must_change_password:
                flash(_("请先修改初始密码"), "warning")
                return redirect(url_for("auth.change_password"))
            return redirect(safe_next(request.args.get("next"), url_for("main.dashboard")))
        error = result.error
    status = 401 if error else 200
    return render_template("auth/login.html", form=form, error=error), status


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    flash(_("已退出登录"), "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()  # the User itself: the audit entry names it as its object
        done = commit_or_flash(lambda: service.change_own_password(user, form.current_password.data,
                                                                   form.new_password.data), _("密码已修改"), form)
        if done:
            start_session(user)  # this browser stays signed in under the new epoch; every other session ends
            return redirect(url_for("main.dashboard"))
    return render_template("auth/change_password.html", form=form), 400 if form.errors else 200


@bp.route("/account/tokens", methods=["GET", "POST"])
@login_required
def api_tokens():
    """The user's own API tokens: made here (the secret shown once, on the answer to the POST), revoked here."""
    form = ApiTokenForm()
    secret = None
    if form.validate_on_submit():
        user = current_user._get_current_object()
        expires = (start_of_local_day(form.expires_on.data + timedelta(days=1))
                   if form.expires_on.data else None)
        done = commit_or_flash(lambda: service.create_api_token(user, form.name.data, expires),
                               _("令牌已生成，请立即复制保存：它只显示这一次"), form)
        if done:
            secret = done.value[1]
            form = ApiTokenForm(formdata=None)
    return render_template("auth/api_tokens.html", form=form, secret=secret,
                           tokens=service.tokens_of(current_user), now_utc=utcnow()), 400 if form.errors else 200


@bp.post("/account/tokens/<int:token_id>/revoke")
@login_required
def revoke_api_token(token_id: int):
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.id == token_id,
                                                        ApiToken.user_id == current_user.id))
    if token is None:
        abort(404)  # another user's token: as if it did not exist
    commit_or_flash(lambda: service.revoke_api_token(token, current_user), _("令牌已吊销"))
    return redirect(url_for(".api_tokens"))


# --- user administration (admin) ----------------------------------------------------------------

def _user_form(**kwargs) -> UserForm:
    counties = db.session.scalars(
        sa.select(Region).where(Region.level == RegionLevel.COUNTY).order_by(Region.code)).all()
    insurers = db.session.scalars(sa.select(Insurer).order_by(Insurer.name)).all()
    return UserForm(regions=counties, insurers=insurers, **kwargs)


@bp.get("/admin/users")
@roles_required(Role.ADMIN, Role.SECURITY_ADMIN)
def users():
    filters = ListFilters()
    now = utcnow()
    # a user's unit: its county (county bureaus) or its insurer, as "region-<id>" / "insurer-<id>"
    county_units = [Option(f"region-{o.value}", o.label) for o in options(db.session.scalars(
        sa.select(Region).where(Region.level == RegionLevel.COUNTY).order_by(Region.code)))]
    insurer_units = [Option(f"insurer-{o.value}", o.label) for o in options(db.session.scalars(
        sa.select(Insurer).order_by(Insurer.name)))]
    states = [Option("active", _("正常")), Option("locked", _("已锁定")), Option("inactive", _("已停用"))]
    stmt = sa.select(User)
    if role := filters.choice("role", _("角色"), Role):
        stmt = stmt.where(User.role == role)
    if unit := filters.choice("unit", _("所属单位"), county_units + insurer_units):
        kind, _dash, unit_id = unit.value.partition("-")
        stmt = stmt.where((User.region_id if kind == "region" else User.insurer_id) == int(unit_id))
    if state := filters.choice("state", _("状态"), states):
        locked = sa.and_(User.locked_until.is_not(None), User.locked_until > now)
        stmt = stmt.where({"active": sa.and_(User.active, sa.not_(locked)), "locked": sa.and_(User.active, locked),
                           "inactive": sa.not_(User.active)}[state.value])
    if text := filters.text("q"):
        stmt = stmt.where(text_matches(text, User.username, User.display_name))
    page = paginate(stmt.order_by(User.role, User.username, User.id), filters)
    next_url = page.url(page.number)
    actions = {u.id: service.available_actions(u, current_user, next_url, now) for u in page.items}
    return render_template("auth/users.html", page=page, filters=filters, roles=list(Role), states=states,
                           county_units=county_units, insurer_units=insurer_units, now_utc=now, actions=actions,
                           list_actions=service.user_list_actions(current_user))


@bp.route("/admin/users/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def new_user():
    # the business roles: an administrator's role is granted by the security administrator (三员分立)
    form = _user_form(roles=[r for r in Role if r not in ADMINISTRATOR_ROLES])
    if form.validate_on_submit() and commit_or_flash(
            lambda: service.create_user(form.username.data, form.display_name.data, Role(form.role.data),
                                        form.password.data, current_user, form.region_id.data, form.insurer_id.data),
            _("用户已创建"), form):
        return redirect(url_for("auth.users"))
    return render_template("auth/user_form.html", form=form, user=None), 400 if form.errors else 200


@bp.route("/admin/users/<int:user_id>/edit", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def edit_user(user_id: int):
    """The system administrator's part: the account's name and unit (its role is the security administrator's)."""
    user = db.get_or_404(User, user_id)
    form = _user_form(obj=user)
    del form.password, form.username, form.role, form.active
    save = lambda: service.update_user(user, form.display_name.data, user.role, form.region_id.data,  # noqa: E731
                                       form.insurer_id.data, current_user)
    if form.validate_on_submit() and commit_or_flash(save, _("用户已保存"), form):
        return redirect(url_for("auth.users"))
    return render_template("auth/user_form.html", form=form, user=user), 400 if form.errors else 200


@bp.route("/admin/users/<int:user_id>/role", methods=["GET", "POST"])
@roles_required(Role.SECURITY_ADMIN)
def user_role(user_id: int):
    """The security administrator's part: the account's role, with the county or insurer the role needs."""
    user = db.get_or_404(User, user_id)
    form = _user_form(obj=user)
    del form.password, form.username, form.display_name, form.active
    if request.method == "GET":
        form.role.data = user.role.value
    save = lambda: service.update_user(user, user.display_name, Role(form.role.data),  # noqa: E731
                                       form.region_id.data, form.insurer_id.data, current_user)
    if form.validate_on_submit() and commit_or_flash(save, _("角色已保存"), form):
        return redirect(url_for("auth.users"))
    return render_template("auth/user_form.html", form=form, user=user), 400 if form.errors else 200


@bp.post("/admin/users/<int:user_id>/unlock")
@roles_required(Role.SECURITY_ADMIN)
def unlock(user_id: int):
    user = db.get_or_404(User, user_id)
    commit_or_flash(lambda: service.unlock(user, current_user), _("已解除 %(u)s 的锁定", u=user.username))
    return redirect(safe_next(request.args.get("next"), url_for("auth.users")))


@bp.get("/admin/security")
@roles_required(Role.SECURITY_ADMIN)
def security_settings():
    """The password and session policy in force (set in the deployment's configuration, see docs/deploy.md)."""
    return render_template("auth/security_settings.html", settings=service.security_policy())


@bp.post("/admin/users/<int:user_id>/active")
@roles_required(Role.SECURITY_ADMIN)
def toggle_active(user_id: int):
    user = db.get_or_404(User, user_id)
    activate = not user.active
    commit_or_flash(lambda: service.set_active(user, activate, current_user),
                    _("已启用 %(u)s", u=user.username) if activate else _("已停用 %(u)s", u=user.username))
    return redirect(safe_next(request.args.get("next"), url_for("auth.users")))  # the list as it was filtered


@bp.post("/admin/users/<int:user_id>/password")
@roles_required(Role.SECURITY_ADMIN)
def reset_password(user_id: int):
    user = db.get_or_404(User, user_id)
    form = ResetPasswordForm()
    if form.validate_on_submit():
        commit_or_flash(lambda: service.reset_password(user, form.new_password.data, current_user),
                        _("已重置 %(u)s 的密码，用户下次登录时须修改密码", u=user.username))
    else:
        flash(_("请填写新密码"), "danger")
    return redirect(safe_next(request.args.get("next"), url_for("auth.users")))  # the list as it was filtered
