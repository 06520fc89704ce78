"""The job list with 1,200 jobs: paging newest first, filters (kind, status, text) alone and together and kept in
the page links, who sees which jobs (counts included), and a number of queries that does not grow with the rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa

from agri_insurance.auth.models import User
from agri_insurance.extensions import db
from agri_insurance.jobs.models import Job, JobStatus
from agri_insurance.jobs.registry import registered_kinds
from tests.lists import Logins, assert_same_queries, bulk_insert, get_page, module_world, query_of

N = 1200
CREATORS = ("city_agri", "county_agri", "insurer", "insurer", "expert")
STATUSES = (JobStatus.DONE, JobStatus.FAILED, JobStatus.RUNNING, JobStatus.QUEUED, JobStatus.DONE)


@dataclass
class Row:
    id: int
    kind: str
    status: JobStatus
    creator: str
    message: str
    created_at: datetime


def _build() -> list[Row]:
    from agri_insurance.demo import load_demo_data

    load_demo_data()
    db.session.flush()
    users = dict(db.session.execute(sa.select(User.username, User.id)).all())
    kinds = registered_kinds()
    rows = []
    start = datetime(2026, 1, 1)
    for i in range(N):
        status = STATUSES[i % len(STATUSES)]
        finished = status.finished
        # the same minute for some jobs: the id decides their order
        # every kind with every status, whatever the number of kinds (i % both would skip pairs when they share a
        # factor: a new kind must not empty a combined filter)
        rows.append({"kind": kinds[(i // len(STATUSES)) % len(kinds)], "status": status,
                     "progress": 100 if status is JobStatus.DONE else 40 if finished else i % 100,
                     "message": f"已处理第{i:04d}批", "params": {}, "subject_id": None, "result": None,
                     "error": "文件格式不对" if status is JobStatus.FAILED else None, "locale": "zh_CN",
                     "cancel_requested": False, "created_by_id": users[CREATORS[(i // 2) % len(CREATORS)]],
                     "created_at": start + timedelta(minutes=i // 3), "started_at": None,
                     "finished_at": start if finished else None})
    ids = bulk_insert(Job, rows)
    return [Row(job_id, r["kind"], r["status"], CREATORS[(i // 2) % len(CREATORS)], r["message"], r["created_at"])
            for i, (job_id, r) in enumerate(zip(ids, rows, strict=True))]


@pytest.fixture(scope="module")
def world(app):
    yield from module_world(app, _build)


@pytest.fixture(scope="module")
def logins(app, world):
    return Logins(app)


def listed(world: list[Row], username: str, keep=lambda j: True) -> list[Row]:
    sees_all = username in ("admin", "city_agri")
    return sorted((j for j in world if (sees_all or j.creator == username) and keep(j)),
                  key=lambda j: (j.created_at, j.id), reverse=True)


def ids(page) -> list[int]:
    return [int(v) for v in page.column(0)]


def test_jobs_are_paged_newest_first(world, logins):
    city = logins("city_agri")
    expected = listed(world, "city_agri")
    page = get_page(city, "/jobs")
    assert page.total == len(expected) == N and ids(page) == [j.id for j in expected[:50]]
    assert ids(get_page(city, page.link("next"))) == [j.id for j in expected[50:100]]
    last = get_page(city, f"/jobs?page={N // 50}")
    assert ids(last) == [j.id for j in expected[-50:]] and last.link("next") is None


def test_a_user_sees_and_counts_only_its_own_jobs(world, logins):
    insurer = logins("insurer")
    expected = listed(world, "insurer")
    page = get_page(insurer, "/jobs")
    assert page.total == len(expected) > 400 and ids(page) == [j.id for j in expected[:50]]
    someone_elses = listed(world, "county_agri")[0]
    assert get_page(insurer, f"/jobs?{urlencode({'q': f'#{someone_elses.id}'})}").total == 0
    assert get_page(insurer, "/jobs?q=county_agri").total == 0


@pytest.mark.parametrize("query, keep", [
    ("status=failed", lambda j, kind: j.status is JobStatus.FAILED),
    ("kind={kind}", lambda j, kind: j.kind == kind),
    ("q=第012", lambda j, kind: "第012" in j.message),
    ("q=文件格式", lambda j, kind: j.status is JobStatus.FAILED),            # the error
    ("q=鄱阳县农业农村局", lambda j, kind: j.creator == "county_agri"),      # the submitter's name
    ("status=done&kind={kind}&q=第1", lambda j, kind: j.status is JobStatus.DONE and j.kind == kind
     and "第1" in j.message),
])
def test_job_filters(world, logins, query, keep):
    kind = registered_kinds()[1]
    query = query.format(kind=kind)
    expected = listed(world, "city_agri", lambda j: keep(j, kind))
    page = get_page(logins("city_agri"), f"/jobs?{query}")
    assert 0 < page.total == len(expected) and ids(page) == [j.id for j in expected[:50]]
    if page.total > 50:
        assert query_of(page.link("next")) == {**query_of(f"/?{query}"), "page": "2"}
        assert ids(get_page(logins("city_agri"), page.link("next"))) == [j.id for j in expected[50:100]]


def test_job_filters_refuse_what_they_cannot_use(world, logins):
    page = get_page(logins("city_agri"), "/jobs?kind=nothing.like.this&status=lost")
    assert page.total == N and len(page.problems) == 2


def test_job_list_queries_do_not_grow(world, app, logins):
    assert_same_queries(app, logins("city_agri"), "/jobs?q=第0123批", "/jobs?page=3")
