"""Diagnostics: what is wrong, in words a bureau understands, naming the county, lot or insurer.

``diagnose(problem)`` runs the cheap checks before any solver; ``explain_infeasibility(problem)`` runs after
an infeasible solve: it relaxes the county limits and the capacities with penalised slack and names exactly
which counties or insurers cannot be satisfied, and by how much.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from .problem import Problem


@dataclass(frozen=True)
class Diagnostic:
    """One finding. ``subject`` is ``county``, ``lot``, ``insurer``, ``round`` or ``entry`` (a format entry)."""

    code: str
    severity: str  # "error" (makes the scenario infeasible or invalid) or "warning"
    subject: str
    subject_id: str
    message: str

    def to_dict(self) -> dict:
        return asdict(self)


def yuan(amount: Decimal | float) -> str:
    """Money as bureaus write it: thousands separators, two decimals, 元."""
    return f"{Decimal(str(amount)).quantize(Decimal('0.01')):,}元"


def diagnose(problem: Problem) -> list[Diagnostic]:
    """Cheap checks before solving. Every ``error`` is by itself a proof that no allocation exists."""
    from .oracle import county_best_patterns

    s = problem.scenario
    out: list[Diagnostic] = []
    bidders_per_lot = problem.bidders_per_lot()
    for li, lot_id in enumerate(problem.lot_ids):
        if not bidders_per_lot[li]:
            out.append(Diagnostic("lot_without_bid", "warning", "lot", lot_id,
                                  f"{s.county_label(problem.lot_county_id(li))}{s.lot_label(lot_id)}："
                                  "没有合格投标（或均被排除），该标段不参与分配，需另行组织招标"))
    for ci, county_id in enumerate(problem.county_ids):
        name = s.county_label(county_id)
        lo = int(problem.county_min[ci])
        lots = problem.county_lots[ci]
        if len(lots) == 0:
            continue  # no assignable lot: nothing to allocate here (lots without bids are reported above)
        bidders = sorted({int(problem.bid_ins[b]) for li in lots for b in problem.lot_bids[li]})
        if len(lots) < lo:
            out.append(Diagnostic("county_too_few_lots", "error", "county", county_id,
                                  f"{name}：仅{len(lots)}个可分配标段，无法满足至少{lo}家承保机构的要求"
                                  "（每个标段只能由一家承保机构承保）"))
        elif len(bidders) < lo:
            out.append(Diagnostic("county_too_few_bidders", "error", "county", county_id,
                                  f"{name}：仅{len(bidders)}家合格投标人，至少需要{lo}家"))
    # counties whose bids admit no pattern at all (e.g. four lots each bid by a different single insurer)
    flagged = {d.subject_id for d in out if d.subject == "county"}
    values, _ = county_best_patterns(problem, None)
    for ci, county_id in enumerate(problem.county_ids):
        if county_id in flagged or len(problem.county_lots[ci]) == 0:
            continue
        if values[ci] == float("-inf"):
            lo, hi = int(problem.county_min[ci]), int(problem.county_max[ci])
            out.append(Diagnostic("county_no_combination", "error", "county", county_id,
                                  f"{s.county_label(county_id)}：各标段的合格投标人无法组合成{lo}至{hi}家承保机构"
                                  "（例如各标段只有互不相同的单一投标人），请检查投标或申请调整上限"))
    # capacities and the market-share cap
    caps = problem.capacity_decimal()
    assignable = [li for li in range(problem.n_lots) if bidders_per_lot[li]]
    need = sum((problem.premium_decimal[li] for li in assignable), Decimal(0))
    if s.settings.market_share_cap is not None and problem.n_insurers:
        share = s.settings.market_share_cap
        if share * len(s.insurers) < 1:
            out.append(Diagnostic("share_cap_impossible", "error", "round", s.round.id or "round",
                                  f"市场份额上限{share:%}×{len(s.insurers)}家承保机构={share * len(s.insurers):%}，"
                                  "不足100%，任何分配都无法满足该上限"))
    if all(c is not None for c in caps) and caps:
        total_cap = sum((c for c in caps if c is not None), Decimal(0))
        if total_cap < need:
            out.append(Diagnostic("capacity_total", "error", "round", s.round.id or "round",
                                  f"全部承保机构的承保能力合计{yuan(total_cap)}，低于需分配标段的预计保费合计"
                                  f"{yuan(need)}，缺口{yuan(need - total_cap)}"))
    for li in assignable:
        bidders = bidders_per_lot[li]
        fits = [i for i in bidders if caps[i] is None or caps[i] >= problem.premium_decimal[li]]
        if not fits:
            lot_id = problem.lot_ids[li]
            out.append(Diagnostic("lot_over_capacity", "error", "lot", lot_id,
                                  f"{s.county_label(problem.lot_county_id(li))}{s.lot_label(lot_id)}：预计保费"
                                  f"{yuan(problem.premium_decimal[li])}，超过所有投标人的承保能力或市场份额上限"))
    # fixed pairs beyond an insurer's capacity
    fixed_load: dict[int, Decimal] = {}
    for p in s.fixed:
        i = problem.insurer_index[p.insurer_id]
        fixed_load[i] = fixed_load.get(i, Decimal(0)) + s.lot_by_id[p.lot_id].expected_premium
    for i, load in sorted(fixed_load.items()):
        if caps[i] is not None and load > caps[i]:
            iid = problem.insurer_ids[i]
            out.append(Diagnostic("fixed_over_capacity", "error", "insurer", iid,
                                  f"{s.insurer_label(iid)}：人工指定的标段保费合计{yuan(load)}，超过其承保能力"
                                  f"{yuan(caps[i])}"))
    return out


def explain_infeasibility(problem: Problem, time_limit: float | None = 30.0) -> list[Diagnostic]:
    """Relax county limits and capacities with penalised slack; name what cannot be satisfied, by how much."""
    from .compact import solve_slack_relaxation

    s = problem.scenario
    relaxed = solve_slack_relaxation(problem, time_limit=time_limit)
    out: list[Diagnostic] = []
    if relaxed is None:
        return [Diagnostic("infeasible_unexplained", "error", "round", s.round.id or "round",
                           "在限定时间内未能找出不可行的具体原因，请检查各县投标与承保能力")]
    short_min, over_max, over_cap = relaxed
    for ci, amount in short_min.items():
        cid = problem.county_ids[ci]
        lo = int(problem.county_min[ci])
        out.append(Diagnostic("county_min_unmet", "error", "county", cid,
                              f"{s.county_label(cid)}：至少需要{lo}家承保机构，在其他约束下最多只能安排"
                              f"{lo - amount}家（缺{amount}家）"))
    for ci, amount in over_max.items():
        cid = problem.county_ids[ci]
        hi = int(problem.county_max[ci])
        out.append(Diagnostic("county_max_exceeded", "error", "county", cid,
                              f"{s.county_label(cid)}：最多允许{hi}家承保机构，在其他约束下至少需要"
                              f"{hi + amount}家（超出{amount}家），可报省农业工作领导小组批准提高上限"))
    for i, amount in over_cap.items():
        iid = problem.insurer_ids[i]
        out.append(Diagnostic("capacity_exceeded", "error", "insurer", iid,
                              f"{s.insurer_label(iid)}：在各县承保机构数量要求下，需承保的预计保费超出其承保能力"
                              f"（或市场份额上限）{yuan(amount)}"))
    if not out:
        out.append(Diagnostic("infeasible_unexplained", "error", "round", s.round.id or "round",
                              "求解器判定无可行分配，但放宽县级数量与承保能力后仍未找到原因"))
    return out
