"""subsidies: each claim share keeps its claim's due date (due_on), indexed among the government shares still owed

Revision ID: 0033_volume2_due_on
Revises: 0032_crypt_personal_data
Create Date: 2026-12-05 02:40:00

The overdue list worst first and its count and sum compared the verification time plus the due days of every
overdue share's claim (a sort of tens of thousands of rows at ten years' data); now they read `due_on` through a
partial index of the owed government shares by due date. Filled here for the claims already verified: the local
(Asia/Shanghai) day of the verification plus the claim's due days, as `SubsidyClaim.due_date` computes it.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0033_volume2_due_on'
down_revision = '0032_crypt_personal_data'
branch_labels = None
depends_on = None

OWING = "amount > paid AND level IN ('central', 'provincial', 'city', 'county')"

FILL = {
    "postgresql": "UPDATE claim_shares SET due_on = (timezone('Asia/Shanghai', c.verified_at AT TIME ZONE 'UTC'))::date"
                  " + c.due_days FROM subsidy_claims c WHERE c.id = claim_shares.claim_id"
                  " AND c.verified_at IS NOT NULL AND c.due_days IS NOT NULL",
    "sqlite": "UPDATE claim_shares SET due_on = (SELECT date(c.verified_at, '+8 hours', '+' || c.due_days || ' days')"
              " FROM subsidy_claims c WHERE c.id = claim_shares.claim_id) WHERE claim_id IN (SELECT id FROM"
              " subsidy_claims WHERE verified_at IS NOT NULL AND due_days IS NOT NULL)",
}


def upgrade():
    with op.batch_alter_table('claim_shares', schema=None) as batch_op:
        batch_op.add_column(sa.Column('due_on', sa.Date(), nullable=True))
    op.execute(FILL[op.get_bind().dialect.name])
    with op.batch_alter_table('claim_shares', schema=None) as batch_op:
        batch_op.create_index('ix_claim_shares_owing_due', ['due_on', 'claim_id'], unique=False,
                              postgresql_where=sa.text(OWING), sqlite_where=sa.text(OWING))


def downgrade():
    with op.batch_alter_table('claim_shares', schema=None) as batch_op:
        batch_op.drop_index('ix_claim_shares_owing_due')
        batch_op.drop_column('due_on')
