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


def test_existing_id_numbers_and_accounts_are_sealed_by_0032_and_opened_by_its_downgrade(empty_app):
    from agri_insurance.data_keys import keys

    upgrade(revision="0031_payouts_notice")
    person, account = "36112819800101123X", "6228480012345678"
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":   # bare rows without their lists, claims and references
            conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
        conn.execute(sa.text(
            "INSERT INTO underwriting_rows (list_id, row_no, name, id_kind, id_number, township, village, product_id,"
            " year, insurer_id, quantity, sum_insured, premium, farmer_premium, bank_account) VALUES"
            " (1, 1, '张三', 'P', :p, '镇', '村', 1, 2026, 1, 1, 20, 1, 1, :a), (1, 2, '李四', 'P', :p, '镇', '村',"
            " 1, 2026, 1, 1, 20, 1, 1, NULL)"), {"p": person, "a": account})
        conn.execute(sa.text(
            "INSERT INTO payout_rows (list_id, row_no, name, id_kind, id_number, insurer_id, region_id, product_id,"
            " year, loss_date, reported_date, survey_date, agreed_amount, agreed_date, bank_account) VALUES"
            " (1, 1, '张三', 'P', :p, 1, 1, 1, 2026, '2026-06-01', '2026-06-02', '2026-06-03', 5, '2026-06-04', :a)"),
            {"p": person, "a": account})
    upgrade(revision="0032_crypt_personal_data")
    with db.engine.connect() as conn:
        for table in ("underwriting_rows", "payout_rows"):
            stored = conn.execute(sa.text(f"SELECT id_number, id_hash, bank_account FROM {table}")).all()
            assert all(r.id_number.startswith("k1$") and r.id_hash == keys().hash(person) for r in stored)
            assert person not in repr(stored) and account not in repr(stored)
            assert {keys().decrypt(r.bank_account) for r in stored} <= {account, None}
    downgrade(revision="0031_payouts_notice")
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT id_number, bank_account FROM payout_rows")).one() == (person, account)
