"""Exact county sub-problem: the best assignment of one county's lots for given per-bid values.

A county pattern gives every assignable lot of the county one bidder, with between ``min`` and ``max``
distinct insurers. For ``min <= 2`` the best pattern is found by vectorised enumeration over all counties at
once:

* every set S of K = min(max, bidders) bidders: each lot takes its best bidder in S (this is exact for the
  "at most max" side: any set of at most max insurers lies in some such S);
* every pair {a, b} (only when min = 2): both must win a lot, so if one of them is best on every lot, the
  lot where the other loses least is given to the other.

If the best assignment for some S uses a single insurer a, the best pair containing a is at least as good as
any feasible pattern inside S (argument in docs/benchmarks.md), so the maximum over both families is the
exact optimum. Counties with ``min >= 3`` or too many bidders use a depth-first branch and bound instead.
The same depth-first search enumerates every pattern within a given distance of the optimum, which the
exactness proof of :mod:`optimization.decomposition` uses.
"""

from __future__ import annotations

from itertools import combinations
from math import comb

import numpy as np

from .problem import Problem

NEG = -np.inf
_CHUNK_ROWS = 1 << 20  # (subset x lot) rows per chunk of CountyOracle.values
_VECTOR_LIMIT = 60_000  # rows (subset x lot) per county above which the DFS is used instead


class CountyOracle:
    def __init__(self, problem: Problem):
        self.p = problem
        sentinel = problem.n_bids
        n_c = problem.n_counties
        self.kmax = max([1] + [int(min(problem.county_max[c], self._bidders(c).size)) for c in range(n_c)])
        t_rows: list[np.ndarray] = []
        t_start: list[int] = []
        t_county: list[int] = []
        t_need2: list[bool] = []
        p_rows: list[np.ndarray] = []
        p_start: list[int] = []
        p_county: list[int] = []
        self.dfs_counties: list[int] = []
        self.empty_counties: list[int] = []
        self.county_nlots = np.array([len(lots) for lots in problem.county_lots], dtype=np.int64)
        n_t = n_p = 0
        for c in range(n_c):
            lots = problem.county_lots[c]
            if not lots:
                self.empty_counties.append(c)
                continue
            bidders = self._bidders(c)
            lo, hi = int(problem.county_min[c]), int(problem.county_max[c])
            k = min(hi, bidders.size)
            n = len(lots)
            if lo >= 3 or comb(bidders.size, k) * n > _VECTOR_LIMIT or bidders.size < lo or n < lo:
                self.dfs_counties.append(c)
                continue
            # bid index of (lot, insurer) within this county, sentinel when absent
            table = np.full((n, bidders.size), sentinel, dtype=np.int32)
            pos = {int(ins): j for j, ins in enumerate(bidders)}
            for r, li in enumerate(lots):
                for b in problem.lot_bids[li]:
                    table[r, pos[int(problem.bid_ins[b])]] = b
            subsets = np.array(list(combinations(range(bidders.size), k)), dtype=np.int32)
            block = np.full((len(subsets), n, self.kmax), sentinel, dtype=np.int32)
            block[:, :, :k] = table[:, subsets].transpose(1, 0, 2)
            t_rows.append(block.reshape(-1, self.kmax))
            t_start.extend(range(n_t, n_t + len(subsets) * n, n))
            t_county.extend([c] * len(subsets))
            t_need2.extend([lo >= 2] * len(subsets))
            n_t += len(subsets) * n
            if lo == 2 and k >= 2:
                pairs = np.array(list(combinations(range(bidders.size), 2)), dtype=np.int32)
                pblock = table[:, pairs].transpose(1, 0, 2).reshape(-1, 2)
                p_rows.append(pblock)
                p_start.extend(range(n_p, n_p + len(pairs) * n, n))
                p_county.extend([c] * len(pairs))
                n_p += len(pairs) * n
        self.t_idx = np.concatenate(t_rows) if t_rows else np.zeros((0, self.kmax), np.int32)
        self.t_start = np.array(t_start, dtype=np.int64)
        self.t_county = np.array(t_county, dtype=np.int64)
        self.t_need2 = np.array(t_need2, dtype=bool)
        self.p_idx = np.concatenate(p_rows) if p_rows else np.zeros((0, 2), np.int32)
        self.p_start = np.array(p_start, dtype=np.int64)
        self.p_county = np.array(p_county, dtype=np.int64)
        # first subset / pair of each county (for grouped maxima)
        self.t_groups = _group_starts(self.t_county)
        self.p_groups = _group_starts(self.p_county)
        self._last: dict | None = None
        self.released = False

    def release(self) -> None:
        """Drop the index tables and the last call's state: at the nation scale the largest arrays of the
        solve (9.7 million subset x lot rows), which the phases after column generation do not use.
        ``values`` and ``pattern`` cannot be called afterwards."""
        self.t_idx = self.p_idx = None
        self.t_start = self.t_county = self.t_need2 = self.p_start = self.p_county = None
        self.t_groups = self.p_groups = None
        self._last = self._last_out = None
        self.released = True

    def _bidders(self, c: int) -> np.ndarray:
        lots = self.p.county_lots[c]
        if not lots:
            return np.zeros(0, dtype=np.int32)
        return np.unique(np.concatenate([self.p.bid_ins[self.p.lot_bids[li]] for li in lots]))

    # ------------------------------------------------------------------------------------------------
    def values(self, r: np.ndarray) -> np.ndarray:
        """Best pattern value per county for per-bid values ``r`` (-inf when the county has no pattern)."""
        if self.released:
            raise RuntimeError("the county oracle was released")
        self._last = self._last_out = None  # the last call's arrays go before this call builds its own
        p = self.p
        r_ext = np.append(r, NEG)
        out = np.full(p.n_counties, NEG)
        out[self.empty_counties] = 0.0
        state: dict = {"r": r}
        if len(self.t_idx):
            # in chunks of whole subsets: the float gather of all (subset x lot) rows at once was the peak of
            # the nation scale's memory (9.7 million rows x 3: 0.22 GB, and as much again in its by-products)
            n_rows, n_sub = len(self.t_idx), len(self.t_start)
            arg = np.empty(n_rows, dtype=np.int8)
            val = np.empty(n_sub)
            need2 = self.t_need2.any()
            s0 = 0
            while s0 < n_sub:
                r0 = int(self.t_start[s0])
                s1 = int(np.searchsorted(self.t_start, r0 + _CHUNK_ROWS, side="right"))
                s1 = max(s1, s0 + 1)
                r1 = int(self.t_start[s1]) if s1 < n_sub else n_rows
                g = r_ext[self.t_idx[r0:r1]]
                a = g.argmax(axis=1)
                best = np.take_along_axis(g, a[:, None], axis=1)[:, 0]
                starts = self.t_start[s0:s1] - r0
                with np.errstate(invalid="ignore"):
                    v = np.add.reduceat(best, starts)
                if need2:
                    amin = np.minimum.reduceat(a, starts)
                    amax = np.maximum.reduceat(a, starts)
                    v[self.t_need2[s0:s1] & (amin == amax)] = NEG
                val[s0:s1] = v
                arg[r0:r1] = a
                s0 = s1
            val[np.isnan(val)] = NEG
            cmax = np.maximum.reduceat(val, self.t_groups[1])
            np.maximum.at(out, self.t_groups[0], cmax)
            state.update(t_arg=arg, t_val=val)
        if len(self.p_idx):
            h = r_ext[self.p_idx]
            a_wins = h[:, 0] >= h[:, 1]
            best = np.where(a_wins, h[:, 0], h[:, 1])
            worst = np.where(a_wins, h[:, 1], h[:, 0])
            with np.errstate(invalid="ignore"):
                loss = np.where(np.isfinite(worst), best - worst, np.inf)
                val = np.add.reduceat(best, self.p_start)
            wins = np.add.reduceat(a_wins.astype(np.int64), self.p_start)
            n = self.county_nlots[self.p_county]
            flip = (wins == 0) | (wins == n)
            minloss = np.minimum.reduceat(loss, self.p_start)
            val = np.where(flip, val - minloss, val)
            val[np.isnan(val)] = NEG
            cmax = np.maximum.reduceat(val, self.p_groups[1])
            np.maximum.at(out, self.p_groups[0], cmax)
            state.update(p_val=val, p_awins=a_wins, p_loss=loss, p_flip=flip)
        for c in self.dfs_counties:
            value, pattern = best_pattern_dfs(p, c, r)
            out[c] = value
            state.setdefault("dfs", {})[c] = pattern
        self._last = state
        self._last_out = out
        return out

    def pattern(self, c: int) -> np.ndarray | None:
        """The best pattern (bid indices in county-lot order) of county ``c`` for the last ``values`` call."""
        state = self._last
        assert state is not None
        target = self._last_out[c]
        if not np.isfinite(target):
            return None
        if c in self.empty_counties:
            return np.zeros(0, dtype=np.int32)
        if "dfs" in state and c in state["dfs"]:
            return state["dfs"][c]
        n = int(self.county_nlots[c])
        # a subset achieving the maximum?
        if "t_val" in state:
            lo, hi = _group_range(self.t_county, c)
            if hi > lo:
                j = lo + int(np.argmax(state["t_val"][lo:hi]))
                if state["t_val"][j] >= target:
                    rows = self.t_start[j] + np.arange(n)
                    return self.t_idx[rows, state["t_arg"][rows]].astype(np.int32)
        lo, hi = _group_range(self.p_county, c)
        j = lo + int(np.argmax(state["p_val"][lo:hi]))
        rows = self.p_start[j] + np.arange(n)
        a_wins = state["p_awins"][rows].copy()
        if state["p_flip"][j]:
            k = int(np.argmin(state["p_loss"][rows]))
            a_wins[k] = not a_wins[k]
        pair = self.p_idx[rows]
        return np.where(a_wins, pair[:, 0], pair[:, 1]).astype(np.int32)


def _group_starts(county: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if len(county) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    starts = np.flatnonzero(np.r_[True, county[1:] != county[:-1]])
    return county[starts], starts


def _group_range(county: np.ndarray, c: int) -> tuple[int, int]:
    return int(np.searchsorted(county, c, "left")), int(np.searchsorted(county, c, "right"))


# ---------------------------------------------------------------------------------------------- DFS


def enumerate_patterns(problem: Problem, c: int, r: np.ndarray, threshold: float,
                       limit: int | None = None) -> list[tuple[float, np.ndarray]] | None:
    """All patterns of county ``c`` with value >= ``threshold`` (None if more than ``limit``)."""
    lots = problem.county_lots[c]
    if not lots:
        return [(0.0, np.zeros(0, dtype=np.int32))] if threshold <= 0 else []
    lo, hi = int(problem.county_min[c]), int(problem.county_max[c])
    options = []
    for li in lots:
        bids = problem.lot_bids[li]
        vals = r[bids]
        order = np.lexsort((bids, -vals))  # best first, ties by bid index (insurer id)
        options.append([(float(vals[k]), int(bids[k]), int(problem.bid_ins[bids[k]])) for k in order])
    n = len(lots)
    suffix = [0.0] * (n + 1)
    for k in range(n - 1, -1, -1):
        suffix[k] = suffix[k + 1] + options[k][0][0]
    found: list[tuple[float, np.ndarray]] = []
    chosen = [0] * n
    counts: dict[int, int] = {}

    def dfs(k: int, value: float) -> bool:
        if k == n:
            if lo <= len(counts) <= hi:
                found.append((value, np.array(chosen, dtype=np.int32)))
                if limit is not None and len(found) > limit:
                    return False
            return True
        remaining_lots = n - k
        for v, b, ins in options[k]:
            if value + v + suffix[k + 1] < threshold:
                break
            new = ins not in counts
            if new and len(counts) >= hi:
                continue
            if not new and len(counts) + remaining_lots - 1 < lo:
                continue  # would leave too few lots to reach the minimum
            counts[ins] = counts.get(ins, 0) + 1
            chosen[k] = b
            ok = dfs(k + 1, value + v)
            counts[ins] -= 1
            if counts[ins] == 0:
                del counts[ins]
            if not ok:
                return False
        return True

    if not dfs(0, 0.0):
        return None
    return found


def best_pattern_dfs(problem: Problem, c: int, r: np.ndarray) -> tuple[float, np.ndarray | None]:
    """Branch and bound for one county: the best pattern and its value (-inf, None when none exists)."""
    lots = problem.county_lots[c]
    if not lots:
        return 0.0, np.zeros(0, dtype=np.int32)
    lo, hi = int(problem.county_min[c]), int(problem.county_max[c])
    options = []
    for li in lots:
        bids = problem.lot_bids[li]
        vals = r[bids]
        order = np.lexsort((bids, -vals))
        options.append([(float(vals[k]), int(bids[k]), int(problem.bid_ins[bids[k]])) for k in order])
    n = len(lots)
    suffix = [0.0] * (n + 1)
    for k in range(n - 1, -1, -1):
        suffix[k] = suffix[k + 1] + options[k][0][0]
    best_val = NEG
    best: list[int] | None = None
    chosen = [0] * n
    counts: dict[int, int] = {}

    def dfs(k: int, value: float) -> None:
        nonlocal best_val, best
        if k == n:
            if lo <= len(counts) <= hi and value > best_val:
                best_val, best = value, list(chosen)
            return
        for v, b, ins in options[k]:
            if value + v + suffix[k + 1] <= best_val:
                break
            new = ins not in counts
            if new and len(counts) >= hi:
                continue
            if not new and len(counts) + (n - k) - 1 < lo:
                continue
            counts[ins] = counts.get(ins, 0) + 1
            chosen[k] = b
            dfs(k + 1, value + v)
            counts[ins] -= 1
            if counts[ins] == 0:
                del counts[ins]

    dfs(0, 0.0)
    if best is None:
        return NEG, None
    return best_val, np.array(best, dtype=np.int32)


def county_best_patterns(problem: Problem, r: np.ndarray | None) -> tuple[np.ndarray, CountyOracle]:
    oracle = CountyOracle(problem)
    values = oracle.values(problem.weight if r is None else r)
    return values, oracle
