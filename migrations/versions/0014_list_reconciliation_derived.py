"""underwriting: a list's reconciliation with its claim is computed when shown, not stored

Revision ID: 0014_list_reconciliation_derived
Revises: 0013_objection_closed
Create Date: 2026-11-28 19:00:00

The stored differences went stale whenever the claim was edited (pages now reconcile the list afresh against
the claim as it is, in the reader's language), so the column is dropped.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014_list_reconciliation_derived'
down_revision = '0013_objection_closed'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('underwriting_lists', schema=None) as batch_op:
        batch_op.drop_column('reconciliation_problems')


def downgrade():
    # restored empty: the pages and submission reconcile afresh in either version
    with op.batch_alter_table('underwriting_lists', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reconciliation_problems', sa.JSON(), nullable=False,
                                      server_default=sa.text("'[]'")))
