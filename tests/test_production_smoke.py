"""The production set-up end to end, briefly: gunicorn (gunicorn.conf.py) with two workers and one RQ worker
(`flask worker`) on PostgreSQL and Redis; an insurer logs in, uploads an underwriting list, the import runs through
the queue, and everything stops cleanly on SIGTERM."""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from agri_insurance.config import PROJECT_ROOT
from tests.jobs.test_jobs import REDIS_URL, _redis_or_skip
from tests.underwriting.conftest import claim_for, small_list, world  # noqa: F401 - fixtures
from tests.underwriting.factories import write_csv

pytestmark = pytest.mark.postgres


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Browser:
    """A cookie-keeping HTTP client that sends the page's CSRF token with its forms."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
                                                  _NoRedirect())

    def get(self, path: str):
        return self.opener.open(self.base + path, timeout=30)

    def token(self, path: str) -> str:
        page = self.get(path).read().decode()
        return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)

    def post(self, path: str, data: bytes, content_type: str):
        request = urllib.request.Request(self.base + path, data=data, headers={"Content-Type": content_type})
        try:
            return self.opener.open(request, timeout=60)
        except urllib.error.HTTPError as e:
            return e


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _multipart(fields: dict[str, str], file_field: str, filename: str, content: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; '
                 f'filename="{filename}"\r\nContent-Type: text/csv\r\n\r\n'.encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _wait(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = condition()
        except (OSError, urllib.error.URLError):
            value = None
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"{what}: not within {timeout} s")


def test_gunicorn_and_an_rq_worker_import_a_list_and_stop_cleanly(app, world, db, small_list, tmp_path):  # noqa: F811
    _redis_or_skip()
    claim = claim_for(small_list)
    port = _free_port()
    queue = f"agri_smoke_{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "REDIS_URL": REDIS_URL,
           "JOB_QUEUE": queue, "SECRET_KEY": "smoke-test", "AGRI_INSTANCE_DIR": str(tmp_path),
           "UPLOAD_DIR": str(tmp_path / "uploads"), "BIND": f"127.0.0.1:{port}", "WEB_WORKERS": "2",
           "WEB_THREADS": "2", "FLASK_APP": "wsgi"}
    logs = {name: (tmp_path / f"{name}.log").open("w+") for name in ("web", "worker")}
    web = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py"],
                           cwd=PROJECT_ROOT, env=env, stdout=logs["web"], stderr=subprocess.STDOUT)
    worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "worker"], cwd=PROJECT_ROOT,
                              env=env, stdout=logs["worker"], stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        health = _wait(lambda: json.loads(urllib.request.urlopen(base + "/healthz", timeout=5).read()), 60,
                       "gunicorn answering /healthz")
        assert health == {"status": "ok", "database": "ok", "redis": "ok"}

        browser = Browser(base)
        token = browser.token("/login")
        form = urllib.parse.urlencode({"csrf_token": token, "username": "insurer", "password": "demo1234"})
        assert browser.post("/login", form.encode(), "application/x-www-form-urlencoded").status == 302

        content = write_csv(tmp_path / "list.csv", small_list).read_bytes()
        token = browser.token(f"/underwriting/claims/{claim.id}")
        body, content_type = _multipart({"csrf_token": token}, "file", "清单.csv", content)
        response = browser.post(f"/underwriting/claims/{claim.id}/upload", body, content_type)
        assert response.status == 302 and "/jobs/" in response.headers["Location"], \
            re.findall(r'<(?:div|li|p) class="[^"]*(?:alert|invalid)[^"]*"[^>]*>(.*?)<', response.read().decode(), re.S)
        job_id = int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])
        state = _wait(lambda: (s := json.loads(browser.get(f"/jobs/{job_id}.json").read())) and s["finished"] and s,
                      90, "the import job finishing on the RQ worker")
        assert state["status"] == "done", state
        with db.engine.connect() as conn:
            assert conn.scalar(sa.text("SELECT rows FROM underwriting_lists WHERE claim_id = :c"),
                               {"c": claim.id}) == 40
    finally:
        for process in (web, worker):
            process.send_signal(signal.SIGTERM)
        codes = [process.wait(timeout=40) for process in (web, worker)]
        for log in logs.values():
            log.seek(0)
        output = {name: log.read() for name, log in logs.items()}
        for log in logs.values():
            log.close()
    assert codes == [0, 0], output
    assert "Shutting down" in output["web"] or "Handling signal: term" in output["web"], output["web"][-2000:]
    request_lines = [json.loads(line) for line in output["web"].splitlines()
                     if line.startswith("{") and '"agri_insurance.request"' in line]
    assert any(e["path"] == f"/underwriting/claims/{claim.id}/upload" and e["status"] == 302 and e["request_id"]
               for e in request_lines)
