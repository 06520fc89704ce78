"""Load benchmark of the pages that grow with the years (issue 23), beside the login page of the same server.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench_web .venv/bin/python -m bench.web.generate --scale 1
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench_web .venv/bin/python -m bench.web.run --seconds 10

Starts gunicorn with the production settings (gunicorn.conf.py: 2 workers, 4 threads; REDIS_URL for its jobs, as
`make serve`), on a free loopback port; logs each role in once per client; then, page by page, two concurrent
clients (threads, each with its own keep-alive connection and session) request the page for a fixed number of
seconds. Reported per page: requests per second, p50 and p95 latency, the HTML size, and the SQL statements one
request issues (counted in this process by rendering the page once with a statement counter on the same
database). Loopback only; nothing is written but the logins' audit entries. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from urllib.parse import urlencode

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PASSWORD = "demo1234"   # agri_insurance.demo.DEMO_PASSWORD
# The key set bench/web/generate.py seals the benchmark's personal data with (fictional, not secret: the data is
# made up); the server and the in-process counts open it with the same, whichever checkout runs them.
BENCH_DATA_KEY = "hash:YmVuY2gtd2ViLWhhc2gta2V5LW5vdC1hLXNlY3JldCE=\nk1:YmVuY2gtd2ViLWRhdGEta2V5LW5vdC1hLXNlY3JldCE="
# (label, role or None for anonymous, path; "{round}": the round with the most lots, generate.py's 60 (600 at 10×);
# "{list}": the claim with the longest underwriting list, generate.py's 200,000 rows (2,000,000 at 10×))
PAGES = [
    ("login page (anchor)", None, "/login"),
    ("city_agri dashboard", "city_agri", "/"),
    ("overdue list", "city_agri", "/subsidies/overdue"),
    ("claims list", "city_agri", "/subsidies/claims"),
    ("ledger", "city_agri", "/subsidies/ledger?year=2025"),
    ("insurer dashboard", "insurer", "/"),
    ("county_finance dashboard", "county_finance", "/"),
    ("round page", "city_agri", "/tenders/{round}"),
    ("audit log", "city_agri", "/audit/"),
    ("underwriting list page", "city_agri", "/underwriting/claims/{list}"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Client:
    """One browser: a keep-alive connection and a session cookie."""

    def __init__(self, port: int):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: str | None = None) -> tuple[int, bytes, http.client.HTTPResponse]:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
        except (http.client.HTTPException, OSError):
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
        data = response.read()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        return response.status, data, response

    def login(self, username: str) -> None:
        _status, page, _r = self.request("GET", "/login")
        token = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', page) or \
            re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page)
        body = urlencode({"csrf_token": token.group(1).decode(), "username": username, "password": PASSWORD})
        status, _data, response = self.request("POST", "/login", body)
        if status != 302 or "/login" in (response.getheader("Location") or ""):
            raise SystemExit(f"login of {username} failed: {status}")


def _load(clients: list[Client], path: str, seconds: float) -> tuple[list[float], int, float]:
    latencies: list[float] = []
    sizes: list[int] = []
    errors: list[int] = []
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def work(client: Client):
        mine, mine_sizes = [], []
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            status, data, _r = client.request("GET", path)
            mine.append(time.perf_counter() - started)
            mine_sizes.append(len(data))
            if status != 200:
                errors.append(status)
        with lock:
            latencies.extend(mine)
            sizes.extend(mine_sizes)

    started = time.perf_counter()
    threads = [threading.Thread(target=work, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise SystemExit(f"{path}: {len(errors)} responses not 200 ({sorted(set(errors))})")
    return latencies, (max(sizes) if sizes else 0), elapsed


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def query_counts(paths: list[tuple[str | None, str]]) -> dict[str, int]:
    """SQL statements of one request per (role, path), rendered in this process against DATABASE_URL."""
    sys.path.insert(0, ROOT)
    import sqlalchemy as sa

    from agri_insurance import create_app
    from agri_insurance.config import Config
    from agri_insurance.extensions import db

    config = Config()
    config.WTF_CSRF_ENABLED = False
    app = create_app(config)
    counts: dict[str, int] = {}
    with app.app_context():
        engine = db.engine
        for role, path in paths:
            client = app.test_client()
            if role:
                client.post("/login", data={"username": role, "password": PASSWORD})
            client.get(path)   # warm
            statements: list[int] = []

            def listener(*_args, statements=statements):
                statements.append(1)

            sa.event.listen(engine, "before_cursor_execute", listener)
            try:
                client.get(path)
            finally:
                sa.event.remove(engine, "before_cursor_execute", listener)
            counts[f"{role}:{path}"] = len(statements)
    return counts


def page_ids(url: str) -> dict[str, int]:
    """What the pages' paths name: the round with the most lots and the claim with the longest underwriting list."""
    import psycopg
    from sqlalchemy.engine import make_url

    with psycopg.connect(make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)) as conn:
        rnd = conn.execute("SELECT round_id FROM lots GROUP BY round_id ORDER BY count(*) DESC, round_id "
                           "LIMIT 1").fetchone()
        lst = conn.execute("SELECT claim_id FROM underwriting_lists ORDER BY rows DESC, id LIMIT 1").fetchone()
        return {"round": rnd[0] if rnd else 1, "list": lst[0] if lst else 1}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="per page, two clients at once")
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--redis", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14"))
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/bench_web")
    os.environ["DATABASE_URL"] = url
    os.environ["DATA_KEY"] = BENCH_DATA_KEY
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": args.redis, "BIND": f"127.0.0.1:{port}",
           "WEB_WORKERS": "2", "SECRET_KEY": "bench-web-not-secret", "LOG_LEVEL": "WARNING"}
    server = subprocess.Popen([os.path.join(ROOT, ".venv/bin/gunicorn"), "-c", "gunicorn.conf.py"], cwd=ROOT,
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    try:
        for _ in range(120):
            try:
                if Client(port).request("GET", "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        else:
            raise SystemExit("gunicorn did not answer /healthz")
        ids = page_ids(url)
        pages = [(label, role, path.format(**ids)) for label, role, path in PAGES]
        sessions: dict[str | None, list[Client]] = {}
        for _label, role, _path in pages:
            if role not in sessions:
                sessions[role] = [Client(port) for _ in range(args.clients)]
                for client in sessions[role]:
                    if role:
                        client.login(role)
        counts = query_counts([(role, path) for _label, role, path in pages])
        load = open("/proc/loadavg").read().split()[:3]
        print(f"load average before: {' '.join(load)}; {args.clients} clients, {args.seconds:g} s per page; "
              f"round {ids['round']}, list of claim {ids['list']}\n")
        print("| page | queries | HTML | req/s | p50 ms | p95 ms |")
        print("|---|---|---|---|---|---|")
        for label, role, path in pages:
            clients = sessions[role]
            for client in clients:          # warm each worker's caches and the connection
                client.request("GET", path)
            latencies, size, elapsed = _load(clients, path, args.seconds)
            print(f"| {label} | {counts[f'{role}:{path}']} | {size / 1024:,.0f} kB | {len(latencies) / elapsed:,.1f} | "
                  f"{statistics.median(latencies) * 1000:,.1f} | {_percentile(latencies, 0.95) * 1000:,.1f} |",
                  flush=True)
        print(f"\nload average after: {' '.join(open('/proc/loadavg').read().split()[:3])}")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)


if __name__ == "__main__":
    main()
