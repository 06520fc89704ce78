"""A second family of seeded allocation scenarios, structured unlike ``generate.py`` (written for issue 22).

Insurers are *national* (present almost everywhere) or *regional* (present in their home regions' counties
with high probability, rarely elsewhere); a bid's score depends on whether its insurer has a local presence;
premiums are log-normal by crop group; the strongest tier's capacities sit at a fraction (``cap_range``) of
what it would win unconstrained (its best-score load). Every county has two *core* insurers bidding on all of
its lots, and capacities are at least 1.05 times a witness allocation's load (lots split between the two
cores), so a feasible allocation always exists.

Variations for tests and the bench: tighter caps (``cap_range``), fewer bids per lot (``bids``), many tied
scores (``ties``: scores on a coarse grid).

    python bench/allocation/family2.py --counties 100 --seed 3 -o /tmp/f2.json
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

CROPS = {  # crop group: (median premium, sigma of its logarithm)
    "grain": (6.0e6, 0.5), "oil": (3.0e6, 0.6), "cash": (2.0e6, 0.8), "livestock": (4.0e6, 0.7),
}
SCALES = {"city": (12, 10), "province": (100, 25), "nation": (2800, 40)}  # counties, insurers


def family2(counties: int = 12, insurers: int = 10, seed: int = 0, *, regions: int | None = None,
            lots: tuple[int, int] = (3, 6), bids: tuple[int, int] = (3, 8), cap_range: tuple[float, float] = (0.55, 0.75),
            ties: bool = False, share_cap: float | None = 0.35, min_per_county: int = 2,
            max_per_county: int = 3) -> dict:
    rng = np.random.default_rng(seed)
    n_reg = regions or max(1, counties // 6)
    region = rng.integers(0, n_reg, counties)
    national = np.zeros(insurers, dtype=bool)
    national[: max(2, insurers // 5)] = True
    home = [set(rng.choice(n_reg, size=min(n_reg, int(rng.integers(1, 3))), replace=False)) for _ in range(insurers)]
    base = np.where(national, rng.uniform(75, 90, insurers), rng.uniform(62, 85, insurers))
    crop_names = list(CROPS)
    county_rows, lot_rows, bid_rows = [], [], []
    witness: dict[str, int] = {}
    for c in range(counties):
        cid = f"K{c + 1:04d}"
        county_rows.append({"id": cid, "name": f"县{c + 1}（{region[c] + 1}区）"})
        p_present = np.where(national, 0.9,
                             np.array([0.85 if region[c] in home[i] else 0.05 for i in range(insurers)]))
        present = np.flatnonzero(rng.random(insurers) < p_present)
        cores = rng.choice(insurers, size=2, replace=False)
        present = np.union1d(present, cores)
        local = rng.normal(0, 2.5, insurers)
        n_lots = int(rng.integers(lots[0], lots[1] + 1))
        for k in range(n_lots):
            lid = f"{cid}-{k + 1}"
            crop = crop_names[int(rng.integers(0, len(crop_names)))]
            median, sigma = CROPS[crop]
            premium = round(float(np.exp(rng.normal(np.log(median), sigma))), -2) + 1000
            lot_rows.append({"id": lid, "county_id": cid, "name": f"{lid} {crop}", "products": [crop],
                             "expected_premium": f"{premium:.2f}"})
            others = np.setdiff1d(present, cores)
            n_b = int(np.clip(rng.integers(bids[0], bids[1] + 1) - 2, 0, len(others)))
            bidders = np.union1d(cores, rng.choice(others, size=n_b, replace=False) if n_b else [])
            for i in bidders.astype(int):
                score = base[i] + local[i] + rng.normal(0, 1.5) - (0 if i in present else 6)
                score = float(np.clip(score, 0, 100))
                if ties:
                    score = float(np.round(score / 2.5) * 2.5)
                bid_rows.append({"insurer_id": f"P{i + 1:02d}", "lot_id": lid, "score": f"{score:.2f}"})
            witness[lid] = int(cores[k % 2])
    premium = {row["id"]: float(row["expected_premium"]) for row in lot_rows}
    best: dict[str, tuple[float, str]] = {}
    for b in bid_rows:
        s = float(b["score"])
        if b["lot_id"] not in best or s > best[b["lot_id"]][0] or \
                (s == best[b["lot_id"]][0] and b["insurer_id"] < best[b["lot_id"]][1]):
            best[b["lot_id"]] = (s, b["insurer_id"])
    greedy: dict[str, float] = {}
    for lot_id, (_, ins) in best.items():
        greedy[ins] = greedy.get(ins, 0.0) + premium[lot_id]
    wload: dict[str, float] = {}
    for lot_id, i in witness.items():
        wload[f"P{i + 1:02d}"] = wload.get(f"P{i + 1:02d}", 0.0) + premium[lot_id]
    strong = set(np.argsort(-base, kind="stable")[: max(1, insurers // 4)].tolist())
    insurer_rows = []
    for i in range(insurers):
        iid = f"P{i + 1:02d}"
        row = {"id": iid, "name": f"{'全国' if national[i] else '区域'}保险{i + 1:02d}"}
        if i in strong and greedy.get(iid):
            cap = max(greedy[iid] * rng.uniform(*cap_range), 1.05 * wload.get(iid, 0.0))
            row["premium_capacity"] = f"{cap:.2f}"
        insurer_rows.append(row)
    if share_cap is not None:  # the share cap must not cut the witness either
        total = sum(premium.values())
        share_cap = max(share_cap, 1.05 * max(wload.values()) / total)
        share_cap = min(1.0, float(np.ceil(share_cap * 100) / 100))
    return {
        "format": "agri-insurance-allocation-scenario/1",
        "round": {"id": f"F2-{counties}-{seed}", "name": f"第二族合成场景 {counties} 县 seed={seed}",
                  "term_start_year": 2026},
        "settings": {"min_insurers_per_county": min_per_county, "max_insurers_per_county": max_per_county,
                     "market_share_cap": None if share_cap is None else str(share_cap),
                     "time_limit_s": 60, "mip_gap": 0},
        "counties": county_rows,
        "lots": lot_rows,
        "insurers": insurer_rows,
        "bids": bid_rows,
        "fixed": [],
        "forbidden": [],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", choices=sorted(SCALES), default=None)
    ap.add_argument("--counties", type=int, default=12)
    ap.add_argument("--insurers", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--ties", action="store_true")
    ap.add_argument("-o", "--output")
    args = ap.parse_args(argv)
    counties, insurers = SCALES[args.scale] if args.scale else (args.counties, args.insurers)
    text = json.dumps(family2(counties, insurers, args.seed, ties=args.ties), ensure_ascii=False)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
