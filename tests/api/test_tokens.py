"""API tokens: made and revoked on the user's own page, shown once, stored hashed; bearer authentication with the
same user as the pages; a revoked or expired token, a locked account, a password change end its use."""

from datetime import timedelta

import sqlalchemy as sa
import time_machine

from agri_insurance.audit.models import AuditEntry
from agri_insurance.auth.models import ApiToken
from agri_insurance.clock import utcnow
from tests.api.conftest import bearer
from tests.subsidies.factories import user


def me(app, secret):
    return app.test_client().get("/api/v1/reference/insurers", headers=bearer(secret))


def test_a_token_is_made_on_the_users_page_shown_once_and_stored_hashed(app, tokens, login, db):
    secret = tokens.page_token("insurer", "核心系统")
    stored = db.session.scalar(sa.select(ApiToken))
    assert stored.name == "核心系统" and stored.token_hash != secret and secret not in stored.token_hash
    assert secret.startswith(stored.prefix)
    page = login("insurer").get("/account/tokens").get_data(as_text=True)
    assert "核心系统" in page and secret not in page     # listed by name and prefix, never shown again
    assert stored.last_used_at is None
    assert me(app, secret).status_code == 200
    db.session.expire_all()
    assert db.session.get(ApiToken, stored.id).last_used_at is not None
    assert "核心系统" in login("insurer").get("/account/tokens").get_data(as_text=True)


def test_a_name_is_required_and_unique_among_live_tokens(tokens, login, db):
    tokens.page_token("insurer", "a")
    response = login("insurer").post("/account/tokens", data={"name": "a"})
    assert response.status_code == 400 and "已有同名的令牌" in response.get_data(as_text=True)


def test_a_revoked_token_is_refused(app, tokens, login, db):
    secret = tokens.page_token("insurer", "old")
    token = db.session.scalar(sa.select(ApiToken))
    # another user cannot revoke it (404: as if it did not exist)
    assert login("county_agri").post(f"/account/tokens/{token.id}/revoke").status_code == 404
    assert me(app, secret).status_code == 200
    assert login("insurer").post(f"/account/tokens/{token.id}/revoke").status_code == 302
    response = me(app, secret)
    assert response.status_code == 401 and response.mimetype == "application/problem+json"
    assert response.get_json()["detail"] == "接口令牌无效或已吊销"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    actions = db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert "api_token.created" in actions and "api_token.revoked" in actions


def test_an_expired_token_is_refused_from_the_day_after_its_last_day(app, tokens, db):
    secret = tokens.page_token("insurer", "short", expires_on="2026-12-31")
    with time_machine.travel("2026-12-31 15:00:00+00:00", tick=False):   # 23:00 in Shanghai: still valid
        assert me(app, secret).status_code == 200
    with time_machine.travel("2026-12-31 16:00:01+00:00", tick=False):   # 1 January, 00:00 in Shanghai
        response = me(app, secret)
        assert response.status_code == 401 and response.get_json()["detail"] == "接口令牌已过期"


def test_a_locked_account_or_a_new_password_ends_the_tokens_use(app, tokens, login, db):
    secret = tokens("insurer")
    owner = user("insurer")
    owner.locked_until = utcnow() + timedelta(minutes=15)
    db.session.commit()
    assert me(app, secret).status_code == 401
    owner.locked_until = None
    db.session.commit()
    assert me(app, secret).status_code == 200
    client = login("insurer")
    assert client.post("/account/password", data={"current_password": "demo1234", "new_password": "newpass123",
                                                  "confirm": "newpass123"}).status_code == 302
    assert me(app, secret).status_code == 401
    # and a deactivated account
    other = tokens("county_agri")
    user("county_agri").active = False
    db.session.commit()
    assert me(app, other).status_code == 401


def test_a_session_cookie_does_not_authenticate_the_api(login):
    client = login("insurer")
    assert client.get("/subsidies/claims").status_code == 200
    response = client.get("/api/v1/reference/insurers")
    assert response.status_code == 401 and response.mimetype == "application/problem+json"


def test_token_requests_need_no_csrf_token_but_pages_still_do(app, tokens, db):
    from tests.subsidies.factories import assign

    assign()
    db.session.commit()
    secret = tokens("insurer")
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = app.test_client().post("/api/v1/subsidies/claims", json={}, headers=bearer(secret))
        assert response.status_code == 422   # refused for its input, not for a missing CSRF token
        page = app.test_client().post("/login", data={"username": "insurer", "password": "demo1234"})
        assert page.status_code == 400
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_the_rate_limit_counts_per_token(app, tokens, db):
    first, second = tokens("insurer", "a"), tokens("insurer", "b")
    app.config["API_RATE_LIMIT"] = "3 per minute"
    try:
        client = app.test_client()
        answers = [client.get("/api/v1/reference/products", headers=bearer(first)).status_code for _ in range(4)]
        assert answers == [200, 200, 200, 429]
        refused = client.get("/api/v1/reference/products", headers=bearer(first))
        assert refused.mimetype == "application/problem+json" and refused.headers.get("Retry-After")
        assert client.get("/api/v1/reference/products", headers=bearer(second)).status_code == 200
    finally:
        app.config["API_RATE_LIMIT"] = "120 per minute"
