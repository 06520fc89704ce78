"""Quiet in-process HiGHS: no banner or log on stdout, status read from the model status and the gap."""

from __future__ import annotations

import os
import sys
import threading
from dataclasses import dataclass

import highspy
import numpy as np

_banner_lock = threading.Lock()
_banner_done = False

INF = highspy.kHighsInf
MS = highspy.HighsModelStatus


def new_highs(time_limit: float | None = None, threads: int | None = 1) -> highspy.Highs:
    """A Highs instance with all output off. The library prints a banner to fd 1 on the first instance of a
    process, before any option can be set; that first construction happens with fd 1 pointed at /dev/null.

    One thread by default: HiGHS's branch and bound is serial, and the idle workers of its thread pool spin
    on the other core (measured: 1.6 cores busy for the same search, no faster), which a second search
    running beside it (see :mod:`optimization.decomposition`) needs."""
    global _banner_done
    with _banner_lock:
        if not _banner_done:
            sys.stdout.flush()
            saved = os.dup(1)
            devnull = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, 1)
                highspy.Highs()
            finally:
                os.dup2(saved, 1)
                os.close(saved)
                os.close(devnull)
            _banner_done = True
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("log_to_console", False)
    h.setOptionValue("random_seed", 0)
    if threads is not None:
        h.setOptionValue("threads", threads)
    if time_limit is not None:
        h.setOptionValue("time_limit", max(float(time_limit), 0.001))
    return h


def version() -> str:
    return f"HiGHS {new_highs().version()}"


def add_columns(h: highspy.Highs, cost: np.ndarray, lower: np.ndarray, upper: np.ndarray,
                starts: np.ndarray, index: np.ndarray, value: np.ndarray) -> None:
    h.addCols(len(cost), np.asarray(cost, np.float64), np.asarray(lower, np.float64),
              np.asarray(upper, np.float64), len(index), np.asarray(starts, np.int32),
              np.asarray(index, np.int32), np.asarray(value, np.float64))


@dataclass
class MipOutcome:
    status: str  # optimal / feasible / infeasible / unknown
    model_status: str
    values: np.ndarray | None
    objective: float | None
    bound: float | None
    gap: float | None


def classify(model_status, has_solution: bool, gap: float | None, requested_gap: float) -> str:
    """The true status: HiGHS says kOptimal when its own gap tolerance is met; a time limit with a solution
    is ``feasible`` unless the gap already meets the requested one."""
    if model_status == MS.kInfeasible:
        return "infeasible"
    if not has_solution:
        return "unknown"
    if gap is not None and gap <= requested_gap + 1e-12:
        return "optimal"
    return "feasible"


def relative_gap(objective: float, bound: float) -> float:
    if objective == bound:
        return 0.0
    gap = max(0.0, bound - objective) / max(abs(bound), 1e-12)
    return 0.0 if gap < 1e-12 else gap  # float noise of the sums


def solution_matches_objective(h: highspy.Highs) -> bool:
    """HiGHS 1.16 can return the user's start vector instead of the optimum when presolve solves the whole
    MIP (objective reported right, column values stale). Check the values against the reported objective."""
    info = h.getInfo()
    if info.primal_solution_status != 2:
        return True
    cost = np.asarray(h.getLp().col_cost_)
    value = float(cost @ np.asarray(h.getSolution().col_value))
    return abs(value - info.objective_function_value) <= 1e-7 * (1.0 + abs(value))


def run_checked(h: highspy.Highs) -> None:
    h.run()
    if not solution_matches_objective(h):
        h.setOptionValue("presolve", "off")
        h.run()
        h.setOptionValue("presolve", "choose")


def run_mip(h: highspy.Highs, requested_gap: float) -> MipOutcome:
    h.setOptionValue("mip_rel_gap", max(float(requested_gap), 1e-9))
    h.setOptionValue("mip_abs_gap", 1e-9)
    run_checked(h)
    ms = h.getModelStatus()
    info = h.getInfo()
    has = info.primal_solution_status == 2  # kSolutionStatusFeasible
    values = np.array(h.getSolution().col_value) if has else None
    obj = info.objective_function_value if has else None
    bound = info.mip_dual_bound if has else None
    gap = relative_gap(obj, bound) if has else None
    return MipOutcome(classify(ms, has, gap, requested_gap), h.modelStatusToString(ms), values, obj, bound, gap)
