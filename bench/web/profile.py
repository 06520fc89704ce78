"""Where a page's time goes, one request at a time, in this process (no server, no login written): for each page of
bench/web/run.py, the SQL statements one request issues, their time, and the whole request's time (median of
`--repeat` requests after one to warm up); `--statements` lists each statement with its time, slowest first.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench_web10 .venv/bin/python -m bench.web.profile

The database is opened read-only (every transaction `default_transaction_read_only`): the session is set in the test
client's cookie instead of a login, so nothing is written, and the benchmark's own database can be read while
another run uses it.
"""

from __future__ import annotations

import argparse
import contextvars
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
READ_ONLY = "options=-c%20default_transaction_read_only%3Don"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--statements", action="store_true", help="each statement's time, slowest first")
    parser.add_argument("--page", action="append", help="only pages whose label contains this")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/bench_web")
    os.environ["DATABASE_URL"] = url + ("&" if "?" in url else "?") + READ_ONLY
    sys.path.insert(0, ROOT)
    from bench.web.run import BENCH_DATA_KEY, PAGES, page_ids

    os.environ["DATA_KEY"] = BENCH_DATA_KEY
    import sqlalchemy as sa

    from agri_insurance import create_app
    from agri_insurance.auth.models import User
    from agri_insurance.config import Config
    from agri_insurance.extensions import db

    app = create_app(Config())
    ids = page_ids(url)
    with app.app_context():
        engine = db.engine
        users = {u.username: u.get_id() for u in db.session.scalars(sa.select(User))}

    def get(client, path):
        """A request in an empty context, as production runs it (no app context, `g` or session shared)."""
        return contextvars.Context().run(client.get, path)

    timings: list[tuple[float, str]] = []
    started: list[float] = []

    def before(_conn, _cursor, statement, *_args):
        started.append(time.perf_counter())

    def after(_conn, _cursor, statement, *_args):
        timings.append((time.perf_counter() - started.pop(), statement))

    print("| page | statements | SQL ms | request ms | HTML kB |")
    print("|---|---|---|---|---|")
    details = []
    for label, role, path in PAGES:
        if args.page and not any(p in label for p in args.page):
            continue
        path = path.format(**ids)
        client = app.test_client()
        if role:
            with client.session_transaction() as session:
                session["_user_id"] = users[role]
                session["_fresh"] = True
                session["signed_in_at"] = session["seen_at"] = time.time()
        warm = get(client, path)
        assert warm.status_code == 200, (path, warm.status_code, warm.headers.get("Location"), warm.data[-2000:])
        totals, sql, counts = [], [], []
        for _ in range(args.repeat):
            timings.clear()
            sa.event.listen(engine, "before_cursor_execute", before)
            sa.event.listen(engine, "after_cursor_execute", after)
            t0 = time.perf_counter()
            response = get(client, path)
            totals.append(time.perf_counter() - t0)
            sa.event.remove(engine, "before_cursor_execute", before)
            sa.event.remove(engine, "after_cursor_execute", after)
            assert response.status_code == 200, (path, response.status_code)
            sql.append(sum(t for t, _s in timings))
            counts.append(len(timings))
        print(f"| {label} | {counts[-1]} | {statistics.median(sql) * 1000:,.1f} | "
              f"{statistics.median(totals) * 1000:,.1f} | {len(response.data) / 1024:,.0f} |", flush=True)
        details.append((label, sorted(timings, reverse=True)))
    if args.statements:
        for label, statements in details:
            print(f"\n## {label}")
            for t, statement in statements:
                print(f"{t * 1000:8.1f} ms  {' '.join(statement.split())[:300]}")


if __name__ == "__main__":
    main()
