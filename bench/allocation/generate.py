"""Seeded synthetic allocation scenarios at three scales (city, province, nation).

Realistic shape: 3–6 lots per county, 3–10 eligible bids per lot from the insurers present in the county
(an insurer needs a local branch), scores from an insurer strength plus a county-specific institution
set-up term plus lot noise, lognormal premiums, premium capacities that bind for the strongest insurers,
and a 35% market-share cap.

    python bench/allocation/generate.py nation --seed 1 -o /tmp/nation.json
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

SCALES = {
    # counties, insurers, mean bids per lot
    "city": (12, 10, 6.0),
    "province": (100, 25, 6.7),
    "nation": (2800, 40, 8.0),
}


def generate(scale: str = "city", seed: int = 0, *, counties: int | None = None, insurers: int | None = None,
             bids_per_lot: float | None = None, share_cap: float | None = 0.35) -> dict:
    n_c, n_i, mu = SCALES[scale]
    n_c = counties or n_c
    n_i = insurers or n_i
    mu = bids_per_lot or mu
    rng = np.random.default_rng(seed)
    strength = np.sort(rng.uniform(62, 92, n_i))[::-1]  # INS-01 strongest
    reach = 0.35 + 0.65 * (strength - strength.min()) / max(np.ptp(strength), 1e-9)  # strong insurers are widespread
    county_rows, lot_rows, bid_rows = [], [], []
    for c in range(n_c):
        cid = f"C{c + 1:04d}"
        county_rows.append({"id": cid, "name": f"第{c + 1}县"})
        n_lots = int(rng.integers(3, 7))
        k_max = int(np.clip(round(rng.normal(mu, 1.5)), 3, min(10, n_i)))
        m = int(min(n_i, k_max + rng.integers(0, 3)))
        present = rng.choice(n_i, size=m, replace=False, p=reach / reach.sum())
        setup = rng.normal(0, 3, n_i)  # county-specific institution set-up score
        for k in range(n_lots):
            lid = f"{cid}-{k + 1}"
            premium = float(np.exp(rng.normal(np.log(8e6), 0.6)))
            lot_rows.append({"id": lid, "county_id": cid, "name": f"第{c + 1}县第{k + 1}标段",
                             "products": ["rice", "rapeseed"] if k % 2 == 0 else ["sow"],
                             "expected_premium": f"{premium:.2f}",
                             "loss_ratio": f"{rng.uniform(0.4, 0.95):.2f}"})
            n_b = int(np.clip(round(rng.normal(mu, 1.5)), 3, min(10, m)))
            bidders = rng.choice(present, size=n_b, replace=False)
            for i in sorted(bidders):
                score = float(np.clip(strength[i] + setup[i] + rng.normal(0, 1.5), 0, 100))
                bid_rows.append({"insurer_id": f"INS-{i + 1:02d}", "lot_id": lid, "score": f"{score:.2f}"})
    # capacities: the strongest quarter get 60-85% of what they would win unconstrained
    premium = {lot["id"]: float(lot["expected_premium"]) for lot in lot_rows}
    best: dict[str, tuple[float, str]] = {}
    for b in bid_rows:
        s = float(b["score"])
        if b["lot_id"] not in best or s > best[b["lot_id"]][0]:
            best[b["lot_id"]] = (s, b["insurer_id"])
    load: dict[str, float] = {}
    for lot_id, (_, ins) in best.items():
        load[ins] = load.get(ins, 0.0) + premium[lot_id]
    insurer_rows = []
    strong = max(1, n_i // 4)
    for i in range(n_i):
        iid = f"INS-{i + 1:02d}"
        row = {"id": iid, "name": f"示例财产保险股份有限公司{i + 1:02d}"}
        if i < strong and load.get(iid):
            row["premium_capacity"] = f"{load[iid] * rng.uniform(0.6, 0.85):.2f}"
        insurer_rows.append(row)
    return {
        "format": "agri-insurance-allocation-scenario/1",
        "round": {"id": f"SYN-{scale}-{seed}", "name": f"合成场景 {scale} seed={seed}", "term_start_year": 2026},
        "settings": {"min_insurers_per_county": 2, "max_insurers_per_county": 3,
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
    ap.add_argument("scale", choices=sorted(SCALES))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("-o", "--output")
    args = ap.parse_args(argv)
    text = json.dumps(generate(args.scale, args.seed), ensure_ascii=False)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
