"""Fill a PostgreSQL database with a city's years of claims for the page benchmark (bench/web/run.py).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench_web .venv/bin/python -m bench.web.generate --scale 1

The database is dropped and created again, migrated, and given the demo data (`flask demo-data`: reference data,
fictional insurers, schemes, one user per role, the demo rounds). Then, by bulk SQL (COPY), at `--scale` times the
volume of issue 23: 3,000 subsidy claims over the 12 counties, 6 insurers and 3 years (2024–2026), each with its
five shares (exact: the county's share is the remainder), 4,200 payments (600 claims paying, 900 settled), and
100,000 audit entries. Seeded: the same scale gives the same data. At the end VACUUM ANALYZE: the statistics, as
after any bulk load, and the visibility map autovacuum keeps in a database in use (index-only scans read it).

Before the COPY, through the project's own services (in this process, in one transaction each):

- **The round with 60 lots** (`--scale` 10: 600; "ten times the volume" read as ten times the lots, as the issue's
  65 → 605 statements of the round page say): 5 lots a county (50 at 10×) in all 12 counties, each with 1–3
  products, an expected premium and a loss ratio; taken as far as the public notice (公示中, publicised) the way the
  demo's rounds are (`awards.demo._round_scored`): published, bid on by the six demo insurers (every lot, a county
  set-up in every county), opened, eligibility checked (三清/灵山 common control decided), scored by the demo
  expert, the panel closed, an allocation run solved and adopted (awards and backups per lot), the result
  published. That stage is the round page's heaviest: every module adds to it (the bid count and the opening
  record, the evaluation, allocation and result links, the notice's last day) beside the lots and the county
  limits, which every stage shows.
- **The 200,000-row underwriting list** (2,000,000 at 10×): `bench/underwriting/generate.py`'s rows (rice in
  鄱阳县, fictional farmers, 20 people listed twice) written to a csv and imported by the import service itself
  (`underwriting.service.import_list`: every cell checked, the rows COPYed with their ID numbers and bank accounts
  sealed and the ID numbers hashed as every import does, the double-insurance cross-checks, the flags) for a claim
  of the demo insurer whose figures are the list's totals, which is then submitted (awaiting the county's
  verification, as a list is read most).

The database is sealed with a fixed benchmark key set (`bench.web.run.BENCH_DATA_KEY`, fictional, not secret), which
run.py and profile.py use too, so any checkout can read a benchmark database another generated.
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
from bench.web.run import BENCH_DATA_KEY

CLAIMS, PAYING, SETTLED, SUBMITTED, AUDIT = 3_000, 600, 900, 300, 100_000
LOTS_PER_COUNTY, LIST_ROWS = 5, 200_000   # 12 counties: a round of 60 lots; a list of 200,000 rows
ROUND_NAME = "上饶市政策性农业保险承保机构遴选（基准测试·{lots}个标段）"
LIST_PERIOD = "{year}年全年（基准测试清单）"
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
    env = {**os.environ, "DATABASE_URL": url, "FLASK_APP": "wsgi", "DATA_KEY": BENCH_DATA_KEY}
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


def _bidders(rng: random.Random) -> dict:
    """The six demo insurers' bid figures (awards.demo's tables, and one more), each with a set-up in every county."""
    from agri_insurance.awards.demo import AWARDED_BIDS, FINALISED_BIDS
    from agri_insurance.demo import COUNTIES

    table = {**AWARDED_BIDS, "灵山财险": FINALISED_BIDS["灵山财险"],
             "龟峰财险": ("26.0", "93.2", "0.61", ("30", "33", "35"), "B", "165.0", "126.4", "B", "2.5", {})}
    return {short: (*figures[:9], {code: (rng.random() < 0.75, rng.randint(2, 24), rng.randint(4, 48))
                                   for code, _name, _en in COUNTIES})
            for short, figures in table.items()}


def build_round(scale: int, rng: random.Random) -> dict:
    """The round of LOTS_PER_COUNTY × scale lots in each county, through the services up to its public notice."""
    from agri_insurance.allocation import service as allocation
    from agri_insurance.awards import service as awards
    from agri_insurance.awards.demo import FINALISED_CONTROL, _round_scored
    from agri_insurance.clock import local_today
    from agri_insurance.demo import COUNTIES, PRODUCTS

    products = [code for code, *_rest in PRODUCTS]
    lots = []
    for county, name, _en in COUNTIES:
        for k in range(1, LOTS_PER_COUNTY * scale + 1):
            lots.append((county, f"{county}-{k:03d}", f"{name}第{k}标段", tuple(rng.sample(products, rng.randint(1, 3))),
                         str(rng.randint(20, 600) * 10_000), str(Decimal(rng.randint(250, 950)) / 10)))
    started = time.perf_counter()
    rnd, city = _round_scored(ROUND_NAME.format(lots=len(lots)), local_today().year + 4, None, tuple(lots),
                              _bidders(rng), FINALISED_CONTROL)
    allocation.adopt(allocation.run_now(rnd, city), city)
    awards.publish(rnd, city)
    return {"round_id": rnd.id, "lots": len(lots), "round_seconds": round(time.perf_counter() - started, 1)}


def build_list(scale: int) -> dict:
    """A submitted claim of the demo insurer with the LIST_ROWS × scale rows list imported by the import service."""
    import tempfile
    from pathlib import Path

    import sqlalchemy as sa

    from agri_insurance.auth.models import User
    from agri_insurance.extensions import db
    from agri_insurance.reference.models import Product, Region
    from agri_insurance.subsidies import service as subsidies
    from agri_insurance.underwriting.service import import_list
    from bench.underwriting.generate import rows, write

    count, year = LIST_ROWS * scale, 2026
    insurer = db.session.scalar(sa.select(User).where(User.username == "insurer"))
    county = db.session.scalar(sa.select(Region).where(Region.code == "361128"))
    rice = db.session.scalar(sa.select(Product).where(Product.code == "rice"))
    if not subsidies.may_claim(insurer.insurer_id, county.id, rice.id, year):
        subsidies.save_assignment({"insurer_id": insurer.insurer_id, "region_id": county.id, "product_id": rice.id,
                                   "start_year": year, "end_year": year, "notes": None}, None)
    started = time.perf_counter()
    sums, people = [Decimal(0)] * 4, set()   # quantity, sum insured, premium, farmer premium; ID numbers

    def summed():
        for row in rows(count, 20):
            for k, column in enumerate((5, 7, 8, 9)):
                sums[k] += Decimal(row[column])
            people.add(row[1])
            yield row

    with tempfile.TemporaryDirectory() as folder:
        path = write(Path(folder) / f"list-{count}.csv", summed(), "csv")
        written = time.perf_counter()
        quantity, sum_insured, premium, _farmer = sums
        scheme = subsidies.applicable_scheme(rice.id, county.id, year)
        farmer = subsidies.split_premium(premium, subsidies.scheme_pcts(scheme))[subsidies.ShareLevel.FARMER]
        claim = subsidies.save_claim(None, {   # the claim's figures: the list's totals
            "region_id": county.id, "product_id": rice.id, "year": year, "period": LIST_PERIOD.format(year=year),
            "quantity": quantity, "unit": "亩", "sum_insured": sum_insured, "premium_rate": Decimal(5),
            "total_premium": premium, "farmer_premium": farmer, "households": len(people), "list_rows": count,
            "notes": None}, insurer.insurer, insurer)
        people.clear()
        outcome = import_list(claim, path, path.name, insurer)
        imported = time.perf_counter()
    subsidies.submit_claim(claim, insurer)
    return {"list_claim_id": claim.id, "list_rows": outcome.list.rows, "list_flags": outcome.list.flag_count,
            "list_reconciled": outcome.reconciled, "list_file_seconds": round(written - started, 1),
            "list_import_seconds": round(imported - written, 1)}


def build_with_services(url: str, scale: int, seed: int) -> dict:
    """The round and the list, each through the services in its own committed transaction."""
    os.environ["DATABASE_URL"] = url
    os.environ["DATA_KEY"] = BENCH_DATA_KEY
    from agri_insurance import create_app
    from agri_insurance.config import Config
    from agri_insurance.extensions import db

    app = create_app(Config())
    with app.test_request_context():
        result = build_round(scale, random.Random(seed))
        db.session.commit()
        result |= build_list(scale)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return result


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
    built = build_with_services(url, args.scale, args.seed)
    result = fill(url, args.scale, args.seed) | built
    result["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
