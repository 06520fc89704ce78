"""flask commands: demo-data, advance-clock, create-admin."""

from __future__ import annotations

import click
from flask import Flask

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
