"""flask commands: demo-data, advance-clock, create-admin, backup, restore, audit-retention, new-data-key,
rotate-data-key."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask

from agri_insurance import backup as backups
from agri_insurance import data_keys
from agri_insurance.audit import service as audit
from agri_insurance.auth.service import create_user
from agri_insurance.demo import database_is_empty, load_everything, load_reference_data
from agri_insurance.errors import DomainError
from agri_insurance.extensions import db
from agri_insurance.roles import ADMINISTRATOR_ROLES, Role
from agri_insurance.tenders.service import advance_by_clock


def register_cli(app: Flask) -> None:
    @app.cli.command("demo-data")
    @click.option("--if-empty", is_flag=True, help="Only load when the database has no users yet.")
    def demo_data(if_empty: bool) -> None:
        """Load the Shangrao reference data and the fictional demo world (idempotent)."""
        if if_empty and not database_is_empty():
            click.echo("Database already has data; demo data not loaded.")
            return
        created = load_everything()
        db.session.commit()
        click.echo(f"Demo data loaded: {created}")

    @app.cli.command("advance-clock")
    def advance_clock() -> None:
        """Make the round changes the clock has decided (deadlines, terms); pages do this before each request,
        so this is only for a quiet system (e.g. from cron, for the audit log's times)."""
        moved = advance_by_clock()
        db.session.commit()
        click.echo(f"{moved} round change(s) made.")

    @app.cli.command("create-admin")
    @click.argument("username")
    @click.option("--role", type=click.Choice(sorted(r.value for r in ADMINISTRATOR_ROLES)), default=Role.ADMIN.value,
                  show_default=True, help="admin: system administrator; security_admin; audit_admin (三员分立).")
    @click.password_option()
    def create_admin(username: str, role: str, password: str) -> None:
        """Create an administrator account (for a production database without demo data, and for the first
        security and audit administrators: only a security administrator grants an administrator's role)."""
        try:
            load_reference_data()
            create_user(username, username, Role(role), password, None)
            db.session.commit()
        except DomainError as e:
            db.session.rollback()
            raise click.ClickException(e.message) from e
        click.echo(f"Administrator {username} created.")

    @app.cli.command("backup")
    @click.argument("target", type=click.Path(file_okay=False, path_type=Path))
    def backup_command(target: Path) -> None:
        """Back up the database and the upload directory, consistent together, into the empty folder TARGET."""
        try:
            manifest = backups.backup(target)
        except backups.BackupError as e:
            raise click.ClickException(str(e)) from e
        click.echo(f"Backed up {sum(manifest['row_counts'].values())} rows and {len(manifest['files'])} files "
                   f"to {target}.")

    @app.cli.command("restore")
    @click.argument("source", type=click.Path(file_okay=False, exists=True, path_type=Path))
    def restore_command(source: Path) -> None:
        """Restore the backup in SOURCE into this (empty) database and (empty) upload directory, and check it."""
        try:
            manifest = backups.restore(source)
        except backups.BackupError as e:
            raise click.ClickException(str(e)) from e
        click.echo(f"Restored and checked {sum(manifest['row_counts'].values())} rows and {len(manifest['files'])} "
                   f"files from {source}.")

    @app.cli.command("audit-retention")
    @click.argument("days", type=int, required=False)
    def audit_retention(days: int | None) -> None:
        """Show, or set to DAYS (at least 180), how long audit entries are kept before they may be deleted."""
        if days is not None:
            try:
                audit.set_retention(days, None)
                db.session.commit()
            except DomainError as e:
                db.session.rollback()
                raise click.ClickException(e.message) from e
        click.echo(f"Audit entries are kept {audit.retention_days()} days.")

    @app.cli.command("audit-purge")
    @click.confirmation_option(prompt="Have the entries past the retention been exported (archived) and kept?")
    def audit_purge() -> None:
        """Delete the audit entries past their retention (export them first: the audit administrator's archive)."""
        deleted = audit.purge_past_retention(audit.retention_cutoff(), None)
        db.session.commit()
        click.echo(f"{deleted} audit entries past the {audit.retention_days()}-day retention deleted.")

    @app.cli.command("new-data-key")
    def new_data_key() -> None:
        """Print a key set to start with (none configured yet), or the next key line to put first in DATA_KEY."""
        configured = app.config.get("DATA_KEYS", "")
        click.echo(data_keys.new_key_line(configured) if configured else data_keys.generate_key_set())

    @app.cli.command("rotate-data-key")
    @click.option("--batch", default=5000, show_default=True, help="rows re-encrypted per transaction")
    def rotate_data_key(batch: int) -> None:
        """Re-encrypt the ID numbers and bank accounts still under an older key with the current one (the first
        k… entry of DATA_KEY), in batches, each one transaction: run it again after an interruption."""
        try:
            count = data_keys.rotate(db.session, batch,
                                     lambda table, n: click.echo(f"{table}: {n} rows re-encrypted so far"))
        except data_keys.DataKeyError as e:
            db.session.rollback()
            raise click.ClickException(str(e)) from e
        click.echo(f"{count} rows re-encrypted with key {data_keys.keys().current}.")
