"""/healthz checks what the site needs (database, Redis when used); logs carry the request's id."""

from __future__ import annotations

import json
import logging

from agri_insurance.logs import JsonFormatter


def test_healthz_answers_for_the_database_and_redis(app, demo, monkeypatch):
    client = app.test_client()
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "redis": "not used"}
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")  # nothing listens there
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "database": "ok", "redis": "unreachable"}


def test_healthz_says_when_the_database_does_not_answer(app, demo, monkeypatch):
    from agri_insurance.extensions import db

    def refuse(*_a, **_k):
        raise ConnectionError("database down")

    with app.app_context():
        monkeypatch.setattr(type(db.engine), "connect", refuse)
        response = app.test_client().get("/healthz")
    assert response.status_code == 503 and response.get_json()["database"] == "unreachable"


def test_each_request_logs_a_line_with_its_request_id(app, demo, caplog):
    client = app.test_client()
    with caplog.at_level(logging.INFO, logger="agri_insurance.request"):
        given = client.get("/login", headers={"X-Request-ID": "nginx-abc123"})
        made = client.get("/login", headers={"X-Request-ID": "bad id <script>"})
    assert given.headers["X-Request-ID"] == "nginx-abc123"
    assert made.headers["X-Request-ID"] != "bad id <script>" and len(made.headers["X-Request-ID"]) == 32
    lines = [r for r in caplog.records if r.name == "agri_insurance.request"]
    assert [(r.method, r.path, r.status) for r in lines] == [("GET", "/login", 200)] * 2
    entry = json.loads(JsonFormatter().format(_with_id(lines[0], "nginx-abc123")))
    assert entry["request_id"] == "nginx-abc123" and entry["status"] == 200 and entry["path"] == "/login"
    assert entry["duration_ms"] >= 0 and entry["level"] == "INFO"


def _with_id(record, request_id):
    record.request_id = request_id  # what the handler's RequestIdFilter adds while the request runs
    return record
