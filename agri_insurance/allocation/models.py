"""Allocation runs (分配方案): one optimiser run of a round with its parameters, scenario and result."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from agri_insurance.clock import utcnow
from agri_insurance.db_types import Money, enum_type
from agri_insurance.extensions import db
from agri_insurance.roles import Role
from agri_insurance.tenders.models import SelectionRound


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
