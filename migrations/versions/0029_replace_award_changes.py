"""awards: mid-term termination and replacement (award_changes); assignments bounded by date

Revision ID: 0029_replace_award_changes
Revises: 0028_evalyear_reviews
Create Date: 2026-12-05 01:15:00
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0029_replace_award_changes'
down_revision = '0028_evalyear_reviews'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'award_changes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('round_id', sa.Integer(), nullable=False),
        sa.Column('award_id', sa.Integer(), nullable=False),
        sa.Column('lot_id', sa.Integer(), nullable=False),
        sa.Column('old_insurer_id', sa.Integer(), nullable=False),
        sa.Column('new_insurer_id', sa.Integer(), nullable=True),
        sa.Column('method', sa.String(length=10), nullable=False),
        sa.Column('run_id', sa.Integer(), nullable=True),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('doc_no', sa.String(length=100), nullable=False),
        sa.Column('document_id', sa.Integer(), nullable=False),
        sa.Column('effective_on', sa.Date(), nullable=False),
        sa.Column('new_score', sa.Numeric(precision=9, scale=4), nullable=True),
        sa.Column('terminated_at', sa.DateTime(), nullable=False),
        sa.Column('terminated_by_id', sa.Integer(), nullable=True),
        sa.Column('replaced_at', sa.DateTime(), nullable=True),
        sa.Column('replaced_by_id', sa.Integer(), nullable=True),
        sa.CheckConstraint("method IN ('backup', 'run')", name=op.f('ck_award_changes_method_known')),
        sa.CheckConstraint('(new_insurer_id IS NULL) = (replaced_at IS NULL)',
                           name=op.f('ck_award_changes_replaced_has_insurer')),
        sa.CheckConstraint("method = 'backup' OR run_id IS NOT NULL", name=op.f('ck_award_changes_run_has_run')),
        sa.ForeignKeyConstraint(['award_id'], ['awards.id'], name=op.f('fk_award_changes_award_id_awards')),
        sa.ForeignKeyConstraint(['document_id'], ['stored_files.id'],
                                name=op.f('fk_award_changes_document_id_stored_files')),
        sa.ForeignKeyConstraint(['lot_id'], ['lots.id'], name=op.f('fk_award_changes_lot_id_lots')),
        sa.ForeignKeyConstraint(['new_insurer_id'], ['insurers.id'],
                                name=op.f('fk_award_changes_new_insurer_id_insurers')),
        sa.ForeignKeyConstraint(['old_insurer_id'], ['insurers.id'],
                                name=op.f('fk_award_changes_old_insurer_id_insurers')),
        sa.ForeignKeyConstraint(['replaced_by_id'], ['users.id'], name=op.f('fk_award_changes_replaced_by_id_users')),
        sa.ForeignKeyConstraint(['round_id'], ['selection_rounds.id'],
                                name=op.f('fk_award_changes_round_id_selection_rounds')),
        sa.ForeignKeyConstraint(['run_id'], ['allocation_runs.id'], name=op.f('fk_award_changes_run_id_allocation_runs')),
        sa.ForeignKeyConstraint(['terminated_by_id'], ['users.id'],
                                name=op.f('fk_award_changes_terminated_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_award_changes')),
    )
    with op.batch_alter_table('award_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_award_changes_award_id'), ['award_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_award_changes_round_id'), ['round_id'], unique=False)
    with op.batch_alter_table('underwriting_assignments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('starts_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('ends_on', sa.Date(), nullable=True))


def downgrade():
    with op.batch_alter_table('underwriting_assignments', schema=None) as batch_op:
        batch_op.drop_column('ends_on')
        batch_op.drop_column('starts_on')
    with op.batch_alter_table('award_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_award_changes_round_id'))
        batch_op.drop_index(batch_op.f('ix_award_changes_award_id'))
    op.drop_table('award_changes')
