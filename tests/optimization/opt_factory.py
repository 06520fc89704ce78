"""Small scenario dicts for tests: state only what matters."""

from __future__ import annotations


def scenario(lots: dict[str, tuple[str, str]], bids: dict[tuple[str, str], str | int],
             counties: dict[str, str] | None = None, insurers: dict[str, str | None] | None = None,
             **settings) -> dict:
    """lots: {lot_id: (county_id, premium)}; bids: {(lot_id, insurer_id): score};
    counties: {county_id: name}; insurers: {insurer_id: capacity or None}."""
    county_ids = sorted({c for c, _ in lots.values()})
    counties = counties or {c: f"{c}县" for c in county_ids}
    ins_ids = sorted({i for _, i in bids})
    insurers = insurers if insurers is not None else {i: None for i in ins_ids}
    base = {"min_insurers_per_county": 2, "max_insurers_per_county": 3, "market_share_cap": None,
            "time_limit_s": 30, "mip_gap": 0}
    base.update(settings)
    return {
        "format": "agri-insurance-allocation-scenario/1",
        "round": {"id": "T-1", "name": "测试轮次", "term_start_year": 2026},
        "settings": base,
        "counties": [{"id": c, "name": n} for c, n in counties.items()],
        "lots": [{"id": lot_id, "county_id": c, "name": f"{lot_id}标段", "expected_premium": str(p)}
                 for lot_id, (c, p) in lots.items()],
        "insurers": [{"id": i, "name": f"{i}保险", **({} if cap is None else {"premium_capacity": str(cap)})}
                     for i, cap in insurers.items()],
        "bids": [{"lot_id": lot_id, "insurer_id": i, "score": str(s)} for (lot_id, i), s in bids.items()],
        "fixed": [],
        "forbidden": [],
    }


def two_county() -> dict:
    """Two counties, three insurers; A is best everywhere, so the county minimum of 2 binds."""
    lots = {"A1": ("A", "100"), "A2": ("A", "200"), "A3": ("A", "50"), "B1": ("B", "300"), "B2": ("B", "120")}
    bids = {}
    for lot_id in lots:
        bids[(lot_id, "X")] = 90
        bids[(lot_id, "Y")] = 80
        bids[(lot_id, "Z")] = 70
    bids[("A3", "Y")] = 89
    return scenario(lots, bids)
