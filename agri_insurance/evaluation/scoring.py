"""The scoring engine (R4): the bid figures objective criteria use (metrics), the default criteria, the points of
one criterion, the panel's aggregation of the experts' points, every bid's points, the ranking and the lot scores.

It computes from what it is given (a scheme's criteria, the bids, the experts' points) and nothing else: it imports
no database session, runs no query of its own and knows no request (it reads the attributes of the objects it is
given, which for mapped objects may load their relationships); `evaluation.service` gathers a round's scheme,
eligible bids and panel scores and calls it. Metric labels are Flask-Babel lazy strings, translated when shown.

TIE_RULE (ranks are always distinct): higher score; then higher 理赔服务水平 (claims service) points; then higher
comprehensive solvency ratio; then the earlier submission (the receipt time of the opened bid); then the lower bid id.

ROUNDING happens in one place, `round_points`: each criterion's points — per bid, or per (bid, county) for the
institution set-up criteria, and a bid's set-up points averaged over its counties — are rounded half-up to 2
decimals once; composite and lot scores are exact sums of rounded points, so they need no further rounding.

SCORING of a criterion worth `max` points (missing bid data scores 0 in every objective kind):
- linear: among the eligible bids (per county for set-up criteria), worst value 0, best value `max`, linear between;
  when all values are equal (or there is a single bidder) every bid with a value gets `max`.
- banded: `bands` are [bound, points] pairs; higher_is_better → the highest bound ≤ value; else the lowest bound ≥
  value; no band → 0.
- yes_no: `max` if yes, else 0.
- deduction: `max − deduction_per_count × count`, never below 0.
- subjective: the mean of the experts' points; when at least `drop_extremes_min_experts` experts scored (and that
  setting is not 0) one highest and one lowest score are dropped first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l

from agri_insurance.evaluation.models import CriterionKind, Factor

if TYPE_CHECKING:  # pragma: no cover
    from agri_insurance.bids.models import Bid
    from agri_insurance.evaluation.models import Criterion

K = CriterionKind
ZERO = Decimal(0)
CENT = Decimal("0.01")


def round_points(value: Decimal) -> Decimal:
    """THE rounding of the evaluation: half-up to 2 decimals (see the module docstring). A zero is always 0.00:
    Decimal keeps the sign of a negative zero (the worst bid of a lower-is-better linear criterion gets
    0 / −spread = −0), which every page and file would show as "-0.00"."""
    rounded = Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)
    return rounded if rounded else abs(rounded)


# --- what the evaluation hands on (the contract in evaluation.service) -----------------------------------

@dataclass(frozen=True)
class LotScore:
    insurer_id: int
    bid_id: int
    lot_id: int
    score: Decimal


@dataclass(frozen=True)
class RankedBid:
    bid_id: int
    insurer_id: int
    score: Decimal
    rank: int
    eligible: bool
    reasons: list[str] = field(default_factory=list)


# --- metrics: the bid figures objective criteria use --------------------------------------------------------

SERVICE_RATING_LEVELS = {"AA": 5, "A": 4, "B": 3, "C": 2, "D": 1}
RISK_RATING_LEVELS = {"A": 4, "B": 3, "C": 2, "D": 1}


@dataclass(frozen=True)
class Metric:
    label: Any
    factor: Factor
    read: Callable[[Bid, Any], Any]   # (bid, county set-up or None) → Decimal | bool | None
    per_county: bool = False
    boolean: bool = False


def _dec(value) -> Decimal | None:
    return None if value is None else Decimal(value)


def _mean_income(bid: Bid) -> Decimal | None:
    values = [bid.premium_income_y1, bid.premium_income_y2, bid.premium_income_y3]
    return None if any(v is None for v in values) else sum(values, ZERO) / 3


def _level(levels: dict[str, int], value) -> Decimal | None:
    value = getattr(value, "value", value)
    return Decimal(levels[value]) if value in levels else None


METRICS: dict[str, Metric] = {
    "county_branch": Metric(_l("设立县级分支机构"), Factor.SETUP,
                            lambda b, s: None if s is None else bool(s.has_county_branch), True, True),
    "township_stations": Metric(_l("乡镇服务站数量"), Factor.SETUP,
                                lambda b, s: None if s is None else Decimal(s.township_stations), True),
    "agri_staff": Metric(_l("农险专职人员数量"), Factor.SETUP,
                         lambda b, s: None if s is None else Decimal(s.agri_staff), True),
    "avg_settlement_days": Metric(_l("平均结案周期（天）"), Factor.CLAIMS, lambda b, s: _dec(b.avg_settlement_days)),
    "on_time_settlement_pct": Metric(_l("理赔及时率（%）"), Factor.CLAIMS,
                                     lambda b, s: _dec(b.on_time_settlement_pct)),
    "complaints_per_10k": Metric(_l("万单有效投诉量"), Factor.CLAIMS, lambda b, s: _dec(b.complaints_per_10k)),
    "avg_premium_income": Metric(_l("近三年农险保费收入平均值（元）"), Factor.SERVICE, lambda b, s: _mean_income(b)),
    "service_rating_level": Metric(_l("服务评价等级（AA=5 … D=1）"), Factor.SERVICE,
                                   lambda b, s: _level(SERVICE_RATING_LEVELS, b.service_rating)),
    "innovation_count": Metric(_l("创新产品数量"), Factor.INNOVATION, lambda b, s: Decimal(len(b.innovations))),
    "penalty_count": Metric(_l("行政处罚次数"), Factor.COMPLIANCE, lambda b, s: Decimal(len(b.penalties))),
    "has_reinsurance": Metric(_l("有再保险安排"), Factor.RISK,
                              lambda b, s: bool((b.reinsurance_arrangement or "").strip()), boolean=True),
    "catastrophe_reserve": Metric(_l("大灾风险准备金余额（元）"), Factor.RISK, lambda b, s: _dec(b.catastrophe_reserve)),
    "comprehensive_solvency_pct": Metric(_l("综合偿付能力充足率（%）"), Factor.SOLVENCY,
                                         lambda b, s: _dec(b.comprehensive_solvency_pct)),
    "core_solvency_pct": Metric(_l("核心偿付能力充足率（%）"), Factor.SOLVENCY, lambda b, s: _dec(b.core_solvency_pct)),
    "risk_rating_level": Metric(_l("综合风险评级（A=4 … D=1）"), Factor.SOLVENCY,
                                lambda b, s: _level(RISK_RATING_LEVELS, b.risk_rating)),
}


# --- the default scheme (pure data; the service turns it into a round's criteria) ---------------------------

def N_(text: str) -> str:  # noqa: N802 - the usual gettext marker name
    """Marks a default criterion's name for the catalogue: stored in Chinese as the bureau's data, shown in the
    reader's language (`Criterion.label`)."""
    return text


# (factor, code, name, kind, max points, metric, higher is better, bands, deduction per count, guidance)
DEFAULT_CRITERIA = (
    (Factor.SETUP, "S1", N_("县级分支机构"), K.YES_NO, "6", "county_branch", True, None, None, None),
    (Factor.SETUP, "S2", N_("乡镇服务网点"), K.LINEAR, "8", "township_stations", True, None, None, None),
    (Factor.SETUP, "S3", N_("农险专职人员"), K.LINEAR, "6", "agri_staff", True, None, None, None),
    (Factor.CLAIMS, "C1", N_("平均结案周期"), K.LINEAR, "6", "avg_settlement_days", False, None, None, None),
    (Factor.CLAIMS, "C2", N_("理赔及时率"), K.BANDED, "6", "on_time_settlement_pct", True,
     [["98", "6"], ["95", "4"], ["90", "2"]], None, None),
    (Factor.CLAIMS, "C3", N_("万单有效投诉量"), K.LINEAR, "3", "complaints_per_10k", False, None, None, None),
    (Factor.CLAIMS, "C4", N_("理赔服务方案"), K.SUBJECTIVE, "5", None, True, None, None,
     "查勘定损、理赔公开、结案时效承诺的完整性和可行性"),
    (Factor.SERVICE, "V1", N_("农险业务规模"), K.LINEAR, "8", "avg_premium_income", True, None, None, None),
    (Factor.SERVICE, "V2", N_("监管服务评价"), K.BANDED, "7", "service_rating_level", True,
     [["5", "7"], ["4", "5"], ["3", "3"], ["2", "1"]], None, None),
    (Factor.INNOVATION, "I1", N_("创新产品数量"), K.LINEAR, "5", "innovation_count", True, None, None, None),
    (Factor.INNOVATION, "I2", N_("产品创新方案"), K.SUBJECTIVE, "5", None, True, None, None,
     "地方特色产品、指数保险等创新的针对性和可推广性"),
    (Factor.COMPLIANCE, "P1", N_("行政处罚"), K.DEDUCTION, "6", "penalty_count", True, None, "2", None),
    (Factor.COMPLIANCE, "P2", N_("合规管理"), K.SUBJECTIVE, "4", None, True, None, None, "内控制度和合规管理的健全程度"),
    (Factor.RISK, "R1", N_("再保险安排"), K.YES_NO, "3", "has_reinsurance", True, None, None, None),
    (Factor.RISK, "R2", N_("大灾风险准备金"), K.LINEAR, "3", "catastrophe_reserve", True, None, None, None),
    (Factor.RISK, "R3", N_("风险管控方案"), K.SUBJECTIVE, "4", None, True, None, None, "防灾减损和风险管控措施"),
    (Factor.SOLVENCY, "L1", N_("综合偿付能力充足率"), K.BANDED, "8", "comprehensive_solvency_pct", True,
     [["200", "8"], ["150", "6"], ["120", "4"], ["100", "2"]], None, None),
    (Factor.SOLVENCY, "L2", N_("核心偿付能力充足率"), K.BANDED, "4", "core_solvency_pct", True,
     [["150", "4"], ["100", "3"], ["75", "2"], ["50", "1"]], None, None),
    (Factor.SOLVENCY, "L3", N_("综合风险评级"), K.BANDED, "3", "risk_rating_level", True, [["4", "3"], ["3", "1.5"]],
     None, None),
)


# --- points ---------------------------------------------------------------------------------------------------

def aggregate(values: list[Decimal], drop_extremes_min_experts: int) -> Decimal | None:
    """The panel's (unrounded) points from the experts' points: the mean, without one highest and one lowest when at
    least `drop_extremes_min_experts` (≠ 0) experts scored. None when nobody scored."""
    if not values:
        return None
    ordered = sorted(values)
    if drop_extremes_min_experts and len(ordered) >= max(drop_extremes_min_experts, 3):
        ordered = ordered[1:-1]
    return sum(ordered, ZERO) / len(ordered)


def objective_points(criterion: Criterion, value, population: list) -> Decimal:
    """Unrounded points of an objective criterion for `value`, given the values of all eligible bids (`population`,
    the same county's for set-up criteria). Missing data (None) scores 0."""
    top = criterion.max_points
    if value is None:
        return ZERO
    if criterion.kind is K.YES_NO:
        return top if value else ZERO
    value = Decimal(value)
    if criterion.kind is K.DEDUCTION:
        return max(ZERO, top - criterion.deduction_per_count * value)
    if criterion.kind is K.BANDED:
        bands = [(Decimal(b), Decimal(p)) for b, p in criterion.bands]
        if criterion.higher_is_better:
            hits = [(b, p) for b, p in bands if value >= b]
            return max(hits)[1] if hits else ZERO
        hits = [(b, p) for b, p in bands if value <= b]
        return min(hits)[1] if hits else ZERO
    known = [Decimal(v) for v in population if v is not None]
    best, worst = (max(known), min(known)) if criterion.higher_is_better else (min(known), max(known))
    if best == worst:
        return top
    return top * (value - worst) / (best - worst)


@dataclass
class BidScores:
    """One eligible bid's points: per criterion (set-up criteria averaged over its counties) and per county."""

    bid: Bid
    counties: list[int]
    points: dict[int, Decimal]                       # criterion id → rounded points (bid level)
    county_points: dict[int, dict[int, Decimal]]     # region id → set-up criterion id → rounded points
    expert_points: dict[int, list[Decimal]] = field(default_factory=dict)  # subjective criterion id → all experts

    @property
    def total(self) -> Decimal:
        return sum(self.points.values(), ZERO)

    def county_total(self, region_id: int, setup_ids: set[int]) -> Decimal:
        other = sum((p for cid, p in self.points.items() if cid not in setup_ids), ZERO)
        return other + sum(self.county_points.get(region_id, {}).values(), ZERO)

    def factor_total(self, factor: Factor, criteria: dict[int, Criterion]) -> Decimal:
        return sum((p for cid, p in self.points.items() if criteria[cid].factor is factor), ZERO)


def _overridden(metric: Metric, values: Mapping[int, Decimal]) -> Metric:
    """The metric reading `values[bid.id]` where given, what the bid declared otherwise."""
    read = metric.read
    return Metric(metric.label, metric.factor, lambda b, s: values[b.id] if b.id in values else read(b, s),
                  metric.per_county, metric.boolean)


def setup_criterion_ids(criteria: Iterable[Criterion]) -> set[int]:
    """The institution set-up criteria, scored per county."""
    return {c.id for c in criteria if c.factor is Factor.SETUP}


def compute_bid_scores(criteria: Iterable[Criterion], bids: list[Bid],
                       expert_points: Mapping[tuple[int, int], list[Decimal]],
                       drop_extremes_min_experts: int,
                       measured: Mapping[str, Mapping[int, Decimal]] | None = None) -> dict[int, BidScores]:
    """Every bid's points on every criterion (bid id → BidScores). `bids` are the eligible bids, compared with each
    other; `expert_points` are all experts' points per (bid id, subjective criterion id); `measured` gives, per
    metric, bid id → a value that replaces what the bid declared (the annual evaluations' service level replaces
    the declared regulator's rating)."""
    measured = measured or {}
    counties = {b.id: sorted({lot.region_id for lot in b.lots}) for b in bids}
    setups = {b.id: {s.region_id: s for s in b.county_setups} for b in bids}
    result = {b.id: BidScores(b, counties[b.id], {}, {rid: {} for rid in counties[b.id]}) for b in bids}
    for criterion in criteria:
        if criterion.kind is K.SUBJECTIVE:
            for b in bids:
                values = expert_points.get((b.id, criterion.id), [])
                mean = aggregate(values, drop_extremes_min_experts)
                result[b.id].points[criterion.id] = round_points(mean if mean is not None else ZERO)
                result[b.id].expert_points[criterion.id] = values
            continue
        metric = METRICS[criterion.metric]
        if measured.get(criterion.metric):
            metric = _overridden(metric, measured[criterion.metric])
        if metric.per_county:
            for b in bids:
                raw = []
                for rid in counties[b.id]:
                    population = [metric.read(o, setups[o.id].get(rid)) for o in bids if rid in counties[o.id]]
                    points = objective_points(criterion, metric.read(b, setups[b.id].get(rid)), population)
                    result[b.id].county_points[rid][criterion.id] = round_points(points)
                    raw.append(points)
                result[b.id].points[criterion.id] = round_points(sum(raw, ZERO) / len(raw)) if raw else ZERO
        else:
            population = [metric.read(o, None) for o in bids]
            for b in bids:
                result[b.id].points[criterion.id] = round_points(
                    objective_points(criterion, metric.read(b, None), population))
    return result


# --- ranks and lot scores ------------------------------------------------------------------------------------

def _tie_key(scores: BidScores, total: Decimal, criteria: dict[int, Criterion]):
    bid = scores.bid
    receipt = bid.latest_receipt
    submitted = receipt.submitted_at if receipt else (bid.submitted_at or datetime.max)
    return (-total, -scores.factor_total(Factor.CLAIMS, criteria), -(bid.comprehensive_solvency_pct or ZERO),
            submitted, bid.id)


def rank_bids(scores: Mapping[int, BidScores], eligible: list[Bid], others: list[tuple[Bid, list[str]]],
              total_of: Callable[[BidScores], Decimal], criteria: dict[int, Criterion]) -> list[RankedBid]:
    """The eligible bids ranked 1..n by `total_of` their scores with TIE_RULE; then the `others` (bid, why it is not
    ranked) with score 0.00, ranks n+1.. in bid order."""
    keyed = sorted(((_tie_key(scores[b.id], total_of(scores[b.id]), criteria), b) for b in eligible),
                   key=lambda kv: kv[0])
    result = [RankedBid(b.id, b.insurer_id, total_of(scores[b.id]), rank, True, [])
              for rank, (_key, b) in enumerate(keyed, start=1)]
    for offset, (b, reasons) in enumerate(sorted(others, key=lambda other: other[0].id), start=len(result) + 1):
        result.append(RankedBid(b.id, b.insurer_id, round_points(ZERO), offset, False, reasons))
    return result


def lot_scores_of(scores: Mapping[int, BidScores], setup_ids: set[int]) -> list[LotScore]:
    """One LotScore per (bid, lot it bid on): the bid's points with the set-up points of the lot's county."""
    result = []
    for bid_id, bid_scores in sorted(scores.items()):
        for lot in bid_scores.bid.lots:
            result.append(LotScore(bid_scores.bid.insurer_id, bid_id, lot.id,
                                   bid_scores.county_total(lot.region_id, setup_ids)))
    return result
