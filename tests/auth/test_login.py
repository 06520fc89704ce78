from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import time_machine

from agri_insurance.audit.models import AuditEntry
from agri_insurance.auth.models import User
from tests.factories import read_text


def test_login_lands_on_the_dashboard_in_chinese(login):
    client = login("city_agri")
    page = read_text(client.get("/"))
    assert "欢迎，市农业农村局 王科长" in page
    assert "基础数据" in page


def test_wrong_password_is_refused_without_saying_which_part_was_wrong(client, demo):
    known = client.post("/login", data={"username": "city_agri", "password": "wrong-pass1"})
    assert known.status_code == 401
    assert "用户名或密码错误" in read_text(known)
    assert "再失败" not in read_text(known)
    unknown = client.post("/login", data={"username": "nobody", "password": "wrong-pass1"})
    assert unknown.status_code == 401
    # The same page, apart from the username typed back into the form: nothing tells who has an account.
    assert read_text(known).replace("city_agri", "?") == read_text(unknown).replace("nobody", "?")


def test_a_deactivated_account_with_a_wrong_password_looks_like_any_wrong_password(client, demo, db):
    user = db.session.scalar(sa.select(User).where(User.username == "expert"))
    user.active = False
    db.session.commit()
    page = read_text(client.post("/login", data={"username": "expert", "password": "wrong-pass1"}))
    assert "用户名或密码错误" in page and "停用" not in page


def test_an_unknown_username_costs_a_password_check_too(client, demo, monkeypatch):
    """No timing difference: an unknown user is checked against a dummy hash."""
    from agri_insurance.auth import service

    checked = []
    real = service.check_password_hash
    monkeypatch.setattr(service, "check_password_hash", lambda h, p: checked.append(h) or real(h, p))
    client.post("/login", data={"username": "nobody", "password": "wrong-pass1"})
    client.post("/login", data={"username": "city_agri", "password": "wrong-pass1"})
    assert len(checked) == 2
    assert checked[0].split("$")[0] == checked[1].split("$")[0]  # same method and cost


def test_failures_are_counted_in_the_database_not_from_a_stale_copy(app, demo, db):
    """Parallel wrong passwords must each count: the increment is done by the database on the current value.

    Here this session holds the user with failed_logins=0 while another request (another connection) has
    meanwhile counted four failures; the fifth failure must lock the account, not write back 0 + 1."""
    from agri_insurance.auth import service

    user = db.session.scalar(sa.select(User).where(User.username == "insurer"))
    assert user.failed_logins == 0
    with db.engine.begin() as other:
        other.execute(sa.update(User).where(User.id == user.id).values(failed_logins=4))
    result = service.authenticate("insurer", "bad-guess1")
    db.session.commit()
    assert "账户已锁定" in result.error
    db.session.expire_all()
    user = db.session.get(User, user.id)
    assert user.locked_until is not None and user.failed_logins == 0


def test_each_failure_adds_one_to_what_the_database_holds(app, demo, db):
    from agri_insurance.auth import service

    user = db.session.scalar(sa.select(User).where(User.username == "insurer"))
    with db.engine.begin() as other:
        other.execute(sa.update(User).where(User.id == user.id).values(failed_logins=2))
    service.authenticate("insurer", "bad-guess1")
    db.session.commit()
    assert db.session.scalar(sa.select(User.failed_logins).where(User.id == user.id)) == 3


def test_logout_ends_the_session(login):
    client = login("county_agri")
    assert client.post("/logout").status_code == 302
    response = client.get("/")
    assert response.status_code == 302 and "/login" in response.location


def test_five_failures_lock_the_account_for_15_minutes(client, demo, db):
    start = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        for _ in range(4):
            response = client.post("/login", data={"username": "insurer", "password": "bad-guess1"})
            assert "用户名或密码错误" in read_text(response) and "锁定" not in read_text(response)
        # Only an account that is actually locked says so.
        response = client.post("/login", data={"username": "insurer", "password": "bad-guess1"})
        assert "账户已锁定" in read_text(response)
        # Even the right password is refused while locked, and the user is told why.
        response = client.post("/login", data={"username": "insurer", "password": "demo1234"})
        assert response.status_code == 401
        assert "账户已锁定，请15分钟后再试" in read_text(response)
    with time_machine.travel(start + timedelta(minutes=14), tick=False):
        response = client.post("/login", data={"username": "insurer", "password": "demo1234"})
        assert "账户已锁定，请1分钟后再试" in read_text(response)
    with time_machine.travel(start + timedelta(minutes=15, seconds=1), tick=False):
        response = client.post("/login", data={"username": "insurer", "password": "demo1234"})
        assert response.status_code == 302
    actions = db.session.scalars(sa.select(AuditEntry.action).where(AuditEntry.action == "user.locked")).all()
    assert actions == ["user.locked"]


def test_a_success_resets_the_failure_count(client, demo, db):
    for _ in range(4):
        client.post("/login", data={"username": "expert", "password": "bad-guess1"})
    assert client.post("/login", data={"username": "expert", "password": "demo1234"}).status_code == 302
    db.session.expire_all()
    user = db.session.scalar(sa.select(User).where(User.username == "expert"))
    assert user.failed_logins == 0 and user.locked_until is None


def test_deactivated_user_cannot_log_in_and_is_told(client, demo, db):
    user = db.session.scalar(sa.select(User).where(User.username == "expert"))
    user.active = False
    db.session.commit()
    response = client.post("/login", data={"username": "expert", "password": "demo1234"})
    assert response.status_code == 401
    assert "账户已停用" in read_text(response)


def test_post_without_csrf_token_is_rejected(app, login):
    client = login("admin")
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = client.post("/reference/insurers/new", data={"name": "无令牌保险公司"})
        assert response.status_code == 400
        assert "表单安全校验失败" in read_text(response)
        response = client.post("/logout")
        assert response.status_code == 400
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_login_page_redirect_stays_on_this_site(client, demo):
    response = client.post("/login?next=//evil.example/x", data={"username": "admin", "password": "demo1234"})
    assert response.location == "/"


def test_change_own_password(login, app):
    client = login("expert")
    response = client.post("/account/password", data={
        "current_password": "demo1234", "new_password": "short", "confirm": "short"})
    assert response.status_code == 400 and "至少需要8个字符" in read_text(response)
    response = client.post("/account/password", data={
        "current_password": "demo1234", "new_password": "Newpass2026", "confirm": "Newpass2026"})
    assert response.status_code == 302
    fresh = app.test_client()
    assert fresh.post("/login", data={"username": "expert", "password": "demo1234"}).status_code == 401
    assert fresh.post("/login", data={"username": "expert", "password": "Newpass2026"}).status_code == 302


def test_language_switch_shows_english(login):
    client = login("city_agri")
    client.get("/lang/en?next=/")
    page = read_text(client.get("/"))
    assert "Welcome, " in page and "Reference data" in page
    client.get("/lang/zh_CN?next=/")
    assert "基础数据" in read_text(client.get("/"))
