"""The annual evaluation of underwriters (考评, R12) and complaints against them (投诉).

"evaluation" already names the experts' bid evaluation and "claim" a subsidy claim, so the words here are:
`AnnualReview` (one year's evaluation, with its scheme: indicators and grade thresholds), `ReviewIndicator`,
`ReviewResult` (one underwriter in one county: its points and grade) with its `ReviewScore`s, and `Complaint`."""

from __future__ import annotations

import enum
import re
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from agri_insurance.clock import utcnow
from agri_insurance.db_types import enum_type
from agri_insurance.extensions import db
from agri_insurance.roles import CITY_ROLES, Role

Points = sa.Numeric(6, 2)
Factor = sa.Numeric(4, 2)


class ReviewStatus(enum.StrEnum):
    DRAFT = "draft"      # the city edits the scheme
    OPEN = "open"        # scheme frozen; county bureaus score, underwriters reply
    FINAL = "final"      # finalised by the city: results locked

    @property
    def label(self) -> str:
        return str(REVIEW_STATUS_LABELS[self])


REVIEW_STATUS_LABELS = {ReviewStatus.DRAFT: _l("方案编制中"), ReviewStatus.OPEN: _l("考评进行中"),
                        ReviewStatus.FINAL: _l("已定稿")}


class IndicatorKind(enum.StrEnum):
    MEASURED = "measured"        # computed from stored data
    QUALITATIVE = "qualitative"  # scored by the county bureau, with a comment

    @property
    def label(self) -> str:
        return str(_l("数据计算") if self is IndicatorKind.MEASURED else _l("县局评分"))


class Measure(enum.StrEnum):
    """What a measured indicator counts (see service.measured_points for the points)."""

    PAID_WITHIN_10 = "paid_within_10"        # share of payouts paid within 10 days of the agreement (R10)
    RETURNED_CLAIMS = "returned_claims"      # subsidy claims returned by the county bureau
    FLAGGED_CLAIMS = "flagged_claims"        # subsidy claims whose underwriting list carried flags
    DOUBLE_INSURANCE = "double_insurance"    # double-insurance flags on its underwriting lists
    UPHELD_COMPLAINTS = "upheld_complaints"  # complaints the city upheld
    PENALTIES = "penalties"                  # administrative penalties decided in the year (declared in bids)

    @property
    def label(self) -> str:
        return str(MEASURE_LABELS[self])


MEASURE_LABELS = {
    Measure.PAID_WITHIN_10: _l("达成协议后10日内赔付的比例"),
    Measure.RETURNED_CLAIMS: _l("被退回的补贴申请（件）"),
    Measure.FLAGGED_CLAIMS: _l("承保清单有标记的补贴申请（件）"),
    Measure.DOUBLE_INSURANCE: _l("重复投保标记（条）"),
    Measure.UPHELD_COMPLAINTS: _l("成立的投诉（件）"),
    Measure.PENALTIES: _l("行政处罚（次）"),
}


class Grade(enum.StrEnum):
    EXCELLENT = "excellent"
    GOOD = "good"
    PASS = "pass"
    FAIL = "fail"

    @property
    def label(self) -> str:
        return str(GRADE_LABELS[self])


GRADE_LABELS = {Grade.EXCELLENT: _l("优秀"), Grade.GOOD: _l("良好"), Grade.PASS: _l("合格"),
                Grade.FAIL: _l("不合格")}


class AnnualReview(db.Model):
    """One year's evaluation and its scheme (grade thresholds, the underwriter's reply period, the indicators);
    the scheme is frozen when the city opens the evaluation."""

    __tablename__ = "annual_reviews"
    __table_args__ = (
        sa.CheckConstraint("excellent_min > good_min AND good_min > pass_min AND pass_min > 0 "
                           "AND excellent_min <= 100", name="thresholds_descending"),
        sa.CheckConstraint("reply_working_days >= 0", name="reply_days_non_negative"),
        sa.CheckConstraint("status = 'draft' OR opened_at IS NOT NULL", name="open_has_time"),
        sa.CheckConstraint("status <> 'final' OR (finalised_at IS NOT NULL AND finalised_by_id IS NOT NULL)",
                           name="final_has_finaliser"),
        sa.CheckConstraint("exclude_after >= 0 AND lookback_years >= 1", name="consequences_valid"),
        sa.CheckConstraint("(factor_excellent IS NULL OR factor_excellent > 0) AND (factor_good IS NULL OR "
                           "factor_good > 0) AND (factor_pass IS NULL OR factor_pass > 0) AND "
                           "(factor_fail IS NULL OR factor_fail > 0)", name="factors_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(unique=True)
    status: Mapped[ReviewStatus] = mapped_column(enum_type(ReviewStatus, 16), default=ReviewStatus.DRAFT)
    excellent_min: Mapped[Decimal] = mapped_column(Points, default=Decimal(90))
    good_min: Mapped[Decimal] = mapped_column(Points, default=Decimal(80))
    pass_min: Mapped[Decimal] = mapped_column(Points, default=Decimal(60))
    reply_working_days: Mapped[int] = mapped_column(default=5)
    # The consequences for the next round (R12), set by the city with the scheme and frozen with it; a new year's
    # scheme starts from the settings ANNUAL_REVIEW_* (config.py). The rules of the latest final year before a
    # round's term govern that round (annual_review.service.governing_review).
    exclude_after: Mapped[int] = mapped_column(default=2)      # consecutive 不合格; 0: never
    lookback_years: Mapped[int] = mapped_column(default=3)
    service_input: Mapped[bool] = mapped_column(default=True)
    factor_excellent: Mapped[Decimal | None] = mapped_column(Factor)   # premium capacity × factor; none: unscaled
    factor_good: Mapped[Decimal | None] = mapped_column(Factor)
    factor_pass: Mapped[Decimal | None] = mapped_column(Factor)
    factor_fail: Mapped[Decimal | None] = mapped_column(Factor)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    opened_at: Mapped[datetime | None]
    opened_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    finalised_at: Mapped[datetime | None]
    finalised_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    indicators = relationship("ReviewIndicator", order_by="ReviewIndicator.position", cascade="all, delete-orphan",
                              back_populates="review")

    def capacity_factors(self) -> dict[Grade, Decimal]:
        """Grade → the factor its underwriters' premium capacity is scaled by (grades without one: unscaled)."""
        return {g: f for g in Grade if (f := getattr(self, f"factor_{g.value}")) is not None}

    @classmethod
    def visible_to(cls, user):
        """Every bureau and underwriter sees a year (the results are scoped, see ReviewResult)."""
        return sa.true() if user.role is not Role.EXPERT else sa.false()


class ReviewIndicator(db.Model):
    """An indicator worth `weight` points: measured (a deduction of `deduction` per count, or the share paid on
    time) or qualitative (the county bureau's points, 0 to `weight`, with a comment)."""

    __tablename__ = "review_indicators"
    __table_args__ = (
        sa.UniqueConstraint("review_id", "name", name="uq_review_indicators_name"),
        sa.CheckConstraint("weight > 0", name="weight_positive"),
        sa.CheckConstraint("kind = 'qualitative' OR measure IS NOT NULL", name="measured_has_measure"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(sa.ForeignKey("annual_reviews.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(sa.String(100))
    kind: Mapped[IndicatorKind] = mapped_column(enum_type(IndicatorKind, 16))
    measure: Mapped[Measure | None] = mapped_column(enum_type(Measure))
    weight: Mapped[Decimal] = mapped_column(Points)
    deduction: Mapped[Decimal | None] = mapped_column(Points)   # points off per count (counting measures)
    guidance: Mapped[str | None] = mapped_column(sa.Text)

    review = relationship("AnnualReview", back_populates="indicators")

    @property
    def qualitative(self) -> bool:
        return self.kind is IndicatorKind.QUALITATIVE

    @property
    def label(self) -> str:
        """The name in the reader's language (the default indicators are in the catalogue; the city's own stay as
        typed)."""
        return gettext(self.name)

    @property
    def guidance_label(self) -> str:
        return gettext(self.guidance) if self.guidance else ""


class ResultStatus(enum.StrEnum):
    PENDING = "pending"   # waiting for the county bureau's scores
    SCORED = "scored"     # draft result: the underwriter reads it and may reply
    FINAL = "final"

    @property
    def label(self) -> str:
        return str(RESULT_STATUS_LABELS[self])


RESULT_STATUS_LABELS = {ResultStatus.PENDING: _l("待县局评分"), ResultStatus.SCORED: _l("初评结果（待定稿）"),
                        ResultStatus.FINAL: _l("已定稿")}


class ReviewResult(db.Model):
    """One underwriter's evaluation in one county for the year."""

    __tablename__ = "review_results"
    __table_args__ = (
        sa.UniqueConstraint("review_id", "insurer_id", "region_id", name="uq_review_results_scope"),
        sa.CheckConstraint("status = 'pending' OR (total IS NOT NULL AND grade IS NOT NULL "
                           "AND scored_at IS NOT NULL AND reply_due IS NOT NULL)", name="scored_has_total"),
        sa.CheckConstraint("reply IS NULL OR replied_at IS NOT NULL", name="reply_has_time"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(sa.ForeignKey("annual_reviews.id"), index=True)
    insurer_id: Mapped[int] = mapped_column(sa.ForeignKey("insurers.id"), index=True)
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("regions.id"), index=True)
    status: Mapped[ResultStatus] = mapped_column(enum_type(ResultStatus, 16), default=ResultStatus.PENDING)
    total: Mapped[Decimal | None] = mapped_column(Points)
    grade: Mapped[Grade | None] = mapped_column(enum_type(Grade, 16))
    scored_at: Mapped[datetime | None]
    scored_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    reply_due: Mapped[date | None]
    reply: Mapped[str | None] = mapped_column(sa.Text)
    replied_at: Mapped[datetime | None]
    replied_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    review = relationship("AnnualReview", lazy="joined")
    insurer = relationship("Insurer", lazy="joined")
    region = relationship("Region", lazy="joined")
    scores = relationship("ReviewScore", cascade="all, delete-orphan", back_populates="result")

    @classmethod
    def visible_to(cls, user):
        """The city all; a county bureau its county's; an underwriter its own once scored; nobody else."""
        if user.role is Role.COUNTY_AGRI:
            return cls.region_id == user.region_id
        if user.role is Role.INSURER:
            return sa.and_(cls.insurer_id == user.insurer_id, cls.status != ResultStatus.PENDING)
        if user.role in CITY_ROLES:
            return sa.true()
        return sa.false()


class ReviewScore(db.Model):
    """The points of one result on one indicator; `figure` says what a measured indicator counted."""

    __tablename__ = "review_scores"
    __table_args__ = (sa.UniqueConstraint("result_id", "indicator_id", name="uq_review_scores_indicator"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    result_id: Mapped[int] = mapped_column(sa.ForeignKey("review_results.id", ondelete="CASCADE"), index=True)
    indicator_id: Mapped[int] = mapped_column(sa.ForeignKey("review_indicators.id", ondelete="CASCADE"))
    points: Mapped[Decimal] = mapped_column(Points)
    comment: Mapped[str | None] = mapped_column(sa.Text)
    figure: Mapped[str | None] = mapped_column(sa.String(200))

    result = relationship("ReviewResult", back_populates="scores")
    indicator = relationship("ReviewIndicator", lazy="joined")

    @property
    def figure_label(self) -> str:
        """The stored figure (written in Chinese, service.measured_points) in the reader's language."""
        if not self.figure:
            return ""
        for pattern, say in _FIGURES:
            if found := pattern.match(self.figure):
                return say(found)
        return gettext(self.figure)


# the figures service.measured_points writes, read back into the reader's language
_FIGURES = ((re.compile(r"^(\d+) / (\d+) 笔在10日内赔付$"),
             lambda m: gettext("%(within)s / %(paid)s 笔在10日内赔付", within=m[1], paid=m[2])),
            (re.compile(r"^(\d+)（每件扣 ([\d.]+) 分）$"),
             lambda m: gettext("%(n)s（每件扣 %(d)s 分）", n=m[1], d=m[2])))


class ComplaintStatus(enum.StrEnum):
    FILED = "filed"          # waiting for the underwriter's defence
    ANSWERED = "answered"    # defence given: the city decides
    UPHELD = "upheld"
    DISMISSED = "dismissed"

    @property
    def label(self) -> str:
        return str(COMPLAINT_STATUS_LABELS[self])


COMPLAINT_STATUS_LABELS = {ComplaintStatus.FILED: _l("待承保机构申辩"), ComplaintStatus.ANSWERED: _l("待市局决定"),
                           ComplaintStatus.UPHELD: _l("投诉成立"), ComplaintStatus.DISMISSED: _l("投诉不成立")}


class Complaint(db.Model):
    """A complaint against an underwriter in a county (by the county bureau, or recorded on behalf of farmers):
    the underwriter answers within the defence period, the city decides; an upheld complaint counts in the year's
    evaluation."""

    __tablename__ = "complaints"
    __table_args__ = (
        sa.CheckConstraint("status NOT IN ('upheld', 'dismissed') OR "
                           "(decided_at IS NOT NULL AND decision_note IS NOT NULL)", name="decided_has_note"),
        sa.CheckConstraint("defence IS NULL OR answered_at IS NOT NULL", name="defence_has_time"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    insurer_id: Mapped[int] = mapped_column(sa.ForeignKey("insurers.id"), index=True)
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("regions.id"), index=True)
    year: Mapped[int] = mapped_column(index=True)   # the evaluation year it counts in
    subject: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    on_behalf_of_farmers: Mapped[bool] = mapped_column(default=False)
    document_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stored_files.id"))
    status: Mapped[ComplaintStatus] = mapped_column(enum_type(ComplaintStatus, 16), default=ComplaintStatus.FILED)
    filed_at: Mapped[datetime] = mapped_column(default=utcnow)
    filed_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    defence_due: Mapped[date]
    defence: Mapped[str | None] = mapped_column(sa.Text)
    defence_document_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stored_files.id"))
    answered_at: Mapped[datetime | None]
    answered_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decision_note: Mapped[str | None] = mapped_column(sa.Text)
    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    insurer = relationship("Insurer", lazy="joined")
    region = relationship("Region", lazy="joined")
    document = relationship("StoredFile", foreign_keys=[document_id])
    defence_document = relationship("StoredFile", foreign_keys=[defence_document_id])

    @classmethod
    def visible_to(cls, user):
        if user.role is Role.COUNTY_AGRI:
            return cls.region_id == user.region_id
        if user.role is Role.INSURER:
            return cls.insurer_id == user.insurer_id
        if user.role in (Role.ADMIN, Role.CITY_AGRI):
            return sa.true()
        return sa.false()
