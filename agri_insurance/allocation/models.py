"""Allocation runs (分配方案): one optimiser run of a round with its parameters, scenario and result; the insurers'
premium capacities of a round; and the recorded departures from a round's allocation rules."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from agri_insurance.clock import utcnow
from agri_insurance.db_types import Money, Percent, enum_type
from agri_insurance.extensions import db
from agri_insurance.roles import Role
from agri_insurance.tenders.models import RoundStatus, SelectionRound


class RunStatus(enum.StrEnum):
    QUEUED = "queued"
    DONE = "done"        # the solver finished (its own status may still be infeasible)
    FAILED = "failed"    # the job failed (no result)

    @property
    def label(self) -> str:
        return str(RUN_STATUS_LABELS[self])


RUN_STATUS_LABELS = {RunStatus.QUEUED: _l("计算中"), RunStatus.DONE: _l("已完成"), RunStatus.FAILED: _l("失败")}


class RunSource(enum.StrEnum):
    DATABASE = "database"   # built from the round's evaluation
    WHATIF = "whatif"       # a parent run's scenario with changes
    IMPORT = "import"       # an uploaded scenario file

    @property
    def label(self) -> str:
        return str(RUN_SOURCE_LABELS[self])


RUN_SOURCE_LABELS = {RunSource.DATABASE: _l("评审结果"), RunSource.WHATIF: _l("假设分析"),
                     RunSource.IMPORT: _l("导入方案文件")}

SOLVER_STATUS_LABELS = {"optimal": _l("最优解"), "feasible": _l("可行解（未证明最优）"), "infeasible": _l("无可行分配"),
                        "invalid": _l("方案文件有误"), "unknown": _l("未求得解")}


class AllocationRun(db.Model):
    __tablename__ = "allocation_runs"
    __table_args__ = (
        sa.UniqueConstraint("round_id", "number", name="uq_allocation_runs_round_number"),
        # At most one adopted (and not revoked) run per round: the database refuses a second adoption.
        sa.Index("uq_allocation_runs_adopted", "round_id", unique=True,
                 sqlite_where=sa.text("adopted_at IS NOT NULL AND revoked_at IS NULL"),
                 postgresql_where=sa.text("adopted_at IS NOT NULL AND revoked_at IS NULL")),
        sa.CheckConstraint("adopted_at IS NULL OR status = 'done'", name="adopted_is_done"),
        sa.CheckConstraint("revoked_at IS NULL OR adopted_at IS NOT NULL", name="revoked_was_adopted"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("selection_rounds.id"), index=True)
    number: Mapped[int]
    label: Mapped[str] = mapped_column(sa.String(200))
    source: Mapped[RunSource] = mapped_column(enum_type(RunSource))
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("allocation_runs.id"))
    # what-if changes: {"fixed": [[lot_code, insurer_id]], "forbidden": [...], "cap": "0.35"|None,
    #                   "extra_max": {region_code: n}, "capacity": {insurer_id: "amount"|None}}
    changes: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    scenario: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    result: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    status: Mapped[RunStatus] = mapped_column(enum_type(RunStatus), default=RunStatus.QUEUED)
    solver_status: Mapped[str | None] = mapped_column(sa.String(20))
    objective: Mapped[Decimal | None] = mapped_column(Money)
    error: Mapped[str | None] = mapped_column(sa.Text)
    job_id: Mapped[int | None] = mapped_column(sa.ForeignKey("jobs.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    finished_at: Mapped[datetime | None]
    adopted_at: Mapped[datetime | None]
    adopted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    revoked_at: Mapped[datetime | None]
    revoke_reason: Mapped[str | None] = mapped_column(sa.Text)

    round = relationship("SelectionRound")
    parent = relationship("AllocationRun", remote_side=[id])
    job = relationship("Job")
    created_by = relationship("User", foreign_keys=[created_by_id])

    @property
    def adopted(self) -> bool:
        return self.adopted_at is not None and self.revoked_at is None

    @property
    def waiting(self) -> bool:
        """Queued or being solved by its job."""
        return self.status is RunStatus.QUEUED

    @property
    def failed(self) -> bool:
        return self.status is RunStatus.FAILED

    @property
    def ok(self) -> bool:
        return self.status is RunStatus.DONE and self.solver_status in ("optimal", "feasible")

    @property
    def infeasible(self) -> bool:
        """Solved, and no allocation meets the scenario's rules."""
        return self.status is RunStatus.DONE and self.solver_status == "infeasible"

    @property
    def solver_status_label(self) -> str:
        return str(SOLVER_STATUS_LABELS.get(self.solver_status or "", self.solver_status or "—"))

    @classmethod
    def visible_to(cls, user):
        if user.role in (Role.ADMIN, Role.CITY_AGRI):
            return cls.round_id.in_(sa.select(SelectionRound.id))
        return sa.false()

    def __repr__(self) -> str:
        return f"<AllocationRun {self.id} #{self.number} {self.status.value}>"


class InsurerCapacity(db.Model):
    """承保能力上限: the most expected annual premium an insurer may be awarded in a round, set by the city
    bureau (for instance from its solvency); every run built from the round's evaluation keeps to it."""

    __tablename__ = "insurer_capacities"
    __table_args__ = (
        sa.UniqueConstraint("round_id", "insurer_id", name="uq_insurer_capacities_round_insurer"),
        sa.CheckConstraint("premium_capacity > 0", name="capacity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("selection_rounds.id"), index=True)
    insurer_id: Mapped[int] = mapped_column(sa.ForeignKey("insurers.id"))
    premium_capacity: Mapped[Decimal] = mapped_column(Money)
    basis: Mapped[str] = mapped_column(sa.String(200), default="")
    set_at: Mapped[datetime] = mapped_column(default=utcnow)
    set_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    # no visible_to: capacities are only read through their round, whose pages check role and scope
    round = relationship("SelectionRound")
    insurer = relationship("Insurer")


class DepartureBasis(enum.StrEnum):
    """Who approved a departure from the round's rules."""

    COLLECTIVE = "collective"            # 集体决策: the bureau's leadership decided collectively (e.g. 局党组会议)
    HIGHER_APPROVAL = "higher_approval"  # 上级批准: an authority above the bureau approved it

    @property
    def label(self) -> str:
        return str(DEPARTURE_BASIS_LABELS[self])


DEPARTURE_BASIS_LABELS = {DepartureBasis.COLLECTIVE: _l("集体决策"), DepartureBasis.HIGHER_APPROVAL: _l("上级批准")}

# The rounds whose result is public (awards' PUBLISHED_STATES; awards sits above allocation): from then on a
# departure the adopted result rests on is part of the public record.
_RESULT_PUBLIC = (RoundStatus.PUBLICISED, RoundStatus.AWARDED, RoundStatus.IN_FORCE, RoundStatus.EXPIRED)


class RuleDeparture(db.Model):
    """规则偏离: an approved departure from the allocation rules the round published, recorded by the city bureau
    while the round is in evaluation and before a run is adopted, with the decision on file (document number,
    date, PDF), as a county exception records the provincial approval of more than three insurers.

    It raises the market-share cap, an insurer's premium capacity, or both, to the approved value and no
    further: adoption accepts an allocation within the rules as these departures relax them (allocation.service
    `_check_against_round`). The rule as it stood when the departure was recorded is kept beside the approved
    value. `adopted_run` is the adopted run whose allocation needed it (set at adoption, cleared when that
    result is withdrawn); the public notice, the notices and the OCDS release show those."""

    __tablename__ = "rule_departures"
    __table_args__ = (
        sa.CheckConstraint("approved_cap_pct IS NOT NULL OR insurer_id IS NOT NULL", name="departs_from_a_rule"),
        sa.CheckConstraint("(approved_cap_pct IS NULL) = (published_cap_pct IS NULL)", name="cap_pair"),
        sa.CheckConstraint("approved_cap_pct IS NULL OR (approved_cap_pct > published_cap_pct "
                           "AND approved_cap_pct <= 100)", name="cap_raised"),
        sa.CheckConstraint("(insurer_id IS NULL) = (approved_capacity IS NULL) "
                           "AND (insurer_id IS NULL) = (published_capacity IS NULL)", name="capacity_triple"),
        sa.CheckConstraint("approved_capacity IS NULL OR approved_capacity > published_capacity",
                           name="capacity_raised"),
        # one approved value per rule and round: the cap once, each insurer's capacity once
        sa.Index("uq_rule_departures_cap", "round_id", unique=True,
                 sqlite_where=sa.text("approved_cap_pct IS NOT NULL"),
                 postgresql_where=sa.text("approved_cap_pct IS NOT NULL")),
        sa.UniqueConstraint("round_id", "insurer_id", name="uq_rule_departures_round_insurer"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("selection_rounds.id"), index=True)
    # the market-share cap (percent of the round's expected premium): as published, and as approved
    published_cap_pct: Mapped[Decimal | None] = mapped_column(Percent)
    approved_cap_pct: Mapped[Decimal | None] = mapped_column(Percent)
    # an insurer's premium capacity (yuan): as set for the round, and as approved
    insurer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("insurers.id"))
    published_capacity: Mapped[Decimal | None] = mapped_column(Money)
    approved_capacity: Mapped[Decimal | None] = mapped_column(Money)
    basis: Mapped[DepartureBasis] = mapped_column(enum_type(DepartureBasis))
    doc_no: Mapped[str] = mapped_column(sa.String(100))
    decided_on: Mapped[date]
    reason: Mapped[str] = mapped_column(sa.Text)
    document_id: Mapped[int] = mapped_column(sa.ForeignKey("stored_files.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    adopted_run_id: Mapped[int | None] = mapped_column(sa.ForeignKey("allocation_runs.id"))

    round = relationship("SelectionRound")
    insurer = relationship("Insurer", lazy="joined")
    document = relationship("StoredFile", lazy="joined")
    recorded_by = relationship("User", foreign_keys=[recorded_by_id])
    adopted_run = relationship("AllocationRun")

    @property
    def departs_from_cap(self) -> bool:
        return self.approved_cap_pct is not None

    @property
    def departs_from_capacity(self) -> bool:
        return self.insurer_id is not None

    @classmethod
    def visible_to(cls, user):
        """The bureau always; everybody else once the result that rests on it is public."""
        if user.role in (Role.ADMIN, Role.CITY_AGRI):
            return cls.round_id.in_(sa.select(SelectionRound.id))
        return sa.and_(cls.adopted_run_id.is_not(None),
                       cls.round_id.in_(sa.select(SelectionRound.id).where(SelectionRound.status.in_(_RESULT_PUBLIC))))

    def __repr__(self) -> str:
        return f"<RuleDeparture {self.id} {self.doc_no}>"
