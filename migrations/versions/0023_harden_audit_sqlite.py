"""audit: SQLite refuses to change or delete an audit entry too (PostgreSQL has since 0016)

Revision ID: 0023_harden_audit_sqlite
Revises: 0022_payouts_payout_lists
Create Date: 2026-12-04 22:30:00

- SQLite: two triggers refuse UPDATE and DELETE on audit_entries, as PostgreSQL's trigger does: the log stays
  append-only whatever writes to the file. A later batch migration that copies audit_entries (SQLite's ALTER)
  drops them with the old table: it must create them again.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0023_harden_audit_sqlite'
down_revision = '0022_payouts_payout_lists'
branch_labels = None
depends_on = None

REFUSAL = "audit entries are never updated or deleted"


def upgrade():
    if op.get_bind().dialect.name != "sqlite":
        return
    for event in ("UPDATE", "DELETE"):
        op.execute(f"CREATE TRIGGER audit_entries_append_only_{event.lower()} BEFORE {event} ON audit_entries "
                   f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END")


def downgrade():
    if op.get_bind().dialect.name != "sqlite":
        return
    for event in ("update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS audit_entries_append_only_{event}")
