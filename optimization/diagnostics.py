"""Diagnostics: what is wrong, in words a bureau understands, naming the county, lot or insurer.

``diagnose(problem)`` runs the cheap checks before any solver; ``explain_infeasibility(problem)`` runs after
an infeasible solve: it relaxes the county limits and the capacities with penalised slack and names exactly
which counties or insurers cannot be satisfied, and by how much.

The findings themselves (:class:`~optimization.findings.Diagnostic`) are defined in ``findings.py``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from .findings import N_, Diagnostic, finding
from .oracle import county_best_patterns

if TYPE_CHECKING:  # pragma: no cover
    from .problem import Problem


def money(amount: Decimal | float) -> str:
    """Money as bureaus write it: thousands separators, two decimals (the templates add 元)."""
    return f"{Decimal(str(amount)).quantize(Decimal('0.01')):,}"


def diagnose(problem: Problem, values=None) -> list[Diagnostic]:
    """Cheap checks before solving. Every ``error`` is by itself a proof that no allocation exists.
    ``values``: each county's best pattern value for the bare weights, when the caller has them already."""
    s = problem.scenario
    out: list[Diagnostic] = []
    bidders_per_lot = problem.bidders_per_lot()
    for li, lot_id in enumerate(problem.lot_ids):
        if not bidders_per_lot[li]:
            out.append(finding("lot_without_bid", "warning", "lot", lot_id,
                               N_("%(county)s%(lot)s：没有合格投标（或均被排除），该标段不参与分配，需另行组织招标"),
                               county=s.county_label(problem.lot_county_id(li)), lot=s.lot_label(lot_id)))
    for ci, county_id in enumerate(problem.county_ids):
        name = s.county_label(county_id)
        lo = int(problem.county_min[ci])
        lots = problem.county_lots[ci]
        if len(lots) == 0:
            continue  # no assignable lot: nothing to allocate here (lots without bids are reported above)
        bidders = sorted({int(problem.bid_ins[b]) for li in lots for b in problem.lot_bids[li]})
        if len(lots) < lo:
            out.append(finding("county_too_few_lots", "error", "county", county_id,
                               N_("%(county)s：仅%(lots)s个可分配标段，无法满足至少%(min)s家承保机构的要求"
                                  "（每个标段只能由一家承保机构承保）"), county=name, lots=len(lots), min=lo))
        elif len(bidders) < lo:
            out.append(finding("county_too_few_bidders", "error", "county", county_id,
                               N_("%(county)s：仅%(bidders)s家合格投标人，至少需要%(min)s家"),
                               county=name, bidders=len(bidders), min=lo))
    # counties whose bids admit no pattern at all (e.g. four lots each bid by a different single insurer)
    flagged = {d.subject_id for d in out if d.subject == "county"}
    if values is None:
        values, _ = county_best_patterns(problem, None)
    for ci, county_id in enumerate(problem.county_ids):
        if county_id in flagged or len(problem.county_lots[ci]) == 0:
            continue
        if values[ci] == float("-inf"):
            lo, hi = int(problem.county_min[ci]), int(problem.county_max[ci])
            out.append(finding("county_no_combination", "error", "county", county_id,
                               N_("%(county)s：各标段的合格投标人无法组合成%(min)s至%(max)s家承保机构"
                                  "（例如各标段只有互不相同的单一投标人），请检查投标或申请调整上限"),
                               county=s.county_label(county_id), min=lo, max=hi))
    # capacities and the market-share cap
    caps = problem.capacity_decimal()
    assignable = [li for li in range(problem.n_lots) if bidders_per_lot[li]]
    need = sum((problem.premium_decimal[li] for li in assignable), Decimal(0))
    if s.settings.market_share_cap is not None and problem.n_insurers:
        share = s.settings.market_share_cap
        if share * len(s.insurers) < 1:
            out.append(finding("share_cap_impossible", "error", "round", s.round.id or "round",
                               N_("市场份额上限%(share)s×%(insurers)s家承保机构=%(total)s，不足100%%，"
                                  "任何分配都无法满足该上限"),
                               share=f"{share:%}", insurers=len(s.insurers), total=f"{share * len(s.insurers):%}"))
    if all(c is not None for c in caps) and caps:
        total_cap = sum((c for c in caps if c is not None), Decimal(0))
        if total_cap < need:
            out.append(finding("capacity_total", "error", "round", s.round.id or "round",
                               N_("全部承保机构的承保能力合计%(capacity)s元，低于需分配标段的预计保费合计%(premium)s元，"
                                  "缺口%(shortfall)s元"),
                               capacity=money(total_cap), premium=money(need), shortfall=money(need - total_cap)))
    for li in assignable:
        bidders = bidders_per_lot[li]
        fits = [i for i in bidders if caps[i] is None or caps[i] >= problem.premium_decimal[li]]
        if not fits:
            lot_id = problem.lot_ids[li]
            out.append(finding("lot_over_capacity", "error", "lot", lot_id,
                               N_("%(county)s%(lot)s：预计保费%(premium)s元，超过所有投标人的承保能力或市场份额上限"),
                               county=s.county_label(problem.lot_county_id(li)), lot=s.lot_label(lot_id),
                               premium=money(problem.premium_decimal[li])))
    # fixed pairs beyond an insurer's capacity
    fixed_load: dict[int, Decimal] = {}
    for p in s.fixed:
        i = problem.insurer_index[p.insurer_id]
        fixed_load[i] = fixed_load.get(i, Decimal(0)) + s.lot_by_id[p.lot_id].expected_premium
    for i, load in sorted(fixed_load.items()):
        if caps[i] is not None and load > caps[i]:
            iid = problem.insurer_ids[i]
            out.append(finding("fixed_over_capacity", "error", "insurer", iid,
                               N_("%(insurer)s：人工指定的标段保费合计%(load)s元，超过其承保能力%(capacity)s元"),
                               insurer=s.insurer_label(iid), load=money(load), capacity=money(caps[i])))
    return out


def explain_infeasibility(problem: Problem, time_limit: float | None = 30.0) -> list[Diagnostic]:
    """Relax county limits and capacities with penalised slack; name what cannot be satisfied, by how much."""
    from .compact import solve_slack_relaxation  # imports highspy: only when a solve was infeasible

    s = problem.scenario
    relaxed = solve_slack_relaxation(problem, time_limit=time_limit)
    out: list[Diagnostic] = []
    if relaxed is None:
        return [finding("infeasible_unexplained", "error", "round", s.round.id or "round",
                        N_("在限定时间内未能找出不可行的具体原因，请检查各县投标与承保能力"))]
    short_min, over_max, over_cap = relaxed
    for ci, amount in short_min.items():
        cid = problem.county_ids[ci]
        lo = int(problem.county_min[ci])
        out.append(finding("county_min_unmet", "error", "county", cid,
                           N_("%(county)s：至少需要%(min)s家承保机构，在其他约束下最多只能安排%(possible)s家"
                              "（缺%(missing)s家）"),
                           county=s.county_label(cid), min=lo, possible=lo - amount, missing=amount))
    for ci, amount in over_max.items():
        cid = problem.county_ids[ci]
        hi = int(problem.county_max[ci])
        out.append(finding("county_max_exceeded", "error", "county", cid,
                           N_("%(county)s：最多允许%(max)s家承保机构，在其他约束下至少需要%(needed)s家"
                              "（超出%(excess)s家），可报省农业工作领导小组批准提高上限"),
                           county=s.county_label(cid), max=hi, needed=hi + amount, excess=amount))
    for i, amount in over_cap.items():
        iid = problem.insurer_ids[i]
        out.append(finding("capacity_exceeded", "error", "insurer", iid,
                           N_("%(insurer)s：在各县承保机构数量要求下，需承保的预计保费超出其承保能力"
                              "（或市场份额上限）%(excess)s元"),
                           insurer=s.insurer_label(iid), excess=money(amount)))
    if s.settings.market_share_cap is not None and _feasible_without_share_cap(problem, time_limit):
        # The relaxation above prefers to leave a county short (see compact._load), so on its own it would blame
        # the county; say first that the published cap is what stands in the way, the rule a departure can lift.
        out.insert(0, finding("share_cap_binding", "error", "round", s.round.id or "round",
                              N_("按本轮公布的市场份额上限%(share)s，各县承保机构数量要求无法同时满足；不设该上限即可分配。"
                                 "如需突破，须经集体决策或上级批准后登记规则偏离"),
                              share=f"{s.settings.market_share_cap:%}"))
    if not out:
        out.append(finding("infeasible_unexplained", "error", "round", s.round.id or "round",
                           N_("求解器判定无可行分配，但放宽县级数量与承保能力后仍未找到原因")))
    return out


def _feasible_without_share_cap(problem: Problem, time_limit: float | None) -> bool:
    """Whether the same allocation problem, without the market-share cap (the insurers' own capacities kept),
    admits an allocation: the relaxation then needs no slack at all."""
    from dataclasses import replace

    from .compact import solve_slack_relaxation
    from .problem import build_problem
    from .scenario import Scenario

    s = problem.scenario
    uncapped = Scenario(round=s.round, settings=replace(s.settings, market_share_cap=None), counties=s.counties,
                        lots=s.lots, insurers=s.insurers, bids=s.bids, fixed=s.fixed, forbidden=s.forbidden)
    relaxed = solve_slack_relaxation(build_problem(uncapped), time_limit=time_limit)
    return relaxed is not None and not any(relaxed)
