"""Underwriting list import benchmark on PostgreSQL: read + validate + store + cross-check, against a read-only floor.

    python -m bench.underwriting.run 100000 1000000 [--format xlsx|csv] [--errors-too] [--export] [--again]

Each measurement runs in its own process, so peak memory (ru_maxrss) is that phase's alone. The database is
`<TEST_DATABASE_URL base>/bench_underwriting` (or $BENCH_DATABASE), created afresh. The list is imported through the same service
the background job calls (`underwriting.service.import_list`), committed, for a draft claim whose figures
match the file, with 20 planted duplicate people (they become flags) in an otherwise valid list. With
--errors-too a second file with 30 bad cells spread over it is imported too: it must fail and store nothing. With
--again the same list is imported once more for another claim of the insurer: every farmer is insured twice.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

BASE = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test").rsplit("/", 1)[0]
# BENCH_DATABASE (or BENCH_UNDERWRITING_DB): another name, so two sessions benchmarking on one server do not drop
# each other's database
DB_NAME = os.environ.get("BENCH_DATABASE") or os.environ.get("BENCH_UNDERWRITING_DB", "bench_underwriting")
DB_URL = f"{BASE}/{DB_NAME}"


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reader_peak_mb() -> float:
    """The largest peak of a process this one forked and waited for (the list's reading processes), shared pages
    included: calamine's sheet is counted in it and in this process both."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def cpu_seconds() -> tuple[float, float]:
    """CPU seconds used so far by this process with the processes it forked and waited for (the list's reading
    processes), and by the database server's processes serving the benchmark's database (read from /proc: the
    server runs on this machine). Two cores give at most twice the wall time: an import whose CPU is already about
    that cannot be made faster by more processes, only by less work."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    ours = own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
    tick, server, name = os.sysconf("SC_CLK_TCK"), 0.0, f" {DB_NAME} ".encode()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                if name not in fh.read().replace(b"\0", b" "):
                    continue
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile, or not ours to read
        server += (int(fields[11]) + int(fields[12])) / tick
    return ours, server


def cpu_since(before: tuple[float, float]) -> dict:
    ours, server = cpu_seconds()
    return {"cpu_ours": ours - before[0], "cpu_server": server - before[1]}


def cpu_cell(result: dict) -> str:
    return f"{result['cpu_ours']:.1f} + {result['cpu_server']:.1f} s"


def phase_floor(path: Path) -> dict:
    start = time.perf_counter()
    count = 0
    if path.suffix == ".xlsx":
        from python_calamine import CalamineWorkbook

        for _row in CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).iter_rows():
            count += 1
    else:
        import csv

        with path.open(encoding="utf-8", newline="") as fh:
            for _row in csv.reader(fh):
                count += 1
    return {"rows": count - 1, "seconds": time.perf_counter() - start, "peak_mb": peak_mb()}


def _app():
    from agri_insurance import create_app
    from agri_insurance.config import TestingConfig

    app = create_app(TestingConfig(DB_URL, "/tmp/bench_underwriting"))
    # the production settings of the list imports (the tests' read every file in two processes); LIST_IMPORT_PROCESSES
    # in the environment: 1 reads in this process alone, to compare
    app.config["LIST_IMPORT_PROCESSES"] = int(os.environ.get("LIST_IMPORT_PROCESSES", "0"))
    app.config["LIST_IMPORT_PARALLEL_ROWS"] = 20_000
    return app


def phase_setup(path: Path, count: int) -> dict:
    import psycopg

    with psycopg.connect(f"{BASE}/postgres".replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")
    app = _app()
    from flask_migrate import upgrade

    from agri_insurance.demo import load_demo_data
    from agri_insurance.extensions import db
    from bench.underwriting.generate import rows

    with app.app_context():
        upgrade(revision="heads")
        load_demo_data()
        db.session.commit()
    return {"totals": _totals(rows(count, 20))}


def _totals(data) -> dict:
    q = s = p = f = Decimal(0)
    people, n = set(), 0
    for r in data:
        q += Decimal(r[5]); s += Decimal(r[7]); p += Decimal(r[8]); f += Decimal(r[9])  # noqa: E702
        people.add(r[1])
        n += 1
    return {"quantity": str(q), "sum_insured": str(s), "premium": str(p), "farmer": str(f),
            "households": len(people), "rows": n}


def phase_import(path: Path, totals: dict, period: str) -> dict:
    app = _app()
    import sqlalchemy as sa

    from agri_insurance.auth.models import User
    from agri_insurance.extensions import db
    from agri_insurance.reference.models import Product, Region
    from agri_insurance.subsidies import service as subsidies
    from agri_insurance.subsidies.models import SubsidyClaim
    from agri_insurance.underwriting import service
    from agri_insurance.underwriting.models import UnderwritingRow

    with app.test_request_context():
        insurer = db.session.scalar(sa.select(User).where(User.username == "insurer"))
        county = db.session.scalar(sa.select(Region).where(Region.code == "361128"))
        rice = db.session.scalar(sa.select(Product).where(Product.code == "rice"))
        if not subsidies.may_claim(insurer.insurer_id, county.id, rice.id, 2026):
            subsidies.save_assignment({"insurer_id": insurer.insurer_id, "region_id": county.id, "product_id": rice.id,
                                       "start_year": 2026, "end_year": 2026, "notes": None}, None)
        premium = Decimal(totals["premium"])
        scheme = subsidies.applicable_scheme(rice.id, county.id, 2026)
        farmer = subsidies.split_premium(premium, subsidies.scheme_pcts(scheme))[subsidies.ShareLevel.FARMER]
        claim = subsidies.save_claim(None, {
            "region_id": county.id, "product_id": rice.id, "year": 2026, "period": period,
            "quantity": Decimal(totals["quantity"]), "unit": "亩", "sum_insured": Decimal(totals["sum_insured"]),
            "premium_rate": Decimal(5), "total_premium": premium, "farmer_premium": farmer,
            "households": totals["households"], "list_rows": totals["rows"], "notes": None}, insurer.insurer, insurer)
        db.session.commit()
        claim_id = claim.id
        rows_before = db.session.scalar(sa.select(sa.func.count(UnderwritingRow.row_no)))
        db.session.remove()

        cpu = cpu_seconds()
        start = time.perf_counter()
        claim = db.session.get(SubsidyClaim, claim_id)
        outcome = None
        error = None
        try:
            outcome = service.import_list(claim, path, path.name, insurer and db.session.merge(insurer),
                                          total_bytes=path.stat().st_size)
            db.session.commit()
        except service.ListHasErrors as e:
            db.session.rollback()
            error = {"errors": e.findings.error_count, "first": str(e)[:120]}
        seconds = time.perf_counter() - start
        cpu = cpu_since(cpu)
        stored = db.session.scalar(sa.select(sa.func.count(UnderwritingRow.row_no))) - rows_before
        result = {"seconds": seconds, "peak_mb": peak_mb(), "reader_mb": reader_peak_mb(), "stored_rows": stored, "error": error,
                  "claim_id": claim_id, **cpu}
        if outcome is not None:
            lst = outcome.list
            result.update({"rows": lst.rows, "households": lst.households, "flags": lst.flag_count,
                           "reconciled": outcome.reconciled})
        return result


def phase_export(claim_id: int) -> dict:
    """What the background export job does: the stored list, masked, with its totals row, saved as xlsx."""
    import tempfile

    app = _app()
    from agri_insurance.extensions import db
    from agri_insurance.subsidies.models import SubsidyClaim
    from agri_insurance.underwriting import service
    from agri_insurance.underwriting.exports import list_workbook

    with app.test_request_context(), tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        claim = db.session.get(SubsidyClaim, claim_id)
        lst = service.list_of(claim)
        path = Path(folder) / "list.xlsx"
        list_workbook(lst, service.rows_of(lst), "bench").save(path)
        seconds = time.perf_counter() - start
        return {"seconds": seconds, "peak_mb": peak_mb(), "rows": lst.rows, "bytes": path.stat().st_size}


def _subprocess(phase: str, *args: str) -> dict:
    done = subprocess.run([sys.executable, "-m", "bench.underwriting.run", "--phase", phase, *args],
                          capture_output=True, text=True, cwd=Path(__file__).resolve().parents[2])
    if done.returncode != 0:
        sys.exit(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("sizes", nargs="*", type=int, default=[100_000, 1_000_000])
    parser.add_argument("--format", default="xlsx", choices=("xlsx", "csv"))
    parser.add_argument("--errors-too", action="store_true")
    parser.add_argument("--phase")
    parser.add_argument("--path")
    parser.add_argument("--count", type=int)
    parser.add_argument("--totals")
    parser.add_argument("--period", default="2026年全年")
    parser.add_argument("--export", action="store_true", help="also time the export of each imported list")
    parser.add_argument("--again", action="store_true",
                        help="also import the same list for the insurer's claim of another period: every farmer is "
                             "then insured twice and flagged on both lists (the cross-check's heaviest case)")
    parser.add_argument("--claim", type=int)
    args = parser.parse_args()
    if args.phase == "floor":
        print(json.dumps(phase_floor(Path(args.path))))
        return
    if args.phase == "setup":
        print(json.dumps(phase_setup(Path(args.path), args.count)))
        return
    if args.phase == "export":
        print(json.dumps(phase_export(args.claim)))
        return
    if args.phase == "import":
        print(json.dumps(phase_import(Path(args.path), json.loads(args.totals), args.period), default=str))
        return

    from bench.underwriting.generate import generate

    print(f"machine: {os.cpu_count()} cores; load {os.getloadavg()[0]:.1f}; database {DB_URL}; "
          f"LIST_IMPORT_PROCESSES={os.environ.get('LIST_IMPORT_PROCESSES', '0 (the cores, at most 4)')}")
    print("| rows | format | read only (floor) | full import | CPU (our processes + server) | rows/s | ratio to floor | peak RSS (importing process / largest reading process) | flags | stored |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for size in args.sizes:
        path = generate(size, args.format)
        setup = _subprocess("setup", "--path", str(path), "--count", str(size))
        floor = _subprocess("floor", "--path", str(path))
        result = _subprocess("import", "--path", str(path), "--totals", json.dumps(setup["totals"]))
        print(f"| {size:,} | {args.format} | {floor['seconds']:.1f} s ({floor['peak_mb']:.0f} MB) | "
              f"{result['seconds']:.1f} s | {cpu_cell(result)} | {size / result['seconds']:,.0f} | "
              f"{result['seconds'] / floor['seconds']:.1f}× | {result['peak_mb']:.0f} / {result['reader_mb']:.0f} MB | {result.get('flags')} | "
              f"{result['stored_rows']:,} |", flush=True)
        if args.export:
            exported = _subprocess("export", "--claim", str(result["claim_id"]))
            print(f"| {size:,} exported (masked xlsx, totals row) | | | {exported['seconds']:.1f} s | "
                  f" | {size / exported['seconds']:,.0f} | | {exported['peak_mb']:.0f} MB | | "
                  f"{exported['bytes'] / 1e6:.0f} MB file |", flush=True)
        if args.again:
            again = _subprocess("import", "--path", str(path), "--totals", json.dumps(setup["totals"]),
                                "--period", "2026年全年（第二次）")
            print(f"| {size:,} again, another claim (all farmers insured twice) | {args.format} | | "
                  f"{again['seconds']:.1f} s | {cpu_cell(again)} | {size / again['seconds']:,.0f} | | {again['peak_mb']:.0f} / "
                  f"{again['reader_mb']:.0f} MB | {again.get('flags')} | {again['stored_rows']:,} |", flush=True)
        if args.errors_too:
            bad = generate(size, args.format, errors=30)
            failed = _subprocess("import", "--path", str(bad), "--totals", json.dumps(setup["totals"]),
                                 "--period", "2026年全年（错误文件）")
            print(f"| {size:,} with 30 errors | {args.format} | | {failed['seconds']:.1f} s (failed as it must: "
                  f"{failed['error']['errors']} errors) | {cpu_cell(failed)} | {size / failed['seconds']:,.0f} | | {failed['peak_mb']:.0f} MB"
                  f" | | {failed['stored_rows']} |", flush=True)


if __name__ == "__main__":
    main()
