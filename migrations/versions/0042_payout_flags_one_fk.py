"""payouts: a flag's one foreign key is to its row; the key to its list alone dropped

Revision ID: 0042_payout_flags_one_fk
Revises: 0041_payout_villages
Create Date: 2026-12-05 10:50:00

A payout flag names its row (list_id, row_no → payout_rows, fk_payout_flags_row), whose own key holds its list;
deleting a list deletes its rows and, through them, their flags. The second key, list_id → payout_lists, checked
nothing more and cost a look-up for each flag stored: a million-row payout list has about 260,000 flags, stored by
COPY while the file is read.
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0042_payout_flags_one_fk'
down_revision = '0041_payout_villages'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('payout_flags', schema=None) as batch_op:
        batch_op.drop_constraint('fk_payout_flags_list_id_payout_lists', type_='foreignkey')


def downgrade():
    with op.batch_alter_table('payout_flags', schema=None) as batch_op:
        batch_op.create_foreign_key('fk_payout_flags_list_id_payout_lists', 'payout_lists', ['list_id'], ['id'],
                                    ondelete='CASCADE')
