"""payouts: payout flags indexed by their row (list_id, row_no) instead of by list alone

Revision ID: 0035_payout_flags_row
Revises: 0034_eval2_consequences
Create Date: 2026-12-05 02:35:00

Deleting a payout list's rows (replacing a list on re-upload) checks, per deleted row, the flags pointing at it
(foreign key fk_payout_flags_row, ON DELETE CASCADE). With only an index on list_id each check walked every flag
entry of the list (the deleted ones included, still in the index until vacuum): replacing a 100,000-row list with
26,000 flags took 180 s. The (list_id, row_no) index answers that check and everything the list_id index did.
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0035_payout_flags_row'
down_revision = '0034_eval2_consequences'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('payout_flags', schema=None) as batch_op:
        batch_op.create_index('ix_payout_flags_row', ['list_id', 'row_no'], unique=False)
        batch_op.drop_index(batch_op.f('ix_payout_flags_list_id'))


def downgrade():
    with op.batch_alter_table('payout_flags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payout_flags_list_id'), ['list_id'], unique=False)
        batch_op.drop_index('ix_payout_flags_row')
