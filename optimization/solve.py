"""validate → diagnose → build → solve → extract, with plain data in and out."""

from __future__ import annotations

import time
from decimal import Decimal

import numpy as np

from .baseline import Baseline, is_feasible, rank_order_draft
from .diagnostics import diagnose, explain_infeasibility
from .findings import N_, Diagnostic, finding
from .problem import Problem, build_problem
from .result import CENT, Result, awards_and_counties, explain, objective_decimal
from .scenario import Scenario, ScenarioError

SOLVERS = ("highs", "cbc")


def solve_scenario(scenario: Scenario, solver: str = "highs", time_limit: float | None = None,
                   gap: float | None = None, method: str = "decomposition", threads: int | None = None) -> Result:
    """Allocate the scenario's lots. ``time_limit`` / ``gap`` default to the scenario's settings.

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
    diagnostics = diagnose(problem)
    baseline = rank_order_draft(problem)
    t_pre = time.perf_counter()
    timings = {"problem_s": t_build - t0, "diagnose_baseline_s": t_pre - t_build}
    solver_name = _solver_name(solver)
    if any(d.severity == "error" for d in diagnostics):
        return _finish(problem, "infeasible", solver_name, None, None, None, baseline, diagnostics, t0, timings)
    if not problem.assignable_lots():
        return _finish(problem, "optimal", solver_name, np.zeros(0, np.int32), 0.0, 0.0, baseline, diagnostics,
                       t0, timings)
    start = baseline.chosen if baseline.feasible else None
    remaining = None if time_limit is None else max(0.05, time_limit - (t_pre - t0))
    if solver == "cbc":
        from .compact import solve_compact_cbc
        out, chosen, tim = solve_compact_cbc(problem, remaining, requested_gap, threads)
        status, objective, bound, g = out.status, out.objective, out.bound, out.gap
        timings.update(tim)
    elif method == "compact":
        from .compact import solve_compact_highs
        out, chosen, tim = solve_compact_highs(problem, remaining, requested_gap, start)
        status, objective, bound, g = out.status, out.objective, out.bound, out.gap
        timings.update(tim)
    else:
        from .decomposition import solve_decomposition
        dec = solve_decomposition(problem, remaining, requested_gap, start)
        status, chosen, objective, bound, g = dec.status, dec.chosen, dec.objective, dec.bound, dec.gap
        timings.update(dec.timings)
        timings["stats"] = dec.stats
    # never worse than the baseline a bureau would draw by hand
    if start is not None and (chosen is None or objective is None or objective < baseline.objective):
        chosen, objective = start, baseline.objective
        if bound is not None:
            from .highs import relative_gap
            g = relative_gap(objective, bound)
            status = "optimal" if g <= requested_gap + 1e-12 else "feasible"
    if chosen is not None and status in ("optimal", "feasible") and not is_feasible(problem, chosen):
        raise RuntimeError("solver returned an allocation that breaks the rules")  # never silently
    if status == "infeasible":
        diagnostics = diagnostics + explain_infeasibility(problem, time_limit=min(30.0, time_limit or 30.0))
    if status == "unknown":
        diagnostics = diagnostics + [finding(
            "time_limit_no_solution", "error", "round", scenario.round.id or "round",
            N_("在时间限制内既未找到满足全部约束的分配，也未能证明不存在可行分配；请延长求解时间"))]
    return _finish(problem, status, solver_name, chosen if status in ("optimal", "feasible") else None,
                   objective, bound, baseline, diagnostics, t0, timings, g)


def _solver_name(solver: str) -> str:
    if solver == "cbc":
        import pulp
        return f"CBC (PuLP {pulp.__version__})"
    from .highs import version
    return version()


def _finish(problem: Problem, status: str, solver: str, chosen, objective: float | None, bound: float | None,
            baseline: Baseline, diagnostics: list[Diagnostic], t0: float, timings: dict,
            g: float | None = None) -> Result:
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
                    baseline=base, timings=timings)
    result.explanation = explain(problem, chosen if chosen is not None else np.zeros(0, np.int32), obj_dec,
                                 bound_dec, g, seconds)
    result.explanation["timings"] = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in timings.items()
                                     if k != "stats"}
    timings["extract_s"] = time.perf_counter() - t_solved
    return result


def invalid_result(error: ScenarioError) -> Result:
    return Result(status="invalid", solver="", diagnostics=list(error.diagnostics),
                  baseline={"method": "rank_order_draft", "feasible": False, "objective": None})
