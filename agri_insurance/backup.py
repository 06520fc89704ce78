"""Backup and restore of the database and the upload directory, consistent together (docs/operations.md).

A backup is a folder:

    database.dump   pg_dump's custom format, taken from one exported snapshot
    uploads.tar     every file under UPLOAD_DIR
    manifest.json   when, the migration, each table's row count and each file's SHA-256 (as of the snapshot)

Consistency: the database is dumped from a snapshot (`pg_export_snapshot`, `pg_dump --snapshot`) held open while
the files are copied; every stored file the snapshot names (`stored_files`) must be copied with the SHA-256 the
row records, or the backup fails (a file removed meanwhile: run it again). A file written after the snapshot is
copied too and is harmless (no row names it). `restore` refuses a database that has tables or an upload directory
that has files, restores both, and checks the row counts and every file's checksum against the manifest.

PostgreSQL only (the production database); a SQLite database is one file, copied with the upload directory while
the application is stopped.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tarfile
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from agri_insurance.clock import utcnow
from agri_insurance.extensions import db

DUMP, FILES, MANIFEST = "database.dump", "uploads.tar", "manifest.json"


class BackupError(RuntimeError):
    pass


def libpq_url(url: sa.URL) -> str:
    """The SQLAlchemy URL as pg_dump and pg_restore take it (no driver name)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _row_counts(connection) -> dict[str, int]:
    tables = sorted(sa.inspect(connection).get_table_names())
    return {t: connection.scalar(sa.text(f'SELECT count(*) FROM "{t}"')) for t in tables}


def _files_of(upload_dir: Path) -> dict[str, str]:
    if not upload_dir.exists():
        return {}
    return {str(p.relative_to(upload_dir)): _sha256(p) for p in sorted(upload_dir.rglob("*")) if p.is_file()}


def backup(target: Path, engine: sa.Engine | None = None, upload_dir: Path | None = None) -> dict:
    """Write a backup of the database and the upload directory into `target` (created; must be empty)."""
    engine = engine or db.engine
    upload_dir = Path(upload_dir or current_app.config["UPLOAD_DIR"])
    if engine.dialect.name != "postgresql":
        raise BackupError("flask backup needs PostgreSQL; copy a SQLite file with the application stopped")
    target.mkdir(parents=True, exist_ok=True)
    if any(target.iterdir()):
        raise BackupError(f"{target} is not empty")
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as connection, connection.begin():
        snapshot = connection.scalar(sa.text("SELECT pg_export_snapshot()"))
        subprocess.run(["pg_dump", "--format=custom", "--no-owner", f"--snapshot={snapshot}",
                        f"--file={target / DUMP}", libpq_url(engine.url)], check=True, capture_output=True)
        counts = _row_counts(connection)
        revision = connection.scalar(sa.text("SELECT version_num FROM alembic_version LIMIT 1"))
        stored = dict(connection.execute(sa.text("SELECT stored_name, sha256 FROM stored_files")).all())
        # the files, while the snapshot is held: each one the snapshot names must be there, unchanged
        with tarfile.open(target / FILES, "w") as archive:
            if upload_dir.exists():
                archive.add(upload_dir, arcname=".")
        files = {}
        with tarfile.open(target / FILES) as archive:
            for member in archive.getmembers():
                if member.isfile():
                    data = archive.extractfile(member)
                    files[os.path.normpath(member.name)] = hashlib.file_digest(data, "sha256").hexdigest()
    by_name = {Path(path).name: digest for path, digest in files.items()}
    broken = sorted(name for name, digest in stored.items() if by_name.get(name) != digest)
    if broken:
        raise BackupError(f"stored files missing or changed during the backup, run it again: {broken[:5]}")
    manifest = {"created_at": utcnow().isoformat(), "revision": revision, "row_counts": counts, "files": files,
                "dump_sha256": _sha256(target / DUMP)}
    (target / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8")
    return manifest


def restore(source: Path, engine: sa.Engine | None = None, upload_dir: Path | None = None) -> dict:
    """Restore the backup in `source` into an empty database and an empty upload directory, and check it."""
    engine = engine or db.engine
    upload_dir = Path(upload_dir or current_app.config["UPLOAD_DIR"])
    manifest = json.loads((source / MANIFEST).read_text(encoding="utf-8"))
    if _sha256(source / DUMP) != manifest["dump_sha256"]:
        raise BackupError("the database dump does not match its manifest")
    with engine.connect() as connection:
        if sa.inspect(connection).get_table_names():
            raise BackupError("restore into a new, empty database (this one has tables)")
    if upload_dir.exists() and any(upload_dir.iterdir()):
        raise BackupError(f"restore into an empty upload directory ({upload_dir} has files)")
    subprocess.run(["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={libpq_url(engine.url)}",
                    str(source / DUMP)], check=True, capture_output=True)
    upload_dir.mkdir(parents=True, exist_ok=True)
    with tarfile.open(source / FILES) as archive:
        archive.extractall(upload_dir, filter="data")
    with engine.connect() as connection:
        counts = _row_counts(connection)
    files = _files_of(upload_dir)
    if counts != manifest["row_counts"]:
        raise BackupError("row counts differ from the backup's: "
                          f"{ {t: (n, counts.get(t)) for t, n in manifest['row_counts'].items() if counts.get(t) != n} }")
    if files != manifest["files"]:
        raise BackupError("restored files differ from the backup's checksums")
    return manifest
