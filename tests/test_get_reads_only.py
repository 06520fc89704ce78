"""A page that is read changes nothing: every GET route of the access table, for every role that may open it,
runs without a commit and without flushing a change (the clock moves rounds in its own transaction before a
request, and only when something is due: nothing is due here)."""

from contextlib import contextmanager
from datetime import date

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from agri_insurance.auth.models import User
from agri_insurance.awards.models import Holiday
from agri_insurance.roles import Role
from tests.test_access import ROUTES, fill_url

# The one write a GET may make: the log of views of unmasked personal data (个人信息保护法), inserted and committed
# on a connection of its own (audit.service.record_personal_data_view). Nothing else, not even to that table.
ALLOWED_GET_WRITE = "INSERT INTO personal_data_views"


@contextmanager
def _writes_recorded(engine):
    writes: list[str] = []
    statements: dict[int, list[str]] = {}   # connection → the statements of its open transaction

    def on_statement(conn, _cursor, statement, _parameters, _context, _executemany):
        statements.setdefault(id(conn), []).append(statement.lstrip())

    def on_flush(session, _context, _instances):
        changed = [type(o).__name__ for o in (*session.new, *session.dirty, *session.deleted)
                   if o in session.new or o in session.deleted or session.is_modified(o)]
        if changed:
            writes.append(f"flush of {sorted(set(changed))}")

    def on_commit(conn):
        done = statements.pop(id(conn), [])
        changes = [st for st in done if not st.upper().startswith(("SELECT", "WITH", "SHOW", "PRAGMA"))]
        if changes and all(st.startswith(ALLOWED_GET_WRITE) for st in changes):
            return   # the log of who saw personal data in full: its own transaction, nothing else in it
        writes.append("commit")

    def on_rollback(conn):
        statements.pop(id(conn), None)

    sa.event.listen(Session, "before_flush", on_flush)
    sa.event.listen(engine, "before_cursor_execute", on_statement)
    sa.event.listen(engine, "commit", on_commit)
    sa.event.listen(engine, "rollback", on_rollback)
    try:
        yield writes
    finally:
        sa.event.remove(Session, "before_flush", on_flush)
        sa.event.remove(engine, "before_cursor_execute", on_statement)
        sa.event.remove(engine, "commit", on_commit)
        sa.event.remove(engine, "rollback", on_rollback)


def _get_routes(role):
    return [(endpoint, url) for endpoint, (method, url, allowed) in sorted(ROUTES.items())
            if method == "GET" and (allowed == "public" or role in allowed)]


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_no_get_route_writes(role, login, db):
    client = login(role.value)
    for endpoint, url in _get_routes(role):
        filled = fill_url(url, db, role)  # the fixtures the URL needs are made (and committed) first
        with _writes_recorded(db.engine) as writes:
            response = client.get(filled)
        assert response.status_code in (200, 302), f"{role.value} GET {filled}: {response.status_code}"
        assert not writes, f"{role.value} GET {filled} ({endpoint}) wrote: {writes}"


def test_the_recorder_sees_a_write(ref, db):
    """The check itself bites: a flushed change and a commit are both caught."""
    with _writes_recorded(db.engine) as writes:
        db.session.add(Holiday(day=date(2030, 10, 1), name="国庆节"))
        db.session.commit()
    assert writes == ["flush of ['Holiday']", "commit"]


def test_the_one_allowed_write_is_the_personal_data_view_log_alone(demo, db):
    """A view of unmasked data logs itself in its own transaction (allowed); anything else beside it is caught."""
    from agri_insurance.audit import service as audit

    user = db.session.scalar(sa.select(User).where(User.username == "county_agri"))
    with _writes_recorded(db.engine) as writes:
        audit.record_personal_data_view(user, "underwriting.list_detail", None, 3)
    assert writes == []
    with _writes_recorded(db.engine) as writes, db.engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO personal_data_views (created_at, username, role, what, object_type, rows, "
                             "reason) VALUES (CURRENT_TIMESTAMP, 'x', 'x', 'x', '', 1, 'x')"))
        conn.execute(sa.text("UPDATE users SET display_name = display_name WHERE id = :id"), {"id": user.id})
    assert writes == ["commit"]
