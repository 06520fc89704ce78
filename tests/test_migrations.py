"""Migrations: upgrade on an empty database, downgrade to base, upgrade again; models and schema agree."""


import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from agri_insurance import create_app
from agri_insurance.config import TestingConfig
from agri_insurance.extensions import db


@pytest.fixture
def empty_app(tmp_path, database_url):
    # A fresh database of its own, so the shared test database is left alone.
    if database_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'migrate.sqlite'}"
    else:
        import psycopg

        base = database_url.rsplit("/", 1)[0]
        # named after this worker's own database: two suites on one server never drop each other's
        name = f"{database_url.rsplit('/', 1)[1]}_migrate"
        with psycopg.connect(f"{base}/postgres".replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        url = f"{base}/{name}"
    app = create_app(TestingConfig(url, str(tmp_path)))
    with app.app_context():
        yield app
        db.engine.dispose()


def _diff():
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def test_upgrade_downgrade_upgrade_and_no_pending_changes(empty_app):
    upgrade(revision="heads")
    assert _diff() == [], "models and migrations disagree: run `flask db migrate`"
    downgrade(revision="base")
    tables = set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}
    assert tables == set()
    upgrade(revision="heads")
    assert {"users", "regions", "products", "insurers", "subsidy_schemes", "audit_entries"} <= set(
        sa.inspect(db.engine).get_table_names())


def test_rounds_stored_with_a_short_notice_get_a_reason_so_the_new_rule_holds(empty_app):
    upgrade(revision="0015_failed_runs_recorded")
    with db.engine.begin() as conn:
        for name, days in (("旧轮次（0日）", 0), ("旧轮次（3日）", 3), ("旧轮次（5日）", 5)):
            conn.execute(sa.text(
                "INSERT INTO selection_rounds (name, term_start_year, bid_deadline, opening_time, notice_working_days,"
                " min_insurers, max_insurers, status, status_changed_at, rules_version, created_at) VALUES (:name,"
                " 2026, '2026-01-10 09:00', '2026-01-10 10:00', :days, 2, 3, 'draft', '2026-01-01', 1, '2026-01-01')"),
                {"name": name, "days": days})
    upgrade(revision="heads")
    with db.engine.connect() as conn:
        rows = dict(conn.execute(sa.text("SELECT notice_working_days, notice_short_reason FROM selection_rounds")).all())
    assert rows == {0: "（旧数据，未记录原因）", 3: "（旧数据，未记录原因）", 5: None}   # the periods as they were
