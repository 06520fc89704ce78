"""Benchmark the allocation optimiser on both scenario families at three scales, quiet or busy, beside a plain
PuLP model solved by HiGHS in the same run. Each solve runs in its own process, for a clean peak-memory
figure (ru_maxrss of that process).

    .venv/bin/python bench/allocation/run.py [city province nation] [--families 1 2] [--seeds 1 2 3]
        [--busy] [--plain] [--time-limit S] [--gap G] [--json-out FILE] [--memory-phases]

Families: ``1`` is this project's ``generate.py``; ``2`` is the independent generator of issue 22
(``../shared/bench/gen_scenario.py`` beside the repository when it is there, else this folder's own
``family2.py``, written to the same structure). ``--busy`` starts one bounded busy-loop process per core
(each ends by itself after the time limit plus two minutes, and is killed when the case ends) for every
case. ``--plain`` also solves each case with the straightforward compact model built in PuLP and solved by
HiGHS (PuLP's ``HiGHS`` interface, HiGHS's default threads).

One JSON line per run: end-to-end seconds (from the scenario JSON text, parse included), time to the first
allocation, time to a proven relative gap of 1e-5 (None if not reached), final status, gap, objective, bound,
the phase that produced the allocation, peak memory and the load average (``uptime``) before and after.
The machine is shared: the load average is part of every figure. ``--memory-phases`` samples the optimiser's
resident set (``/proc/self/statm``) every 0.1 s and adds, per phase of the solve (from its timings), the
highest sample and the one at the phase's end (MB), to see where the peak is reached.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SHARED_GEN = ROOT.parent / "shared" / "bench" / "gen_scenario.py"
TARGET_GAP = 1e-5


def scenario_text(family: str, scale: str, seed: int) -> str:
    sys.path.insert(0, str(HERE))
    if family == "1":
        from generate import generate
        return json.dumps(generate(scale, seed))
    if SHARED_GEN.exists():
        with tempfile.TemporaryDirectory(prefix="agri-bench-") as tmp:
            out = Path(tmp) / "s.json"
            subprocess.run([sys.executable, str(SHARED_GEN), "--scale", scale, "--seed", str(seed), "--out",
                            str(out)], check=True, capture_output=True)
            return out.read_text(encoding="utf-8")
    from family2 import SCALES, family2
    return json.dumps(family2(*SCALES[scale], seed))


def time_to_gap(trace: list, offset: float, target: float = TARGET_GAP) -> float | None:
    """The first time at which the best objective so far is within ``target`` of the best bound so far."""
    best, bound = float("-inf"), float("inf")
    for entry in sorted(trace, key=lambda e: e[0]):
        t, obj, bnd = entry[0], entry[1], entry[2]
        if obj is not None:
            best = max(best, obj)
        if bnd is not None:
            bound = min(bound, bnd)
        if best > float("-inf") and bound < float("inf") and (bound - best) <= target * abs(bound):
            return round(offset + t, 2)
    return None


class MemorySampler:
    """The process's resident set every ``every`` seconds, in a thread: (perf_counter, MB) pairs."""

    def __init__(self, every: float = 0.1):
        import threading

        self.samples: list[tuple[float, float]] = []
        self.every = every
        self.page_mb = os.sysconf("SC_PAGE_SIZE") / 2**20
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            self.sample()
            if self._stop.wait(self.every):
                return

    def sample(self) -> None:
        with open("/proc/self/statm") as fh:
            self.samples.append((time.perf_counter(), int(fh.read().split()[1]) * self.page_mb))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()


# the solve's phases in order, each with the timing (seconds) that is its length; the decomposition's start
# right after the drafts (solve.py), the extraction after its end
PHASES = [("problem", "problem_s"), ("quick_draft (oracle built)", "quick_draft_s"),
          ("diagnose_baseline", "diagnose_baseline_s"), ("decomposition build", "build_s"),
          ("column generation", "cg_s"), ("master MIP (and cores)", "mip_s"), ("enumeration", "enumeration_s"),
          ("exact search", "exact_mip_s")]


def memory_by_phase(sampler: MemorySampler, t_start: float, t_parsed: float, timings: dict) -> list[dict]:
    """Per phase: its start (seconds since the JSON text), the highest resident sample in it and the last."""
    bounds = [("parse", t_start, t_parsed)]
    t = t_parsed
    for name, key in PHASES:
        if key in timings:
            bounds.append((name, t, t + timings[key]))
            t += timings[key]
    bounds.append(("extraction and the rest", t, float("inf")))
    rows = []
    for name, lo, hi in bounds:
        inside = [mb for at, mb in sampler.samples if lo <= at < hi]
        if inside:
            rows.append({"phase": name, "from_s": round(lo - t_start, 2), "peak_mb": round(max(inside)),
                         "end_mb": round(inside[-1])})
    return rows


def run_optimiser(text: str, time_limit: float, gap: float, solver: str = "highs",
                  method: str = "decomposition", memory_phases: bool = False) -> dict:
    sys.path.insert(0, str(ROOT))
    from optimization import parse_scenario, solve_scenario

    sampler = MemorySampler() if memory_phases else None
    t0 = time.perf_counter()
    scenario = parse_scenario(json.loads(text))
    t_parsed = time.perf_counter()
    result = solve_scenario(scenario, time_limit=time_limit, gap=gap, solver=solver, method=method)
    out = result.to_dict()
    t_end = time.perf_counter()
    memory = None
    if sampler is not None:
        sampler.stop()
        memory = memory_by_phase(sampler, t0, t_parsed, result.timings)
    parse = t_parsed - t0
    first = result.timings.get("first_allocation_s")
    to_gap = time_to_gap(result.timings.get("trace", []), parse)
    g = None if out["gap"] is None else float(out["gap"])
    if to_gap is None and g is not None and g <= TARGET_GAP:
        to_gap = round(t_end - t0, 2)
    return {"model": "optimiser", "status": out["status"], "phase": out["phase"], "objective": out["objective"],
            "bound": out["bound"], "gap": out["gap"], "first_allocation_s": None if first is None else
            round(parse + first, 2), "to_1e-5_s": to_gap, "end_to_end_s": round(t_end - t0, 2),
            "timings": {k: round(v, 2) for k, v in result.timings.items() if isinstance(v, float)},
            "stats": _plain_stats(result.timings.get("stats", {})),
            **({"memory_by_phase": memory} if memory is not None else {})}


def _plain_stats(stats: dict) -> dict:
    """The decomposition's counters that are JSON numbers, strings or lists of them (for the record)."""
    out = {}
    for k, v in stats.items():
        if isinstance(v, (int, float, str, bool)) or v is None:
            out[k] = v
        elif isinstance(v, dict) and k == "race":
            out[k] = v
        elif isinstance(v, list) and all(isinstance(x, (int, float, str)) or x is None for x in v):
            out[k] = v
    return out


def run_plain(text: str, time_limit: float, gap: float) -> dict:
    """The compact model of DESIGN.md §4 built in PuLP and solved by HiGHS, as a user would write it."""
    sys.path.insert(0, str(ROOT))
    import highspy
    import pulp

    from optimization import parse_scenario
    from optimization.compact import build_pulp_model
    from optimization.problem import build_problem

    t0 = time.perf_counter()
    problem = build_problem(parse_scenario(json.loads(text)))
    prob, _, _ = build_pulp_model(problem)
    trace: list = []
    last = [-1.0]

    def callback(kind, _message, data_out, _data_in, _user):
        now = time.perf_counter() - t0
        improving = kind == highspy.cb.HighsCallbackType.kCallbackMipImprovingSolution
        if not improving and now - last[0] < 0.25:
            return
        last[0] = now
        primal = -data_out.mip_primal_bound  # PuLP minimises the negated objective
        trace.append((now, primal if abs(primal) < 1e20 else None, -data_out.mip_dual_bound))

    solver = pulp.HiGHS(msg=False, timeLimit=max(0.1, time_limit - (time.perf_counter() - t0)),
                        gapRel=max(gap, 1e-9), callbackTuple=(callback, None),
                        callbacksToActivate=[highspy.cb.HighsCallbackType.kCallbackMipImprovingSolution,
                                             highspy.cb.HighsCallbackType.kCallbackMipInterrupt])
    prob.solve(solver)
    t_end = time.perf_counter()
    info = prob.solverModel.getInfo()
    has = info.primal_solution_status == 2
    objective = -info.objective_function_value if has else None
    bound = -info.mip_dual_bound if has else None
    g = None if not has else max(0.0, bound - objective) / max(abs(bound), 1e-12)
    improving = [t for t, o, _ in trace if o is not None]
    to_gap = time_to_gap(trace, 0.0)
    if to_gap is None and g is not None and g <= TARGET_GAP:
        to_gap = round(t_end - t0, 2)

    def money(v: float | None) -> str | None:
        return None if v is None else f"{v * problem.scale:.2f}"

    return {"model": "plain PuLP+HiGHS", "status": prob.solverModel.modelStatusToString(
                prob.solverModel.getModelStatus()), "phase": None, "objective": money(objective),
            "bound": money(bound), "gap": None if g is None else f"{g:.3g}",
            "first_allocation_s": round(min(improving), 2) if improving else None, "to_1e-5_s": to_gap,
            "end_to_end_s": round(t_end - t0, 2)}


def child(args) -> int:
    import resource

    text = Path(args.scenario_file).read_text(encoding="utf-8")
    if args.model == "plain":
        row = run_plain(text, args.time_limit, args.gap)
    else:
        row = run_optimiser(text, args.time_limit, args.gap, args.solver, args.method, args.memory_phases)
    row["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(row))
    return 0


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def start_busy(seconds: float) -> list[subprocess.Popen]:
    """One busy loop per core, each bounded (it ends by itself after ``seconds``)."""
    code = f"import time\nend = time.time() + {seconds:.0f}\nwhile time.time() < end:\n    pass\n"
    return [subprocess.Popen([sys.executable, "-c", code]) for _ in range(os.cpu_count() or 1)]


def stop_busy(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        proc.kill()
    for proc in procs:
        proc.wait()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("scales", nargs="*", default=["city", "province", "nation"])
    ap.add_argument("--families", nargs="+", default=["1", "2"], choices=["1", "2"])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1])
    ap.add_argument("--busy", action="store_true", help="a bounded busy loop per core during every case")
    ap.add_argument("--both-loads", action="store_true", help="every case quiet, then busy")
    ap.add_argument("--plain", action="store_true", help="also the plain PuLP + HiGHS model")
    ap.add_argument("--models", nargs="+", choices=["optimiser", "plain"], default=None,
                    help="which models to run (default: the optimiser, and the plain model with --plain)")
    ap.add_argument("--time-limit", type=float, default=None)
    ap.add_argument("--gap", type=float, default=0.0)
    ap.add_argument("--json-out", help="append each row to this file too")
    ap.add_argument("--solver", default="highs", help="the optimiser's solver (highs or cbc)")
    ap.add_argument("--method", default="decomposition", help="the optimiser's method (decomposition or compact)")
    ap.add_argument("--memory-phases", action="store_true",
                    help="sample the optimiser's resident set and report its peak per phase")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--model", default="optimiser", help=argparse.SUPPRESS)
    ap.add_argument("--scenario-file", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return child(args)
    limits = {"city": 10.0, "province": 30.0, "nation": 60.0}
    loads = [False, True] if args.both_loads else [args.busy]
    models = args.models or (["optimiser", "plain"] if args.plain else ["optimiser"])
    with tempfile.TemporaryDirectory(prefix="agri-bench-") as tmp:
        for family in args.families:
            for scale in args.scales:
                for seed in args.seeds:
                    path = Path(tmp) / f"f{family}-{scale}-{seed}.json"
                    path.write_text(scenario_text(family, scale, seed), encoding="utf-8")
                    limit = args.time_limit or limits[scale]
                    for busy in loads:
                        for model in models:
                            cmd = [sys.executable, __file__, "--child", "--model", model, "--scenario-file",
                                   str(path), "--time-limit", str(limit), "--gap", str(args.gap),
                                   "--solver", args.solver, "--method", args.method] + \
                                (["--memory-phases"] if args.memory_phases else [])
                            before = load_average()
                            procs = start_busy(limit + 120) if busy else []
                            try:
                                proc = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ))
                            finally:
                                stop_busy(procs)
                            if proc.returncode:
                                print(proc.stderr, file=sys.stderr)
                                continue
                            row = {"family": family, "scale": scale, "seed": seed, "time_limit": limit,
                                   "busy": busy, "load_before": before, "load_after": load_average(),
                                   **json.loads(proc.stdout.strip().splitlines()[-1])}  # after any banner
                            line = json.dumps(row, ensure_ascii=False)
                            print(line, flush=True)
                            if args.json_out:
                                with open(args.json_out, "a", encoding="utf-8") as fh:
                                    fh.write(line + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
