"""The RQ side of background jobs: the functions a worker process imports by name (agri_insurance.jobs.runners
enqueues "agri_insurance.worker.rq_task").

A composition root like wsgi.py: a bare `rq worker` process has no application yet, so this module builds it
from the environment (DATABASE_URL, REDIS_URL, …) once; under `flask worker` and in tests the application in
context is used.
"""

from __future__ import annotations

import logging

from flask import Flask, current_app, has_app_context

from agri_insurance import create_app
from agri_insurance.jobs.service import mark_interrupted, run

log = logging.getLogger(__name__)
_worker_app: Flask | None = None


def _app_for_worker() -> Flask:
    """The app of this worker process: the one in context (`flask worker`, tests), else built once."""
    global _worker_app
    if has_app_context():
        return current_app._get_current_object()
    if _worker_app is None:
        _worker_app = create_app()
    return _worker_app


def rq_task(job_id: int) -> str | None:
    """The RQ task: run job `job_id` of this app."""
    app = _app_for_worker()
    with app.app_context():
        status = run(job_id)
    return None if status is None else status.value


def rq_on_failure(rq_job, connection, exc_type, exc_value, tb) -> None:
    """RQ gave up on the task (timeout, worker lost): record the job as failed if it had not finished."""
    job_id = rq_job.args[0] if rq_job.args else None
    if job_id is None:
        return
    log.error("job %s: RQ task failed: %s", job_id, exc_value)
    app = _app_for_worker()
    with app.app_context():
        mark_interrupted(job_id)
