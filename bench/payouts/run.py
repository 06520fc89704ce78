"""Payout list import benchmark on PostgreSQL: read + validate + store + match to the underwriting rows + flags,
against a read-only floor.

    python -m bench.payouts.run 100000 1000000 [--format xlsx|csv] [--profile]

For each size: the database of the underwriting benchmark (`<TEST_DATABASE_URL base>/bench_underwriting`) is made
afresh with the demo data, the underwriting benchmark's list of the same size is imported for a draft claim (what
the payouts are matched to; not timed here), then the payout list (bench/payouts/generate.py: one payout per farmer)
is imported through `payouts.service.import_payouts` (what the background job calls) and committed. Each phase runs
in its own process, so peak memory (ru_maxrss) is that phase's alone. --profile writes a cProfile of the import to
bench/out/payouts-<size>.prof.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from bench.underwriting.run import (
    DB_URL,
    _app,
    cpu_cell,
    cpu_seconds,
    cpu_since,
    peak_mb,
    phase_floor,
    reader_peak_mb,
)

ROOT = Path(__file__).resolve().parents[2]


def phase_import(path: Path, profile: bool) -> dict:
    app = _app()
    import sqlalchemy as sa

    from agri_insurance.auth.models import User
    from agri_insurance.extensions import db
    from agri_insurance.payouts import service
    from agri_insurance.payouts.models import PayoutRow
    from agri_insurance.reference.models import Product, Region
    from agri_insurance.underwriting.service import ListHasErrors

    with app.test_request_context():
        insurer = db.session.scalar(sa.select(User).where(User.username == "insurer"))
        county = db.session.scalar(sa.select(Region).where(Region.code == "361128"))
        rice = db.session.scalar(sa.select(Product).where(Product.code == "rice"))
        scope = {"region_id": county.id, "product_id": rice.id, "year": 2026, "event": "2026年6月洪涝（基准）"}
        profiler = None
        if profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        cpu = cpu_seconds()
        start = time.perf_counter()
        error, lst = None, None
        try:
            lst = service.import_payouts(scope, path, path.name, insurer, total_bytes=path.stat().st_size)
            db.session.commit()
        except ListHasErrors as e:
            db.session.rollback()
            error = {"errors": e.findings.error_count, "first": str(e)[:160]}
        seconds = time.perf_counter() - start
        cpu = cpu_since(cpu)
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(str(ROOT / "bench" / "out" / f"payouts-{path.stem}.prof"))
        stored = db.session.scalar(sa.select(sa.func.count()).select_from(PayoutRow))
        return {"seconds": seconds, "peak_mb": peak_mb(), "reader_mb": reader_peak_mb(), "stored_rows": stored, "error": error,
                "rows": lst.rows if lst else None, "flags": lst.flag_count if lst else None, **cpu}


def _subprocess(module: str, phase: str, *args: str) -> dict:
    done = subprocess.run([sys.executable, "-m", module, "--phase", phase, *args], capture_output=True, text=True,
                          cwd=ROOT)
    if done.returncode != 0:
        sys.exit(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("sizes", nargs="*", type=int, default=[100_000, 1_000_000])
    parser.add_argument("--format", default="xlsx", choices=("xlsx", "csv"))
    parser.add_argument("--phase")
    parser.add_argument("--path")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    if args.phase == "floor":
        print(json.dumps(phase_floor(Path(args.path))))
        return
    if args.phase == "import":
        print(json.dumps(phase_import(Path(args.path), args.profile), default=str))
        return

    from bench.payouts.generate import generate
    from bench.underwriting.generate import generate as generate_underwriting

    print(f"machine: {os.cpu_count()} cores; load {os.getloadavg()[0]:.1f}; database {DB_URL}; "
          f"LIST_IMPORT_PROCESSES={os.environ.get('LIST_IMPORT_PROCESSES', '0 (the cores, at most 4)')}")
    print("| rows | format | read only (floor) | full import | CPU (our processes + server) | rows/s | ratio to floor | peak RSS (importing process / largest reading process) | flags | stored |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for size in args.sizes:
        underwriting = generate_underwriting(size, "xlsx")
        path = generate(size, args.format)
        setup = _subprocess("bench.underwriting.run", "setup", "--path", str(underwriting), "--count", str(size))
        stored = _subprocess("bench.underwriting.run", "import", "--path", str(underwriting), "--totals",
                             json.dumps(setup["totals"]))
        assert stored["stored_rows"] == size, stored
        floor = _subprocess("bench.payouts.run", "floor", "--path", str(path))
        result = _subprocess("bench.payouts.run", "import", "--path", str(path),
                             *(["--profile"] if args.profile else []))
        if result["error"]:
            sys.exit(f"the payout list was refused: {result['error']}")
        rows = result["rows"]
        print(f"| {rows:,} | {args.format} | {floor['seconds']:.1f} s ({floor['peak_mb']:.0f} MB) | "
              f"{result['seconds']:.1f} s | {cpu_cell(result)} | {rows / result['seconds']:,.0f} | "
              f"{result['seconds'] / floor['seconds']:.1f}× | {result['peak_mb']:.0f} / {result['reader_mb']:.0f} MB | {result['flags']:,} | "
              f"{result['stored_rows']:,} | load {os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main()
