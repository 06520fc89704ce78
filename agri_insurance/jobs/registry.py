"""Job kinds: `@job_handler("kind.name")` registers the function that does the work.

    @job_handler("underwriting.import")
    def import_list(ctx: JobContext, claim_id: int, file_id: int) -> dict:
        for i, chunk in enumerate(chunks):
            ctx.check_cancelled()
            ...                                  # work in db.session; run() commits or rolls back
            ctx.progress(100 * i // len(chunks), _("已校验 %(n)s 行", n=...))
        return {"summary": _("导入 %(n)s 行", n=n), "redirect": url_for("underwriting.list", ...)}

The handler works in `db.session` as any service does and never commits: `service.run` commits its work
together with the job's `done` status, or rolls all of it back when it raises. The returned dict (JSON-able;
Decimals and dates are converted) becomes `Job.result`; its optional keys "summary" (one line for the user)
and "redirect" (a path on this site, e.g. from `url_for`) are shown by the job page.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from agri_insurance.errors import DomainError

log = logging.getLogger(__name__)
Handler = Callable[..., dict[str, Any] | None]
_HANDLERS: dict[str, Handler] = {}
_LABELS: dict[str, object] = {}
_PAGES: dict[str, Callable[[dict[str, Any]], str]] = {}
FailureHook = Callable[[Any, dict[str, Any], str], None]
_ON_FAILURE: dict[str, FailureHook] = {}
# detail(job, user) -> list of agri_insurance.actions.PagePart (or None): what the kind shows on a job's page
DetailHook = Callable[[Any, Any], list | None]
_DETAILS: dict[str, DetailHook] = {}
# after_commit(result): run once a job's work and its done status are committed (ANALYZE the tables an import filled)
AfterCommitHook = Callable[[dict[str, Any]], None]
_AFTER_COMMIT: dict[str, AfterCommitHook] = {}


class JobCancelled(DomainError):
    """Raised by `JobContext.check_cancelled` when someone asked the job to stop."""


def job_handler(kind: str, label=None, page: Callable[[dict[str, Any]], str] | None = None,
                on_failure: FailureHook | None = None, detail: DetailHook | None = None,
                after_commit: AfterCommitHook | None = None) -> Callable[[Handler], Handler]:
    """Register `func(ctx: JobContext, **params) -> dict` as the handler of jobs of `kind`.

    `label` (a lazy_gettext string) names the kind on job pages; without it the kind itself is shown.
    `page(params)`: the URL of the page the job was started from (the claim's list, the round's runs), linked
    from the job's page whatever became of the job, so a failed job is no dead end.
    `on_failure(conn, params, error)`: what the kind records when a job of it fails (its handler's work was rolled
    back), run on the connection and in the transaction that marks the job failed, so both or neither are kept.
    `detail(job, user)`: what the job's page shows of a job of this kind to `user` beyond its progress, as
    PageParts (agri_insurance.actions) in the slot "result": a failed import's errors and its report, say, so
    the page the user lands on after starting the job says all there is to say. The page polls for it while the
    job runs (it is drawn again once the job is finished). Only reads.
    `after_commit(result)`: run in the job's session after its work was committed (a failure there is logged, the
    job stays done): the ANALYZE of the tables a bulk import filled.
    """

    def decorator(func: Handler) -> Handler:
        existing = _HANDLERS.get(kind)
        if existing is not None and existing.__qualname__ != func.__qualname__:
            raise ValueError(f"job kind {kind!r} is already handled by {existing.__module__}.{existing.__qualname__}")
        _HANDLERS[kind] = func
        if label is not None:
            _LABELS[kind] = label
        if page is not None:
            _PAGES[kind] = page
        if on_failure is not None:
            _ON_FAILURE[kind] = on_failure
        if detail is not None:
            _DETAILS[kind] = detail
        if after_commit is not None:
            _AFTER_COMMIT[kind] = after_commit
        return func

    return decorator


def get_handler(kind: str) -> Handler | None:
    return _HANDLERS.get(kind)


def after_commit_hook(kind: str) -> AfterCommitHook | None:
    return _AFTER_COMMIT.get(kind)


def failure_hook(kind: str) -> FailureHook | None:
    return _ON_FAILURE.get(kind)


def detail_parts(job, user) -> list:
    """What the job's kind shows on its page to `user` (see `job_handler`'s `detail`)."""
    detail = _DETAILS.get(job.kind)
    return list(detail(job, user) or []) if detail is not None else []


def kind_label(kind: str) -> str:
    return str(_LABELS.get(kind, kind))


def page_url(kind: str, params: dict[str, Any]) -> str | None:
    page = _PAGES.get(kind)
    try:
        return page(params) if page is not None else None
    except (KeyError, TypeError, ValueError):  # params of an older version of the kind
        return None


def registered_kinds() -> list[str]:
    return sorted(_HANDLERS)
