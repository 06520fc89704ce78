"""Built-in job kinds. `jobs.selftest` checks that a runner or worker works end to end (progress, commit,
rollback): `flask job-selftest` submits one and waits for it."""

from __future__ import annotations

import time

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from agri_insurance.audit.service import record
from agri_insurance.errors import DomainError
from agri_insurance.jobs.context import JobContext
from agri_insurance.jobs.registry import job_handler


@job_handler("jobs.selftest", label=_l("作业自检"))
def selftest(ctx: JobContext, steps: int = 5, delay: float = 0.2, fail: bool = False) -> dict:
    """Writes one audit entry, reports progress in `steps` steps, then succeeds (or fails when `fail`)."""
    record(ctx.actor, "jobs.selftest", None, _l("作业自检 #%(id)s", id=ctx.job_id), job_id=ctx.job_id)
    steps = max(1, min(int(steps), 100))
    for step in range(1, steps + 1):
        ctx.check_cancelled()
        time.sleep(max(0.0, min(float(delay), 5.0)))
        ctx.progress(100 * step // steps if step < steps else 99, _("第 %(step)s/%(steps)s 步", step=step, steps=steps))
    if fail:
        raise DomainError(_("作业自检按要求失败，未保存任何数据。"))
    return {"summary": _("作业自检完成：%(steps)s 步", steps=steps),
            "redirect": url_for("jobs.job_detail", job_id=ctx.job_id)}

