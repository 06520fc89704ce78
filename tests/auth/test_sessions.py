"""Sessions end as GB/T 22239-2019 (level 3) asks: after 30 idle minutes, 12 hours after the login, and at once in
every other browser when the password changes or the account is locked; the login page says why."""

from datetime import timedelta

import pytest
import sqlalchemy as sa
import time_machine

from agri_insurance.auth import service
from agri_insurance.auth.models import User
from agri_insurance.clock import utcnow
from tests.factories import read_text


@pytest.fixture(autouse=True)
def production_lifetimes(app, monkeypatch):
    # the app lives for the whole worker: set back after each test (other tests move the clock by days)
    monkeypatch.setitem(app.config, "SESSION_IDLE_MINUTES", 30)
    monkeypatch.setitem(app.config, "SESSION_MAX_HOURS", 12)


def _user(db, username: str) -> User:
    return db.session.scalar(sa.select(User).where(User.username == username))


def _bounced_with(client, message: str) -> None:
    response = client.get("/subsidies/claims")
    assert response.status_code == 302 and "/login" in response.location
    assert message in read_text(client.get(response.location))
    assert client.get("/").status_code == 302   # and it stays ended


def test_a_session_used_within_30_minutes_goes_on_and_one_idle_longer_ends(login):
    start = utcnow()
    with time_machine.travel(start, tick=False):
        client = login("county_agri")
    for minutes in (29, 58, 87):   # each request within 30 minutes of the last keeps it alive
        with time_machine.travel(start + timedelta(minutes=minutes), tick=False):
            assert client.get("/").status_code == 200
    with time_machine.travel(start + timedelta(minutes=87 + 31), tick=False):
        _bounced_with(client, "30分钟没有操作")


def test_a_session_ends_12_hours_after_its_login_however_busy(login):
    start = utcnow()
    with time_machine.travel(start, tick=False):
        client = login("city_finance")
    minute = 0
    while minute < 12 * 60 - 20:
        minute += 20
        with time_machine.travel(start + timedelta(minutes=minute), tick=False):
            assert client.get("/").status_code == 200, minute
    with time_machine.travel(start + timedelta(hours=12, minutes=1), tick=False):
        _bounced_with(client, "登录已超过12小时")


def test_a_password_change_ends_the_other_sessions_but_not_this_one(login, db):
    office, laptop = login("insurer"), login("insurer")
    response = office.post("/account/password", data={"current_password": "demo1234",
                                                      "new_password": "Nongxian#2026a", "confirm": "Nongxian#2026a"})
    assert response.status_code == 302, read_text(response)
    assert office.get("/subsidies/claims").status_code == 200          # the browser that changed it goes on
    _bounced_with(laptop, "密码已修改或账户已被锁定")


def test_a_reset_or_a_deactivation_by_the_administrator_ends_the_users_sessions(login, db):
    for username, act in (("county_finance", lambda u, admin: service.reset_password(u, "Nongxian#2026b", admin)),
                          ("expert", lambda u, admin: service.set_active(u, False, admin))):
        client = login(username)
        assert client.get("/").status_code == 200
        act(_user(db, username), _user(db, "security_admin"))
        db.session.commit()
        response = client.get("/jobs")
        assert response.status_code == 302 and "/login" in response.location, username


def test_a_lock_after_failed_logins_ends_the_accounts_open_sessions(login, app, db):
    client = login("county_agri")
    attacker = app.test_client()
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        attacker.post("/login", data={"username": "county_agri", "password": "wrong-password"})
    assert _user(db, "county_agri").locked_until is not None
    _bounced_with(client, "密码已修改或账户已被锁定")
