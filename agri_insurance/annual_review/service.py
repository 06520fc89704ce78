"""The annual evaluation of underwriters (考评, R12) and complaints: the rules.

A year's evaluation (`AnnualReview`) starts as a draft scheme the city edits (indicators with weights summing to
100, grade thresholds, the reply period); opening it freezes the scheme and creates one result per underwriter and
county (the underwriters holding an award in the county for a lot of a round whose term covers the year). The
county bureau scores the qualitative indicators; the measured ones are computed from stored data
(`measured_points`); the underwriter reads its draft result and may reply within the reply period (working days,
the holiday calendar of awards); the city finalises the year (locked: the second of two finalisations is refused).

POINTS (rounded half-up to 0.01 once per indicator; the total is their exact sum):
- paid within 10 days: weight × (payouts paid within 10 days of the agreement / payouts paid); no paid payout in the
  year and county → the full weight (nothing was paid late);
- the counting measures: weight − deduction × count, never below 0;
- qualitative: the county bureau's points, 0 to the weight.
GRADE: total ≥ excellent_min → 优秀, ≥ good_min → 良好, ≥ pass_min → 合格, else 不合格.

CONSEQUENCES (rules of each year's scheme, set by the city with it and frozen when the evaluation opens; a new
year's scheme starts from the settings `ANNUAL_REVIEW_*` of config.py; read by the listeners of evaluation and
allocation). A round whose term starts in year T is governed by the rules of the latest FINAL evaluation year before
T (`governing_review`); no such year: no consequence.
- `exclude_after` (default 2; 0 = off) consecutive 不合格 years of an underwriter in a county, among the final
  evaluations of the `lookback_years` (default 3) years before T → not eligible in that county in that round
  (`exclusions`);
- `service_input` (default on): the mean grade level (优秀 5, 良好 4, 合格 3, 不合格 1) of the underwriter's final
  results in those years replaces its declared regulator's rating as the input of the 服务业绩和评级 rating
  criterion (`service_levels`); an underwriter without results keeps its declared rating;
- `factor_<grade>` (default none): the factor applied to an underwriter's premium capacity, by its lowest grade in
  the latest final evaluation before the term (`capacity_factors`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from agri_insurance.actions import Action, Actions
from agri_insurance.annual_review.models import (
    AnnualReview,
    Complaint,
    ComplaintStatus,
    Grade,
    IndicatorKind,
    Measure,
    ResultStatus,
    ReviewIndicator,
    ReviewResult,
    ReviewScore,
    ReviewStatus,
)
from agri_insurance.audit import service as audit
from agri_insurance.awards.calendar import notice_end
from agri_insurance.awards.models import PUBLISHED_STATES, Award, AwardChange
from agri_insurance.bids.models import Bid, BidPenalty
from agri_insurance.clock import local_today, utcnow
from agri_insurance.errors import DomainError, require
from agri_insurance.extensions import db, lock_for_update
from agri_insurance.i18n import in_record_language
from agri_insurance.payouts import service as payouts
from agri_insurance.reference.models import Insurer, Region
from agri_insurance.roles import Role
from agri_insurance.storage import save_pdf
from agri_insurance.subsidies.models import ClaimStatus, SubsidyClaim
from agri_insurance.tenders.models import Lot, SelectionRound
from agri_insurance.underwriting.models import FlagKind, UnderwritingFlag, UnderwritingList

CENT = Decimal("0.01")
ZERO = Decimal(0)
HUNDRED = Decimal(100)
GRADE_LEVELS = {Grade.EXCELLENT: 5, Grade.GOOD: 4, Grade.PASS: 3, Grade.FAIL: 1}


def N_(text: str) -> str:  # noqa: N802 - the usual gettext marker name
    return text


# (name, kind, measure, weight, deduction per count, guidance): the default scheme, weights summing to 100
DEFAULT_INDICATORS = (
    (N_("理赔及时率"), IndicatorKind.MEASURED, Measure.PAID_WITHIN_10, "20", None, None),
    (N_("补贴申请退回"), IndicatorKind.MEASURED, Measure.RETURNED_CLAIMS, "10", "5", None),
    (N_("承保清单标记"), IndicatorKind.MEASURED, Measure.FLAGGED_CLAIMS, "10", "2", None),
    (N_("重复投保"), IndicatorKind.MEASURED, Measure.DOUBLE_INSURANCE, "10", "1", None),
    (N_("成立的投诉"), IndicatorKind.MEASURED, Measure.UPHELD_COMPLAINTS, "10", "5", None),
    (N_("行政处罚"), IndicatorKind.MEASURED, Measure.PENALTIES, "10", "5", None),
    (N_("服务网络"), IndicatorKind.QUALITATIVE, None, "10", None, N_("乡镇服务站点、人员配备和服务覆盖")),
    (N_("协作配合"), IndicatorKind.QUALITATIVE, None, "10", None, N_("配合县局工作、报送资料的及时性和准确性")),
    (N_("灾害应对"), IndicatorKind.QUALITATIVE, None, "10", None, N_("灾后查勘、定损和预赔付的及时性")),
)


def round_points(value: Decimal) -> Decimal:
    """THE rounding of the annual evaluation: half-up to 0.01, once per indicator."""
    rounded = Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)
    return rounded if rounded else abs(rounded)


def grade_for(total: Decimal, review: AnnualReview) -> Grade:
    if total >= review.excellent_min:
        return Grade.EXCELLENT
    if total >= review.good_min:
        return Grade.GOOD
    if total >= review.pass_min:
        return Grade.PASS
    return Grade.FAIL


# --- the scheme ---------------------------------------------------------------------------------------------

def review_of(year: int) -> AnnualReview | None:
    return db.session.scalar(sa.select(AnnualReview).where(AnnualReview.year == year))


def reviews() -> list[AnnualReview]:
    return list(db.session.scalars(sa.select(AnnualReview).order_by(AnnualReview.year.desc())))


def create_review(year: int, actor) -> AnnualReview:
    """A draft scheme for `year` with the default indicators."""
    require(year and 2000 <= year <= 2100, _("请填写有效的年度"), "year")
    require(review_of(year) is None, _("%(year)s 年度考评已存在", year=year), "year")
    review = AnnualReview(year=year, excellent_min=Decimal(90), good_min=Decimal(80), pass_min=Decimal(60),
                          reply_working_days=5, **default_consequences())
    for position, (name, kind, measure, weight, deduction, guidance) in enumerate(DEFAULT_INDICATORS, start=1):
        review.indicators.append(ReviewIndicator(
            position=position, name=name, kind=kind, measure=measure, weight=Decimal(weight),
            deduction=None if deduction is None else Decimal(deduction), guidance=guidance))
    try:
        with db.session.begin_nested():   # two bureau users creating the year at once: the second is told in words
            db.session.add(review)
            db.session.flush()
    except IntegrityError:
        raise DomainError(_("%(year)s 年度考评已存在", year=year), "year") from None
    audit.record(actor, "annual_review.created", review, _l("新建 %(year)s 年度考评方案", year=year), year=year)
    return review


def default_consequences() -> dict[str, Any]:
    """The consequence rules a new year's scheme starts from: the settings ANNUAL_REVIEW_* (config.py)."""
    config = current_app.config
    factors = config.get("ANNUAL_REVIEW_CAPACITY_FACTORS") or {}
    return {"exclude_after": int(config.get("ANNUAL_REVIEW_EXCLUDE_AFTER", 2)),
            "lookback_years": int(config.get("ANNUAL_REVIEW_LOOKBACK_YEARS", 3)),
            "service_input": bool(config.get("ANNUAL_REVIEW_SERVICE_INPUT", True)),
            **{f"factor_{g.value}": Decimal(str(factors[g.value])) if g.value in factors else None for g in Grade}}


def consequences(review: AnnualReview) -> dict[str, Any]:
    """The review's consequence rules as plain values (the audit's before/after and the frozen scheme)."""
    return {"exclude_after": review.exclude_after, "lookback_years": review.lookback_years,
            "service_input": review.service_input,
            **{f"factor_{g.value}": None if (f := getattr(review, f"factor_{g.value}")) is None else str(f)
               for g in Grade}}


def save_consequences(review: AnnualReview, data: dict[str, Any], actor) -> None:
    """The consequences of this year's results for the next round (while the scheme is a draft; locked, so a save
    racing the opening either lands before it or is refused)."""
    review = lock_for_update(review)
    _require_draft(review)
    exclude_after, lookback = data.get("exclude_after"), data.get("lookback_years")
    require(exclude_after is not None and 0 <= exclude_after <= 10,
            _("连续不合格年数应为 0 到 10（0 表示不排除）"), "exclude_after")
    require(lookback is not None and 1 <= lookback <= 10, _("回溯年数应为 1 到 10"), "lookback_years")
    require(exclude_after <= lookback, _("连续不合格年数不能超过回溯年数"), "exclude_after")
    factors = {}
    for g in Grade:
        value = data.get(f"factor_{g.value}")
        require(value is None or Decimal("0.1") <= value <= Decimal("2"),
                _("%(grade)s的承保能力系数应在 0.1 到 2 之间", grade=g.label), f"factor_{g.value}")
        factors[f"factor_{g.value}"] = value
    before = consequences(review)
    review.exclude_after, review.lookback_years = exclude_after, lookback
    review.service_input = bool(data.get("service_input"))
    for name, value in factors.items():
        setattr(review, name, value)
    db.session.flush()
    audit.record(actor, "annual_review.consequences_saved", review,
                 _l("修改 %(year)s 年度考评结果的运用规则", year=review.year), before=before,
                 after=consequences(review))


def total_weight(review: AnnualReview) -> Decimal:
    return sum((i.weight for i in review.indicators), ZERO)


def _require_draft(review: AnnualReview) -> None:
    """The scheme changes only in a draft year. The year's row is locked first, as opening it locks it: an edit
    arriving while the year is being opened waits and is refused (it used to change the frozen scheme after it)."""
    lock_for_update(review)
    require(review.status is ReviewStatus.DRAFT, _("考评已开始，考评方案不能再修改"))


def save_rules(review: AnnualReview, data: dict[str, Any], actor) -> None:
    """The grade thresholds and the reply period."""
    _require_draft(review)
    excellent, good, passing = (data.get("excellent_min"), data.get("good_min"), data.get("pass_min"))
    for name, value in (("excellent_min", excellent), ("good_min", good), ("pass_min", passing)):
        require(value is not None and ZERO < value <= HUNDRED, _("分数线应在 0 到 100 之间"), name)
    require(excellent > good > passing, _("分数线应依次降低：优秀 > 良好 > 合格"), "good_min")
    days = data.get("reply_working_days")
    require(days is not None and 0 <= days <= 30, _("申辩期应为 0 到 30 个工作日"), "reply_working_days")
    before = {"excellent_min": str(review.excellent_min), "good_min": str(review.good_min),
              "pass_min": str(review.pass_min), "reply_working_days": review.reply_working_days}
    review.excellent_min, review.good_min, review.pass_min = excellent, good, passing
    review.reply_working_days = days
    db.session.flush()
    audit.record(actor, "annual_review.rules_saved", review, _l("修改 %(year)s 年度考评等级分数线和申辩期",
                                                                year=review.year),
                 before=before, after={"excellent_min": str(excellent), "good_min": str(good),
                                       "pass_min": str(passing), "reply_working_days": days})


def add_indicator(review: AnnualReview, data: dict[str, Any], actor) -> ReviewIndicator:
    _require_draft(review)
    name = (data.get("name") or "").strip()
    require(name, _("请填写指标名称"), "name")
    require(all(i.name != name for i in review.indicators), _("指标“%(name)s”已存在", name=name), "name")
    kind = data.get("kind")
    require(kind in {k.value for k in IndicatorKind}, _("请选择指标类型"), "kind")
    kind = IndicatorKind(kind)
    measure = data.get("measure") or None
    if kind is IndicatorKind.MEASURED:
        require(measure in {m.value for m in Measure}, _("数据计算的指标请选择计算口径"), "measure")
        measure = Measure(measure)
    else:
        measure = None
    weight = data.get("weight")
    require(weight is not None and ZERO < weight <= HUNDRED, _("分值应在 0 到 100 之间"), "weight")
    deduction = data.get("deduction")
    if measure is not None and measure is not Measure.PAID_WITHIN_10:
        require(deduction is not None and deduction > ZERO, _("请填写每件（次）扣分"), "deduction")
    else:
        deduction = None
    indicator = ReviewIndicator(name=name, kind=kind, measure=measure, weight=weight, deduction=deduction,
                                guidance=(data.get("guidance") or "").strip() or None,
                                position=max((i.position for i in review.indicators), default=0) + 1)
    review.indicators.append(indicator)
    db.session.flush()
    audit.record(actor, "annual_review.indicator_added", review,
                 _l("%(year)s 年度考评方案新增指标：%(name)s（%(weight)s 分）", year=review.year, name=name,
                    weight=weight), name=name, kind=kind.value, measure=getattr(measure, "value", None),
                 weight=str(weight), deduction=None if deduction is None else str(deduction))
    return indicator


def delete_indicator(indicator: ReviewIndicator, actor) -> None:
    review = indicator.review
    _require_draft(review)
    name = indicator.name
    review.indicators.remove(indicator)
    db.session.flush()
    audit.record(actor, "annual_review.indicator_deleted", review,
                 _l("%(year)s 年度考评方案删除指标：%(name)s", year=review.year, name=name), name=name)


def scheme_problems(review: AnnualReview) -> list[str]:
    problems = []
    if not review.indicators:
        problems.append(_("考评方案没有指标"))
    elif total_weight(review) != HUNDRED:
        problems.append(_("指标分值合计为 %(total)s，应为 100", total=format(total_weight(review).normalize(), "f")))
    return problems


# --- who is evaluated -------------------------------------------------------------------------------------------

def underwriters_of(year: int, region_ids: Iterable[int] | None = None) -> list[tuple[int, int]]:
    """(insurer id, county id) of every underwriter that held an award in the county during `year`, for a lot of a
    published round whose term covers `year`, sorted. An award ended mid-term (awards' AwardChange) counts for
    both: the old underwriter for the years up to its effective date, the award's present underwriter from it on
    (an underwriter that held a lot for part of a year is evaluated for that year)."""
    in_term = sa.and_(SelectionRound.status.in_(PUBLISHED_STATES), SelectionRound.term_start_year <= year,
                      SelectionRound.term_start_year + 2 >= year)
    first_day, last_day = date(year, 1, 1), date(year, 12, 31)
    took_over_later = sa.exists().where(AwardChange.award_id == Award.id, AwardChange.effective_on > last_day)
    present = (sa.select(Award.insurer_id, Lot.region_id)
               .join(Lot, Lot.id == Award.lot_id).join(SelectionRound, SelectionRound.id == Award.round_id)
               .where(in_term, ~took_over_later))
    former = (sa.select(AwardChange.old_insurer_id, Lot.region_id)
              .join(Lot, Lot.id == AwardChange.lot_id).join(SelectionRound, SelectionRound.id == AwardChange.round_id)
              .where(in_term, AwardChange.effective_on > first_day))
    if region_ids is not None:
        present = present.where(Lot.region_id.in_(list(region_ids)))
        former = former.where(Lot.region_id.in_(list(region_ids)))
    return sorted({tuple(r) for r in db.session.execute(sa.union(present, former))})


def open_review(review: AnnualReview, actor) -> list[ReviewResult]:
    """draft → open: the scheme is frozen; one pending result per underwriter and county."""
    _require_draft(review)   # locks the year's row
    problems = scheme_problems(review)
    require(not problems, "；".join(problems))
    pairs = underwriters_of(review.year)
    require(pairs, _("%(year)s 年度没有承保机构中标，无需考评", year=review.year))
    review.status = ReviewStatus.OPEN
    review.opened_at = utcnow()
    review.opened_by_id = getattr(actor, "id", None)
    results = [ReviewResult(review_id=review.id, insurer_id=i, region_id=r) for i, r in pairs]
    db.session.add_all(results)
    db.session.flush()
    audit.record(actor, "annual_review.opened", review,
                 _l("开始 %(year)s 年度考评：%(n)s 家承保机构·县", year=review.year, n=len(results)),
                 year=review.year, results=[[i, r] for i, r in pairs],
                 scheme={"thresholds": [str(review.excellent_min), str(review.good_min), str(review.pass_min)],
                         "consequences": consequences(review),
                         "indicators": [[i.name, i.kind.value, getattr(i.measure, "value", None), str(i.weight),
                                         None if i.deduction is None else str(i.deduction)]
                                        for i in review.indicators]})
    return results


# --- measured indicators ------------------------------------------------------------------------------------------

@dataclass
class Figures:
    """What the measured indicators count for one underwriter in one county and year."""

    paid_rows: int = 0
    paid_within_10: int = 0
    returned_claims: int = 0
    flagged_claims: int = 0
    double_insurance: int = 0
    upheld_complaints: int = 0
    penalties: int = 0

    def count(self, measure: Measure) -> int:
        return getattr(self, measure.value)


def figures_for(year: int, pairs: Iterable[tuple[int, int]]) -> dict[tuple[int, int], Figures]:
    """The figures of every (insurer id, county id) for `year`, a fixed number of grouped queries."""
    pairs = list(pairs)
    result = {p: Figures() for p in pairs}
    if not pairs:
        return result
    insurer_ids = sorted({i for i, _r in pairs})
    region_ids = sorted({r for _i, r in pairs})
    for m in payouts.measured(insurer_ids=insurer_ids, region_ids=region_ids, years=[year]):
        f = result.get((m.insurer_id, m.region_id))
        if f is not None:
            f.paid_rows += m.paid_rows
            f.paid_within_10 += m.paid_within_10
    c = SubsidyClaim
    scope = (c.year == year, c.insurer_id.in_(insurer_ids), c.region_id.in_(region_ids))
    for r in db.session.execute(sa.select(c.insurer_id, c.region_id, sa.func.count()).where(
            *scope, c.status == ClaimStatus.RETURNED).group_by(c.insurer_id, c.region_id)):
        if (r[0], r[1]) in result:
            result[(r[0], r[1])].returned_claims = r[2]
    live = c.status.not_in((ClaimStatus.DRAFT, ClaimStatus.RETURNED))
    for r in db.session.execute(sa.select(c.insurer_id, c.region_id, sa.func.count()).join(
            UnderwritingList, UnderwritingList.claim_id == c.id).where(*scope, live, UnderwritingList.flag_count > 0)
            .group_by(c.insurer_id, c.region_id)):
        if (r[0], r[1]) in result:
            result[(r[0], r[1])].flagged_claims = r[2]
    for r in db.session.execute(sa.select(c.insurer_id, c.region_id, sa.func.count()).select_from(UnderwritingFlag)
                                .join(UnderwritingList, UnderwritingList.id == UnderwritingFlag.list_id)
                                .join(c, c.id == UnderwritingList.claim_id)
                                .where(*scope, live, UnderwritingFlag.kind.in_(
                                    (FlagKind.DUPLICATE_SAME_INSURER, FlagKind.DUPLICATE_OTHER_INSURER)))
                                .group_by(c.insurer_id, c.region_id)):
        if (r[0], r[1]) in result:
            result[(r[0], r[1])].double_insurance = r[2]
    k = Complaint
    for r in db.session.execute(sa.select(k.insurer_id, k.region_id, sa.func.count()).where(
            k.year == year, k.status == ComplaintStatus.UPHELD, k.insurer_id.in_(insurer_ids))
            .group_by(k.insurer_id, k.region_id)):
        if (r[0], r[1]) in result:
            result[(r[0], r[1])].upheld_complaints = r[2]
    # a penalty is declared in every bid of the insurer: counted once per decision day and authority
    penalties = sa.select(Bid.insurer_id, BidPenalty.decided_on, BidPenalty.authority).distinct().join(
        Bid, Bid.id == BidPenalty.bid_id).where(Bid.insurer_id.in_(insurer_ids),
                                                sa.extract("year", BidPenalty.decided_on) == year).subquery()
    counts = dict(db.session.execute(sa.select(penalties.c.insurer_id, sa.func.count())
                                     .group_by(penalties.c.insurer_id)).all())
    for (insurer_id, _region), f in result.items():
        f.penalties = counts.get(insurer_id, 0)
    return result


def measured_points(indicator: ReviewIndicator, figures: Figures) -> tuple[Decimal, str]:
    """(points, what was counted) of a measured indicator (see the module docstring)."""
    if indicator.measure is Measure.PAID_WITHIN_10:
        if not figures.paid_rows:
            return indicator.weight, _("当年无已赔付记录")
        points = indicator.weight * Decimal(figures.paid_within_10) / Decimal(figures.paid_rows)
        return round_points(points), _("%(within)s / %(paid)s 笔在10日内赔付", within=figures.paid_within_10,
                                       paid=figures.paid_rows)
    count = figures.count(indicator.measure)
    points = max(ZERO, indicator.weight - indicator.deduction * count)
    return round_points(points), _("%(n)s（每件扣 %(d)s 分）", n=count, d=format(indicator.deduction.normalize(), "f"))


def _apply_measured(result: ReviewResult, figures: Figures) -> None:
    existing = {s.indicator_id: s for s in result.scores}
    for indicator in result.review.indicators:
        if indicator.qualitative:
            continue
        with in_record_language():   # stored in Chinese, whoever scores; ReviewScore.figure_label reads it out
            points, figure = measured_points(indicator, figures)
        score = existing.get(indicator.id)
        if score is None:
            score = ReviewScore(indicator_id=indicator.id, points=points)
            result.scores.append(score)
        score.points, score.figure = points, figure[:200]


def _total(result: ReviewResult) -> Decimal:
    return sum((s.points for s in result.scores), ZERO)


# --- the county bureau scores, the underwriter replies, the city finalises -------------------------------------

def _require_open(review: AnnualReview) -> None:
    require(review.status is ReviewStatus.OPEN, _("该年度考评不在进行中"))


def score_result(result: ReviewResult, points: dict[int, tuple[Decimal | None, str | None]], actor) -> None:
    """The county bureau's points (and comments) on every qualitative indicator; the measured ones are computed;
    the result becomes a draft the underwriter reads, with its reply period starting today. The year's row is locked
    first, as finalisation locks it: a scoring and a finalisation at once are made one after the other (else the
    finalisation summed the points it had read before the county's new ones and locked that stale total)."""
    lock_for_update(result.review)
    result = lock_for_update(result)
    review = result.review
    _require_open(review)
    require(getattr(actor, "role", None) is not Role.COUNTY_AGRI or actor.region_id == result.region_id,
            _("只能为本县的承保机构评分"))
    require(result.status is not ResultStatus.FINAL, _("考评结果已定稿"))
    existing = {s.indicator_id: s for s in result.scores}
    for indicator in review.indicators:
        if not indicator.qualitative:
            continue
        value, comment = points.get(indicator.id, (None, None))
        field = f"points-{indicator.id}"
        require(value is not None, _("请为“%(name)s”评分", name=indicator.label), field)
        require(ZERO <= value <= indicator.weight and value == round_points(value),
                _("“%(name)s”的得分应在 0 到 %(max)s 之间（最多两位小数）", name=indicator.label,
                  max=format(indicator.weight.normalize(), "f")), field)
        comment = (comment or "").strip() or None
        require(value == indicator.weight or comment, _("“%(name)s”未得满分，请填写评语", name=indicator.label),
                f"comment-{indicator.id}")
        score = existing.get(indicator.id)
        if score is None:
            score = ReviewScore(indicator_id=indicator.id, points=value)
            result.scores.append(score)
        score.points, score.comment = value, comment
    figures = figures_for(review.year, [(result.insurer_id, result.region_id)])
    _apply_measured(result, figures[(result.insurer_id, result.region_id)])
    db.session.flush()
    if result.reply_due is None:   # the reply period starts with the first scores
        result.reply_due = notice_end(local_today(), review.reply_working_days)
    result.total = _total(result)
    result.grade = grade_for(result.total, review)
    result.status = ResultStatus.SCORED
    result.scored_at = utcnow()
    result.scored_by_id = getattr(actor, "id", None)
    db.session.flush()
    audit.record(actor, "annual_review.scored", result,
                 _l("%(year)s 年度考评：%(county)s %(insurer)s 初评 %(total)s 分（%(grade)s）", year=review.year,
                    county=result.region.name, insurer=result.insurer.name, total=result.total,
                    grade=result.grade.label),
                 total=str(result.total), grade=result.grade.value,
                 scores={s.indicator.name: [str(s.points), s.comment] for s in result.scores})


def reply_open(result: ReviewResult) -> bool:
    return (result.review.status is ReviewStatus.OPEN and result.status is ResultStatus.SCORED
            and result.reply is None and result.reply_due is not None and local_today() <= result.reply_due)


def reply_to_result(result: ReviewResult, text: str, actor) -> None:
    """The underwriter's reply to its draft result, once, within the reply period."""
    result = lock_for_update(result)
    require(getattr(actor, "insurer_id", None) == result.insurer_id, _("只能对本机构的考评结果提出意见"))
    require(result.reply is None, _("已经提交过意见"))
    require(reply_open(result), _("申辩期已过（截止 %(due)s），不能再提出意见", due=result.reply_due))
    text = (text or "").strip()
    require(text, _("请填写意见"), "reply")
    result.reply = text
    result.replied_at = utcnow()
    result.replied_by_id = getattr(actor, "id", None)
    db.session.flush()
    audit.record(actor, "annual_review.replied", result,
                 _l("%(insurer)s 对 %(year)s 年度 %(county)s 考评结果提出意见", insurer=result.insurer.name,
                    year=result.review.year, county=result.region.name), reply=text)


def results_of(review: AnnualReview, user=None) -> list[ReviewResult]:
    stmt = sa.select(ReviewResult).where(ReviewResult.review_id == review.id)
    if user is not None:
        stmt = stmt.where(ReviewResult.visible_to(user))
    # the scores with the results: the review page and the summary workbook read every result's points
    stmt = stmt.options(selectinload(ReviewResult.scores))
    return list(db.session.scalars(stmt.join(Region, Region.id == ReviewResult.region_id)
                                   .join(Insurer, Insurer.id == ReviewResult.insurer_id)
                                   .order_by(Region.code, Insurer.name)))


def finalise_problems(review: AnnualReview) -> list[str]:
    """Why the year cannot be finalised yet: a county still to score, a reply period still running."""
    problems = []
    today = local_today()
    for r in results_of(review):
        if r.status is ResultStatus.PENDING:
            problems.append(_("%(county)s 尚未为 %(insurer)s 评分", county=r.region.label, insurer=r.insurer.name))
        elif r.reply is None and r.reply_due is not None and today <= r.reply_due:
            problems.append(_("%(insurer)s 在 %(county)s 的申辩期至 %(due)s", insurer=r.insurer.name,
                              county=r.region.label, due=r.reply_due.isoformat()))
    return problems


def finalise_review(review: AnnualReview, actor) -> None:
    """open → final, locked: of two finalisations at once the second waits and is refused. The measured indicators
    are computed once more (a complaint upheld since the county scored counts) and the results locked."""
    review = lock_for_update(review)
    require(review.status is not ReviewStatus.FINAL, _("%(year)s 年度考评已经定稿，无需再次定稿", year=review.year))
    _require_open(review)
    problems = finalise_problems(review)
    require(not problems, _("还不能定稿：%(problems)s", problems="；".join(problems)))
    results = results_of(review)
    figures = figures_for(review.year, [(r.insurer_id, r.region_id) for r in results])
    for r in results:
        _apply_measured(r, figures[(r.insurer_id, r.region_id)])
    db.session.flush()
    for r in results:
        r.total = _total(r)
        r.grade = grade_for(r.total, review)
        r.status = ResultStatus.FINAL
    review.status = ReviewStatus.FINAL
    review.finalised_at = utcnow()
    review.finalised_by_id = getattr(actor, "id", None)
    db.session.flush()
    audit.record(actor, "annual_review.finalised", review,
                 _l("%(year)s 年度考评定稿：%(n)s 个结果", year=review.year, n=len(results)),
                 results={f"{r.insurer_id}-{r.region_id}": [str(r.total), r.grade.value] for r in results})


# --- what a user may do now -----------------------------------------------------------------------------------

def _city(user) -> bool:
    return user.role in (Role.ADMIN, Role.CITY_AGRI)


def review_actions(review: AnnualReview, user) -> Actions:
    actions = []
    if _city(user) and review.status is ReviewStatus.DRAFT:
        actions.append(Action("open", _l("开始考评"), "annual_review.open_review", {"year": review.year},
                              post=True, style="primary", confirm=_l("开始后考评方案不能再修改。确定开始？")))
    if _city(user) and review.status is ReviewStatus.OPEN:
        actions.append(Action("finalise", _l("定稿"), "annual_review.finalise", {"year": review.year}, post=True,
                              style="primary", confirm=_l("定稿后考评结果不能再修改。确定定稿？")))
    if review.status is not ReviewStatus.DRAFT and user.role is not Role.EXPERT:
        actions.append(Action("summary", _l("下载考评汇总表"), "annual_review.summary_xlsx", {"year": review.year},
                              order=200))
    return Actions(actions)


def may_edit_scheme(review: AnnualReview, user) -> bool:
    return _city(user) and review.status is ReviewStatus.DRAFT


def indicator_actions(indicator: ReviewIndicator, user) -> Actions:
    if not may_edit_scheme(indicator.review, user):
        return Actions()
    return Actions([Action("delete", _l("删除"), "annual_review.delete_indicator", {"indicator_id": indicator.id},
                           post=True, style="outline-danger", confirm=_l("确定删除该指标？"))])


def may_score(result: ReviewResult, user) -> bool:
    return (user.role is Role.COUNTY_AGRI and user.region_id == result.region_id
            and result.review.status is ReviewStatus.OPEN and result.status is not ResultStatus.FINAL)


def may_reply(result: ReviewResult, user) -> bool:
    return user.role is Role.INSURER and user.insurer_id == result.insurer_id and reply_open(result)


def result_actions(result: ReviewResult, user) -> Actions:
    actions = []
    if result.status is not ResultStatus.PENDING:
        actions.append(Action("report", _l("下载考评报告（PDF）"), "annual_review.result_pdf",
                              {"result_id": result.id}))
    return Actions(actions)


def index_actions(user) -> Actions:
    actions = []
    if user.role in (Role.ADMIN, Role.CITY_AGRI, Role.COUNTY_AGRI, Role.INSURER):
        actions.append(Action("complaints", _l("投诉"), "annual_review.complaints", order=200))
    return Actions(actions)


# --- complaints -------------------------------------------------------------------------------------------------

DEFENCE_WORKING_DAYS = 10


def defence_days() -> int:
    return int(current_app.config.get("COMPLAINT_DEFENCE_WORKING_DAYS", DEFENCE_WORKING_DAYS))


def file_complaint(data: dict[str, Any], document, actor) -> Complaint:
    """A county bureau files a complaint against an underwriter in its county (or records one from farmers); the
    underwriter's defence period starts today."""
    require(actor.role is Role.COUNTY_AGRI, _("只有县农业农村局可以登记投诉"))
    insurer = db.session.get(Insurer, data.get("insurer_id") or 0)
    require(insurer is not None, _("请选择承保机构"), "insurer_id")
    year = data.get("year")
    require(year and 2000 <= year <= local_today().year, _("请填写有效的年度"), "year")
    review = review_of(year)
    if review is not None:
        # the year's row locked, as finalising locks it: a complaint filed while the year is being finalised waits
        # and is refused, rather than landing in a final year where it could never be decided nor counted
        review = lock_for_update(review)
    require(review is None or review.status is not ReviewStatus.FINAL,
            _("%(year)s 年度考评已定稿，不能再登记该年度的投诉", year=year), "year")
    require((insurer.id, actor.region_id) in underwriters_of(year, [actor.region_id]),
            _("%(insurer)s %(year)s 年度未在本县承保，不能登记对它的投诉", insurer=insurer.name, year=year), "insurer_id")
    subject = (data.get("subject") or "").strip()
    body = (data.get("body") or "").strip()
    require(subject, _("请填写投诉事由"), "subject")
    require(body, _("请填写投诉内容"), "body")
    stored = save_pdf(document, actor) if document else None
    complaint = Complaint(insurer_id=insurer.id, region_id=actor.region_id, year=year, subject=subject, body=body,
                          on_behalf_of_farmers=bool(data.get("on_behalf_of_farmers")),
                          document_id=stored.id if stored else None, filed_by_id=actor.id,
                          defence_due=notice_end(local_today(), defence_days()))
    db.session.add(complaint)
    db.session.flush()
    audit.record(actor, "complaint.filed", complaint,
                 _l("登记对 %(insurer)s 的投诉：%(subject)s", insurer=insurer.name, subject=subject),
                 insurer_id=insurer.id, region_id=actor.region_id, year=year,
                 on_behalf_of_farmers=complaint.on_behalf_of_farmers, document_id=complaint.document_id)
    return complaint


def defence_open(complaint: Complaint) -> bool:
    return complaint.status is ComplaintStatus.FILED and local_today() <= complaint.defence_due


def answer_complaint(complaint: Complaint, text: str, document, actor) -> None:
    complaint = lock_for_update(complaint)
    require(getattr(actor, "insurer_id", None) == complaint.insurer_id, _("只能对本机构的投诉申辩"))
    require(complaint.status is ComplaintStatus.FILED, _("该投诉已申辩或已决定"))
    require(defence_open(complaint), _("申辩期已过（截止 %(due)s）", due=complaint.defence_due))
    text = (text or "").strip()
    require(text, _("请填写申辩意见"), "defence")
    stored = save_pdf(document, actor) if document else None
    complaint.defence = text
    complaint.defence_document_id = stored.id if stored else None
    complaint.answered_at = utcnow()
    complaint.answered_by_id = actor.id
    complaint.status = ComplaintStatus.ANSWERED
    db.session.flush()
    audit.record(actor, "complaint.answered", complaint, _l("%(insurer)s 对投诉“%(subject)s”提交申辩",
                                                           insurer=complaint.insurer.name, subject=complaint.subject),
                 defence=text, document_id=complaint.defence_document_id)


def decide_complaint(complaint: Complaint, upheld: bool, note: str, actor) -> None:
    """The city decides once the underwriter has answered or its defence period is over. The year's evaluation row is
    locked first, as finalisation locks it: a complaint decided while the year is being finalised waits and is
    refused, instead of being upheld in a year whose results were finalised without it."""
    review = review_of(complaint.year)
    if review is not None:
        review = lock_for_update(review)
    complaint = lock_for_update(complaint)
    require(complaint.status in (ComplaintStatus.FILED, ComplaintStatus.ANSWERED), _("该投诉已经决定"))
    require(complaint.status is ComplaintStatus.ANSWERED or not defence_open(complaint),
            _("承保机构的申辩期至 %(due)s，请待申辩后再决定", due=complaint.defence_due))
    require(review is None or review.status is not ReviewStatus.FINAL,
            _("%(year)s 年度考评已定稿，该投诉不能再决定", year=complaint.year))
    note = (note or "").strip()
    require(note, _("请填写决定理由"), "note")
    complaint.status = ComplaintStatus.UPHELD if upheld else ComplaintStatus.DISMISSED
    complaint.decision_note = note
    complaint.decided_at = utcnow()
    complaint.decided_by_id = actor.id
    db.session.flush()
    audit.record(actor, "complaint.decided", complaint,
                 _l("投诉“%(subject)s”：%(decision)s", subject=complaint.subject, decision=complaint.status.label),
                 upheld=upheld, note=note)


def complaint_actions(complaint: Complaint, user) -> Actions:
    actions = []
    if complaint.document_id:
        actions.append(Action("document", _l("投诉材料"), "annual_review.complaint_document",
                              {"complaint_id": complaint.id, "which": "complaint"}))
    if complaint.defence_document_id:
        actions.append(Action("defence_document", _l("申辩材料"), "annual_review.complaint_document",
                              {"complaint_id": complaint.id, "which": "defence"}))
    return Actions(actions)


def may_answer(complaint: Complaint, user) -> bool:
    return user.role is Role.INSURER and user.insurer_id == complaint.insurer_id and defence_open(complaint)


def may_decide(complaint: Complaint, user) -> bool:
    if not _city(user) or complaint.status not in (ComplaintStatus.FILED, ComplaintStatus.ANSWERED):
        return False
    return complaint.status is ComplaintStatus.ANSWERED or not defence_open(complaint)


# --- consequences for the next round (called by this module's listeners) ---------------------------------------

def _final_grades(insurer_ids: Iterable[int], years: Iterable[int]) -> dict[tuple[int, int, int], Grade]:
    """(insurer id, county id, year) → final grade."""
    rows = db.session.execute(
        sa.select(ReviewResult.insurer_id, ReviewResult.region_id, AnnualReview.year, ReviewResult.grade)
        .join(AnnualReview, AnnualReview.id == ReviewResult.review_id)
        .where(ReviewResult.status == ResultStatus.FINAL, ReviewResult.insurer_id.in_(list(insurer_ids)),
               AnnualReview.year.in_(list(years))))
    return {(r[0], r[1], r[2]): r[3] for r in rows}


def governing_review(term_start_year: int) -> AnnualReview | None:
    """The year whose rules govern a round whose term starts in `term_start_year`: the latest final evaluation
    before it."""
    return db.session.scalar(sa.select(AnnualReview).where(
        AnnualReview.status == ReviewStatus.FINAL, AnnualReview.year < term_start_year)
        .order_by(AnnualReview.year.desc()).limit(1))


def _window(review: AnnualReview, term_start_year: int) -> list[int]:
    return list(range(term_start_year - review.lookback_years, term_start_year))


def exclusions(insurer_id: int, region_ids: Iterable[int], term_start_year: int) -> dict[int, list[int]]:
    """County id → the consecutive 不合格 years that exclude the underwriter from that county in a round whose term
    starts in `term_start_year` (the latest such run of years)."""
    region_ids = list(region_ids)
    review = governing_review(term_start_year)
    if review is None or review.exclude_after <= 0 or not region_ids:
        return {}
    needed = review.exclude_after
    years = _window(review, term_start_year)
    grades = _final_grades([insurer_id], years)
    result = {}
    for region_id in region_ids:
        run: list[int] = []
        found: list[int] = []
        for year in years:
            if grades.get((insurer_id, region_id, year)) is Grade.FAIL:
                run.append(year)
                if len(run) >= needed:
                    found = run[-needed:]
            else:
                run = []
        if found:
            result[region_id] = found
    return result


def service_levels(insurer_ids: Iterable[int], term_start_year: int) -> dict[int, Decimal]:
    """Insurer id → the mean grade level (优秀 5, 良好 4, 合格 3, 不合格 1; two decimals, half-up) of its final
    results in the years before the term; insurers without results are absent."""
    review = governing_review(term_start_year)
    if review is None or not review.service_input:
        return {}
    levels: dict[int, list[int]] = defaultdict(list)
    for (insurer_id, _region, _year), grade in _final_grades(insurer_ids, _window(review, term_start_year)).items():
        levels[insurer_id].append(GRADE_LEVELS[grade])
    return {i: round_points(Decimal(sum(v)) / len(v)) for i, v in levels.items()}


def capacity_factors(insurer_ids: Iterable[int], term_start_year: int) -> dict[int, Decimal]:
    """Insurer id → the factor of its lowest grade in its latest final evaluation year before the term (the
    governing year's factors by grade; none: no scaling)."""
    review = governing_review(term_start_year)
    factors = review.capacity_factors() if review is not None else {}
    if not factors:
        return {}
    order = [Grade.FAIL, Grade.PASS, Grade.GOOD, Grade.EXCELLENT]
    latest: dict[int, tuple[int, Grade]] = {}
    for (insurer_id, _region, year), grade in _final_grades(insurer_ids, _window(review, term_start_year)).items():
        seen = latest.get(insurer_id)
        if seen is None or year > seen[0] or (year == seen[0] and order.index(grade) < order.index(seen[1])):
            latest[insurer_id] = (year, grade)
    return {i: factors[g] for i, (_y, g) in latest.items() if g in factors}


# --- what waits (the to-do lists of main) -------------------------------------------------------------------------

def results_waiting(user) -> int:
    """A county bureau: its underwriters' results still to score in an open year; an underwriter: its draft results
    it may still reply to. One count query."""
    stmt = (sa.select(sa.func.count(ReviewResult.id)).join(AnnualReview, AnnualReview.id == ReviewResult.review_id)
            .where(AnnualReview.status == ReviewStatus.OPEN))
    if user.role is Role.COUNTY_AGRI:
        stmt = stmt.where(ReviewResult.region_id == user.region_id, ReviewResult.status == ResultStatus.PENDING)
    elif user.role is Role.INSURER:
        stmt = stmt.where(ReviewResult.insurer_id == user.insurer_id, ReviewResult.status == ResultStatus.SCORED,
                          ReviewResult.reply.is_(None), ReviewResult.reply_due >= local_today())
    else:
        return 0
    return db.session.scalar(stmt) or 0


def complaints_waiting(user) -> int:
    """An underwriter: complaints it may still answer; the city: complaints it may decide. One count query."""
    k = Complaint
    if user.role is Role.INSURER:
        where = sa.and_(k.insurer_id == user.insurer_id, k.status == ComplaintStatus.FILED,
                        k.defence_due >= local_today())
    elif _city(user):
        where = sa.or_(k.status == ComplaintStatus.ANSWERED,
                       sa.and_(k.status == ComplaintStatus.FILED, k.defence_due < local_today()))
    else:
        return 0
    return db.session.scalar(sa.select(sa.func.count(k.id)).where(where)) or 0
