import pytest

from agri_insurance.auth.service import password_problems


@pytest.mark.parametrize("password", ["abc12345", "Shangrao2026", "长度足够的密码abc1"])
def test_acceptable_passwords(app, password):
    with app.test_request_context():
        assert password_problems(password, "wang") == []


@pytest.mark.parametrize("password, expected", [
    ("abc1234", "至少需要8个字符"),
    ("abcdefgh", "字母和数字"),
    ("12345678", "字母和数字"),
    ("wang12345", "不能包含用户名"),
    ("xxWANG1234", "不能包含用户名"),
])
def test_weak_passwords_are_refused_with_a_reason(app, password, expected):
    with app.test_request_context():
        problems = password_problems(password, "wang")
        assert any(expected in p for p in problems), problems


def test_a_reset_password_must_be_changed_before_anything_else(app, login, db):
    import sqlalchemy as sa

    from agri_insurance.auth.models import User

    admin = login("security_admin")
    expert = db.session.scalar(sa.select(User).where(User.username == "expert"))
    admin.post(f"/admin/users/{expert.id}/password", data={"new_password": "Reset2026x"})
    client = app.test_client()
    assert client.post("/login", data={"username": "expert", "password": "Reset2026x"}) \
        .location.endswith("/account/password")
    # Typing another address does not get round it, whatever the method.
    for path in ["/", "/reference/insurers", "/admin/users"]:
        response = client.get(path)
        assert response.status_code == 302 and response.location.endswith("/account/password"), path
    assert client.post("/reference/insurers/new", data={"name": "x"}).location.endswith("/account/password")
    # The page itself, the language switch and logging out still work.
    assert client.get("/account/password").status_code == 200
    assert client.get("/lang/en?next=/account/password").location == "/account/password"
    client.get("/lang/zh_CN")
    response = client.post("/account/password", data={
        "current_password": "Reset2026x", "new_password": "Mine2026x", "confirm": "Mine2026x"})
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_a_user_who_must_change_the_password_can_still_log_out(app, login, db):
    import sqlalchemy as sa

    from agri_insurance.auth.models import User

    user = db.session.scalar(sa.select(User).where(User.username == "expert"))
    user.must_change_password = True
    db.session.commit()
    client = login("expert")
    assert client.post("/logout").location.endswith("/login")
    assert client.get("/").location.startswith("/login")
