"""payouts: one foreign key from a payout row to its list and scope instead of four

Revision ID: 0040_payout_rows_scope_fk
Revises: 0039_underwriting_villages
Create Date: 2026-12-05 07:20:00

A payout row repeats its list's insurer, county, product and year (the measured figures are one grouped query). Each
had its own foreign key, and with the list's that made four look-ups per stored row: a 100,000-row COPY took 3.8 s
of the server's time with them and 2.0 s with one (measured on the benchmark's rows). One composite key to the list,
(list_id, insurer_id, region_id, product_id, year) → payout_lists (id, insurer_id, region_id, product_id, year),
checks the list exists and also that the row's scope is its list's, which the four did not; the list's own keys
check that the insurer, county and product exist.
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0040_payout_rows_scope_fk'
down_revision = '0039_underwriting_villages'
branch_labels = None
depends_on = None

SCOPE = ['insurer_id', 'region_id', 'product_id', 'year']


def upgrade():
    with op.batch_alter_table('payout_lists', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_payout_lists_id_scope', ['id', *SCOPE])
    with op.batch_alter_table('payout_rows', schema=None) as batch_op:
        batch_op.drop_constraint('fk_payout_rows_list_id_payout_lists', type_='foreignkey')
        batch_op.drop_constraint('fk_payout_rows_insurer_id_insurers', type_='foreignkey')
        batch_op.drop_constraint('fk_payout_rows_region_id_regions', type_='foreignkey')
        batch_op.drop_constraint('fk_payout_rows_product_id_products', type_='foreignkey')
        batch_op.create_foreign_key('fk_payout_rows_list_scope', 'payout_lists', ['list_id', *SCOPE], ['id', *SCOPE],
                                    ondelete='CASCADE')


def downgrade():
    with op.batch_alter_table('payout_rows', schema=None) as batch_op:
        batch_op.drop_constraint('fk_payout_rows_list_scope', type_='foreignkey')
        batch_op.create_foreign_key('fk_payout_rows_list_id_payout_lists', 'payout_lists', ['list_id'], ['id'],
                                    ondelete='CASCADE')
        batch_op.create_foreign_key('fk_payout_rows_insurer_id_insurers', 'insurers', ['insurer_id'], ['id'])
        batch_op.create_foreign_key('fk_payout_rows_region_id_regions', 'regions', ['region_id'], ['id'])
        batch_op.create_foreign_key('fk_payout_rows_product_id_products', 'products', ['product_id'], ['id'])
    with op.batch_alter_table('payout_lists', schema=None) as batch_op:
        batch_op.drop_constraint('uq_payout_lists_id_scope', type_='unique')
