"""underwriting: each list's villages with their households, rows and totals, kept when the list is stored

Revision ID: 0039_underwriting_villages
Revises: 0038_ledger_claim_totals
Create Date: 2026-12-05 07:15:00

The list page (its notice to farmers, 承保公示) and the village notices grouped every row of the list by township
and village on each request: 0.4 s for a list of 200,000 rows, seconds for 2,000,000 (bench/web). A stored list
never changes (a new file is a new list), so its villages are summed once, by the import, into this table; the
lists already stored are summed here. Deleted with the list (the code deletes them first: SQLite does not enforce
the cascade).
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0039_underwriting_villages'
down_revision = '0038_ledger_claim_totals'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'underwriting_villages',
        sa.Column('list_id', sa.Integer(), nullable=False),
        sa.Column('township', sa.String(length=50), nullable=False),
        sa.Column('village', sa.String(length=50), nullable=False),
        sa.Column('households', sa.Integer(), nullable=False),
        sa.Column('rows', sa.Integer(), nullable=False),
        sa.Column('quantity', sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column('premium', sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column('farmer_premium', sa.Numeric(precision=18, scale=2), nullable=False),
        sa.ForeignKeyConstraint(['list_id'], ['underwriting_lists.id'], ondelete='CASCADE',
                                name=op.f('fk_underwriting_villages_list_id_underwriting_lists')),
        sa.PrimaryKeyConstraint('list_id', 'township', 'village', name=op.f('pk_underwriting_villages')),
    )
    op.execute(
        "INSERT INTO underwriting_villages (list_id, township, village, households, rows, quantity, premium, "
        "farmer_premium) SELECT list_id, township, village, count(DISTINCT id_hash), count(*), sum(quantity), "
        "sum(premium), sum(farmer_premium) FROM underwriting_rows GROUP BY list_id, township, village")


def downgrade():
    op.drop_table('underwriting_villages')
