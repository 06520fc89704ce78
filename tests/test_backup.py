"""Backup and restore (docs/operations.md): a populated database and its uploaded files are backed up together,
restored into a fresh database and a fresh directory, and come back whole: every table's rows, the money, the files
byte for byte."""

import hashlib
import os
import re
from decimal import Decimal

import psycopg
import pytest
import sqlalchemy as sa

from agri_insurance import backup
from agri_insurance.storage import save_bytes

pytestmark = pytest.mark.postgres

MONEY = {  # table: money columns summed before and after
    "subsidy_claims": ("total_premium", "farmer_premium"),
    "payments": ("amount",),
}


def _money(connection) -> dict[str, Decimal]:
    return {f"{t}.{c}": connection.scalar(sa.text(f"SELECT coalesce(sum({c}), 0) FROM {t}"))
            for t, columns in MONEY.items() for c in columns}


@pytest.fixture
def fresh_database(app):
    base = app.config["SQLALCHEMY_DATABASE_URI"]
    server = re.sub(r"/[^/]+$", "/postgres", base).replace("postgresql+psycopg://", "postgresql://")
    name = f"{base.rsplit('/', 1)[1]}_restore"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    engine = sa.create_engine(f"{base.rsplit('/', 1)[0]}/{name}")
    yield engine
    engine.dispose()
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_backup_restores_into_a_fresh_database_and_directory_whole(demo, db, app, tmp_path, fresh_database):
    from tests.subsidies.factories import assign, make_claim

    assign()
    make_claim(status="submitted")
    pdf = b"%PDF-1.4\n" + os.urandom(2000) + b"\n%%EOF"
    stored = save_bytes(pdf, "营业执照.pdf", None)
    db.session.commit()
    with db.engine.connect() as connection:
        money = _money(connection)
    assert money["subsidy_claims.total_premium"] > 0

    manifest = backup.backup(tmp_path / "backup")
    assert manifest["row_counts"]["users"] >= 9 and manifest["row_counts"]["subsidy_claims"] == 1

    restored_files = tmp_path / "restored-uploads"
    backup.restore(tmp_path / "backup", fresh_database, restored_files)   # checks counts and checksums itself
    with fresh_database.connect() as connection:
        assert backup._row_counts(connection) == manifest["row_counts"]
        assert _money(connection) == money
        sha = connection.scalar(sa.text("SELECT sha256 FROM stored_files WHERE id = :id"), {"id": stored.id})
    copy = restored_files / stored.stored_name[:2] / stored.stored_name
    assert hashlib.sha256(copy.read_bytes()).hexdigest() == sha == hashlib.sha256(pdf).hexdigest()

    # nor over a database that has data
    with pytest.raises(backup.BackupError, match="empty"):
        backup.restore(tmp_path / "backup", fresh_database, tmp_path / "elsewhere")
