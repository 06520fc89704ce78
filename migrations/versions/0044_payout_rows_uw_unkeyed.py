"""payouts: a payout row's match to an underwriting row without a foreign key

Revision ID: 0044_payout_rows_uw_unkeyed
Revises: 0043_underwriting_rows_list_fk
Create Date: 2026-12-05 11:30:00

A payout row names the underwriting row it was matched to (uw_list_id, uw_row_no). Its key to the underwriting list
(ON DELETE SET NULL) was a look-up for each payout row stored: an INSERT of the benchmark's million payout rows took
15.7 s with it and 10.9 s without. An underwriting list being deleted now announces it
(underwriting.signals.list_removing) and payouts unmatches the rows, as the key did, in the same transaction.
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0044_payout_rows_uw_unkeyed'
down_revision = '0043_underwriting_rows_list_fk'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('payout_rows', schema=None) as batch_op:
        batch_op.drop_constraint('fk_payout_rows_uw_list_id_underwriting_lists', type_='foreignkey')


def downgrade():
    op.execute("UPDATE payout_rows SET uw_list_id = NULL, uw_row_no = NULL "
               "WHERE uw_list_id NOT IN (SELECT id FROM underwriting_lists)")
    with op.batch_alter_table('payout_rows', schema=None) as batch_op:
        batch_op.create_foreign_key('fk_payout_rows_uw_list_id_underwriting_lists', 'underwriting_lists',
                                    ['uw_list_id'], ['id'], ondelete='SET NULL')
