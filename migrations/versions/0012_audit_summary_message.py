"""audit: each entry's summary kept as a message (msgid and parameters) to show in every reader's language

Revision ID: 0012_audit_summary_message
Revises: 0011_insurer_capacities
Create Date: 2026-11-28 16:00:00

Entries written before keep their stored text only (shown as written).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012_audit_summary_message'
down_revision = '0011_insurer_capacities'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('summary_message', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.drop_column('summary_message')
