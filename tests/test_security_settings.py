"""Security settings of a production deployment: Secure cookies and https when configured, a Content-Security-
Policy that allows no inline script (and pages that need none), HSTS on HTTPS requests."""

from __future__ import annotations

import re

from agri_insurance.config import PROJECT_ROOT, TEST_DATA_KEYS, Config


def test_https_settings_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", "x")
    monkeypatch.setenv("AGRI_INSTANCE_DIR", str(tmp_path))
    for name in ("PREFERRED_URL_SCHEME", "SESSION_COOKIE_SECURE", "TRUSTED_PROXIES"):
        monkeypatch.delenv(name, raising=False)
    plain = Config()
    assert plain.PREFERRED_URL_SCHEME == "http" and not plain.SESSION_COOKIE_SECURE  # `make run` on http
    monkeypatch.setenv("PREFERRED_URL_SCHEME", "https")
    monkeypatch.setenv("TRUSTED_PROXIES", "1")
    monkeypatch.setenv("DATA_KEY", TEST_DATA_KEYS)   # an https deployment refuses to start without its data key
    https = Config()
    assert https.PREFERRED_URL_SCHEME == "https" and https.SESSION_COOKIE_SECURE and https.REMEMBER_COOKIE_SECURE
    assert https.TRUSTED_PROXIES == 1
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "0")  # TLS ended elsewhere and cookies wanted anyway: said so
    assert not Config().SESSION_COOKIE_SECURE


def test_a_secure_deployment_sets_secure_cookies_and_hsts_behind_its_proxy(app, demo, monkeypatch):
    from werkzeug.middleware.proxy_fix import ProxyFix

    monkeypatch.setitem(app.config, "SESSION_COOKIE_SECURE", True)
    client = app.test_client()
    response = client.post("/login", data={"username": "admin", "password": "demo1234"})
    assert response.status_code == 302
    assert any("Secure" in c and c.startswith("session=") for c in response.headers.getlist("Set-Cookie"))
    assert "Strict-Transport-Security" not in response.headers  # plain http: HSTS would be ignored anyway
    monkeypatch.setattr(app, "wsgi_app", ProxyFix(app.wsgi_app, x_proto=1))
    behind_nginx = client.get("/login", headers={"X-Forwarded-Proto": "https"})
    assert behind_nginx.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_pages_carry_a_policy_allowing_no_inline_script(app, demo):
    response = app.test_client().get("/login")
    policy = response.headers["Content-Security-Policy"]
    script_src = re.search(r"script-src ([^;]*)", policy).group(1)
    assert script_src.strip() == "'self'"
    assert "object-src 'none'" in policy


def test_no_template_holds_an_inline_script_or_event_handler():
    inline = []
    for path in sorted((PROJECT_ROOT / "templates").rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        for tag in re.findall(r"<script\b[^>]*>", text):
            if "src=" not in tag and 'type="application/json"' not in tag:
                inline.append(f"{path.name}: {tag}")
        inline += [f"{path.name}: {m}" for m in re.findall(r"\son[a-z]+\s*=", text)]
        inline += [f"{path.name}: javascript:" for _ in re.findall(r"javascript:", text)]
    assert inline == []
