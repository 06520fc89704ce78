"""Fixtures of the home page tests: a statement counter (a page's query count must not grow with the data)."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
import sqlalchemy as sa


@pytest.fixture
def count_queries(app):
    """`with count_queries() as counted: client.get("/")` → counted["n"]: the statements the block sent to the
    database (the request's own: the clock's check before it, the login, the page)."""

    @contextmanager
    def counting():
        from agri_insurance.extensions import db

        counted = {"n": 0, "sql": []}

        def before(conn, cursor, statement, parameters, context, executemany):  # noqa: ARG001 - SQLAlchemy's
            counted["n"] += 1
            counted["sql"].append(statement)

        engine = db.engine
        sa.event.listen(engine, "before_cursor_execute", before)
        try:
            yield counted
        finally:
            sa.event.remove(engine, "before_cursor_execute", before)

    return counting
