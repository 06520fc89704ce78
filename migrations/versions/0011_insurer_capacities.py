"""allocation: insurer premium capacities per round (承保能力上限)

Revision ID: 0011_insurer_capacities
Revises: 0010_job_subject
Create Date: 2026-11-28 14:30:00

The optimiser has always taken a premium capacity per insurer; the scenario built from the database had
none, because no table held them.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011_insurer_capacities'
down_revision = '0010_job_subject'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'insurer_capacities',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('round_id', sa.Integer(), nullable=False),
        sa.Column('insurer_id', sa.Integer(), nullable=False),
        sa.Column('premium_capacity', sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column('basis', sa.String(length=200), nullable=False),
        sa.Column('set_at', sa.DateTime(), nullable=False),
        sa.Column('set_by_id', sa.Integer(), nullable=True),
        sa.CheckConstraint('premium_capacity > 0', name=op.f('ck_insurer_capacities_capacity_positive')),
        sa.ForeignKeyConstraint(['insurer_id'], ['insurers.id'], name=op.f('fk_insurer_capacities_insurer_id_insurers')),
        sa.ForeignKeyConstraint(['round_id'], ['selection_rounds.id'],
                                name=op.f('fk_insurer_capacities_round_id_selection_rounds')),
        sa.ForeignKeyConstraint(['set_by_id'], ['users.id'], name=op.f('fk_insurer_capacities_set_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_insurer_capacities')),
        sa.UniqueConstraint('round_id', 'insurer_id', name='uq_insurer_capacities_round_insurer'),
    )
    with op.batch_alter_table('insurer_capacities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_insurer_capacities_round_id'), ['round_id'], unique=False)


def downgrade():
    with op.batch_alter_table('insurer_capacities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_insurer_capacities_round_id'))
    op.drop_table('insurer_capacities')
