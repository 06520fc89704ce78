"""subsidies: a claim filed again after its return names the returned claim it corrects

Revision ID: 0020_jclaim_claim_corrects
Revises: 0019_fnotice_farmer_notices
Create Date: 2026-12-04 21:00:00

A returned claim was followed only by a later claim of the same county, product, year and period, so a correction
that changed one of them (the period the county bureau returned it for) left the returned claim waiting on the
insurer's to-do list forever. Filed from the returned claim's page, the new claim now names it (once: unique).
Existing claims keep following their returned claims by scope, as before.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0020_jclaim_claim_corrects'
down_revision = '0019_fnotice_farmer_notices'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('subsidy_claims', schema=None) as batch_op:
        batch_op.add_column(sa.Column('corrects_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_subsidy_claims_corrects_id_subsidy_claims'), 'subsidy_claims',
                                    ['corrects_id'], ['id'])
        batch_op.create_unique_constraint('uq_subsidy_claims_corrects', ['corrects_id'])


def downgrade():
    with op.batch_alter_table('subsidy_claims', schema=None) as batch_op:
        batch_op.drop_constraint('uq_subsidy_claims_corrects', type_='unique')
        batch_op.drop_constraint(batch_op.f('fk_subsidy_claims_corrects_id_subsidy_claims'), type_='foreignkey')
        batch_op.drop_column('corrects_id')
