"""underwriting: a row's one foreign key is to its list; its product's and insurer's keys dropped

Revision ID: 0043_underwriting_rows_list_fk
Revises: 0042_payout_flags_one_fk
Create Date: 2026-12-05 11:10:00

An underwriting row repeats its list's claim's product, year and insurer: the person index (product, year, ID hash,
list) answers the city-wide double-insurance question alone. The importer writes them from the claim, whose own keys
hold the product and the insurer. Their keys on the row were two look-ups more for each row stored: about a third
of the server's time in a million-row COPY (an INSERT of the benchmark's million rows: 24.4 s with the three keys,
14.6 s with the list's alone).
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0043_underwriting_rows_list_fk'
down_revision = '0042_payout_flags_one_fk'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('underwriting_rows', schema=None) as batch_op:
        batch_op.drop_constraint('fk_underwriting_rows_product_id_products', type_='foreignkey')
        batch_op.drop_constraint('fk_underwriting_rows_insurer_id_insurers', type_='foreignkey')


def downgrade():
    with op.batch_alter_table('underwriting_rows', schema=None) as batch_op:
        batch_op.create_foreign_key('fk_underwriting_rows_insurer_id_insurers', 'insurers', ['insurer_id'], ['id'])
        batch_op.create_foreign_key('fk_underwriting_rows_product_id_products', 'products', ['product_id'], ['id'])
