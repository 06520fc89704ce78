"""validate → diagnose → build → solve → extract, with plain data in and out."""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import numpy as np

from .baseline import Baseline, is_feasible, rank_order_draft
from .diagnostics import diagnose, explain_infeasibility
from .findings import N_, Diagnostic, finding
from .oracle import CountyOracle
from .problem import Problem, build_problem
from .quick import lagrangian_draft
from .result import CENT, Result, awards_and_counties, explain, objective_decimal
from .scenario import Scenario, ScenarioError

SOLVERS = ("highs", "cbc")


_QUICK_BUDGET = 3.0  # seconds at most for the Lagrangian draft's rounds after its first one
_QUICK_SHARE = 0.05  # ... and at most this share of the time limit
_RACE_AFTER = 1.0  # seconds into the decomposition before the compact model starts beside it (see _CompactRace)


def solve_scenario(scenario: Scenario, solver: str = "highs", time_limit: float | None = None,
                   gap: float | None = None, method: str = "decomposition", threads: int | None = None,
                   race_compact: bool = True) -> Result:
    """Allocate the scenario's lots. ``time_limit`` / ``gap`` default to the scenario's settings.

    First, within seconds, an allocation from the drafts (:mod:`optimization.quick`, the rank-order draft);
    then the chosen method. The decomposition races the compact model (``race_compact``; not at the nation
    scale, see :func:`_race_worth_it`): a decomposition that has not finished within ``_RACE_AFTER`` seconds,
    nor begun its exact phase by then, gets the compact model on HiGHS beside it, on the core its own second
    searches would have used, and the better allocation and the better bound of the two are reported. ``result.phase`` says which phase produced
    the allocation.

    ``solver="highs"`` uses the county decomposition on HiGHS (``method="compact"`` solves the compact model
    with HiGHS instead); ``solver="cbc"`` solves the PuLP compact model with CBC.
    """
    if solver not in SOLVERS:
        raise ValueError(f"unknown solver {solver!r}; choose one of {SOLVERS}")
    t0 = time.perf_counter()
    settings = scenario.settings
    time_limit = settings.time_limit_s if time_limit is None else time_limit
    requested_gap = float(settings.mip_gap if gap is None else gap)
    problem = build_problem(scenario)
    t_build = time.perf_counter()
    # anytime: an allocation first, within seconds at the nation scale, before any expensive phase
    oracle = CountyOracle(problem)
    quick_budget = _QUICK_BUDGET if time_limit is None else min(_QUICK_BUDGET, _QUICK_SHARE * time_limit)
    quick = lagrangian_draft(problem, oracle, deadline=time.perf_counter() + quick_budget)
    t_quick = time.perf_counter()
    diagnostics = diagnose(problem, quick.values0)
    baseline = rank_order_draft(problem)
    t_pre = time.perf_counter()
    timings = {"problem_s": t_build - t0, "quick_draft_s": t_quick - t_build,
               "diagnose_baseline_s": t_pre - t_quick}
    if quick.chosen is not None and len(quick.chosen):
        timings["first_allocation_s"] = (t_quick - t0) if quick.first_at is None else quick.first_at - t0
    elif baseline.feasible and len(baseline.chosen):
        timings["first_allocation_s"] = t_pre - t0
    solver_name = _solver_name(solver)
    if any(d.severity == "error" for d in diagnostics):
        return _finish(problem, "infeasible", solver_name, None, None, None, baseline, diagnostics, t0, timings)
    if not problem.assignable_lots():
        return _finish(problem, "optimal", solver_name, np.zeros(0, np.int32), 0.0, 0.0, baseline, diagnostics,
                       t0, timings, phase="")
    # the better of the two drafts starts the search and is the answer if the search finds nothing better
    start, start_phase, start_value = None, "", -np.inf
    if quick.chosen is not None:
        start, start_phase, start_value = quick.chosen, "lagrangian_draft", float(problem.weight[quick.chosen].sum())
    if baseline.feasible and baseline.objective > start_value:
        start, start_phase, start_value = baseline.chosen, "rank_order_draft", baseline.objective
    remaining = None if time_limit is None else max(0.05, time_limit - (t_pre - t0))
    trace: list = []
    if start is not None:
        trace.append((t_pre - t0, start_value, quick.bound, start_phase))
    if start is not None and time_limit is not None and time.perf_counter() - t0 >= time_limit:
        # the limit is spent (a slow or busy machine): the drafts' allocation, with their Lagrangian bound
        status, chosen, objective, bound, g, phase = "feasible", None, None, None, None, start_phase
    elif solver == "cbc":
        from .compact import solve_compact_cbc
        out, chosen, tim = solve_compact_cbc(problem, remaining, requested_gap, threads)
        status, objective, bound, g = out.status, out.objective, out.bound, out.gap
        timings.update(tim)
        phase = "compact"
    elif method == "compact":
        from .compact import solve_compact_highs
        out, chosen, tim = solve_compact_highs(problem, remaining, requested_gap, start)
        status, objective, bound, g = out.status, out.objective, out.bound, out.gap
        timings.update(tim)
        phase = "compact"
    else:
        from .decomposition import solve_decomposition
        t_dec = time.perf_counter()
        race = _CompactRace(problem, start, None if remaining is None else t_dec + remaining, requested_gap,
                            t0) if race_compact and _race_worth_it(problem) else None
        try:
            dec = solve_decomposition(problem, remaining, requested_gap, start, oracle=oracle,
                                      halt=None if race is None else race.proven, second_search=race is None,
                                      exact_phase=None if race is None else race.exact_phase)
        finally:
            if race is not None:
                race.finish()
        status, chosen, objective, bound, g = dec.status, dec.chosen, dec.objective, dec.bound, dec.gap
        phase = start_phase if dec.phase == "start" else dec.phase
        trace += [(t_dec - t0 + t, o, b, "decomposition") for t, o, b in dec.trace]
        timings.update(dec.timings)
        timings["stats"] = dec.stats
        if race is not None and race.ran:
            trace += [(t, o, b, "compact") for t, o, b in race.trace]
            timings["race_compact_s"] = race.seconds
            timings["stats"]["race"] = race.summary()
            # both bounds are valid for the whole problem: the smaller one holds; the better allocation wins
            if race.bound is not None and np.isfinite(race.bound):
                bound = race.bound if bound is None else min(bound, race.bound)
            if race.chosen is not None and (objective is None or race.objective > objective + 1e-12 * (1 + abs(objective))):
                chosen, objective, phase = race.chosen, race.objective, "compact_race"
            if chosen is not None and objective is not None and bound is not None:
                from .highs import relative_gap
                bound = max(bound, objective)
                g = relative_gap(objective, bound)
                status = "optimal" if g <= requested_gap + 1e-12 else "feasible"
    if chosen is not None and objective is not None and bound is not None and np.isfinite(quick.bound) \
            and quick.bound < bound:
        from .highs import relative_gap
        bound = max(quick.bound, objective)  # the draft's Lagrangian bound is a bound for the whole problem too
        g = relative_gap(objective, bound)
        status = "optimal" if g <= requested_gap + 1e-12 else "feasible"
    # never worse than the drafts: the one a bureau would draw by hand, and the Lagrangian one
    if start is not None and (chosen is None or objective is None or objective < start_value):
        chosen, objective, phase = start, start_value, start_phase
        if bound is None and quick.bound < np.inf:
            bound = max(quick.bound, objective)
        if bound is not None:
            from .highs import relative_gap
            g = relative_gap(objective, bound)
            status = "optimal" if g <= requested_gap + 1e-12 else "feasible"
    timings["trace"] = trace
    if chosen is not None and status in ("optimal", "feasible") and not is_feasible(problem, chosen):
        raise RuntimeError("solver returned an allocation that breaks the rules")  # never silently
    if status == "infeasible":
        diagnostics = diagnostics + explain_infeasibility(problem, time_limit=min(30.0, time_limit or 30.0))
    if status == "unknown":
        diagnostics = diagnostics + [finding(
            "time_limit_no_solution", "error", "round", scenario.round.id or "round",
            N_("在时间限制内既未找到满足全部约束的分配，也未能证明不存在可行分配；请延长求解时间"))]
    return _finish(problem, status, solver_name, chosen if status in ("optimal", "feasible") else None,
                   objective, bound, baseline, diagnostics, t0, timings, g,
                   phase=phase if status in ("optimal", "feasible") else "")


def _race_worth_it(problem: Problem) -> bool:
    """Not at the nation scale: there the compact model beside the decomposition costs 0.25 GB more than the
    1 GB allowed and the core the decomposition needs (measured: 1.33 GB, and its root LP overran the time
    limit on a busy machine); the decomposition alone met the plain model there (docs/benchmarks.md)."""
    from .decomposition import _LARGE_COUNTIES

    return sum(1 for lots in problem.county_lots if lots) <= _LARGE_COUNTIES


class _CompactRace:
    """The compact model on HiGHS in a thread beside the decomposition, from the draft's allocation.

    It starts only after ``_RACE_AFTER`` seconds (a decomposition that is done by then ran alone, so quick
    solves are as deterministic as before), and not at all when the decomposition's exact phase has begun by
    then; it stops when the decomposition returns; when it proves the
    requested gap first, ``proven`` tells the decomposition to stop at its next phase boundary."""

    def __init__(self, problem: Problem, start, deadline: float | None, gap: float, t0: float):
        from .decomposition import _Incumbent

        self.p, self.start, self.deadline, self.gap, self.t0 = problem, start, deadline, gap, t0
        self.shared = _Incumbent(problem)
        if start is not None:
            self.shared.offer(start)
        self.proven = threading.Event()
        self.stop = threading.Event()
        # set by the decomposition when its exact phase (the compact model over the bids that can still improve)
        # begins: a race that has not started by then does not start. Measured on the second family's city
        # scale (docs/benchmarks.md): the exact phase began at 0.05 s and always proved the optimum first, and on
        # a loaded machine the race beside it only halved its CPU (2.6-3.4 s alone, 6.2-7.8 s beside the race)
        self.exact_phase = threading.Event()
        self.trace: list = []
        self.ran = False
        self.chosen = self.objective = self.bound = self.model_status = None
        self.seconds = 0.0
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="allocation-compact-race", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        if self.stop.wait(_RACE_AFTER) or self.exact_phase.is_set():
            return
        left = None if self.deadline is None else self.deadline - time.perf_counter()
        if left is not None and left < 0.5:
            return
        from .compact import solve_compact_highs

        self.ran = True
        t = time.perf_counter()
        try:
            out, chosen, _ = solve_compact_highs(self.p, left, self.gap, self.start, shared=self.shared,
                                                 trace=self.trace, trace_t0=self.t0)
        except BaseException as exc:  # handed to the calling thread
            self.error = exc
            return
        finally:
            self.seconds = time.perf_counter() - t
        self.model_status = out.model_status
        self.bound = out.bound
        if chosen is not None and is_feasible(self.p, chosen):
            self.chosen, self.objective = chosen, float(self.p.weight[chosen].sum())
        if out.status == "optimal" and not self.stop.is_set():
            self.proven.set()

    def finish(self) -> None:
        self.stop.set()
        self.shared.proven.set()  # interrupts the compact search at its next callback
        self.thread.join()
        if self.error is not None:
            raise self.error

    def summary(self) -> dict:
        return {"model_status": self.model_status, "objective": self.objective, "bound": self.bound,
                "seconds": round(self.seconds, 3)}


def _solver_name(solver: str) -> str:
    if solver == "cbc":
        import pulp
        return f"CBC (PuLP {pulp.__version__})"
    from .highs import version
    return version()


def _finish(problem: Problem, status: str, solver: str, chosen, objective: float | None, bound: float | None,
            baseline: Baseline, diagnostics: list[Diagnostic], t0: float, timings: dict,
            g: float | None = None, phase: str = "") -> Result:
    t_solved = time.perf_counter()
    obj_dec = bound_dec = None
    awards, counties = [], []
    if chosen is not None:
        obj_dec = objective_decimal(problem, chosen).quantize(CENT)
        awards, counties = awards_and_counties(problem, chosen)
        if bound is not None and np.isfinite(bound):
            bound_dec = max(Decimal(repr(float(bound * problem.scale))).quantize(CENT), obj_dec)
            if g is not None and g == 0:
                bound_dec = obj_dec
        g = 0.0 if g is None and status == "optimal" else g
    base_obj = objective_decimal(problem, baseline.chosen).quantize(CENT)
    base = {"method": "rank_order_draft", "feasible": bool(baseline.feasible), "objective": format(base_obj, "f")}
    if obj_dec is not None and baseline.feasible:
        base["improvement"] = format(obj_dec - base_obj, "f")
        base["improvement_pct"] = (f"{(obj_dec - base_obj) / base_obj * 100:.4f}" if base_obj else None)
    seconds = t_solved - t0
    result = Result(status=status, solver=solver, objective=obj_dec, bound=bound_dec, gap=g,
                    solve_seconds=seconds, awards=awards, counties=counties, diagnostics=diagnostics,
                    baseline=base, timings=timings, phase=phase)
    result.explanation = explain(problem, chosen if chosen is not None else np.zeros(0, np.int32), obj_dec,
                                 bound_dec, g, seconds)
    result.explanation["timings"] = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in timings.items()
                                     if k not in ("stats", "trace")}
    timings["extract_s"] = time.perf_counter() - t_solved
    return result


def invalid_result(error: ScenarioError) -> Result:
    return Result(status="invalid", solver="", diagnostics=list(error.diagnostics),
                  baseline={"method": "rank_order_draft", "feasible": False, "objective": None})
