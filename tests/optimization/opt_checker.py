"""An independent checker and a brute-force solver, written only against the scenario JSON (no package code).

Every rule of DESIGN.md §4, in plain Decimal arithmetic: each lot with an eligible bid awarded exactly once
(to an eligible, not forbidden bidder, to the fixed insurer if any), lots without eligible bid not awarded,
min..max distinct underwriters per county, premium capacity and market-share cap per insurer.
"""

from __future__ import annotations

import itertools
from decimal import Decimal


def _d(x) -> Decimal:
    return Decimal(str(x))


def rules(sc: dict):
    settings = sc.get("settings") or {}
    lo = settings.get("min_insurers_per_county", 2)
    hi = settings.get("max_insurers_per_county", 3)
    share = settings.get("market_share_cap")
    total = sum((_d(lot["expected_premium"]) for lot in sc["lots"]), Decimal(0))
    forbidden = {(p["lot_id"], p["insurer_id"]) for p in sc.get("forbidden", [])}
    fixed = {p["lot_id"]: p["insurer_id"] for p in sc.get("fixed", [])}
    eligible: dict[str, dict[str, Decimal]] = {lot["id"]: {} for lot in sc["lots"]}
    for b in sc["bids"]:
        if (b["lot_id"], b["insurer_id"]) in forbidden:
            continue
        if b["lot_id"] in fixed and fixed[b["lot_id"]] != b["insurer_id"]:
            continue
        eligible[b["lot_id"]][b["insurer_id"]] = _d(b["score"])
    caps = {}
    for ins in sc["insurers"]:
        c = []
        if ins.get("premium_capacity") is not None:
            c.append(_d(ins["premium_capacity"]))
        if share is not None:
            c.append(_d(share) * total)
        caps[ins["id"]] = min(c) if c else None
    limits = {c["id"]: (lo, c.get("max_insurers") or hi) for c in sc["counties"]}
    return eligible, caps, limits


def check(sc: dict, awards: dict[str, str]) -> list[str]:
    """Violations of the rules by ``awards`` ({lot_id: insurer_id}); empty when all rules hold."""
    eligible, caps, limits = rules(sc)
    lots = {lot["id"]: lot for lot in sc["lots"]}
    problems = []
    for lot_id, bids in eligible.items():
        if bids and lot_id not in awards:
            problems.append(f"lot {lot_id} not awarded")
        if not bids and lot_id in awards:
            problems.append(f"lot {lot_id} awarded without an eligible bid")
    for lot_id, ins in awards.items():
        if lot_id not in lots:
            problems.append(f"unknown lot {lot_id}")
        elif ins not in eligible[lot_id]:
            problems.append(f"lot {lot_id} awarded to {ins} without an eligible bid (or forbidden / not fixed)")
    per_county: dict[str, set[str]] = {}
    load: dict[str, Decimal] = {}
    for lot_id, ins in awards.items():
        if lot_id in lots:
            per_county.setdefault(lots[lot_id]["county_id"], set()).add(ins)
            load[ins] = load.get(ins, Decimal(0)) + _d(lots[lot_id]["expected_premium"])
    for cid, members in per_county.items():
        lo, hi = limits[cid]
        if not lo <= len(members) <= hi:
            problems.append(f"county {cid} has {len(members)} underwriters, needs {lo}..{hi}")
    for ins, amount in load.items():
        if caps.get(ins) is not None and amount > caps[ins]:
            problems.append(f"insurer {ins} holds {amount} > capacity {caps[ins]}")
    return problems


def objective(sc: dict, awards: dict[str, str]) -> Decimal:
    eligible, _, _ = rules(sc)
    lots = {lot["id"]: lot for lot in sc["lots"]}
    return sum((eligible[lot_id][ins] * _d(lots[lot_id]["expected_premium"]) for lot_id, ins in awards.items()),
               Decimal(0))


def brute_force(sc: dict) -> tuple[Decimal | None, dict[str, str] | None]:
    """The true optimum by enumerating every assignment (small scenarios only)."""
    eligible, _, _ = rules(sc)
    lot_ids = sorted(lot_id for lot_id, bids in eligible.items() if bids)
    best, best_awards = None, None
    for combo in itertools.product(*[sorted(eligible[lot_id]) for lot_id in lot_ids]):
        awards = dict(zip(lot_ids, combo, strict=True))
        if check(sc, awards):
            continue
        value = objective(sc, awards)
        if best is None or value > best:
            best, best_awards = value, awards
    return best, best_awards


def check_result(sc: dict, result: dict) -> None:
    """Assert that a result dict is consistent with the scenario: rules, objective, counties, gap, status."""
    assert result["format"] == "agri-insurance-allocation-result/1"
    awards = {a["lot_id"]: a["insurer_id"] for a in result["awards"]}
    assert len(awards) == len(result["awards"]), "a lot awarded twice"
    if result["status"] in ("optimal", "feasible"):
        assert check(sc, awards) == [], check(sc, awards)
        assert _d(result["objective"]) == objective(sc, awards).quantize(Decimal("0.01"))
        assert _d(result["bound"]) >= _d(result["objective"])
        gap = float(result["gap"])
        assert gap >= 0
        per_county: dict[str, set[str]] = {}
        lots = {lot["id"]: lot for lot in sc["lots"]}
        for lot_id, ins in awards.items():
            per_county.setdefault(lots[lot_id]["county_id"], set()).add(ins)
        assert {c["county_id"]: set(c["insurers"]) for c in result["counties"]} == per_county
        base = result["baseline"]
        assert base["method"] == "rank_order_draft"
        if base["feasible"]:
            assert _d(result["objective"]) >= _d(base["objective"])
            assert _d(base["improvement"]) == _d(result["objective"]) - _d(base["objective"])
    else:
        assert result["awards"] == []
        assert result["diagnostics"], "an infeasible or invalid result must say why"
