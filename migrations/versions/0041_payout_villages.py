"""payouts: each payout list's villages with their households, rows and totals, kept when the list is stored

Revision ID: 0041_payout_villages
Revises: 0040_payout_rows_scope_fk
Create Date: 2026-12-05 10:30:00

The payout list page (its notice to farmers, 理赔公示) and the village notices joined every payout row of the list to
the underwriting row it was matched to and grouped them by township and village on each request: 2.7 s for a list
of a million rows (bench/payouts). A stored list never changes (a new upload is a new list), so its villages are
summed once, by the import, into this table, as the underwriting lists' are (0039); the lists already stored are
summed here. Deleted with the list (the code deletes them first: SQLite does not enforce the cascade).
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0041_payout_villages'
down_revision = '0040_payout_rows_scope_fk'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'payout_villages',
        sa.Column('list_id', sa.Integer(), nullable=False),
        sa.Column('township', sa.String(length=50), nullable=False),
        sa.Column('village', sa.String(length=50), nullable=False),
        sa.Column('households', sa.Integer(), nullable=False),
        sa.Column('rows', sa.Integer(), nullable=False),
        sa.Column('agreed', sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column('paid', sa.Numeric(precision=18, scale=2), nullable=False),
        sa.ForeignKeyConstraint(['list_id'], ['payout_lists.id'], ondelete='CASCADE',
                                name=op.f('fk_payout_villages_list_id_payout_lists')),
        sa.PrimaryKeyConstraint('list_id', 'township', 'village', name=op.f('pk_payout_villages')),
    )
    op.execute(
        "INSERT INTO payout_villages (list_id, township, village, households, rows, agreed, paid) "
        "SELECT p.list_id, u.township, u.village, count(DISTINCT p.id_hash), count(*), sum(p.agreed_amount), "
        "coalesce(sum(p.paid_amount), 0) FROM payout_rows p JOIN underwriting_rows u "
        "ON u.list_id = p.uw_list_id AND u.row_no = p.uw_row_no GROUP BY p.list_id, u.township, u.village")


def downgrade():
    op.drop_table('payout_villages')
