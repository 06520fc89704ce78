"""The result of an allocation run: awards, per-county underwriters, status, bound, gap, baseline,
diagnostics and explanation; serialised in the result format of ``allocation-scenario.md``."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import numpy as np

from .findings import Diagnostic
from .problem import Problem
from .scenario import RESULT_FORMAT

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Award:
    lot_id: str
    insurer_id: str


@dataclass
class Result:
    status: str  # optimal / feasible / infeasible / invalid / unknown
    solver: str
    objective: Decimal | None = None
    bound: Decimal | None = None
    gap: float | None = None
    solve_seconds: float = 0.0
    awards: list[Award] = field(default_factory=list)
    counties: list[tuple[str, list[str]]] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    baseline: dict = field(default_factory=dict)
    explanation: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)
    # which phase produced the allocation: lagrangian_draft / rank_order_draft (the anytime drafts),
    # master_mip / cores / exact_search / compact (the decomposition's phases, its fallback), compact_race
    # (the compact model racing the decomposition), compact (method or solver compact); "" without one
    phase: str = ""

    @property
    def ok(self) -> bool:
        return self.status in ("optimal", "feasible")

    def award_map(self) -> dict[str, str]:
        return {a.lot_id: a.insurer_id for a in self.awards}

    def to_dict(self) -> dict:
        return {
            "format": RESULT_FORMAT,
            "status": self.status,
            "solver": self.solver,
            "objective": _money(self.objective),
            "bound": _money(self.bound),
            "gap": format_gap(self.gap),
            "phase": self.phase or None,
            "solve_seconds": round(self.solve_seconds, 3),
            "awards": [{"lot_id": a.lot_id, "insurer_id": a.insurer_id} for a in self.awards],
            "counties": [{"county_id": c, "insurers": ins} for c, ins in self.counties],
            "diagnostics": [d.to_dict() for d in self.diagnostics],
            "baseline": self.baseline,
            "explanation": self.explanation,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2)

    def write(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json() + "\n", encoding="utf-8")


def _money(d: Decimal | None) -> str | None:
    return None if d is None else format(d.quantize(CENT), "f")


def format_gap(gap: float | None) -> str | None:
    if gap is None:
        return None
    if gap <= 0:
        return "0"
    return f"{gap:.3g}"


def objective_decimal(problem: Problem, chosen: np.ndarray) -> Decimal:
    """Σ score × expected premium over the awards, exactly."""
    return sum((problem.bid_score_decimal[b] * problem.premium_decimal[int(problem.bid_lot[b])]
                for b in chosen), Decimal(0))


def awards_and_counties(problem: Problem, chosen: np.ndarray) -> tuple[list[Award], list[tuple[str, list[str]]]]:
    awards = sorted((Award(problem.lot_ids[int(problem.bid_lot[b])], problem.insurer_ids[int(problem.bid_ins[b])])
                     for b in chosen), key=lambda a: a.lot_id)
    per_county: dict[str, set[str]] = {}
    for b in chosen:
        per_county.setdefault(problem.lot_county_id(int(problem.bid_lot[b])), set()).add(
            problem.insurer_ids[int(problem.bid_ins[b])])
    counties = [(c, sorted(per_county[c])) for c in problem.county_ids if c in per_county]
    return awards, counties


def explain(problem: Problem, chosen: np.ndarray, objective: Decimal | None, bound: Decimal | None,
            gap: float | None, seconds: float) -> dict:
    """Per award the winner's lot score and the runner-up's; per county its underwriters; the totals."""
    s = problem.scenario
    awards = []
    for b in sorted(chosen, key=lambda b: problem.lot_ids[int(problem.bid_lot[b])]):
        li = int(problem.bid_lot[b])
        others = sorted((o for o in problem.lot_bids[li] if o != b),
                        key=lambda o: (-problem.bid_score_decimal[o], problem.insurer_ids[int(problem.bid_ins[o])]))
        win_id = problem.insurer_ids[int(problem.bid_ins[b])]
        win_score = problem.bid_score_decimal[b]
        entry = {"lot_id": problem.lot_ids[li], "insurer_id": win_id, "score": str(win_score),
                 "expected_premium": str(problem.premium_decimal[li]), "runner_up": None}
        if others:
            ru = others[0]
            ru_id = problem.insurer_ids[int(problem.bid_ins[ru])]
            ru_score = problem.bid_score_decimal[ru]
            entry["runner_up"] = {"insurer_id": ru_id, "score": str(ru_score)}
            if ru_score > win_score:
                entry["note"] = (f"中标人{s.insurer_label(win_id)}得分{win_score}，低于{s.insurer_label(ru_id)}的"
                                 f"{ru_score}：为满足各县承保机构数量或承保能力（市场份额）约束，整体最优")
            else:
                entry["note"] = (f"中标人{s.insurer_label(win_id)}得分{win_score}，次高为"
                                 f"{s.insurer_label(ru_id)}的{ru_score}")
        else:
            entry["note"] = f"唯一合格投标人{s.insurer_label(win_id)}，得分{win_score}"
        awards.append(entry)
    _, counties = awards_and_counties(problem, chosen)
    county_rows = []
    for cid, ins in counties:
        ci = problem.county_ids.index(cid)
        county = s.county_by_id[cid]
        county_rows.append({"county_id": cid, "name": county.name, "insurers": ins,
                            "insurer_names": [s.insurer_label(i) for i in ins],
                            "min": int(problem.county_min[ci]), "max": int(problem.county_max[ci]),
                            "approval_ref": county.approval_ref})
    return {"objective": _money(objective), "bound": _money(bound), "gap": format_gap(gap),
            "solve_seconds": round(seconds, 3), "awards": awards, "counties": county_rows}
