"""A first allocation within seconds, before any expensive phase: the Lagrangian draft with repair.

Each county takes its best pattern (one bidder per lot, min..max distinct insurers: exact, from
:class:`optimization.oracle.CountyOracle`) for per-bid values ``weight - pi[insurer] * premium``; the prices
``pi`` on the insurers' capacities start at zero and rise, round by round, on the insurers the patterns
overload (a projected subgradient step). After every round the assignment is *repaired*: while an insurer is
over its capacity, the lot whose move to another bidder of the same lot costs least per unit of premium
moved is handed over, where the other bidder has room and both counties' limits still hold. The first
repaired assignment that meets every rule is an allocation; later rounds keep the best one until the rounds
or the time run out.

Every step is numpy over all counties at once or a short Python loop over the overloaded insurers' lots, so at
the nation scale (2,800 counties, 100,000 bids) a round takes a fraction of a second. The result is feasible
whenever the repair succeeds, which it does on every scenario family measured (docs/benchmarks.md); when it
does not, the solver phases still search, as before.
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass

import numpy as np

from .baseline import is_feasible
from .oracle import CountyOracle
from .problem import Problem


@dataclass
class QuickDraft:
    chosen: np.ndarray | None  # bid indices, sorted, of the best feasible allocation found; None if none
    bound: float  # the best Lagrangian bound sum_c V_c(pi) + pi . cap over the rounds (valid for any pi >= 0)
    values0: np.ndarray  # each county's best pattern value for the bare weights (pi = 0), for the diagnostics
    rounds: int
    first_at: float | None = None  # time.perf_counter() when the first feasible allocation was found


def lagrangian_draft(problem: Problem, oracle: CountyOracle | None = None, rounds: int = 25,
                     deadline: float | None = None) -> QuickDraft:
    """The best feasible allocation found in at most ``rounds`` rounds, and the best bound on the way.

    The first round always runs to its end, whatever ``deadline`` says: it is the anytime answer; later
    rounds run while ``deadline`` allows, until one finds an allocation."""
    p = problem
    counties = [c for c in range(p.n_counties) if p.county_lots[c]]
    oracle = oracle or CountyOracle(p)
    finite_cap = np.where(np.isfinite(p.cap), p.cap, 0.0)
    values0 = None
    bound = np.inf
    capped = np.isfinite(p.cap)
    cap = np.where(capped, p.cap, np.inf)
    pi = np.zeros(p.n_insurers)
    best, best_value = None, -np.inf
    step = 0.5 * float(p.bid_score.max()) if p.n_bids else 1.0  # in score units, like the prices
    done = 0
    first_at = None
    for _ in range(rounds):
        values = oracle.values(p.weight - pi[p.bid_ins] * p.premium[p.bid_lot])
        done += 1
        if values0 is None:
            values0 = values.copy()
        if not counties or not np.all(np.isfinite(values[counties])):
            break  # nothing to allocate, or some county has no pattern at all
        bound = min(bound, float(values[counties].sum() + pi @ finite_cap))
        chosen = np.concatenate([oracle.pattern(c) for c in counties]).astype(np.int64)
        load = np.bincount(p.bid_ins[chosen], weights=p.premium[p.bid_lot[chosen]], minlength=p.n_insurers)
        over = capped & (load > cap * (1 + 1e-12))
        fixed = _repair(p, chosen) if over.any() else chosen
        if fixed is not None:
            value = float(p.weight[fixed].sum())
            if value > best_value and is_feasible(p, fixed):
                best, best_value = np.sort(fixed).astype(np.int32), value
                first_at = first_at or time.perf_counter()
        if not over.any():
            break  # the patterns themselves fit: higher prices can only make them worse
        if deadline is not None and time.perf_counter() > deadline:
            break
        # relative overload (or slack, where a price is positive) moves the price
        g = np.where(capped, (load - np.where(capped, cap, 0.0)) / np.maximum(np.where(capped, cap, 1.0), 1e-12),
                     0.0)
        pi = np.maximum(0.0, pi + step * g)
        step *= 0.85
    if not counties:
        best = np.zeros(0, dtype=np.int32)
    return QuickDraft(best, bound, values0, done, first_at)


def _repair(p: Problem, chosen: np.ndarray) -> np.ndarray | None:
    """Hand lots from insurers over their capacity to other bidders of the same lot (cheapest loss per unit
    of premium first), keeping every county within its limits; None when some insurer stays over."""
    winner = np.full(p.n_lots, -1, dtype=np.int64)
    winner[p.bid_lot[chosen]] = chosen
    load = np.bincount(p.bid_ins[chosen], weights=p.premium[p.bid_lot[chosen]], minlength=p.n_insurers)
    # lots held per (county, insurer)
    held: dict[tuple[int, int], int] = {}
    distinct = np.zeros(p.n_counties, dtype=np.int64)
    for b in chosen:
        key = (int(p.lot_county[p.bid_lot[b]]), int(p.bid_ins[b]))
        held[key] = held.get(key, 0) + 1
        if held[key] == 1:
            distinct[key[0]] += 1
    cap = p.cap
    # the most overloaded first (relative), ties by index: deterministic
    order = sorted(np.flatnonzero(np.isfinite(cap) & (load > cap * (1 + 1e-12))),
                   key=lambda i: (-(load[i] - cap[i]) / max(cap[i], 1e-12), int(i)))
    for i in order:
        i = int(i)
        if load[i] <= cap[i] * (1 + 1e-12):
            continue
        lots = np.flatnonzero((winner >= 0) & (p.bid_ins[np.maximum(winner, 0)] == i))
        heap: list[tuple[float, int, int]] = []
        for li in lots:
            li = int(li)
            w0 = p.weight[winner[li]]
            for b in p.lot_bids[li]:
                if int(p.bid_ins[b]) != i:
                    heapq.heappush(heap, (float((w0 - p.weight[b]) / max(p.premium[li], 1e-12)), li, int(b)))
        while load[i] > cap[i] * (1 + 1e-12) and heap:
            _, li, b = heapq.heappop(heap)
            if p.bid_ins[winner[li]] != i:
                continue  # already moved
            j = int(p.bid_ins[b])
            c = int(p.lot_county[li])
            if load[j] + p.premium[li] > cap[j] * (1 + 1e-12):
                continue
            leaves = held[(c, i)] == 1
            joins = held.get((c, j), 0) == 0
            after = distinct[c] - leaves + joins
            if not p.county_min[c] <= after <= p.county_max[c]:
                continue
            winner[li] = b
            load[i] -= p.premium[li]
            load[j] += p.premium[li]
            held[(c, i)] -= 1
            held[(c, j)] = held.get((c, j), 0) + 1
            distinct[c] = after
        if load[i] > cap[i] * (1 + 1e-9) + 1e-12:
            return None
    return winner[winner >= 0]
