"""The rank-order draft: what a bureau would do by hand, and the bar every optimised result must clear.

Insurers are ranked by their average lot score (ties by id). In rounds, each insurer in rank order takes its
best remaining lot (highest score, then larger premium, then lot id) that keeps the county at or below its
maximum (and does not close a county while one of its open lots has no bidder inside it) and the insurer
within its capacity. Lots nobody could take under those rules go to their best
bidder with capacity left (or their best bidder). Counties left below their minimum are then repaired where
possible by handing the lot with the smallest loss to a new insurer. ``feasible`` says whether the draft
meets every rule.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .problem import Problem


@dataclass
class Baseline:
    chosen: np.ndarray  # bid index per assigned lot
    objective: float  # scaled weight sum
    feasible: bool


def rank_order_draft(problem: Problem) -> Baseline:
    p = problem
    assignable = p.assignable_lots()
    # insurer rank: average score over its bids, ties by id (index order = id order)
    totals = np.bincount(p.bid_ins, weights=p.bid_score, minlength=p.n_insurers)
    counts = np.bincount(p.bid_ins, minlength=p.n_insurers)
    avg = np.where(counts > 0, totals / np.maximum(counts, 1), -1.0)
    rank = sorted(range(p.n_insurers), key=lambda i: (-avg[i], i))
    # each insurer's bids, best first
    prefs: dict[int, list[int]] = {i: [] for i in range(p.n_insurers)}
    for b in range(p.n_bids):
        prefs[int(p.bid_ins[b])].append(b)
    for i in prefs:
        prefs[i].sort(key=lambda b: (-p.bid_score[b], -p.premium[p.bid_lot[b]], int(p.bid_lot[b])))
    winner = np.full(p.n_lots, -1, dtype=np.int64)  # bid index per lot
    load = np.zeros(p.n_insurers)
    present: list[set[int]] = [set() for _ in range(p.n_counties)]

    def why_not(b: int, respect_county: bool) -> int:
        """0: the bid fits; 1: not now (closing its county would strand a lot; may change);
        2: never again in the draft (county full without the insurer, or capacity: both only tighten)."""
        i, li = int(p.bid_ins[b]), int(p.bid_lot[b])
        c = int(p.lot_county[li])
        if load[i] + p.premium[li] > p.cap[i] * (1 + 1e-12):
            return 2
        if respect_county and i not in present[c]:
            if len(present[c]) >= p.county_max[c]:
                return 2
            if len(present[c]) + 1 == p.county_max[c]:
                # closing the county: every other open lot there must still have a bidder inside it
                inside = present[c] | {i}
                for other in p.county_lots[c]:
                    if other != li and winner[other] < 0 and not any(
                            int(p.bid_ins[x]) in inside for x in p.lot_bids[other]):
                        return 1
        return 0

    def fits(b: int, respect_county: bool) -> bool:
        return why_not(b, respect_county) == 0

    def take(b: int) -> None:
        i, li = int(p.bid_ins[b]), int(p.bid_lot[b])
        winner[li] = b
        load[i] += p.premium[li]
        present[int(p.lot_county[li])].add(i)

    # Each insurer's list keeps only the bids that may still be taken: a taken lot, a full county or an
    # exhausted capacity never reopen during the draft, so dropping those bids changes no choice (the
    # nation scale scanned them again every round: 4.5 s, now a fraction of that)
    progress = True
    while progress:
        progress = False
        for i in rank:
            bids = prefs[i]
            kept: list[int] = []
            for pos, b in enumerate(bids):
                if winner[p.bid_lot[b]] >= 0:
                    continue
                state = why_not(b, True)
                if state == 0:
                    take(b)
                    progress = True
                    kept.extend(bids[pos + 1:])
                    break
                if state == 1:
                    kept.append(b)
            prefs[i] = kept
    for li in assignable:
        if winner[li] >= 0:
            continue
        bids = sorted(p.lot_bids[li], key=lambda b: (-p.bid_score[b], int(p.bid_ins[b])))
        c = int(p.lot_county[li])
        chosen = next((b for b in bids if int(p.bid_ins[b]) in present[c] and fits(int(b), False)),
                      next((b for b in bids if fits(int(b), False)), bids[0]))
        take(int(chosen))
    # repair counties below their minimum
    for c in range(p.n_counties):
        lots = p.county_lots[c]
        while lots and len({int(p.bid_ins[winner[li]]) for li in lots}) < p.county_min[c]:
            holders = [int(p.bid_ins[winner[li]]) for li in lots]
            best = None
            for li in lots:
                if holders.count(int(p.bid_ins[winner[li]])) < 2:
                    continue
                for b in p.lot_bids[li]:
                    i = int(p.bid_ins[b])
                    if i in holders or load[i] + p.premium[li] > p.cap[i] * (1 + 1e-12):
                        continue
                    loss = p.weight[winner[li]] - p.weight[b]
                    key = (loss, li, i)
                    if best is None or key < best[0]:
                        best = (key, li, int(b))
            if best is None:
                break
            _, li, b = best
            old = int(winner[li])
            load[int(p.bid_ins[old])] -= p.premium[li]
            take(b)
            present[c] = {int(p.bid_ins[winner[x]]) for x in lots}
    chosen = np.sort(winner[winner >= 0]).astype(np.int32)
    return Baseline(chosen=chosen, objective=float(p.weight[chosen].sum()), feasible=is_feasible(p, chosen))


def is_feasible(p: Problem, chosen: np.ndarray) -> bool:
    """Every assignable lot once, county limits, capacities (the solver-independent rule check)."""
    lots = p.bid_lot[chosen]
    if len(np.unique(lots)) != len(chosen) or len(chosen) != len(p.assignable_lots()):
        return False
    load = np.bincount(p.bid_ins[chosen], weights=p.premium[lots], minlength=p.n_insurers)
    if np.any(load > p.cap * (1 + 1e-9) + 1e-12):
        return False
    county = p.lot_county[lots].astype(np.int64)
    pairs = np.unique(county * max(p.n_insurers, 1) + p.bid_ins[chosen])
    distinct = np.bincount(pairs // max(p.n_insurers, 1), minlength=p.n_counties)
    for c in range(p.n_counties):
        if p.county_lots[c] and not (p.county_min[c] <= distinct[c] <= p.county_max[c]):
            return False
    return True
