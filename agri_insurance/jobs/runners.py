"""Two runners behind one interface, chosen by create_app:

- InProcessRunner (default; SQLite, `make run`): a small thread pool inside the web process.
- RQRunner (when REDIS_URL is set): jobs go to the Redis queue JOB_QUEUE (default "agri_insurance") and run
  on workers started with `flask worker` (this app's settings) or `rq worker agri_insurance` (given
  DATABASE_URL, REDIS_URL and SECRET_KEY in the environment; rq 3 spawns one process per job, which builds the
  app once with create_app()).

Both offer dispatch(job_id), join(job_id, timeout) and `live`, a store of the latest progress of running jobs
that pages read when the database row cannot be written yet (SQLite: one writer at a time).
"""

from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from agri_insurance.clock import utcnow
from agri_insurance.extensions import db
from agri_insurance.jobs.service import mark_interrupted, reap_orphans, run, submit, wait

log = logging.getLogger(__name__)
DEFAULT_QUEUE = "agri_insurance"
LIVE_TTL_SECONDS = 24 * 3600
# A running job's process says it is alive every HEARTBEAT_SECONDS (service._Heartbeat); a job not heard of for
# HEARTBEAT_TTL_SECONDS lost its process (kill -9, a crash, a machine restart): nothing it did was committed, and
# it is shown, then recorded, as failed.
HEARTBEAT_TTL_SECONDS = 30
# A job just committed is handed to its runner right after: not yet in Redis is not lost.
DISPATCH_GRACE_SECONDS = 60


class LocalLiveProgress:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._data: dict[int, tuple[int, str]] = {}

    def publish(self, job_id: int, percent: int, message: str) -> None:
        with self._lock:
            self._data[job_id] = (percent, message)

    def get(self, job_id: int) -> tuple[int, str] | None:
        with self._lock:
            return self._data.get(job_id)

    def forget(self, job_id: int) -> None:
        with self._lock:
            self._data.pop(job_id, None)

    def beat(self, job_id: int) -> None:
        """Nothing to say: an in-process job lives as long as this process (InProcessRunner.orphaned)."""

    def stop_beating(self, job_id: int) -> None:
        pass


class RedisLiveProgress:
    def __init__(self, connection, prefix: str) -> None:
        self.connection = connection
        self.prefix = prefix

    def _key(self, job_id: int) -> str:
        return f"{self.prefix}:progress:{job_id}"

    def publish(self, job_id: int, percent: int, message: str) -> None:
        try:
            self.connection.set(self._key(job_id), f"{percent}|{message}", ex=LIVE_TTL_SECONDS)
        except Exception:  # live progress is a convenience; the database row stays the record
            log.warning("job %s: live progress not published to Redis", job_id, exc_info=True)

    def get(self, job_id: int) -> tuple[int, str] | None:
        try:
            raw = self.connection.get(self._key(job_id))
        except Exception:
            return None
        if raw is None:
            return None
        percent, _sep, message = raw.decode("utf-8").partition("|")
        return int(percent), message

    def forget(self, job_id: int) -> None:
        try:
            self.connection.delete(self._key(job_id))
        except Exception:
            pass

    def _beat_key(self, job_id: int) -> str:
        return f"{self.prefix}:alive:{job_id}"

    def beat(self, job_id: int) -> None:
        try:
            self.connection.set(self._beat_key(job_id), "1", ex=HEARTBEAT_TTL_SECONDS)
        except Exception:  # Redis away for a moment: the next beat tries again
            log.warning("job %s: heartbeat not written to Redis", job_id, exc_info=True)

    def stop_beating(self, job_id: int) -> None:
        try:
            self.connection.delete(self._beat_key(job_id))
        except Exception:
            pass

    def beating(self, job_id: int) -> bool | None:
        """Whether the job's process was heard of lately; None when Redis cannot tell."""
        try:
            return bool(self.connection.exists(self._beat_key(job_id)))
        except Exception:
            return None


class InProcessRunner:
    name = "in-process"

    def __init__(self, app: Flask, threads: int = 2) -> None:
        self.app = app
        self.live = LocalLiveProgress()
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="agri-job")
        self._futures: dict[int, Future] = {}
        self._lock = threading.Lock()
        self.started_at = utcnow()

    def dispatch(self, job_id: int) -> None:
        future = self._pool.submit(self._execute, job_id)
        with self._lock:
            self._futures[job_id] = future
        future.add_done_callback(lambda _f: self._drop(job_id))

    def _drop(self, job_id: int) -> None:
        with self._lock:
            self._futures.pop(job_id, None)

    def _execute(self, job_id: int) -> None:
        try:
            with self.app.app_context():
                run(job_id)
        except Exception:  # run() records handler errors itself; this is a broken database or similar
            log.exception("job %s: runner error", job_id)
            try:
                with self.app.app_context():
                    mark_interrupted(job_id)
            except Exception:
                log.exception("job %s: could not be marked failed", job_id)

    def orphaned(self, job) -> bool:
        """An unfinished job submitted before this process started and not run by it: the process that ran it
        (this one's predecessor: in-process jobs are for one web process, docs/deploy.md) has gone."""
        with self._lock:
            if job.id in self._futures:
                return False
        return job.created_at < self.started_at

    def join(self, job_id: int, timeout: float) -> None:
        with self._lock:
            future = self._futures.get(job_id)
        if future is not None:
            try:
                future.result(timeout=timeout)
            except FutureTimeout:
                pass


RQ_TASK = "agri_insurance.worker.rq_task"
RQ_ON_FAILURE = "agri_insurance.worker.rq_on_failure"


class RQRunner:
    name = "rq"

    def __init__(self, redis_url: str, queue_name: str = DEFAULT_QUEUE, job_timeout: int = 3600) -> None:
        from redis import Redis
        from rq import Queue

        self.connection = Redis.from_url(redis_url)
        self.queue = Queue(queue_name, connection=self.connection, default_timeout=job_timeout)
        self.live = RedisLiveProgress(self.connection, f"agri_insurance:{queue_name}")

    def dispatch(self, job_id: int) -> None:
        from rq import Callback

        # by name: the task and its callback live in agri_insurance.worker, which builds the app in a bare
        # `rq worker` process (this module must not import the application package it is part of)
        self.queue.enqueue(RQ_TASK, job_id, job_id=self.rq_id(job_id), description=f"agri_insurance job {job_id}",
                           result_ttl=3600, failure_ttl=7 * 24 * 3600,
                           on_failure=Callback(RQ_ON_FAILURE))

    def join(self, job_id: int, timeout: float) -> None:
        """Nothing to join in this process; service.wait polls the database."""

    def rq_id(self, job_id: int) -> str:
        return f"{self.queue.name}-{job_id}"

    def orphaned(self, job) -> bool:
        """A running job whose process stopped beating (RQ itself notices a dead worker only when its job
        timeout has passed, an hour), or a queued one that is no longer in Redis (a Redis restarted empty).
        When Redis cannot tell, nothing is called lost."""
        from agri_insurance.jobs.models import JobStatus

        if job.status is JobStatus.RUNNING:
            return self.live.beating(job.id) is False
        if (utcnow() - job.created_at).total_seconds() < DISPATCH_GRACE_SECONDS:
            return False
        try:
            return self.queue.fetch_job(self.rq_id(job.id)) is None
        except Exception:
            return False


def init_app(app: Flask) -> None:
    """Choose the runner (RQ when REDIS_URL is set) and add the `flask worker` command."""
    redis_url = app.config.get("REDIS_URL")
    queue_name = app.config.get("JOB_QUEUE") or os.environ.get("JOB_QUEUE") or DEFAULT_QUEUE
    if redis_url:
        runner = RQRunner(redis_url, queue_name, int(app.config.get("JOB_TIMEOUT", 3600)))
    else:
        runner = InProcessRunner(app, int(app.config.get("JOB_THREADS", 2)))
    app.extensions["agri_jobs"] = runner
    if isinstance(runner, InProcessRunner) and app.config.get("JOBS_REAP_AT_START_UP", True):
        app.before_request(_reaper_at_start_up())
    app.cli.add_command(worker_command)
    app.cli.add_command(selftest_command)


def _reaper_at_start_up():
    """before_request, once per process: the in-process jobs a previous web process left unfinished (killed in
    a restart) are recorded as failed, in transactions of their own (nothing is written when there are none)."""
    done = threading.Event()

    def reap() -> None:
        from flask import request

        if done.is_set() or request.endpoint in (None, "static", "main.healthz"):
            return
        done.set()
        try:
            reaped = reap_orphans()
        except Exception:  # a database not migrated yet, say: the pages will say what is wrong
            log.exception("jobs left by a previous process could not be checked")
            return
        if reaped:
            log.warning("%s job(s) left unfinished by a previous process recorded as failed", reaped)

    return reap


@click.command("worker")
@click.option("--burst", is_flag=True, help="Run the queued jobs, then exit.")
@click.option("--spawn", is_flag=True, help="Run each job in a new process (rq's default Worker) instead of "
                                            "in this process.")
@with_appcontext
def worker_command(burst: bool, spawn: bool) -> None:
    """Start an RQ worker for this app's job queue (needs REDIS_URL)."""
    from rq import SimpleWorker, Worker

    runner = current_app.extensions.get("agri_jobs")
    if not isinstance(runner, RQRunner):
        raise click.ClickException(
            "REDIS_URL is not set: jobs run inside the web process (in-process runner) and no worker is "
            "needed. Set REDIS_URL (e.g. redis://127.0.0.1:6379/0) for the web app and the worker alike.")
    worker_class = Worker if spawn else SimpleWorker
    reaped = reap_orphans()  # jobs a killed worker left "running": failed, their files removed, retry possible
    if reaped:
        click.echo(f"{reaped} job(s) left by a stopped worker recorded as failed")
    click.echo(f"{worker_class.__name__} on queue {runner.queue.name!r} at {runner.connection}")
    worker = worker_class([runner.queue], connection=runner.connection)
    worker.work(burst=burst)


@click.command("job-selftest")
@click.option("--fail", is_flag=True, help="Make the job fail (checks that nothing it wrote is kept).")
@click.option("--timeout", default=60.0, show_default=True, help="Seconds to wait for the job.")
@with_appcontext
def selftest_command(fail: bool, timeout: float) -> None:
    """Submit a `jobs.selftest` job and wait for it: checks the runner (or the RQ workers) end to end."""

    job = submit("jobs.selftest", {"steps": 3, "delay": 0.1, "fail": fail}, None)
    db.session.commit()
    click.echo(f"job {job.id} submitted to the {current_app.extensions['agri_jobs'].name} runner")
    try:
        job = wait(job.id, timeout)
    except TimeoutError as e:
        raise click.ClickException(f"{e} (is a worker running? `flask worker`)") from e
    click.echo(f"job {job.id}: {job.status.value} {job.progress}% {job.error or job.message}")
