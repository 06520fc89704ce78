"""Fill a PostgreSQL database with a city's years of claims for the page benchmark (bench/web/run.py).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench_web .venv/bin/python -m bench.web.generate --scale 1

The database is dropped and created again, migrated, and given the demo data (`flask demo-data`: reference data,
fictional insurers, schemes, one user per role, the demo rounds). Then, by bulk SQL (COPY), at `--scale` times the
volume of issue 23: 3,000 subsidy claims over the 12 counties, 6 insurers and 3 years (2024–2026), each with its
five shares (exact: the county's share is the remainder), 4,200 payments (600 claims paying, 900 settled), and
100,000 audit entries. Seeded: the same scale gives the same data. At the end VACUUM ANALYZE: the statistics, as
after any bulk load, and the visibility map autovacuum keeps in a database in use (index-only scans read it).

Not generated (yet): the round with 60 lots and the 200k-row underwriting list of the issue's table (their pages
are measured with what the demo data has; bench/underwriting times the list import itself).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg
from sqlalchemy.engine import make_url

from agri_insurance.subsidies.service import FILL_DUE_DATES

CLAIMS, PAYING, SETTLED, SUBMITTED, AUDIT = 3_000, 600, 900, 300, 100_000
YEARS = (2024, 2025, 2026)
SHARES = (("central", Decimal("0.45")), ("provincial", Decimal("0.25")), ("city", Decimal("0.05")),
          ("county", None), ("farmer", Decimal("0.20")))   # county: the remainder (5 %)
FEN = Decimal("0.01")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _psycopg_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def recreate(url: str) -> None:
    target = make_url(url)
    admin = _psycopg_url(target.set(database="postgres").render_as_string(hide_password=False))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{target.database}"')
    env = {**os.environ, "DATABASE_URL": url, "FLASK_APP": "wsgi"}
    flask = [sys.executable, "-m", "flask"]
    subprocess.run([*flask, "db", "upgrade", "heads"], check=True, env=env, cwd=ROOT, capture_output=True)
    subprocess.run([*flask, "demo-data"], check=True, env=env, cwd=ROOT, capture_output=True)


def _copy(conn, table: str, columns: list[str], rows) -> int:
    n = 0
    with conn.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            n += 1
    return n


def fill(url: str, scale: int, seed: int = 23) -> dict:
    rng = random.Random(seed)
    with psycopg.connect(_psycopg_url(url)) as conn:
        one = lambda sql: [r[0] for r in conn.execute(sql).fetchall()]  # noqa: E731
        counties = one("SELECT id FROM regions WHERE level = 'county' ORDER BY code")
        insurers = one("SELECT id FROM insurers ORDER BY id")[:6]
        products = one("SELECT id FROM products ORDER BY id")
        insurer_user = one("SELECT id FROM users WHERE username = 'insurer'")[0]
        verifier = one("SELECT id FROM users WHERE username = 'county_agri'")[0]
        payer = one("SELECT id FROM users WHERE username = 'city_finance'")[0]
        claim_id = (one("SELECT coalesce(max(id), 0) FROM subsidy_claims")[0]) + 1
        total = CLAIMS * scale
        statuses = (["settled"] * SETTLED + ["paying"] * PAYING + ["submitted"] * SUBMITTED
                    + ["verified"] * (CLAIMS - SETTLED - PAYING - SUBMITTED)) * scale
        rng.shuffle(statuses)
        claims, shares, payments = [], [], []
        for n, status in enumerate(statuses):
            cid = claim_id + n
            year = YEARS[n % len(YEARS)]
            premium = Decimal(rng.randint(2_000_000, 500_000_000)) / 100
            amounts = {}
            for level, pct in SHARES:
                if pct is not None:
                    amounts[level] = (premium * pct).quantize(FEN)
            amounts["county"] = premium - sum(amounts.values())
            created = datetime(year, 1, 1) + timedelta(days=rng.randint(0, 300), hours=rng.randint(0, 23))
            submitted = created + timedelta(days=rng.randint(1, 10))
            verified = submitted + timedelta(days=rng.randint(1, 15)) if status != "submitted" else None
            now = datetime.now(UTC).replace(tzinfo=None)
            if verified is not None and verified > now:
                verified = now - timedelta(days=rng.randint(1, 40))
                submitted = min(submitted, verified)
                created = min(created, submitted)
            settled = verified + timedelta(days=rng.randint(5, 60)) if status == "settled" else None
            claims.append((cid, insurers[n % len(insurers)], counties[(n // len(insurers)) % len(counties)],
                           products[n % len(products)], year, f"{year}年第{n + 1}批", premium / 1000 * 20, "亩",
                           premium * 20, Decimal("5.0000"), premium, amounts["farmer"], 100, 100, status,
                           insurer_user, created, submitted, verified, verifier if verified else None,
                           30 if verified else None, False, "经核验，清单与申请一致。" if verified else None,
                           settled, (settled or verified or submitted)))
            paid = {level: Decimal("0.00") for level in amounts}
            if status == "settled":
                for level in ("central", "provincial", "city", "county"):
                    paid[level] = amounts[level]
                    payments.append((cid, level, amounts[level], (verified + timedelta(days=3)).date(),
                                     f"PZ{cid}{level[:2]}", payer, verified + timedelta(days=3)))
            elif status == "paying":
                paid["county"] = amounts["county"]
                payments.append((cid, "county", amounts["county"], (verified + timedelta(days=3)).date(),
                                 f"PZ{cid}co", payer, verified + timedelta(days=3)))
            pct = {"central": 45, "provincial": 25, "city": 5, "county": 5, "farmer": 20}
            for level, _p in SHARES:
                shares.append((cid, level, Decimal(pct[level]), amounts[level],
                               paid[level] if level != "farmer" else Decimal("0.00"), Decimal("0.00")))
        started = time.perf_counter()
        _copy(conn, "subsidy_claims", ["id", "insurer_id", "region_id", "product_id", "year", "period", "quantity",
                                       "unit", "sum_insured", "premium_rate", "total_premium", "farmer_premium",
                                       "households", "list_rows", "status", "created_by_id", "created_at",
                                       "submitted_at", "verified_at", "verified_by_id", "due_days",
                                       "over_budget_confirmed", "verification_opinion", "settled_at",
                                       "updated_at"], claims)
        _copy(conn, "claim_shares", ["claim_id", "level", "pct", "amount", "paid", "from_advance"], shares)
        conn.execute(FILL_DUE_DATES["postgresql"])   # each share's due date, as verification keeps it
        _copy(conn, "payments", ["claim_id", "level", "amount", "paid_on", "voucher_no", "recorded_by_id",
                                 "recorded_at"], payments)
        conn.execute("SELECT setval(pg_get_serial_sequence('subsidy_claims', 'id'), (SELECT max(id) FROM "
                     "subsidy_claims))")
        actions = ("claim.created", "claim.submitted", "claim.verified", "payment.confirmed", "user.login")

        def audit_rows():
            base = datetime(2024, 1, 1)
            for n in range(AUDIT * scale):
                cid = claim_id + n % total
                yield (base + timedelta(seconds=n * 900 // scale), verifier, "county_agri", "鄱阳县农业农村局 李股长",
                       "county_agri", "鄱阳县农业农村局", actions[n % len(actions)], "SubsidyClaim", str(cid),
                       f"补贴申请 #{cid}", json.dumps({"n": n}))

        audits = _copy(conn, "audit_entries", ["created_at", "actor_id", "actor_name", "actor_display_name",
                                               "actor_role", "actor_organisation", "action", "object_type",
                                               "object_id", "summary", "details"], audit_rows())
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")   # statistics, and the visibility map autovacuum keeps in a database in use
        return {"scale": scale, "claims": len(claims), "shares": len(shares), "payments": len(payments),
                "audit_entries": audits, "copy_seconds": round(time.perf_counter() - started, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=int, default=1, help="times the volume of issue 23 (1 or 10)")
    parser.add_argument("--seed", type=int, default=23)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/bench_web")
    if make_url(url).get_backend_name() != "postgresql":
        sys.exit("bench/web/generate.py: DATABASE_URL must be PostgreSQL")
    started = time.perf_counter()
    recreate(url)
    result = fill(url, args.scale, args.seed)
    result["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
