"""The allocation job: solve a run's scenario with the optimiser and store the result."""

from __future__ import annotations

import sqlalchemy as sa
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from agri_insurance.allocation import service
from agri_insurance.allocation.models import AllocationRun, RunStatus
from agri_insurance.errors import DomainError
from agri_insurance.extensions import db
from agri_insurance.jobs.context import JobContext
from agri_insurance.jobs.registry import job_handler
from optimization import ScenarioError, invalid_result, parse_scenario, solve_scenario


def _run_failed(conn, params: dict, error: str) -> None:
    """A run whose job failed (or whose worker died) says so, with the job's error, instead of waiting."""
    conn.execute(sa.update(AllocationRun).where(AllocationRun.id == params.get("run_id"),
                                                AllocationRun.status == RunStatus.QUEUED)
                 .values(status=RunStatus.FAILED, error=error))


@job_handler(service.JOB_KIND, label=_l("分配方案计算"),
             page=lambda params: url_for("allocation.run_detail", run_id=params["run_id"]), on_failure=_run_failed)
def run_allocation(ctx: JobContext, run_id: int) -> dict:
    run = db.session.get(AllocationRun, run_id)
    if run is None:
        raise DomainError(_("分配方案不存在"))
    ctx.progress(5, _("读取方案：%(n)s个标段", n=len(run.scenario.get("lots", []))))
    try:
        scenario = parse_scenario(run.scenario)
    except ScenarioError as e:
        result = invalid_result(e)
    else:
        ctx.check_cancelled()
        ctx.progress(20, _("求解中（最长%(s)s秒）", s=scenario.settings.time_limit_s or "—"))
        result = solve_scenario(scenario)
    ctx.progress(90, _("保存结果"))
    service.finish_run(run, result.to_dict())
    status = run.solver_status_label
    return {"summary": _("分配方案 #%(n)s：%(status)s", n=run.number, status=status),
            "redirect": url_for("allocation.run_detail", run_id=run.id), "run_id": run.id}
