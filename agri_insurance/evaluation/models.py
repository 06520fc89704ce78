"""Evaluation (评审): the round's scoring scheme with its eligibility gates, the eligibility checks of the opened
bids, the expert panel with conflict declarations, and the experts' scores (R4)."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from agri_insurance.bids.models import Bid
from agri_insurance.clock import utcnow
from agri_insurance.db_types import enum_type
from agri_insurance.extensions import db
from agri_insurance.roles import Role
from agri_insurance.tenders.models import SelectionRound

Points = sa.Numeric(7, 2)  # scores and weights: 0.00 … 100.00


class Factor(enum.StrEnum):
    """The seven factors of R4, in the policy's order."""

    SETUP = "setup"              # 机构设置情况 (scored per county)
    CLAIMS = "claims"            # 理赔服务水平
    SERVICE = "service"          # 服务业绩和评级
    INNOVATION = "innovation"    # 产品创新
    COMPLIANCE = "compliance"    # 合规经营能力
    RISK = "risk"                # 风险管控能力
    SOLVENCY = "solvency"        # 偿付能力

    @property
    def label(self) -> str:
        return str(FACTOR_LABELS[self])


FACTOR_LABELS = {
    Factor.SETUP: _l("机构设置情况"),
    Factor.CLAIMS: _l("理赔服务水平"),
    Factor.SERVICE: _l("服务业绩和评级"),
    Factor.INNOVATION: _l("产品创新"),
    Factor.COMPLIANCE: _l("合规经营能力"),
    Factor.RISK: _l("风险管控能力"),
    Factor.SOLVENCY: _l("偿付能力"),
}


class CriterionKind(enum.StrEnum):
    LINEAR = "linear"          # objective: worst bidder 0, best bidder full points, linear between
    BANDED = "banded"          # objective: table of lower bounds → points
    YES_NO = "yes_no"          # objective: full points if yes, else 0
    DEDUCTION = "deduction"    # objective: full points minus a deduction per count, floor 0
    SUBJECTIVE = "subjective"  # each expert gives 0 … full points

    @property
    def label(self) -> str:
        return str(KIND_LABELS[self])

    @property
    def objective(self) -> bool:
        return self is not CriterionKind.SUBJECTIVE


KIND_LABELS = {
    CriterionKind.LINEAR: _l("线性插值（最差0分，最优满分）"),
    CriterionKind.BANDED: _l("分档计分"),
    CriterionKind.YES_NO: _l("是/否"),
    CriterionKind.DEDUCTION: _l("按次扣分（最低0分）"),
    CriterionKind.SUBJECTIVE: _l("专家评分"),
}


class PanelStatus(enum.StrEnum):
    CHECKING = "checking"  # eligibility checks and the bureau's decisions
    SCORING = "scoring"    # experts declare conflicts and score
    CLOSED = "closed"      # final: scores, ranking and lot scores are fixed

    @property
    def label(self) -> str:
        return str(PANEL_STATUS_LABELS[self])


PANEL_STATUS_LABELS = {
    PanelStatus.CHECKING: _l("资格审查"),
    PanelStatus.SCORING: _l("专家评分"),
    PanelStatus.CLOSED: _l("评审结束"),
}


class ControlDecision(enum.StrEnum):
    PENDING = "pending"
    ADMITTED = "admitted"
    EXCLUDED = "excluded"

    @property
    def label(self) -> str:
        return str(CONTROL_DECISION_LABELS[self])


CONTROL_DECISION_LABELS = {
    ControlDecision.PENDING: _l("待决定"),
    ControlDecision.ADMITTED: _l("准予参加评审"),
    ControlDecision.EXCLUDED: _l("不予参加评审"),
}


def _round_visible(column, user):
    return column.in_(sa.select(SelectionRound.id).where(SelectionRound.visible_to(user)))


class ScoringScheme(db.Model):
    """评分方案 of one round, with its eligibility gates and the panel's aggregation rule. Editable while the round
    is a draft; fixed once it is published."""

    __tablename__ = "scoring_schemes"
    __table_args__ = (
        sa.CheckConstraint("min_comprehensive_solvency_pct >= 0 AND min_core_solvency_pct >= 0",
                           name="solvency_thresholds_non_negative"),
        sa.CheckConstraint("penalty_lookback_years >= 0", name="lookback_non_negative"),
        sa.CheckConstraint("drop_extremes_min_experts >= 0", name="drop_extremes_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("selection_rounds.id"), unique=True)
    # eligibility gates (资格条件)
    min_comprehensive_solvency_pct: Mapped[Decimal] = mapped_column(sa.Numeric(9, 2), default=Decimal(100))
    min_core_solvency_pct: Mapped[Decimal] = mapped_column(sa.Numeric(9, 2), default=Decimal(50))
    allowed_risk_ratings: Mapped[str] = mapped_column(sa.String(8), default="AB")
    penalty_lookback_years: Mapped[int] = mapped_column(default=3)
    check_common_control: Mapped[bool] = mapped_column(default=True)
    # aggregation: drop the highest and lowest expert score when at least this many experts scored (0 = never)
    drop_extremes_min_experts: Mapped[int] = mapped_column(default=5)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    round = relationship("SelectionRound")
    criteria = relationship("Criterion", back_populates="scheme", cascade="all, delete-orphan",
                            order_by="(Criterion.position, Criterion.id)")

    @classmethod
    def visible_to(cls, user):
        return _round_visible(cls.round_id, user)


class Criterion(db.Model):
    """评分项: one criterion under a factor, worth `max_points` (the weights of a scheme sum to exactly 100)."""

    __tablename__ = "criteria"
    __table_args__ = (
        sa.UniqueConstraint("scheme_id", "code", name="uq_criteria_scheme_code"),
        sa.CheckConstraint("max_points > 0 AND max_points <= 100", name="max_points_range"),
        sa.CheckConstraint("kind = 'subjective' OR metric IS NOT NULL", name="objective_has_metric"),
        sa.CheckConstraint("kind != 'deduction' OR deduction_per_count > 0", name="deduction_has_amount"),
        sa.CheckConstraint("kind != 'banded' OR bands IS NOT NULL", name="banded_has_bands"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_id: Mapped[int] = mapped_column(sa.ForeignKey("scoring_schemes.id", ondelete="CASCADE"), index=True)
    factor: Mapped[Factor] = mapped_column(enum_type(Factor, 16))
    code: Mapped[str] = mapped_column(sa.String(20))
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[CriterionKind] = mapped_column(enum_type(CriterionKind, 16))
    max_points: Mapped[Decimal] = mapped_column(Points)
    metric: Mapped[str | None] = mapped_column(sa.String(40))         # objective kinds: the bid figure used
    higher_is_better: Mapped[bool] = mapped_column(default=True)       # linear only
    bands: Mapped[list | None] = mapped_column(sa.JSON)                # banded: [["150", "10"], ["120", "8"]]
    deduction_per_count: Mapped[Decimal | None] = mapped_column(Points)  # deduction only
    guidance: Mapped[str | None] = mapped_column(sa.Text)              # subjective: what the experts look at
    position: Mapped[int] = mapped_column(default=0)

    scheme = relationship("ScoringScheme", back_populates="criteria")

    @property
    def label(self) -> str:
        """The name in the reader's language: a default criterion's name is in the catalogue (`scoring.N_`), a
        name the bureau typed reads as typed."""
        return gettext(self.name) if self.name else ""

    @classmethod
    def visible_to(cls, user):
        return cls.scheme_id.in_(sa.select(ScoringScheme.id).where(ScoringScheme.visible_to(user)))


class EvaluationPanel(db.Model):
    """The evaluation of one round: its status (checking → scoring → closed) and who closed it."""

    __tablename__ = "evaluation_panels"
    __table_args__ = (
        sa.CheckConstraint("status != 'closed' OR (closed_at IS NOT NULL)", name="closed_has_time"),
        sa.CheckConstraint("status = 'checking' OR scoring_started_at IS NOT NULL", name="scoring_has_time"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("selection_rounds.id"), unique=True)
    status: Mapped[PanelStatus] = mapped_column(enum_type(PanelStatus, 16), default=PanelStatus.CHECKING)
    eligibility_checked_at: Mapped[datetime | None]
    scoring_started_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    closed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    round = relationship("SelectionRound")
    members = relationship("PanelMember", back_populates="panel", cascade="all, delete-orphan",
                           order_by="PanelMember.id")

    @property
    def checking(self) -> bool:
        """Eligibility checks and the bureau's decisions; no scoring yet."""
        return self.status is PanelStatus.CHECKING

    @property
    def scoring(self) -> bool:
        return self.status is PanelStatus.SCORING

    @property
    def closed(self) -> bool:
        return self.status is PanelStatus.CLOSED

    @classmethod
    def visible_to(cls, user):
        return _round_visible(cls.round_id, user)


class EligibilityCheck(db.Model):
    """The eligibility verdict on one opened bid: the failed gates (reasons the bidder reads), and for a bidder under
    common control with another the bureau's recorded decision."""

    __tablename__ = "eligibility_checks"
    __table_args__ = (
        sa.UniqueConstraint("bid_id", name="uq_eligibility_checks_bid"),
        sa.CheckConstraint("control_group IS NOT NULL OR control_decision = 'pending'",
                           name="decision_only_when_flagged"),
        sa.CheckConstraint("control_decision = 'pending' OR (decided_at IS NOT NULL AND decision_note IS NOT NULL)",
                           name="decision_recorded"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("selection_rounds.id"), index=True)
    bid_id: Mapped[int] = mapped_column(sa.ForeignKey("bids.id"))
    # [{"gate": "solvency", "message": "..."}]: the hard failures, in Chinese as stored for the record
    failures: Mapped[list] = mapped_column(sa.JSON, default=list)
    control_group: Mapped[str | None] = mapped_column(sa.String(120))  # the shared declared parent
    control_decision: Mapped[ControlDecision] = mapped_column(enum_type(ControlDecision, 16),
                                                              default=ControlDecision.PENDING)
    decision_note: Mapped[str | None] = mapped_column(sa.Text)
    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    checked_at: Mapped[datetime] = mapped_column(default=utcnow)

    bid = relationship("Bid", lazy="joined")

    @property
    def flagged(self) -> bool:
        return self.control_group is not None

    @property
    def eligible(self) -> bool:
        """No failed gate but county-level ones (those exclude the bid from that county's lots only)."""
        if any(f.get("region_id") is None for f in self.failures):
            return False
        return not self.flagged or self.control_decision is ControlDecision.ADMITTED

    @classmethod
    def visible_to(cls, user):
        if user.role in (Role.ADMIN, Role.CITY_AGRI):
            return cls.bid_id.in_(sa.select(Bid.id).where(Bid.visible_to(user)))
        return sa.false()


class PanelMember(db.Model):
    """An expert assigned to a round's panel: when the conflicts were declared and when the scores were submitted."""

    __tablename__ = "panel_members"
    __table_args__ = (
        sa.UniqueConstraint("panel_id", "user_id", name="uq_panel_members_panel_user"),
        sa.CheckConstraint("submitted_at IS NULL OR declared_at IS NOT NULL", name="submitted_after_declared"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    panel_id: Mapped[int] = mapped_column(sa.ForeignKey("evaluation_panels.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)
    declared_at: Mapped[datetime | None]
    submitted_at: Mapped[datetime | None]

    panel = relationship("EvaluationPanel", back_populates="members")
    user = relationship("User", lazy="joined")
    conflicts = relationship("ConflictDeclaration", back_populates="member", cascade="all, delete-orphan",
                             order_by="ConflictDeclaration.insurer_id")
    scores = relationship("ExpertScore", back_populates="member", cascade="all, delete-orphan")

    @property
    def conflicted_insurer_ids(self) -> set[int]:
        return {c.insurer_id for c in self.conflicts}

    @classmethod
    def visible_to(cls, user):
        if user.role in (Role.ADMIN, Role.CITY_AGRI):
            return cls.panel_id.in_(sa.select(EvaluationPanel.id).where(EvaluationPanel.visible_to(user)))
        if user.role is Role.EXPERT:
            return cls.user_id == user.id
        return sa.false()


class ConflictDeclaration(db.Model):
    """An expert's declared conflict of interest with an insurer: the expert may not score its bid."""

    __tablename__ = "conflict_declarations"
    __table_args__ = (sa.UniqueConstraint("member_id", "insurer_id", name="uq_conflicts_member_insurer"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("panel_members.id", ondelete="CASCADE"), index=True)
    insurer_id: Mapped[int] = mapped_column(sa.ForeignKey("insurers.id"))
    note: Mapped[str | None] = mapped_column(sa.Text)
    declared_at: Mapped[datetime] = mapped_column(default=utcnow)

    member = relationship("PanelMember", back_populates="conflicts")
    insurer = relationship("Insurer", lazy="joined")


class ExpertScore(db.Model):
    """专家评分: one expert's points for one bid on one subjective criterion."""

    __tablename__ = "expert_scores"
    __table_args__ = (
        sa.UniqueConstraint("member_id", "bid_id", "criterion_id", name="uq_expert_scores_member_bid_criterion"),
        sa.CheckConstraint("points >= 0", name="points_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("panel_members.id", ondelete="CASCADE"), index=True)
    bid_id: Mapped[int] = mapped_column(sa.ForeignKey("bids.id"), index=True)
    criterion_id: Mapped[int] = mapped_column(sa.ForeignKey("criteria.id", ondelete="CASCADE"))
    points: Mapped[Decimal] = mapped_column(Points)
    comment: Mapped[str | None] = mapped_column(sa.Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    member = relationship("PanelMember", back_populates="scores")
    criterion = relationship("Criterion")
