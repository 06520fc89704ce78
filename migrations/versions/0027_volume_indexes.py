"""subsidies: indexes for pages at volume — the shares still owed (partial), the ledger's order within a year

Revision ID: 0027_volume_indexes
Revises: 0026_money_funds
Create Date: 2026-12-05 01:20:00
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0027_volume_indexes'
down_revision = '0026_money_funds'
branch_labels = None
depends_on = None

OWING = "amount > paid AND level IN ('central', 'provincial', 'city', 'county')"


def upgrade():
    with op.batch_alter_table('claim_shares', schema=None) as batch_op:
        batch_op.create_index('ix_claim_shares_owing', ['claim_id', 'level'], unique=False,
                              postgresql_where=sa.text(OWING), sqlite_where=sa.text(OWING))
    with op.batch_alter_table('subsidy_claims', schema=None) as batch_op:
        batch_op.create_index('ix_subsidy_claims_ledger_order', ['year', 'region_id', 'product_id', 'period', 'id'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('subsidy_claims', schema=None) as batch_op:
        batch_op.drop_index('ix_subsidy_claims_ledger_order')
    with op.batch_alter_table('claim_shares', schema=None) as batch_op:
        batch_op.drop_index('ix_claim_shares_owing')
