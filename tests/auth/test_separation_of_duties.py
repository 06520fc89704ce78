"""三员分立 (GB/T 22239-2019 level 3): the system, security and audit administrators each do their own work and
nothing of the others', none can give itself another role, and each action leaves its audit entry. Which routes
each may open is in tests/test_access.py (ROUTES); these tests hold the rules the services keep whatever route."""

import pytest
import sqlalchemy as sa

from agri_insurance.audit.models import AuditEntry
from agri_insurance.auth import service
from agri_insurance.auth.models import Role, User
from agri_insurance.errors import DomainError
from agri_insurance.main.navigation import nav_endpoints
from tests.factories import read_text


def _user(db, username):
    db.session.expire_all()
    return db.session.scalar(sa.select(User).where(User.username == username))


def _actions(db, user):
    return list(db.session.scalars(sa.select(AuditEntry.action).where(AuditEntry.object_id == str(user.id))
                                   .order_by(AuditEntry.id)))


def test_the_security_administrator_grants_roles_the_system_administrator_cannot(login, db):
    expert = _user(db, "expert")
    system = login("admin")
    # the system administrator edits the name; its form has no role, and a forged role is ignored
    assert system.post(f"/admin/users/{expert.id}/edit", data={"display_name": "陈教授（新）", "role": "city_agri",
                                                               "region_id": "", "insurer_id": ""}).status_code == 302
    assert _user(db, "expert").role is Role.EXPERT and _user(db, "expert").display_name == "陈教授（新）"
    assert system.post(f"/admin/users/{expert.id}/role", data={"role": "city_agri"}).status_code == 403
    security = login("security_admin")
    assert security.post(f"/admin/users/{expert.id}/role", data={"role": "city_finance", "region_id": "",
                                                                  "insurer_id": ""}).status_code == 302
    assert _user(db, "expert").role is Role.CITY_FINANCE
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "user.updated",
                                                          AuditEntry.object_id == str(expert.id))
                              .order_by(AuditEntry.id.desc()))
    assert entry.actor_name == "security_admin" and entry.details["changes"]["role"] == ["expert", "city_finance"]


def test_no_administrator_grants_itself_another_role(login, db):
    for username in ("admin", "security_admin", "audit_admin"):
        me = _user(db, username)
        for role in Role:
            if role is me.role:
                continue
            with pytest.raises(DomainError):
                service.update_user(me, me.display_name, role, None, None, me)
            db.session.rollback()
        assert _user(db, username).role is me.role
    # nor through the pages
    security = login("security_admin")
    me = _user(db, "security_admin")
    security.post(f"/admin/users/{me.id}/role", data={"role": "admin"})
    assert _user(db, "security_admin").role is Role.SECURITY_ADMIN


def test_the_system_administrator_creates_no_administrator(login, db):
    system = login("admin")
    response = system.post("/admin/users/new", data={"username": "sneaky", "display_name": "x",
                                                     "role": "audit_admin", "password": "Abcdef123"})
    assert response.status_code == 400 and _user(db, "sneaky") is None   # not among the form's roles
    with pytest.raises(DomainError, match="管理员角色只能由安全管理员授予"):   # nor through the service
        service.create_user("sneaky", "x", Role.AUDIT_ADMIN, "Abcdef123", _user(db, "admin"))
    db.session.rollback()
    # nor edits the other administrators' accounts
    audit_admin = _user(db, "audit_admin")
    with pytest.raises(DomainError):
        service.update_user(audit_admin, "改名", audit_admin.role, None, None, _user(db, "admin"))


def test_each_administrator_is_refused_the_others_actions_in_the_service(demo, db):
    system, security, auditor = (_user(db, n) for n in ("admin", "security_admin", "audit_admin"))
    expert = _user(db, "expert")
    for actor in (system, auditor):
        for act in (lambda a: service.set_active(expert, False, a),
                    lambda a: service.reset_password(expert, "Reset2026x", a),
                    lambda a: service.unlock(expert, a),
                    lambda a: service.update_user(expert, expert.display_name, Role.CITY_AGRI, None, None, a)):
            with pytest.raises(DomainError):
                act(actor)
            db.session.rollback()
    for actor in (security, auditor):
        with pytest.raises(DomainError):
            service.create_user("newone", "x", Role.EXPERT, "Abcdef123", actor)
        db.session.rollback()


def test_the_security_administrator_unlocks_a_locked_account_and_it_is_audited(login, db, app):
    for _attempt in range(app.config["LOGIN_MAX_FAILURES"]):
        app.test_client().post("/login", data={"username": "expert", "password": "wrong-password1"})
    expert = _user(db, "expert")
    assert expert.locked_until is not None
    security = login("security_admin")
    page = read_text(security.get("/admin/users?q=expert"))
    assert "解除锁定" in page
    assert security.post(f"/admin/users/{expert.id}/unlock").status_code == 302
    assert _user(db, "expert").locked_until is None
    assert app.test_client().post("/login", data={"username": "expert", "password": "demo1234"}).status_code == 302
    assert _actions(db, expert)[-2:] == ["user.unlocked", "user.login"]


def test_the_audit_administrator_reads_the_log_and_nothing_else(login, db):
    auditor = login("audit_admin")
    assert auditor.get("/audit/").status_code == 200
    for url in ("/admin/users", "/reference/regions", "/tenders/", "/jobs", "/subsidies/claims", "/admin/security"):
        assert auditor.get(url).status_code == 403, url
    home = read_text(auditor.get("/"))
    assert 'href="/reference/regions"' not in home and 'href="/audit/"' in home   # no link to what it may not open
    menu = nav_endpoints(_user(db, "audit_admin"))
    assert set(menu) == {"main.dashboard", "audit.entries", "audit.data_views"}
    assert set(nav_endpoints(_user(db, "security_admin"))) == {"main.dashboard", "auth.users",
                                                               "auth.security_settings"}
    assert "audit.entries" not in nav_endpoints(_user(db, "admin"))


def test_the_security_policy_page_shows_the_rules_in_force(login, app):
    page = read_text(login("security_admin").get("/admin/security"))
    assert "空闲自动退出（分钟）" in page and "审计日志最短保存期（天）" in page and "180" in page
