"""annual_review: the consequences of a year's evaluation as rules of its scheme (R12)

Revision ID: 0034_eval2_consequences
Revises: 0033_volume2_due_on
Create Date: 2026-12-05 02:30:00

The exclusion after N consecutive 不合格, the look-back years, whether results replace the declared rating and the
capacity factors by grade move from the server settings ANNUAL_REVIEW_* onto each year's scheme (frozen with it).
Existing years take the settings' defaults (2, 3, yes, no scaling).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0034_eval2_consequences'
down_revision = '0033_volume2_due_on'
branch_labels = None
depends_on = None

FACTORS = ('factor_excellent', 'factor_good', 'factor_pass', 'factor_fail')


def upgrade():
    with op.batch_alter_table('annual_reviews') as batch:
        batch.add_column(sa.Column('exclude_after', sa.Integer(), nullable=False, server_default='2'))
        batch.add_column(sa.Column('lookback_years', sa.Integer(), nullable=False, server_default='3'))
        batch.add_column(sa.Column('service_input', sa.Boolean(), nullable=False, server_default=sa.true()))
        for name in FACTORS:
            batch.add_column(sa.Column(name, sa.Numeric(4, 2), nullable=True))
        batch.create_check_constraint(op.f('ck_annual_reviews_consequences_valid'), 'exclude_after >= 0 AND lookback_years >= 1')
        batch.create_check_constraint(
            op.f('ck_annual_reviews_factors_positive'), ' AND '.join(f'({n} IS NULL OR {n} > 0)' for n in FACTORS))


def downgrade():
    with op.batch_alter_table('annual_reviews') as batch:
        batch.drop_constraint(op.f('ck_annual_reviews_factors_positive'), type_='check')
        batch.drop_constraint(op.f('ck_annual_reviews_consequences_valid'), type_='check')
        for name in reversed(FACTORS):
            batch.drop_column(name)
        batch.drop_column('service_input')
        batch.drop_column('lookback_years')
        batch.drop_column('exclude_after')
