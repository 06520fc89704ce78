"""payouts: the period of a payout list's notice to farmers (理赔公示)

Revision ID: 0031_payouts_notice
Revises: 0030_secure_admins_retention
Create Date: 2026-12-05 01:20:00

One row per payout list: the period its village notices state, entered by the insurer; deleted with the list.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0031_payouts_notice'
down_revision = '0030_secure_admins_retention'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'payout_notices',
        sa.Column('list_id', sa.Integer(), nullable=False),
        sa.Column('starts_on', sa.Date(), nullable=False),
        sa.Column('days', sa.Integer(), nullable=False),
        sa.Column('set_at', sa.DateTime(), nullable=False),
        sa.Column('set_by_id', sa.Integer(), nullable=False),
        sa.CheckConstraint('days > 0', name=op.f('ck_payout_notices_days_positive')),
        sa.ForeignKeyConstraint(['list_id'], ['payout_lists.id'], ondelete='CASCADE',
                                name=op.f('fk_payout_notices_list_id_payout_lists')),
        sa.ForeignKeyConstraint(['set_by_id'], ['users.id'], name=op.f('fk_payout_notices_set_by_id_users')),
        sa.PrimaryKeyConstraint('list_id', name=op.f('pk_payout_notices')),
    )


def downgrade():
    op.drop_table('payout_notices')
