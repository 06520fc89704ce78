"""The compact model of DESIGN.md §4 (x per bid, y per insurer and county), three ways:

* :func:`build_pulp_model` – the PuLP formulation (numeric ids in names); solved with CBC by
  :func:`solve_compact_cbc` (CBC bundled with PuLP 3.3, run with its log in a temporary directory that is
  removed afterwards, so the bound and gap can be read from it);
* :func:`solve_compact_highs` – the same model built from numpy arrays straight into highspy (no per-term
  Python objects), used to cross-check the decomposition and for the slack relaxation;
* :func:`solve_slack_relaxation` – county limits and capacities relaxed with penalised slack, to explain an
  infeasible scenario.
"""

from __future__ import annotations

import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .highs import INF, MipOutcome, add_columns, classify, new_highs, relative_gap, run_mip
from .problem import Problem


@dataclass
class CompactLayout:
    n_x: int
    y_ins: np.ndarray
    y_county: np.ndarray
    bid_y: np.ndarray  # y column (offset from n_x) of each bid
    counties: np.ndarray  # counties with assignable lots
    cap_ins: np.ndarray  # insurers with finite capacity


def layout(problem: Problem) -> CompactLayout:
    nb = problem.n_bids
    bid_county = problem.lot_county[problem.bid_lot].astype(np.int64)
    key = bid_county * max(problem.n_insurers, 1) + problem.bid_ins
    uniq, inverse = np.unique(key, return_inverse=True)
    y_county = (uniq // max(problem.n_insurers, 1)).astype(np.int32)
    y_ins = (uniq % max(problem.n_insurers, 1)).astype(np.int32)
    counties = np.array([c for c in range(problem.n_counties) if problem.county_lots[c]], dtype=np.int32)
    cap_ins = np.flatnonzero(np.isfinite(problem.cap)).astype(np.int32)
    return CompactLayout(nb, y_ins, y_county, inverse.astype(np.int32), counties, cap_ins)


def _rows(problem: Problem, lay: CompactLayout, slack: bool):
    """Row bounds and triplets (row, col, value) of the compact model (optionally with slack columns)."""
    nb, ny = lay.n_x, len(lay.y_ins)
    bids = np.arange(nb)
    ys = np.arange(ny)
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    lower: list[np.ndarray] = []
    upper: list[np.ndarray] = []

    def entries(r, c, v) -> None:
        rows.append(np.asarray(r))
        cols.append(np.asarray(c))
        vals.append(np.asarray(v, dtype=np.float64))

    def bounds(lo, hi) -> None:
        lower.append(np.asarray(lo, dtype=np.float64))
        upper.append(np.asarray(hi, dtype=np.float64))

    r0 = 0
    # each assignable lot exactly once
    assignable = problem.assignable_lots()
    lot_row = np.full(problem.n_lots, -1)
    lot_row[assignable] = np.arange(len(assignable))
    entries(r0 + lot_row[problem.bid_lot], bids, np.ones(nb))
    bounds(np.ones(len(assignable)), np.ones(len(assignable)))
    r0 += len(assignable)
    # x_b <= y
    entries(r0 + bids, bids, np.ones(nb))
    entries(r0 + bids, nb + lay.bid_y, -np.ones(nb))
    bounds(np.full(nb, -INF), np.zeros(nb))
    r0 += nb
    # y <= sum of its x
    entries(r0 + ys, nb + ys, np.ones(ny))
    entries(r0 + lay.bid_y, bids, -np.ones(nb))
    bounds(np.full(ny, -INF), np.zeros(ny))
    r0 += ny
    # min <= sum y <= max per county
    county_row = np.full(problem.n_counties, -1)
    county_row[lay.counties] = np.arange(len(lay.counties))
    entries(r0 + county_row[lay.y_county], nb + ys, np.ones(ny))
    bounds(problem.county_min[lay.counties], problem.county_max[lay.counties])
    n_extra = 0
    if slack:
        k = len(lay.counties)
        entries(r0 + np.arange(k), nb + ny + np.arange(k), np.ones(k))
        entries(r0 + np.arange(k), nb + ny + k + np.arange(k), -np.ones(k))
        n_extra = 2 * k
    r0 += len(lay.counties)
    # capacity
    ins_row = np.full(problem.n_insurers, -1)
    ins_row[lay.cap_ins] = np.arange(len(lay.cap_ins))
    capped = np.flatnonzero(ins_row[problem.bid_ins] >= 0)
    entries(r0 + ins_row[problem.bid_ins[capped]], capped, problem.premium[problem.bid_lot[capped]])
    bounds(np.full(len(lay.cap_ins), -INF), problem.cap[lay.cap_ins])
    if slack:
        k = len(lay.cap_ins)
        entries(r0 + np.arange(k), nb + ny + n_extra + np.arange(k), -np.ones(k))
        n_extra += k
    return (np.concatenate(lower), np.concatenate(upper), np.concatenate(rows).astype(np.int64),
            np.concatenate(cols).astype(np.int64), np.concatenate(vals), n_extra)


def _load(problem: Problem, lay: CompactLayout, slack: bool, time_limit: float | None):
    lower, upper, rows, cols, vals, n_extra = _rows(problem, lay, slack)
    nb, ny = lay.n_x, len(lay.y_ins)
    n_cols = nb + ny + n_extra
    h = new_highs(time_limit)
    cost = np.zeros(n_cols)
    if slack:
        k = len(lay.counties)
        # relaxing a county limit (one insurer) is preferred to exceeding a capacity by a largest lot
        cost[nb + ny: nb + ny + 2 * k] = -1.0
        cost[nb + ny + 2 * k:] = -100.0
        cost[:nb] = 1e-6 * problem.weight / max(1.0, float(problem.weight.sum()))
    else:
        cost[:nb] = problem.weight
    upper_col = np.ones(n_cols)
    upper_col[nb + ny:] = INF
    order = np.lexsort((rows, cols))
    cols_sorted = cols[order]
    starts = np.searchsorted(cols_sorted, np.arange(n_cols))
    h.addRows(len(lower), lower, upper, 0, np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0))
    add_columns(h, cost, np.zeros(n_cols), upper_col, starts, rows[order], vals[order])
    integ = np.full(n_cols, 1, dtype=np.uint8)  # kInteger
    h.changeColsIntegrality(n_cols, np.arange(n_cols, dtype=np.int32), integ)
    import highspy
    h.changeObjectiveSense(highspy.ObjSense.kMaximize)
    return h


def solve_compact_highs(problem: Problem, time_limit: float | None = None, gap: float = 0.0,
                        start: np.ndarray | None = None, allowed: np.ndarray | None = None,
                        shared=None, random_seed: int = 0, trace: list | None = None,
                        trace_t0: float | None = None) -> tuple[MipOutcome, np.ndarray | None, dict]:
    """Solve the compact model with HiGHS. Returns the outcome, the chosen bid per assignable lot (bid
    indices) and timings. ``allowed`` (bool per bid): the other bids, and the participations no allowed bid
    uses, are fixed to zero (the decomposition's reduced-cost fixing). ``shared``: an incumbent shared with a
    search running beside this one (``offer(bids)``, ``better_than(value)``); each side hands the other
    every better allocation it finds; ``random_seed``: HiGHS's, for a second search that differs; ``trace``: a
    list to which (seconds since ``trace_t0``, incumbent or None, bound) is appended as the search goes (each
    improving allocation, and the bound at most every quarter second)."""
    t0 = time.perf_counter()
    lay = layout(problem)
    h = _load(problem, lay, False, time_limit)
    h.setOptionValue("random_seed", random_seed)
    if allowed is not None:
        y_used = np.zeros(len(lay.y_ins), dtype=bool)
        y_used[lay.bid_y[allowed]] = True
        off = np.r_[np.flatnonzero(~allowed), lay.n_x + np.flatnonzero(~y_used)].astype(np.int32)
        if len(off):
            h.changeColsBounds(len(off), off, np.zeros(len(off)), np.zeros(len(off)))
    if start is not None:
        x = np.zeros(lay.n_x + len(lay.y_ins))
        x[start] = 1.0
        x[lay.n_x + lay.bid_y[start]] = 1.0
        h.setSolution(_solution(x))
    if shared is not None:
        _share(h, problem, lay, shared)
    if trace is not None:
        _trace(h, trace, time.perf_counter() if trace_t0 is None else trace_t0)
    t1 = time.perf_counter()
    if time_limit is not None:  # the build counts against the limit (seconds at the nation scale when busy)
        h.setOptionValue("time_limit", max(float(time_limit) - (t1 - t0), 0.01))
    out = run_mip(h, gap)
    t2 = time.perf_counter()
    chosen = None
    if out.values is not None:
        chosen = np.flatnonzero(out.values[: lay.n_x] > 0.5).astype(np.int32)
        out.objective = float(problem.weight[chosen].sum())
        out.gap = relative_gap(out.objective, max(out.bound, out.objective))
    return out, chosen, {"build_s": t1 - t0, "solve_s": t2 - t1}


def _share(h, problem: Problem, lay: CompactLayout, shared) -> None:
    n_cols = lay.n_x + len(lay.y_ins)

    def found(event) -> None:
        values = np.asarray(event.data_out.mip_solution)[: lay.n_x]
        shared.offer(np.flatnonzero(values > 0.5))

    last = [None]

    def offered(event) -> None:
        bids = shared.better_than(event.data_out.mip_primal_bound)
        if bids is not None and bids is not last[0]:  # each allocation once: HiGHS may reject it
            last[0] = bids
            x = np.zeros(n_cols)
            x[bids] = 1.0
            x[lay.n_x + lay.bid_y[bids]] = 1.0
            event.data_in.setSolution(x)

    def finished(event) -> None:
        if shared.proven.is_set():
            event.interrupt()

    h.cbMipImprovingSolution += found
    h.cbMipUserSolution += offered
    h.cbMipInterrupt += finished
    h.cbSimplexInterrupt += finished  # also while the root LP is solved


def _trace(h, trace: list, t0: float) -> None:
    last = [-1.0]

    def point(event, always: bool) -> None:
        now = time.perf_counter() - t0
        if not always and now - last[0] < 0.25:
            return
        last[0] = now
        primal = event.data_out.mip_primal_bound
        trace.append((now, float(primal) if abs(primal) < INF else None, float(event.data_out.mip_dual_bound)))

    h.cbMipImprovingSolution += lambda event: point(event, True)
    h.cbMipInterrupt += lambda event: point(event, False)


def _solution(values: np.ndarray):
    import highspy
    sol = highspy.HighsSolution()
    sol.col_value = list(values)
    sol.value_valid = True
    return sol


def solve_slack_relaxation(problem: Problem, time_limit: float | None = 30.0):
    """Minimum penalised slack on county limits and capacities; None when not solved in time.
    Returns ({county: missing insurers}, {county: surplus insurers}, {insurer: excess premium Decimal})."""
    from decimal import Decimal

    lay = layout(problem)
    h = _load(problem, lay, True, time_limit)
    out = run_mip(h, 0.0)
    if out.values is None:
        return None
    nb, ny, k = lay.n_x, len(lay.y_ins), len(lay.counties)
    v = out.values
    short = {int(lay.counties[j]): int(round(v[nb + ny + j])) for j in range(k) if v[nb + ny + j] > 0.5}
    over = {int(lay.counties[j]): int(round(v[nb + ny + k + j])) for j in range(k) if v[nb + ny + k + j] > 0.5}
    excess = {}
    for j, i in enumerate(lay.cap_ins):
        s = v[nb + ny + 2 * k + j]
        if s > 1e-7:
            excess[int(i)] = (Decimal(repr(float(s * problem.scale)))).quantize(Decimal("0.01"))
    return short, over, excess


# ------------------------------------------------------------------------------------------------- PuLP


def build_pulp_model(problem: Problem):
    """The compact model as a PuLP problem; variables x_<bid>, y_<k> (numeric ids only)."""
    import pulp

    lay = layout(problem)
    prob = pulp.LpProblem("allocation", pulp.LpMaximize)
    x = [pulp.LpVariable(f"x_{b}", cat=pulp.LpBinary) for b in range(problem.n_bids)]
    y = [pulp.LpVariable(f"y_{k}", cat=pulp.LpBinary) for k in range(len(lay.y_ins))]
    prob += pulp.lpSum(float(problem.weight[b]) * x[b] for b in range(problem.n_bids))
    for li in problem.assignable_lots():
        prob += pulp.lpSum(x[b] for b in problem.lot_bids[li]) == 1, f"lot_{li}"
    members: list[list[int]] = [[] for _ in y]
    for b in range(problem.n_bids):
        k = int(lay.bid_y[b])
        prob += x[b] <= y[k], f"link_{b}"
        members[k].append(b)
    for k, bs in enumerate(members):
        prob += y[k] <= pulp.lpSum(x[b] for b in bs), f"cover_{k}"
    by_county: dict[int, list[int]] = {}
    for k, c in enumerate(lay.y_county):
        by_county.setdefault(int(c), []).append(k)
    for c in lay.counties:
        ys = pulp.lpSum(y[k] for k in by_county.get(int(c), []))
        prob += ys >= int(problem.county_min[c]), f"cmin_{c}"
        prob += ys <= int(problem.county_max[c]), f"cmax_{c}"
    for i in lay.cap_ins:
        bs = np.flatnonzero(problem.bid_ins == i)
        prob += pulp.lpSum(float(problem.premium[problem.bid_lot[b]]) * x[b] for b in bs) <= float(problem.cap[i]), \
            f"cap_{i}"
    return prob, x, y


_CBC_NUM = r"([-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)"


def solve_compact_cbc(problem: Problem, time_limit: float | None = None, gap: float = 0.0,
                      threads: int | None = None) -> tuple[MipOutcome, np.ndarray | None, dict]:
    """Solve the PuLP model with the CBC bundled with PuLP. No output on stdout; the log (read for the bound)
    and PuLP's own temporary files live in a temporary directory removed afterwards."""
    import pulp

    t0 = time.perf_counter()
    prob, x, _ = build_pulp_model(problem)
    t1 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="agri-alloc-cbc-") as tmp:
        log = Path(tmp) / "cbc.log"
        solver = pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit, gapRel=max(gap, 1e-9), threads=threads,
                                   logPath=str(log), keepFiles=False)
        solver.tmpDir = tmp
        prob.solve(solver)
        text = log.read_text(errors="replace") if log.exists() else ""
    t2 = time.perf_counter()
    has = prob.sol_status in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible)
    if prob.status == pulp.LpStatusInfeasible or prob.sol_status == pulp.LpSolutionInfeasible:
        return (MipOutcome("infeasible", "Infeasible", None, None, None, None), None,
                {"build_s": t1 - t0, "solve_s": t2 - t1})
    chosen = None
    obj = bound = g = None
    if has:
        vals = np.array([v.value() or 0.0 for v in x])
        chosen = np.flatnonzero(vals > 0.5).astype(np.int32)
        obj = float(problem.weight[chosen].sum())
        bound = _cbc_bound(text, obj, prob.sol_status == pulp.LpSolutionOptimal)
        g = relative_gap(obj, bound)
    status = classify(None, has, g, gap)
    if prob.sol_status == pulp.LpSolutionOptimal and g is not None and g <= max(gap, 1e-9) + 1e-12:
        status = "optimal"
    return (MipOutcome(status, pulp.LpStatus[prob.status], None, obj, bound, g), chosen,
            {"build_s": t1 - t0, "solve_s": t2 - t1})


def _cbc_bound(log: str, objective: float, optimal: bool) -> float:
    """CBC reports the best possible objective in its log (minimisation of the negated objective)."""
    m = re.findall(r"best possible\s+" + _CBC_NUM, log, flags=re.IGNORECASE)
    m = m or re.findall(r"Lower bound:\s+" + _CBC_NUM, log)
    if m:
        value = abs(float(m[-1]))
        return max(value, objective)
    return objective if optimal else float("inf")
