"""The audit log with 1,200 more entries: paging newest first, filters (actor, action, object, dates) alone and
together and kept in the page links, a date no calendar has, and a number of queries that does not grow."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from agri_insurance.audit.models import AuditEntry
from agri_insurance.extensions import db
from tests.lists import Logins, assert_same_queries, bulk_insert, get_page, module_world, query_of

N = 1200
ACTIONS = (("claim.verified", "SubsidyClaim"), ("claim.submitted", "SubsidyClaim"),
           ("round.published", "SelectionRound"), ("claim.returned", "SubsidyClaim"))
LOCAL = timedelta(hours=8)  # Asia/Shanghai, no daylight saving


@dataclass
class Entry:
    id: int
    actor: str
    action: str
    object_type: str
    object_id: str
    day: date            # the local calendar day


def _build() -> list[Entry]:
    from agri_insurance.demo import load_demo_data

    load_demo_data()
    db.session.flush()
    rows = []
    for i in range(N):
        action, object_type = ACTIONS[i % len(ACTIONS)]
        rows.append({"created_at": datetime(2026, 3, 1) + timedelta(hours=5 * i), "actor_id": None,
                     "actor_name": f"测试员{i % 7}", "action": action, "object_type": object_type,
                     "object_id": str(i % 40), "summary": f"测试记录{i}", "summary_message": None,
                     "details": {"n": i}})
    ids = bulk_insert(AuditEntry, rows)
    return [Entry(entry_id, r["actor_name"], r["action"], r["object_type"], r["object_id"],
                  (r["created_at"] + LOCAL).date()) for entry_id, r in zip(ids, rows, strict=True)]


@pytest.fixture(scope="module")
def world(app):
    yield from module_world(app, _build)


@pytest.fixture(scope="module")
def admin(app, world):
    return Logins(app)("audit_admin")


def listed(world: list[Entry], keep) -> list[Entry]:
    return sorted((e for e in world if keep(e)), key=lambda e: -e.id)


def summaries(page) -> list[str]:
    """The summaries the rows show (the cell also shows the action's code)."""
    return [re.match(r"测试记录\d+|\S+", cell).group(0) for cell in page.column(2)]


def test_the_log_is_paged_newest_first(world, app, admin):
    with app.app_context():
        total = db.session.scalar(sa.select(sa.func.count(AuditEntry.id)))
    page = get_page(admin, "/audit/")
    assert page.total == total > N  # the demo's and the login's entries too
    second = get_page(admin, page.link("next"))
    assert "显示第 51–100 条" in second.summary and len(second.rows) == 50
    last = get_page(admin, f"/audit/?page={-(-total // 50)}")
    assert len(last.rows) == (total % 50 or 50) and last.link("next") is None
    mine = get_page(admin, "/audit/?actor=测试员")
    assert summaries(mine) == [f"测试记录{N - 1 - k}" for k in range(50)]


@pytest.mark.parametrize("query, keep", [
    ("actor=测试员3", lambda e: e.actor == "测试员3"),
    ("action=claim.", lambda e: e.action.startswith("claim.")),
    ("object_type=SelectionRound", lambda e: e.object_type == "SelectionRound"),
    ("object_type=SubsidyClaim&object_id=7", lambda e: e.object_type == "SubsidyClaim" and e.object_id == "7"),
    ("from=2026-03-20&to=2026-04-02", lambda e: date(2026, 3, 20) <= e.day <= date(2026, 4, 2)),
    ("action=claim.ret&actor=测试员&from=2026-04-01", lambda e: e.action == "claim.returned"
     and e.day >= date(2026, 4, 1)),
])
def test_audit_filters(world, admin, query, keep):
    expected = listed(world, keep)
    page = get_page(admin, f"/audit/?{query}")
    assert 0 < page.total == len(expected)
    assert summaries(page) == [f"测试记录{e.id - world[0].id}" for e in expected[:50]]
    if page.total > 50:
        assert query_of(page.link("next")) == {**query_of(f"/?{query}"), "page": "2"}
        second = get_page(admin, page.link("next"))
        assert summaries(second) == [f"测试记录{e.id - world[0].id}" for e in expected[50:100]]


def test_audit_filters_refuse_what_they_cannot_use(world, admin):
    page = get_page(admin, "/audit/?from=2026-02-30&object_type=Nothing&action=claim.")
    assert page.total == len(listed(world, lambda e: e.action.startswith("claim.")))
    assert len(page.problems) == 2 and query_of(page.link("next")) == {"action": "claim.", "page": "2"}


def test_audit_list_queries_do_not_grow(world, app, admin):
    assert_same_queries(app, admin, "/audit/?object_type=SubsidyClaim&object_id=7&from=2026-07-01&to=2026-08-01",
                        "/audit/?action=claim.&page=2")
