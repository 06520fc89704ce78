"""The evaluation's results as the allocation needs them (agri_insurance.evaluation.service, issue 5):
`lot_scores(rnd)` (eligible bids, final evaluation), `county_ranking(rnd, region_id)` and `is_final(rnd)`.
Kept behind this module so the allocation reads them in one place (and tests can stand in for them)."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from decimal import Decimal

from flask_babel import gettext as _

from agri_insurance.errors import DomainError


@dataclass(frozen=True)
class LotScore:
    insurer_id: int
    bid_id: int
    lot_id: int
    score: Decimal


def _evaluation():
    try:
        return importlib.import_module("agri_insurance.evaluation.service")
    except ImportError:
        return None


def _function(name: str):
    module = _evaluation()
    func = getattr(module, name, None) if module is not None else None
    if func is None:
        raise DomainError(_("评审模块尚未提供评审结果，暂不能分配"))
    return func


def is_final(rnd) -> bool:
    try:
        return bool(_function("is_final")(rnd))
    except DomainError:
        return False


def lot_scores(rnd) -> list[LotScore]:
    """Eligible bids' lot scores of the final evaluation; DomainError when the evaluation is not final."""
    if not is_final(rnd):
        raise DomainError(_("评审尚未最终确定，不能分配"))
    return [LotScore(int(s.insurer_id), int(s.bid_id), int(s.lot_id), Decimal(str(s.score)))
            for s in _function("lot_scores")(rnd)]


def county_ranking(rnd, region_id: int) -> list[tuple[int, Decimal | None]]:
    """Eligible insurers of a county, best first: (insurer_id, score). Falls back to the best lot score in the
    county when the evaluation offers no county ranking."""
    module = _evaluation()
    func = getattr(module, "county_ranking", None) if module is not None else None
    if func is not None:
        ranked = [r for r in func(rnd, region_id) if getattr(r, "eligible", True)]
        ranked.sort(key=lambda r: (r.rank if r.rank is not None else 10**6))
        return [(int(r.insurer_id), None if r.score is None else Decimal(str(r.score))) for r in ranked]
    lots = {lot.id for lot in rnd.lots if lot.region_id == region_id}
    best: dict[int, Decimal] = {}
    for s in lot_scores(rnd):
        if s.lot_id in lots:
            best[s.insurer_id] = max(best.get(s.insurer_id, s.score), s.score)
    return sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))
