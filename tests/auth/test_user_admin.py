import sqlalchemy as sa

from agri_insurance.audit.models import AuditEntry
from agri_insurance.auth.models import Role, User
from tests.factories import county, read_text


def _user(db, username):
    db.session.expire_all()
    return db.session.scalar(sa.select(User).where(User.username == username))


def test_admin_creates_a_county_user_who_must_change_the_password(login, db, app):
    admin = login("admin")
    response = admin.post("/admin/users/new", data={
        "username": "wuyuan_agri", "display_name": "婺源县农业农村局", "role": "county_agri",
        "region_id": str(county("361130").id), "insurer_id": "", "password": "Wuyuan2026"})
    assert response.status_code == 302
    user = _user(db, "wuyuan_agri")
    assert user.role is Role.COUNTY_AGRI and user.region.code == "361130" and user.must_change_password
    client = app.test_client()
    response = client.post("/login", data={"username": "wuyuan_agri", "password": "Wuyuan2026"})
    assert response.location.endswith("/account/password")
    audit = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "user.created",
                                                          AuditEntry.object_id == str(user.id)))
    assert audit.actor_name == "admin" and audit.details["region_id"] == user.region_id


def test_county_role_without_county_is_refused_on_the_field(login, db):
    admin = login("admin")
    response = admin.post("/admin/users/new", data={
        "username": "nocounty", "display_name": "x", "role": "county_finance", "region_id": "",
        "insurer_id": "", "password": "Abcdef123"})
    assert response.status_code == 400
    assert "该角色需要绑定所属县" in read_text(response)
    assert _user(db, "nocounty") is None


def test_duplicate_username_is_refused(login):
    admin = login("admin")
    response = admin.post("/admin/users/new", data={
        "username": "expert", "display_name": "x", "role": "expert", "password": "Abcdef123"})
    assert response.status_code == 400 and "已被使用" in read_text(response)


def test_deactivate_and_reset_password(login, db, app):
    admin = login("security_admin")   # locks, unlocks and password resets are the security administrator's
    expert = _user(db, "expert")
    assert admin.post(f"/admin/users/{expert.id}/active").status_code == 302
    assert not _user(db, "expert").active
    assert app.test_client().post("/login", data={"username": "expert", "password": "demo1234"}).status_code == 401
    admin.post(f"/admin/users/{expert.id}/active")
    admin.post(f"/admin/users/{expert.id}/password", data={"new_password": "Reset2026x"})
    client = app.test_client()
    response = client.post("/login", data={"username": "expert", "password": "Reset2026x"})
    assert response.location.endswith("/account/password")
    actions = set(db.session.scalars(sa.select(AuditEntry.action).where(AuditEntry.object_id == str(expert.id))))
    assert {"user.deactivated", "user.activated", "user.password_reset"} <= actions


def test_the_security_administrator_cannot_deactivate_itself(login, db):
    admin = login("security_admin")
    me = _user(db, "security_admin")
    admin.post(f"/admin/users/{me.id}/active")
    assert _user(db, "security_admin").active


def test_changing_role_to_insurer_requires_an_insurer(login, db):
    admin = login("security_admin")   # roles are the security administrator's
    expert = _user(db, "expert")
    response = admin.post(f"/admin/users/{expert.id}/role", data={"role": "insurer", "region_id": "",
                                                                  "insurer_id": ""})
    assert response.status_code == 400 and "承保机构用户需要绑定" in read_text(response)
    assert _user(db, "expert").role is Role.EXPERT
