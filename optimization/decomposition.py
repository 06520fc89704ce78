"""Dantzig–Wolfe decomposition by county, with a proof of optimality.

Counties couple only through the insurers' premium capacities (the market-share cap is folded into them).
A column is a county pattern (one bidder per lot, min..max distinct insurers); the master chooses one
pattern per county subject to the capacities:

1. **Column generation.** The master LP is solved with HiGHS (simplex, warm-started as columns arrive);
   the capacity duals ``pi`` price every county at once with the exact vectorised oracle
   (:mod:`optimization.oracle`). For *any* ``pi >= 0`` the Lagrangian value
   ``sum_c V_c(pi) + pi . cap`` is a valid upper bound; the best one is kept. Dual smoothing (Wentges)
   keeps the number of rounds low.
2. **Restricted master MIP.** The generated columns, binary, solved by HiGHS. On a large scale (more than
   ``_LARGE_COUNTIES`` counties) it gets half the time and usually meets the requested gap by itself; on a
   smaller one it is a short look (``_FIRST_MIP_SHARE`` of the time) over the columns plus every pattern within
   ``2 * gap * UB`` of its county's best, for a first incumbent: two looks, one per core, with different
   random seeds, the better one kept.
3. **Cores** (smaller scales). Small master MIPs over the patterns within ``eps`` of their county's Lagrangian
   best, plus the patterns of every incumbent so far, solved to optimality with ``eps`` growing in units of the
   absolute gap. The allocations that fill the binding capacities best differ from the incumbent in a few
   cheap patterns, which these find; each solved core is also a global bound, ``max(core bound, UB - eps)``.
4. **Reduced-cost enumeration.** With the incumbent value ``LB`` and the bound ``UB = L(pi*)``, a county
   pattern whose Lagrangian value is more than ``UB - LB`` below its county's best cannot be part of any
   better solution. Every pattern within that distance is enumerated (depth-first, exact); the compact
   x/y model with every bid outside them fixed to zero is then solved by HiGHS from the incumbent, with the
   requested gap as HiGHS's own (so it prunes every node within the gap of the incumbent), and its MIP bound
   is a bound for the whole problem. Two such searches run, one per core (random seeds 0 and 1), handing each
   other every allocation they find; the first to prove the gap stops the other. It ends in the proven
   optimum, or, when time runs out, the best allocation with the honest gap against ``min(UB, that bound)``;
   if the enumeration is too large, the incumbent with the gap ``(UB - LB) / UB``.

When :func:`optimization.solve.solve_scenario` races the compact model beside the decomposition (below the
nation scale), that race has the second core instead: the second look and the second exact search do not run
(``second_search=False``), and ``halt`` ends the decomposition at its next phase boundary when the race proved
the gap first. A race that has not started when the exact phase begins (``exact_phase``) does not start: the
exact phase then searches alone (measured on the second family's city scale, a loaded machine: the race only
took half its CPU). Column generation gets at most ``_CG_SHARE`` of the time.

The second look and the second exact search start only after ``_SECOND_SEARCH_AFTER``: a solve that is done
by then ran alone and gives the same allocation on every run. A longer one depends, like every time-boxed
step here, on how fast the machine is; it is proven within the requested gap either way.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import highspy
import numpy as np

from .baseline import is_feasible
from .highs import INF, add_columns, new_highs, relative_gap, run_checked
from .memory import release_free_memory
from .oracle import CountyOracle, enumerate_patterns
from .problem import Problem

_LARGE_COUNTIES = 1000  # above this many counties the restricted master MIP gets half the time
_FIRST_MIP_SHARE = 0.1  # up to _LARGE_COUNTIES: the share of the time for the first look at the master MIP
_CORE_STEPS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0)  # core widths, in units of the absolute gap
_CORE_SHARE = 0.3  # at most this share of the time left goes to the cores
_CORE_STEP_SHARE = 0.1  # one core solve may take at most this share of the time left
_CORE_PATTERNS = 5_000  # a core with more patterns than this is not tried (too large to solve in its box)
_SECOND_SEARCH_AFTER = 1.0  # seconds before the exact phase starts its second search (see _run_beside)
_CG_SHARE = 0.6  # column generation gets at most this share of the time
_ARTIFICIAL_COST = 1000.0  # per scaled premium unit; any capacity dual is at most the highest score (100)


@dataclass
class DecompositionResult:
    status: str  # optimal / feasible / infeasible / unknown
    chosen: np.ndarray | None  # bid index per assignable lot
    objective: float | None
    bound: float | None
    gap: float | None
    proven: bool
    timings: dict = field(default_factory=dict)
    stats: dict = field(default_factory=dict)
    # the phase whose allocation this is: start / master_mip / cores / exact_search / compact
    phase: str = ""
    trace: list = field(default_factory=list)  # (seconds since the call, objective or None, bound)


class _Master:
    def __init__(self, problem: Problem, counties: np.ndarray, cap_ins: np.ndarray):
        self.p = problem
        self.counties = counties
        self.cap_ins = cap_ins
        self.county_row = np.full(problem.n_counties, -1, dtype=np.int64)
        self.county_row[counties] = np.arange(len(counties))
        self.ins_row = np.full(problem.n_insurers, -1, dtype=np.int64)
        self.ins_row[cap_ins] = len(counties) + np.arange(len(cap_ins))
        self.h = new_highs()
        n_rows = len(counties) + len(cap_ins)
        lower = np.concatenate([np.ones(len(counties)), np.full(len(cap_ins), -INF)])
        upper = np.concatenate([np.ones(len(counties)), problem.cap[cap_ins]])
        self.h.addRows(n_rows, lower, upper, 0, np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0))
        self.h.changeObjectiveSense(highspy.ObjSense.kMaximize)
        # artificial slack on each capacity row (phase one by penalty)
        k = len(cap_ins)
        if k:
            add_columns(self.h, np.full(k, -_ARTIFICIAL_COST), np.zeros(k), np.full(k, INF), np.arange(k),
                        self.ins_row[cap_ins], -np.ones(k))
        self.n_art = k
        self.col_county: list[int] = []
        self.col_bids: list[np.ndarray] = []
        self.col_profit: list[float] = []
        self.keys: set[tuple[int, bytes]] = set()
        self.stop_at: float | None = None
        self.halt: threading.Event | None = None  # set from another thread to end a solve early

    def add(self, patterns: list[tuple[int, np.ndarray]]) -> int:
        p = self.p
        starts, index, value, cost = [], [], [], []
        nnz = 0
        added = 0
        for c, bids in patterns:
            key = (c, bids.tobytes())
            if key in self.keys:
                continue
            self.keys.add(key)
            usage = np.bincount(p.bid_ins[bids], weights=p.premium[p.bid_lot[bids]], minlength=p.n_insurers)
            ins = np.flatnonzero((usage > 0) & (self.ins_row >= 0))
            starts.append(nnz)
            index.append(np.r_[self.county_row[c], self.ins_row[ins]])
            value.append(np.r_[1.0, usage[ins]])
            nnz += 1 + len(ins)
            profit = float(p.weight[bids].sum())
            cost.append(profit)
            self.col_county.append(c)
            self.col_bids.append(bids)
            self.col_profit.append(profit)
            added += 1
        if added:
            add_columns(self.h, np.array(cost), np.zeros(added), np.full(added, INF), np.array(starts),
                        np.concatenate(index), np.concatenate(value))
        return added

    def copy(self, random_seed: int) -> _Master:
        """The same master with the same columns, in a HiGHS of its own with another random seed."""
        other = _Master(self.p, self.counties, self.cap_ins)
        other.h.setOptionValue("random_seed", random_seed)
        other.add(list(zip(self.col_county, self.col_bids, strict=True)))
        return other

    @property
    def n_cols(self) -> int:
        return len(self.col_bids)

    def lp(self) -> tuple[float, np.ndarray, np.ndarray, float]:
        self.h.run()
        sol = self.h.getSolution()
        duals = np.asarray(sol.row_dual)
        values = np.asarray(sol.col_value)
        art = float(values[: self.n_art].sum()) if self.n_art else 0.0
        obj = self.h.getInfo().objective_function_value
        mu = duals[: len(self.counties)]
        pi = np.zeros(self.p.n_insurers)
        pi[self.cap_ins] = np.maximum(duals[len(self.counties):], 0.0)
        return obj, pi, mu, art

    def start_vector(self, chosen_cols: list[int]) -> np.ndarray:
        v = np.zeros(self.n_art + self.n_cols)
        v[np.array(chosen_cols, dtype=np.int64) + self.n_art] = 1.0
        return v

    def _interrupt(self, event) -> None:
        if (self.stop_at is not None and event.data_out.mip_primal_bound >= self.stop_at) or \
                (self.halt is not None and self.halt.is_set()):
            event.interrupt()

    def mip(self, time_limit: float, rel_gap: float, start_cols: list[int] | None, stop_at: float | None = None):
        """Solve the master over the current columns as a MIP; interrupt as soon as the incumbent reaches
        ``stop_at`` (the value that meets the requested gap against the global bound)."""
        h = self.h
        self.stop_at = stop_at
        if not getattr(self, "_subscribed", False):
            h.cbMipInterrupt += self._interrupt
            self._subscribed = True
        n = self.n_art + self.n_cols
        if self.n_art:
            h.changeColsBounds(self.n_art, np.arange(self.n_art, dtype=np.int32), np.zeros(self.n_art),
                               np.zeros(self.n_art))
        idx = np.arange(self.n_art, n, dtype=np.int32)
        h.changeColsBounds(len(idx), idx, np.zeros(len(idx)), np.ones(len(idx)))
        h.changeColsIntegrality(len(idx), idx, np.ones(len(idx), dtype=np.uint8))
        h.setOptionValue("time_limit", max(time_limit, 0.01))
        h.setOptionValue("mip_rel_gap", max(rel_gap, 1e-9))
        h.setOptionValue("mip_abs_gap", 1e-9)
        if start_cols is not None:
            sol = highspy.HighsSolution()
            sol.col_value = list(self.start_vector(start_cols))
            sol.value_valid = True
            h.setSolution(sol)
        run_checked(h)
        info = h.getInfo()
        ms = h.getModelStatus()
        if info.primal_solution_status != 2:
            return ms, None, None
        values = np.asarray(h.getSolution().col_value)[self.n_art:]
        cols = [int(j) for j in np.flatnonzero(values > 0.5)]
        return ms, cols, info.mip_dual_bound


def solve_decomposition(problem: Problem, time_limit: float | None = None, gap: float = 0.0,
                        start: np.ndarray | None = None, max_rounds: int = 1000, exact: bool = True,
                        enumeration_limit: int = 400_000, oracle: CountyOracle | None = None,
                        halt: threading.Event | None = None, second_search: bool = True,
                        exact_phase: threading.Event | None = None) -> DecompositionResult:
    """Solve the allocation by county decomposition. ``start``: bid indices of a feasible assignment;
    ``oracle``: the problem's county oracle, when the caller built it already (it is released after column
    generation: :meth:`CountyOracle.release`); ``halt``: set from another
    thread (a race that proved the gap first), the next phase boundary ends the call with what it has;
    ``second_search``: False when something else (the compact race) has the second core: then the first look
    and the exact phase run one search each, not two; ``exact_phase``: set when the exact phase's search
    starts (a compact race that has not started by then does not start)."""
    t0 = time.perf_counter()
    deadline = t0 + (time_limit if time_limit is not None else 1e9)
    p = problem
    counties = np.array([c for c in range(p.n_counties) if p.county_lots[c]], dtype=np.int64)
    cap_ins = np.flatnonzero(np.isfinite(p.cap))
    oracle = oracle or CountyOracle(p)
    master = _Master(p, counties, cap_ins)
    finite_cap = np.where(np.isfinite(p.cap), p.cap, 0.0)

    def price(pi: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
        r = p.weight - pi[p.bid_ins] * p.premium[p.bid_lot]
        values = oracle.values(r)
        return values, float(values[counties].sum() + pi @ finite_cap), r

    # initial columns: each county's own best (pi = 0) and the starting assignment's patterns
    pi = np.zeros(p.n_insurers)
    values, ub, r = price(pi)
    if not np.all(np.isfinite(values[counties])):
        return DecompositionResult("infeasible", None, None, None, None, True,
                                   {"total_s": time.perf_counter() - t0})
    best_ub, best_pi, best_values = ub, pi.copy(), values.copy()
    master.add([(int(c), oracle.pattern(int(c))) for c in counties])
    start_cols = None
    if start is not None:
        start_cols = _add_assignment(master, p, start)
    t_build = time.perf_counter()

    # ---- column generation with Wentges smoothing -------------------------------------------------
    alpha = 0.5
    rounds = 0
    lp_obj = -np.inf
    art = 0.0
    stab_pi = best_pi.copy()
    t_lp = t_price = 0.0
    def halted() -> bool:
        return halt is not None and halt.is_set()

    trace: list = []
    start_value = float(p.weight[start].sum()) if start is not None else None

    def note(objective: float | None, bnd: float) -> None:
        trace.append((time.perf_counter() - t0, objective, bnd))

    # column generation stops at _CG_SHARE of the time even unconverged: the restricted master MIP then still
    # finds allocations over the columns so far and the best Lagrangian bound holds (measured on a busy machine
    # at the nation scale of the second family: column generation took all 35 s and the MIP got 0.24 s)
    cg_deadline = t0 + (time_limit * _CG_SHARE if time_limit is not None else 1e9)
    while rounds < max_rounds and time.perf_counter() < cg_deadline and not halted():
        rounds += 1
        ta = time.perf_counter()
        lp_obj, lp_pi, mu, art = master.lp()
        tb = time.perf_counter()
        t_lp += tb - ta
        if best_ub - lp_obj <= 1e-9 * max(1.0, abs(best_ub)):
            break
        # smoothed point first; fall back to the LP duals when it yields no column (mis-pricing)
        added = 0
        for point in ((alpha * stab_pi + (1 - alpha) * lp_pi) if alpha > 0 else lp_pi, lp_pi):
            values, ub, r = price(point)
            if ub < best_ub:
                best_ub, best_pi, best_values = ub, point.copy(), values.copy()
            rc = values[counties] - mu
            new = counties[rc > 1e-9 * (1.0 + np.abs(values[counties]))]
            added = master.add([(int(c), oracle.pattern(int(c))) for c in new])
            if added or alpha == 0:
                break
        stab_pi = best_pi.copy()
        t_price += time.perf_counter() - tb
        if not added:
            break
    # nothing after column generation prices: the oracle's tables (0.2 GB at the nation scale) go before the
    # master MIP and the exact phase need their memory
    oracle.release()
    release_free_memory()
    t_cg = time.perf_counter()
    note(start_value, best_ub)
    stats = {"rounds": rounds, "columns": master.n_cols, "lp_bound": lp_obj, "lagrangian_bound": best_ub}
    timings = {"build_s": t_build - t0, "cg_lp_s": t_lp, "cg_pricing_s": t_price, "cg_s": t_cg - t_build}
    if art > 1e-7 and best_ub - lp_obj <= 1e-6 * max(1.0, abs(best_ub)):
        # even the convex relaxation cannot meet the capacities: no allocation exists
        timings["total_s"] = time.perf_counter() - t0
        return DecompositionResult("infeasible", None, None, None, None, True, timings, stats)

    # ---- incumbent: restricted master MIP, then (smaller scales) cores around it ------------------------
    remaining = deadline - time.perf_counter()
    stop_at = best_ub * (1 - gap) if gap > 0 else None
    large = len(counties) > _LARGE_COUNTIES
    bound = best_ub
    proven = False
    # on a large scale the restricted master usually reaches the requested gap by itself (half the time);
    # on a smaller one it is a short look for an incumbent, and the time goes to the cores and the exact phase
    box = remaining if not exact else remaining * (0.5 if large else _FIRST_MIP_SHARE)
    small_exact = exact and not large  # a second look beside the first, then the cores, then the exact phase
    if small_exact:
        # give the short look the patterns close to each county's Lagrangian best (better incumbents)
        near = _near_patterns(p, counties, best_pi, best_values, 2.0 * max(gap, 1e-6) * abs(best_ub))
        if near is not None:
            master.add(near)
    # the starting assignment is kept as a fallback, not handed to HiGHS: measured on the province scale,
    # a hand-drawn start steers HiGHS's search to worse incumbents than its own heuristics find
    # Where the exact phase follows, a second look with another random seed runs beside the first after
    # _SECOND_SEARCH_AFTER (measured on the province scale: on seed 1 it finds 6373.818 where the first finds
    # 6373.737, and the cores then reach the optimum from there); the better one is kept.
    looks: list = [None, None]
    looked = threading.Event()  # one look has ended (proven, or at the requested gap): the other stops too
    t_look = time.perf_counter()

    def first_look(k: int) -> None:
        m = master if k == 0 else master.copy(random_seed=k)
        m.halt = looked
        ms_k, cols_k, _ = m.mip(max(box - (time.perf_counter() - t_look), 0.05), max(gap / 4, 1e-7), None,
                                stop_at)
        m.halt = None
        looked.set()
        value = -np.inf if cols_k is None else sum(m.col_profit[j] for j in cols_k)
        looks[k] = (value, ms_k, None if cols_k is None else np.concatenate([m.col_bids[j] for j in cols_k]))

    _run_beside(first_look, _SECOND_SEARCH_AFTER) if small_exact and second_search else first_look(0)
    looks = [look for look in looks if look is not None]
    stats["first_looks"] = [look[0] if np.isfinite(look[0]) else None for look in looks]
    _, ms, bids = max(looks, key=lambda look: look[0])  # the first on a tie: no race in that choice
    cols = _add_assignment(master, p, bids) if bids is not None else None
    phase = "master_mip" if cols is not None else "start"
    if cols is not None and start_cols is not None and \
            sum(master.col_profit[j] for j in cols) < sum(master.col_profit[j] for j in start_cols):
        cols, phase = start_cols, "start"
    stats["mip_status"] = master.h.modelStatusToString(ms)
    incumbent_cols = cols if cols is not None else start_cols
    if incumbent_cols is not None:
        note(sum(master.col_profit[j] for j in incumbent_cols), bound)
    if small_exact and incumbent_cols is not None and not halted():
        # the allocations that fill the binding capacities best differ from the incumbent in a few cheap
        # patterns: small cores around it, solved to optimality, find them (and each one bounds the whole)
        now = time.perf_counter()
        core = _core_search(p, counties, cap_ins, best_pi, best_values, best_ub, gap,
                            np.concatenate([master.col_bids[j] for j in incumbent_cols]),
                            now + (deadline - now) * _CORE_SHARE, deadline)
        stats.update(core.stats)
        bound = min(bound, core.bound)
        before = sum(master.col_profit[j] for j in incumbent_cols)
        incumbent_cols = _add_assignment(master, p, core.chosen) or incumbent_cols
        if sum(master.col_profit[j] for j in incumbent_cols) > before + 1e-12 * (1 + abs(before)):
            phase = "cores"
        note(sum(master.col_profit[j] for j in incumbent_cols), bound)
    t_mip = time.perf_counter()
    timings["mip_s"] = t_mip - t_cg
    lb = sum(master.col_profit[j] for j in incumbent_cols) if incumbent_cols is not None else -np.inf

    # ---- reduced-cost enumeration: prove optimality or improve -----------------------------------
    if exact and incumbent_cols is not None and not halted() and relative_gap(lb, bound) > 1e-12 \
            and relative_gap(lb, bound) > gap and time.perf_counter() < deadline:
        delta = best_ub - lb
        r = p.weight - best_pi[p.bid_ins] * p.premium[p.bid_lot]
        new_patterns: list[tuple[int, np.ndarray]] = []
        complete = True
        total = 0
        for c in counties:
            c = int(c)
            tol = 1e-9 * (1.0 + abs(best_values[c]))
            found = enumerate_patterns(p, c, r, best_values[c] - delta - tol,
                                       limit=enumeration_limit - total)
            if found is None or time.perf_counter() > deadline:
                complete = False
                break
            total += len(found)
            new_patterns.extend((c, bids) for _, bids in found)
        stats["enumerated"] = total
        stats["enumeration_complete"] = complete
        timings["enumeration_s"] = time.perf_counter() - t_mip
        if complete:
            # Every allocation better than the incumbent uses only the enumerated patterns, hence only their
            # bids: the compact model with every other bid (and unused participation) fixed to zero is exact,
            # and HiGHS's cuts on the x/y form close the gap faster than branching on whole patterns (measured
            # on the province scale: 1.8e-5 - 3.3e-5 against 4e-5 - 5e-5 after the same 25 s).
            from .compact import solve_compact_highs
            allowed = np.zeros(p.n_bids, dtype=bool)
            for _, bids in new_patterns:
                allowed[bids] = True
            start_bids = np.sort(np.concatenate([master.col_bids[j] for j in incumbent_cols]))
            allowed[start_bids] = True
            # HiGHS prunes every node within its gap of the incumbent: ask for (just under) the requested gap.
            # Its search is serial and the time it needs varies a lot with its random seed (measured on the
            # province scale: 26 s to more than 40 s over four seeds): after _SECOND_SEARCH_AFTER, a second
            # search on the other core shares every allocation either finds, and the first to prove the gap
            # stops the other
            shared = _Incumbent(p)
            shared.offer(start_bids)
            outcomes: list = [None, None]
            release_free_memory()  # what the master MIP and the enumeration freed, before two models are built

            def search(k: int) -> None:
                outcomes[k] = solve_compact_highs(p, max(deadline - time.perf_counter(), 0.05), gap * (1 - 1e-3),
                                                  start_bids, allowed, shared, random_seed=k)
                if outcomes[k][0].model_status == "Optimal":
                    shared.proven.set()

            if exact_phase is not None:
                exact_phase.set()
            _run_beside(search, _SECOND_SEARCH_AFTER) if second_search else search(0)
            outcomes = [o for o in outcomes if o is not None]
            stats["exact_mip_status"] = [out.model_status for out, _, _ in outcomes]
            stats["exact_bids"] = int(allowed.sum())
            lb2, chosen2 = shared.get()
            if chosen2 is not None and lb2 > lb:
                incumbent_cols = _add_assignment(master, p, chosen2) or incumbent_cols
                if sum(master.col_profit[j] for j in incumbent_cols) > lb + 1e-12 * (1 + abs(lb)):
                    phase = "exact_search"
                lb = sum(master.col_profit[j] for j in incumbent_cols)
            for out, _, _ in outcomes:
                if out.bound is not None and np.isfinite(out.bound):
                    # every allocation better than the incumbent is in the restricted model: a global bound
                    bound = min(bound, max(lb, out.bound))
                    proven = proven or out.model_status == "Optimal"
            timings["exact_mip_s"] = time.perf_counter() - t_mip - timings["enumeration_s"]
            note(lb, bound)
    elif incumbent_cols is not None and relative_gap(lb, bound) <= 1e-12:
        proven = True

    timings["total_s"] = time.perf_counter() - t0
    if incumbent_cols is None:
        # the generated columns admit no allocation: settle it on the compact model (finds one or proves
        # that none exists) with the time that is left
        from .compact import solve_compact_highs
        out, chosen, _ = solve_compact_highs(p, max(deadline - time.perf_counter(), 0.05), gap)
        stats["fallback"] = "compact"
        timings["total_s"] = time.perf_counter() - t0
        if out.status == "infeasible":
            return DecompositionResult("infeasible", None, None, None, None, True, timings, stats)
        if chosen is None:
            return DecompositionResult("unknown", None, None, bound, None, False, timings, stats, "", trace)
        objective = float(p.weight[chosen].sum())
        bound = max(min(bound, out.bound), objective)
        g = relative_gap(objective, bound)
        note(objective, bound)
        return DecompositionResult("optimal" if g <= gap + 1e-12 else "feasible", chosen, objective, bound, g,
                                   out.status == "optimal", timings, stats, "compact", trace)
    chosen = np.sort(np.concatenate([master.col_bids[j] for j in incumbent_cols])).astype(np.int32)
    objective = float(p.weight[chosen].sum())
    bound = max(bound, objective)
    g = relative_gap(objective, bound)
    status = "optimal" if g <= gap + 1e-12 else "feasible"
    stats["columns"] = master.n_cols
    return DecompositionResult(status, chosen, objective, bound, g, proven, timings, stats, phase, trace)


class _Incumbent:
    """The best allocation found so far by searches running side by side (thread-safe)."""

    def __init__(self, p: Problem):
        self.p = p
        self._lock = threading.Lock()
        self.value = -np.inf
        self.bids: np.ndarray | None = None
        self.proven = threading.Event()  # one search proved the requested gap: the others can stop

    def offer(self, bids: np.ndarray) -> None:
        bids = np.sort(np.asarray(bids, dtype=np.int64))
        value = float(self.p.weight[bids].sum())
        with self._lock:
            if value > self.value + 1e-12 * (1.0 + abs(value)) and is_feasible(self.p, bids):
                self.value, self.bids = value, bids

    def get(self) -> tuple[float, np.ndarray | None]:
        with self._lock:
            return self.value, self.bids

    def better_than(self, value: float) -> np.ndarray | None:
        """The best allocation if it is better than ``value`` (a search's own incumbent, not finite while it
        has none), else None."""
        with self._lock:
            if self.bids is None or (np.isfinite(value) and self.value <= value + 1e-9 * (1.0 + abs(value))):
                return None
            return self.bids


def _run_beside(search, after: float) -> None:
    """``search(0)`` in this thread and, unless it has finished within ``after`` seconds, ``search(1)`` in a
    second one beside it; an error in either is raised here. A search that ends quickly runs alone, so its
    result does not depend on which of two searches was faster."""
    errors: list[BaseException] = []
    first_done = threading.Event()

    def second() -> None:
        if first_done.wait(after):
            return
        try:
            search(1)
        except BaseException as exc:  # handed to the calling thread
            errors.append(exc)

    thread = threading.Thread(target=second, name="allocation-second-search", daemon=True)
    thread.start()
    try:
        search(0)
    finally:
        first_done.set()
        thread.join()
    if errors:
        raise errors[0]


def _add_assignment(master: _Master, p: Problem, chosen: np.ndarray) -> list[int] | None:
    """Add the patterns of a full assignment as columns; return their column indices."""
    chosen = np.sort(np.asarray(chosen, dtype=np.int64))
    by_county: dict[int, list[int]] = {}
    for b in chosen:
        by_county.setdefault(int(p.lot_county[p.bid_lot[b]]), []).append(int(b))
    master.add([(c, np.array(sorted(bs, key=lambda b: p.bid_lot[b]), dtype=np.int32))
                for c, bs in by_county.items()])
    cols = []
    index = {(c, b.tobytes()): j for j, (c, b) in enumerate(zip(master.col_county, master.col_bids, strict=True))}
    for c, bs in by_county.items():
        key = (c, np.array(sorted(bs, key=lambda b: p.bid_lot[b]), dtype=np.int32).tobytes())
        if key not in index:
            return None
        cols.append(index[key])
    if len(cols) != len(master.counties):
        return None
    return cols


@dataclass
class _CoreOutcome:
    chosen: np.ndarray | None
    bound: float
    stats: dict


def _core_search(p: Problem, counties: np.ndarray, cap_ins: np.ndarray, pi: np.ndarray, values: np.ndarray,
                 ub: float, gap: float, start: np.ndarray | None, core_deadline: float,
                 deadline: float) -> _CoreOutcome:
    """Best allocations over growing cores: the patterns within ``eps`` of their county's Lagrangian best.

    A core is a small master MIP that HiGHS solves to optimality quickly; its optimum is usually near the
    global one because the allocations that fill the binding capacities best differ from the Lagrangian
    optimum in few, cheap patterns. Every solved core is also a bound: an allocation that uses a pattern
    outside the core is worth at most ``ub - eps``, so the optimum is at most max(core bound, ub - eps).
    The cores widen until the requested gap is proven, a core is not solved within its time box, or the
    time share is spent.
    """
    best = None if start is None else np.asarray(start, dtype=np.int64)
    lb = -np.inf if best is None else float(p.weight[best].sum())
    bound = ub
    unit = max(gap, 1e-6) * abs(ub)
    stats: dict = {"cores": []}
    pool = [] if best is None else [best]
    last_size = last_pool = -1
    started = time.perf_counter()
    for step in _CORE_STEPS:
        now = time.perf_counter()
        if now >= core_deadline or (best is not None and relative_gap(lb, bound) <= gap):
            break
        eps = step * unit
        patterns = _near_patterns(p, counties, pi, values, eps, limit=_CORE_PATTERNS)
        if patterns is None:
            break
        if len(patterns) == last_size and len(pool) == last_pool:
            continue  # the same core as the last one (the cores only grow)
        last_size, last_pool = len(patterns), len(pool)
        core = _Master(p, counties, cap_ins)
        core.add(patterns)
        for earlier in pool[:-1]:
            _add_assignment(core, p, earlier)  # crossing with earlier incumbents: their patterns too
        start_cols = _add_assignment(core, p, best) if best is not None else None
        box = min(core_deadline - now, (deadline - started) * _CORE_STEP_SHARE)
        ms, cols, core_bound = core.mip(max(box, 0.05), max(gap / 4, 1e-9), start_cols,
                                        ub * (1 - gap) if gap > 0 else None)
        solved = ms in (highspy.HighsModelStatus.kOptimal, highspy.HighsModelStatus.kInfeasible)
        if cols is not None:
            value = sum(core.col_profit[j] for j in cols)
            if value > lb:
                lb = value
                best = np.sort(np.concatenate([core.col_bids[j] for j in cols]))
                pool.append(best)
        stats["cores"].append({"eps": eps, "patterns": core.n_cols, "status": core.h.modelStatusToString(ms),
                               "seconds": round(time.perf_counter() - now, 3), "value": lb})
        # a better allocation outside this core must use a pattern at least eps below its county's best
        if ms == highspy.HighsModelStatus.kInfeasible:
            bound = min(bound, max(ub - eps, lb))
        elif core_bound is not None and np.isfinite(core_bound):
            bound = min(bound, max(core_bound, ub - eps, lb))
        if not solved or eps >= ub - lb:
            break  # the core is too hard to finish, or it already holds every improving pattern
    stats["core_status"] = stats["cores"][-1]["status"] if stats["cores"] else ""
    stats["core_bound"] = bound
    return _CoreOutcome(None if best is None else best.astype(np.int32), bound, stats)


def _near_patterns(p: Problem, counties: np.ndarray, pi: np.ndarray, values: np.ndarray, delta: float,
                   limit: int = 20_000) -> list[tuple[int, np.ndarray]] | None:
    """Every pattern within ``delta`` of its county's best Lagrangian value (None if more than ``limit``)."""
    r = p.weight - pi[p.bid_ins] * p.premium[p.bid_lot]
    out: list[tuple[int, np.ndarray]] = []
    for c in counties:
        c = int(c)
        found = enumerate_patterns(p, c, r, values[c] - delta - 1e-9 * (1.0 + abs(values[c])),
                                   limit=limit - len(out))
        if found is None:
            return None
        out.extend((c, bids) for _, bids in found)
    return out

