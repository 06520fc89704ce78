"""The numeric form of a scenario: canonical (id-sorted) indices and numpy arrays, no per-term objects.

Lots, counties and insurers are sorted by id and bids by (lot, insurer), so the same scenario given in any
order yields the same arrays and therefore the same result. Forbidden pairs are dropped; a fixed lot keeps
only its fixed bid. Money is scaled by ``scale`` (the largest lot premium) so that the solver sees numbers
of order one; ``weight = score * premium / scale``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from .scenario import Scenario


@dataclass
class Problem:
    scenario: Scenario
    lot_ids: list[str]
    county_ids: list[str]
    insurer_ids: list[str]
    insurer_index: dict[str, int]
    lot_index: dict[str, int]
    lot_county: np.ndarray  # int32 [n_lots]
    premium: np.ndarray  # float64 [n_lots], scaled
    premium_decimal: list[Decimal]
    scale: float
    bid_lot: np.ndarray  # int32 [n_bids]
    bid_ins: np.ndarray  # int32 [n_bids]
    bid_score: np.ndarray  # float64 [n_bids]
    bid_score_decimal: list[Decimal]
    weight: np.ndarray  # float64 [n_bids] = score * scaled premium
    lot_bids: list[np.ndarray]  # bid indices per lot (sorted by insurer index)
    county_lots: list[list[int]]  # assignable lots (with at least one bid) per county
    county_min: np.ndarray  # int32 [n_counties]
    county_max: np.ndarray  # int32 [n_counties]
    cap: np.ndarray  # float64 [n_insurers], scaled, inf when unlimited

    @property
    def n_lots(self) -> int:
        return len(self.lot_ids)

    @property
    def n_bids(self) -> int:
        return len(self.bid_lot)

    @property
    def n_insurers(self) -> int:
        return len(self.insurer_ids)

    @property
    def n_counties(self) -> int:
        return len(self.county_ids)

    def lot_county_id(self, li: int) -> str:
        return self.county_ids[int(self.lot_county[li])]

    def bidders_per_lot(self) -> list[list[int]]:
        return [[int(self.bid_ins[b]) for b in bids] for bids in self.lot_bids]

    def capacity_decimal(self) -> list[Decimal | None]:
        return [self.scenario.capacity(iid) for iid in self.insurer_ids]

    def assignable_lots(self) -> list[int]:
        return [li for li in range(self.n_lots) if len(self.lot_bids[li])]

    def bid_of(self, li: int, ins: int) -> int | None:
        for b in self.lot_bids[li]:
            if self.bid_ins[b] == ins:
                return int(b)
        return None


def build_problem(scenario: Scenario) -> Problem:
    lots = sorted(scenario.lots, key=lambda lot: lot.id)
    counties = sorted(scenario.counties, key=lambda c: c.id)
    insurers = sorted(scenario.insurers, key=lambda i: i.id)
    lot_index = {lot.id: n for n, lot in enumerate(lots)}
    county_index = {c.id: n for n, c in enumerate(counties)}
    insurer_index = {i.id: n for n, i in enumerate(insurers)}

    premium_decimal = [lot.expected_premium for lot in lots]
    raw_premium = np.array([float(p) for p in premium_decimal], dtype=np.float64)
    scale = float(raw_premium.max()) if len(raw_premium) and raw_premium.max() > 0 else 1.0

    forbidden = {(p.lot_id, p.insurer_id) for p in scenario.forbidden}
    fixed = {p.lot_id: p.insurer_id for p in scenario.fixed}
    kept = []
    for bid in scenario.bids:
        if (bid.lot_id, bid.insurer_id) in forbidden:
            continue
        if bid.lot_id in fixed and fixed[bid.lot_id] != bid.insurer_id:
            continue
        kept.append((lot_index[bid.lot_id], insurer_index[bid.insurer_id], bid.score))
    kept.sort(key=lambda t: (t[0], t[1]))
    n_bids = len(kept)
    bid_lot = np.fromiter((t[0] for t in kept), dtype=np.int32, count=n_bids)
    bid_ins = np.fromiter((t[1] for t in kept), dtype=np.int32, count=n_bids)
    bid_score_decimal = [t[2] for t in kept]
    bid_score = np.array([float(d) for d in bid_score_decimal], dtype=np.float64)
    premium = raw_premium / scale
    weight = bid_score * premium[bid_lot] if n_bids else np.zeros(0)

    bounds = np.searchsorted(bid_lot, np.arange(len(lots) + 1)) if n_bids else np.zeros(len(lots) + 1, int)
    lot_bids = [np.arange(bounds[n], bounds[n + 1], dtype=np.int32) for n in range(len(lots))]
    lot_county = np.array([county_index[lot.county_id] for lot in lots], dtype=np.int32)
    county_lots: list[list[int]] = [[] for _ in counties]
    for li in range(len(lots)):
        if len(lot_bids[li]):
            county_lots[lot_county[li]].append(li)

    county_max = np.array([scenario.county_max(c.id) for c in counties], dtype=np.int32)
    county_min = np.array([scenario.county_min(c.id) for c in counties], dtype=np.int32)
    cap = np.full(len(insurers), np.inf)
    for n, ins in enumerate(insurers):
        c = scenario.capacity(ins.id)
        if c is not None:
            cap[n] = float(c) / scale
    return Problem(
        scenario=scenario, lot_ids=[lot.id for lot in lots], county_ids=[c.id for c in counties],
        insurer_ids=[i.id for i in insurers], insurer_index=insurer_index, lot_index=lot_index,
        lot_county=lot_county, premium=premium, premium_decimal=premium_decimal, scale=scale,
        bid_lot=bid_lot, bid_ins=bid_ins, bid_score=bid_score, bid_score_decimal=bid_score_decimal,
        weight=weight, lot_bids=lot_bids, county_lots=county_lots, county_min=county_min,
        county_max=county_max, cap=cap,
    )
