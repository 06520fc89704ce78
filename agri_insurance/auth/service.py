"""Accounts: password rules, login throttling, user administration."""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm.attributes import set_committed_value
from werkzeug.security import check_password_hash, generate_password_hash

from agri_insurance.actions import Action, Actions
from agri_insurance.audit import service as audit
from agri_insurance.auth.models import ApiToken, User
from agri_insurance.clock import utcnow
from agri_insurance.errors import DomainError, require
from agri_insurance.extensions import db
from agri_insurance.i18n import join_sentences
from agri_insurance.roles import ADMINISTRATOR_ROLES, Role

PASSWORD_MIN_LENGTH = 8


def password_problems(password: str, username: str = "") -> list[str]:
    """Reasons a password is too weak (empty when acceptable)."""
    problems = []
    if len(password) < PASSWORD_MIN_LENGTH:
        problems.append(_("密码至少需要%(n)s个字符", n=PASSWORD_MIN_LENGTH))
    if not any(c.isalpha() for c in password) or not any(c.isdigit() for c in password):
        problems.append(_("密码需同时包含字母和数字"))
    if username and username.lower() in password.lower():
        problems.append(_("密码不能包含用户名"))
    return problems


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def set_password(user: User, password: str) -> None:
    problems = password_problems(password, user.username)
    if problems:
        raise DomainError(join_sentences(problems), "password")
    user.password_hash = hash_password(password)


@dataclass
class LoginResult:
    user: User | None
    error: str | None = None


def _locked_message(user: User, now: datetime) -> str:
    minutes = max(1, math.ceil((user.locked_until - now).total_seconds() / 60))
    return _("登录失败次数过多，账户已锁定，请%(minutes)s分钟后再试", minutes=minutes)


@lru_cache(maxsize=4)
def _dummy_hash(method: str) -> str:
    """A hash to check unknown usernames against, so they take as long as a wrong password."""
    return generate_password_hash("not-a-real-password-0", method=method)


def _count_failure(user: User, now: datetime) -> LoginResult:
    """Add one failure in the database itself (UPDATE ... SET failed_logins = failed_logins + 1), so parallel
    wrong passwords cannot overwrite each other's count, and lock the account once the count reaches the limit.
    The UPDATE holds the row until the caller commits."""
    generic = _("用户名或密码错误")
    count = db.session.execute(
        sa.update(User)
        .where(User.id == user.id, sa.or_(User.locked_until.is_(None), User.locked_until <= now))
        .values(failed_logins=sa.func.coalesce(User.failed_logins, 0) + 1)
        .returning(User.failed_logins)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    if count is None:  # locked by a parallel request since we read the row
        db.session.refresh(user)
        return LoginResult(None, _locked_message(user, now) if user.locked_until else generic)
    set_committed_value(user, "failed_logins", count)
    if count >= current_app.config["LOGIN_MAX_FAILURES"]:
        user.locked_until = now + timedelta(minutes=current_app.config["LOCKOUT_MINUTES"])
        user.end_other_sessions()  # a locked account keeps no open session (GB/T 22239 8.1.4.1)
        user.failed_logins = 0
        audit.record(None, "user.locked", user, _l("连续登录失败，账户锁定：%(u)s", u=user.username))
        return LoginResult(None, _locked_message(user, now))
    return LoginResult(None, generic)


def authenticate(username: str, password: str, now: datetime | None = None) -> LoginResult:
    """Check a login. Consecutive failures lock the account; the caller commits (also on failure).

    An unknown username and a wrong password get the same message and take the same time (a dummy hash is
    checked), so the login page does not tell who has an account. Only an account that is actually locked
    says so, with the minutes left; a deactivated account says so only to someone who knows its password.
    """
    now = now or utcnow()
    user = db.session.scalar(sa.select(User).where(User.username == (username or "").strip()))
    if user is None:
        check_password_hash(_dummy_hash(current_app.config["PASSWORD_HASH_METHOD"]), password)
        return LoginResult(None, _("用户名或密码错误"))
    if user.locked_until is not None and user.locked_until > now:
        return LoginResult(None, _locked_message(user, now))
    if not check_password_hash(user.password_hash, password):
        return _count_failure(user, now)
    if not user.active:
        return LoginResult(None, _("账户已停用，请联系系统管理员"))
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    audit.record(user, "user.login", user, _l("登录：%(u)s", u=user.username))
    return LoginResult(user)


def _check_binding(role: Role, region_id: int | None, insurer_id: int | None) -> tuple[int | None, int | None]:
    if role.needs_county:
        require(region_id, _("该角色需要绑定所属县（市、区）"), "region_id")
    else:
        region_id = None
    if role.needs_insurer:
        require(insurer_id, _("承保机构用户需要绑定所属承保机构"), "insurer_id")
    else:
        insurer_id = None
    return region_id, insurer_id


# 三员分立: who may do what to an account (the views declare the same; the service refuses whatever the caller).
ACCOUNT_CREATORS = frozenset({Role.ADMIN})               # accounts for the business roles, their names and units
ROLE_GRANTORS = frozenset({Role.SECURITY_ADMIN})          # roles, locks and unlocks, password resets


def _actor_role(actor) -> Role | None:
    return getattr(actor, "role", None)


def _require_security_admin(actor) -> None:
    """The security administrator's actions (or the command line's, actor None)."""
    require(actor is None or _actor_role(actor) in ROLE_GRANTORS, _("只有安全管理员可以分配角色、锁定或解锁账户、重置密码"))


def create_user(username: str, display_name: str, role: Role, password: str, actor,
                region_id: int | None = None, insurer_id: int | None = None) -> User:
    """A new account. The system administrator creates accounts of the business roles; an administrator's role
    (系统、安全、审计管理员) is granted by the security administrator only, or from the command line (actor None)."""
    if actor is not None:
        require(_actor_role(actor) in ACCOUNT_CREATORS, _("只有系统管理员可以新建用户"))
        require(role not in ADMINISTRATOR_ROLES, _("管理员角色只能由安全管理员授予"), "role")
    require(password, _("请设置初始密码"), "password")
    username = username.strip()
    require(username, _("请填写用户名"), "username")
    exists = db.session.scalar(sa.select(User.id).where(User.username == username))
    require(exists is None, _("用户名 %(u)s 已被使用", u=username), "username")
    region_id, insurer_id = _check_binding(role, region_id, insurer_id)
    user = User(username=username, display_name=display_name.strip(), role=role, region_id=region_id,
                insurer_id=insurer_id, active=True)
    set_password(user, password)
    # An account created by someone else must choose its own password at first login.
    user.must_change_password = actor is not None
    db.session.add(user)
    db.session.flush()
    audit.record(actor, "user.created", user, _l("新建用户：%(u)s", u=username), role=role.value,
                 region_id=region_id, insurer_id=insurer_id)
    return user


def update_user(user: User, display_name: str, role: Role, region_id: int | None, insurer_id: int | None,
                actor) -> User:
    """Change an account: its name and unit (the system administrator), or its role with the unit the role needs
    (the security administrator). Nobody changes their own role; nobody else's actions are allowed."""
    region_id, insurer_id = _check_binding(role, region_id, insurer_id)
    values = {"display_name": display_name.strip(), "role": role, "region_id": region_id, "insurer_id": insurer_id}
    diff = audit.changes(user, list(values), values)
    if user.id == getattr(actor, "id", None):
        require(role == user.role, _("不能修改自己的角色"), "role")
    if "role" in diff:
        require(_actor_role(actor) in ROLE_GRANTORS, _("只有安全管理员可以分配角色"), "role")
    elif "display_name" in diff or "region_id" in diff or "insurer_id" in diff:
        require(_actor_role(actor) in ACCOUNT_CREATORS, _("只有系统管理员可以修改用户的姓名和所属单位"))
        require(user.role not in ADMINISTRATOR_ROLES or user.id == getattr(actor, "id", None),
                _("管理员账户由安全管理员管理"))
    for key, value in values.items():
        setattr(user, key, value)
    if diff:
        audit.record(actor, "user.updated", user, _l("修改用户：%(u)s", u=user.username), changes=diff)
    return user


def set_active(user: User, active: bool, actor) -> None:
    _require_security_admin(actor)
    require(user.id != getattr(actor, "id", None), _("不能停用自己的账户"))
    if user.active == active:
        return
    user.active = active
    if not active:
        user.end_other_sessions()
    action = "user.activated" if active else "user.deactivated"
    summary = _l("启用用户：%(u)s", u=user.username) if active else _l("停用用户：%(u)s", u=user.username)
    audit.record(actor, action, user, summary)


def reset_password(user: User, new_password: str, actor) -> None:
    _require_security_admin(actor)
    require(user.id != getattr(actor, "id", None), _("请在“修改密码”页面修改自己的密码"))
    set_password(user, new_password)
    user.end_other_sessions()
    user.must_change_password = True
    user.failed_logins = 0
    user.locked_until = None
    audit.record(actor, "user.password_reset", user, _l("重置密码：%(u)s", u=user.username))


def change_own_password(user: User, current_password: str, new_password: str) -> None:
    require(check_password_hash(user.password_hash, current_password), _("当前密码不正确"), "current_password")
    require(current_password != new_password, _("新密码不能与当前密码相同"), "new_password")
    try:
        set_password(user, new_password)
    except DomainError as e:
        raise DomainError(e.message, "new_password") from e
    user.must_change_password = False
    user.end_other_sessions()  # the view signs this session in again under the new epoch
    audit.record(user, "user.password_changed", user, _l("修改密码：%(u)s", u=user.username))


def unlock(user: User, actor, now: datetime | None = None) -> None:
    """End a lockout after repeated wrong passwords (the security administrator), without changing the password."""
    _require_security_admin(actor)
    now = now or utcnow()
    require(user.locked_until is not None and user.locked_until > now, _("该账户未被锁定"))
    user.locked_until = None
    user.failed_logins = 0
    audit.record(actor, "user.unlocked", user, _l("解除锁定：%(u)s", u=user.username))


def security_policy() -> list[tuple[str, str]]:
    """The password, lockout and session rules in force, as (rule, value) for the security administrator's page.
    They are set in the deployment's configuration (environment variables, docs/deploy.md), so that a change is
    a deliberate, reviewed act outside the application."""
    config = current_app.config
    return [
        (_("密码最少字符数"), str(PASSWORD_MIN_LENGTH)),
        (_("密码组成"), _("须同时包含字母和数字，且不得包含用户名")),
        (_("连续登录失败锁定次数"), str(config["LOGIN_MAX_FAILURES"])),
        (_("锁定时长（分钟）"), str(config["LOCKOUT_MINUTES"])),
        (_("空闲自动退出（分钟）"), str(config["SESSION_IDLE_MINUTES"])),
        (_("登录最长有效期（小时）"), str(config["SESSION_MAX_HOURS"])),
        (_("审计日志最短保存期（天）"), str(audit.retention_days())),
    ]


def user_list_actions(actor) -> Actions:
    """What `actor` may do on the user list itself."""
    if _actor_role(actor) in ACCOUNT_CREATORS:
        return Actions([Action("new", _l("新建用户"), "auth.new_user", style="success")])
    return Actions()


def available_actions(user: User, actor, next_url: str | None = None, now: datetime | None = None) -> Actions:
    """What `actor` may do to `user` now: the system administrator edits names and units of the business
    accounts; the security administrator assigns roles, locks (停用) and unlocks, and resets passwords; neither
    acts on their own account here."""
    role, own = _actor_role(actor), user.id == getattr(actor, "id", None)
    now = now or utcnow()
    actions = []
    if role in ACCOUNT_CREATORS and (user.role not in ADMINISTRATOR_ROLES or own):
        actions.append(Action("edit", _l("编辑"), "auth.edit_user", {"user_id": user.id}, style="outline-primary",
                              order=10))
    if role in ROLE_GRANTORS and not own:
        params = {"user_id": user.id, "next": next_url}
        actions.append(Action("role", _l("分配角色"), "auth.user_role", {"user_id": user.id},
                              style="outline-primary", order=20))
        actions.append(Action("toggle_active", _l("停用") if user.active else _l("启用"), "auth.toggle_active", params,
                              post=True, style="outline-danger" if user.active else "outline-success", order=30))
        if user.locked_until is not None and user.locked_until > now:
            actions.append(Action("unlock", _l("解除锁定"), "auth.unlock", params, post=True,
                                  style="outline-warning", order=40))
        actions.append(Action("reset_password", _l("重置密码"), "auth.reset_password", params, post=True, order=50))
    return Actions(actions)


def locked_accounts(now: datetime | None = None) -> int:
    """How many enabled accounts are locked now after repeated wrong passwords (a password reset unlocks one). One
    query."""
    return db.session.scalar(sa.select(sa.func.count(User.id)).where(
        User.active, User.locked_until.is_not(None), User.locked_until > (now or utcnow()))) or 0


# --- API tokens (the JSON API's bearer tokens, made and revoked on the user's own page) ---------------------

TOKEN_PREFIX = "agri_"
TOKEN_NAME_MAX = 60


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def password_mark(user: User) -> str:
    """What a token remembers of its owner's password: a new password (changed or reset) no longer matches."""
    return hashlib.sha256(user.password_hash.encode("utf-8")).hexdigest()


def create_api_token(user: User, name: str, expires_at: datetime | None) -> tuple[ApiToken, str]:
    """A new token for `user`: the row and the secret, which is shown once and never stored. Caller commits."""
    name = (name or "").strip()
    require(name, _("请填写令牌名称"), "name")
    require(len(name) <= TOKEN_NAME_MAX, _("令牌名称不能超过%(n)s个字", n=TOKEN_NAME_MAX), "name")
    require(expires_at is None or expires_at > utcnow(), _("有效期须晚于现在"), "expires_on")
    taken = db.session.scalar(sa.select(ApiToken.id).where(ApiToken.user_id == user.id, ApiToken.name == name,
                                                           ApiToken.revoked_at.is_(None)))
    require(taken is None, _("已有同名的令牌"), "name")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name, token_hash=token_hash(secret), prefix=secret[:12],
                     password_mark=password_mark(user), expires_at=expires_at)
    db.session.add(token)
    db.session.flush()
    audit.record(user, "api_token.created", token, _l("新建接口令牌：%(name)s", name=name),
                 expires_at=expires_at)
    return token, secret


def revoke_api_token(token: ApiToken, user: User) -> None:
    require(token.user_id == user.id, _("只能吊销自己的令牌"))
    if token.revoked_at is not None:
        return
    token.revoked_at = utcnow()
    audit.record(user, "api_token.revoked", token, _l("吊销接口令牌：%(name)s", name=token.name))


def tokens_of(user: User) -> list[ApiToken]:
    return list(db.session.scalars(sa.select(ApiToken).where(ApiToken.user_id == user.id)
                                   .order_by(ApiToken.revoked_at.is_not(None), ApiToken.id.desc())))


def token_refusal(token: ApiToken | None, now: datetime) -> str | None:
    """Why `token` may not be used now (None when it may): unknown, revoked, expired, its owner disabled, locked
    or with a new password since, or still to replace an initial password. The same words for the caller in every
    case but expiry and lockout, so a guessed token learns nothing."""
    invalid = _("接口令牌无效或已吊销")
    if token is None or token.revoked_at is not None:
        return invalid
    user = token.user
    if not user.active or token.password_mark != password_mark(user):
        return invalid
    if token.expires_at is not None and token.expires_at <= now:
        return _("接口令牌已过期")
    if user.locked_until is not None and user.locked_until > now:
        return _("账户已锁定，接口令牌暂不可用")
    if user.must_change_password:
        return _("请先登录页面修改初始密码")
    return None


def token_for(secret: str) -> ApiToken | None:
    return db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == token_hash(secret)))


def touch_token(token_id: int, now: datetime) -> None:
    """Record when a token was last used: at most once a minute, by a statement of its own (a GET writes
    nothing of the request's own; this is the API's bookkeeping, like a login's failure counter)."""
    db.session.execute(sa.update(ApiToken).where(
        ApiToken.id == token_id,
        sa.or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at < now - timedelta(minutes=1)))
        .values(last_used_at=now))
