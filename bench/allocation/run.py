"""Benchmark the allocation optimiser on the synthetic scales; each run in its own process for a clean
peak-memory figure (ru_maxrss of that process).

    .venv/bin/python bench/allocation/run.py [city province nation] [--seeds 1 2 3] [--solver highs|cbc]
        [--method decomposition|compact] [--time-limit S]

Prints one line per run: generation and end-to-end times (scenario parse + diagnostics + baseline + solve +
extraction), where the time goes, status, gap, improvement over the rank-order baseline and peak memory.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def one(scale: str, seed: int, solver: str, method: str, time_limit: float, gap: float) -> dict:
    import resource
    import time

    sys.path.insert(0, str(HERE))
    sys.path.insert(0, str(ROOT))
    from generate import generate

    from optimization import parse_scenario, solve_scenario

    t0 = time.perf_counter()
    raw = generate(scale, seed)
    text = json.dumps(raw)
    t1 = time.perf_counter()
    t_start = time.perf_counter()
    scenario = parse_scenario(json.loads(text))
    t_parsed = time.perf_counter()
    result = solve_scenario(scenario, solver=solver, time_limit=time_limit, gap=gap, method=method)
    out = result.to_dict()
    t_end = time.perf_counter()
    timings = {k: round(v, 3) for k, v in result.timings.items() if isinstance(v, float)}
    return {
        "scale": scale, "seed": seed, "solver": solver, "method": method,
        "lots": len(raw["lots"]), "bids": len(raw["bids"]), "counties": len(raw["counties"]),
        "insurers": len(raw["insurers"]), "generate_s": round(t1 - t0, 3),
        "parse_s": round(t_parsed - t_start, 3), "end_to_end_s": round(t_end - t_start, 3),
        "status": out["status"], "gap": out["gap"], "objective": out["objective"], "bound": out["bound"],
        "baseline_feasible": out["baseline"]["feasible"], "improvement_pct": out["baseline"].get("improvement_pct"),
        "timings": timings, "stats": result.timings.get("stats", {}),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("scales", nargs="*", default=["city", "province", "nation"])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1])
    ap.add_argument("--solver", default="highs")
    ap.add_argument("--method", default="decomposition")
    ap.add_argument("--time-limit", type=float, default=None)
    ap.add_argument("--gap", type=float, default=1e-6)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    limits = {"city": 10.0, "province": 30.0, "nation": 20.0}
    if args.child:
        scale, seed = args.scales[0], args.seeds[0]
        limit = args.time_limit or limits[scale]
        print(json.dumps(one(scale, seed, args.solver, args.method, limit, args.gap)))
        return 0
    for scale in args.scales:
        for seed in args.seeds:
            cmd = [sys.executable, __file__, scale, "--seeds", str(seed), "--solver", args.solver,
                   "--method", args.method, "--gap", str(args.gap), "--child"]
            if args.time_limit:
                cmd += ["--time-limit", str(args.time_limit)]
            proc = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ))
            if proc.returncode:
                print(proc.stderr, file=sys.stderr)
                continue
            print(proc.stdout.strip(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
