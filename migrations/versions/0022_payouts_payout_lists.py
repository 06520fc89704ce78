"""payouts: claim payout lists, rows, flags

Revision ID: 0022_payouts_payout_lists
Revises: 0021_lead_session_epoch
Create Date: 2026-12-04 22:05:43

Claim payout lists (理赔清单): an underwriter's per-farmer payouts for one loss event in a county, product and year;
each row keeps the underwriting row it was matched to (set to NULL if that list is later replaced) and its report →
payment and agreement → payment days; the flags the county bureau reviews with a comment.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0022_payouts_payout_lists'
down_revision = '0021_lead_session_epoch'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('payout_lists',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('insurer_id', sa.Integer(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('event', sa.String(length=100), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('total_agreed', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('total_paid', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('flag_count', sa.Integer(), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['insurer_id'], ['insurers.id'], name=op.f('fk_payout_lists_insurer_id_insurers')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_payout_lists_product_id_products')),
    sa.ForeignKeyConstraint(['region_id'], ['regions.id'], name=op.f('fk_payout_lists_region_id_regions')),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_payout_lists_uploaded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payout_lists')),
    sa.UniqueConstraint('insurer_id', 'region_id', 'product_id', 'year', 'event', name='uq_payout_lists_scope_event')
    )
    op.create_table('payout_rows',
    sa.Column('list_id', sa.Integer(), nullable=False),
    sa.Column('row_no', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('id_kind', sa.String(length=1), nullable=False),
    sa.Column('id_number', sa.String(length=18), nullable=False),
    sa.Column('insurer_id', sa.Integer(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('uw_list_id', sa.Integer(), nullable=True),
    sa.Column('uw_row_no', sa.Integer(), nullable=True),
    sa.Column('loss_date', sa.Date(), nullable=False),
    sa.Column('reported_date', sa.Date(), nullable=False),
    sa.Column('survey_date', sa.Date(), nullable=False),
    sa.Column('agreed_amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('agreed_date', sa.Date(), nullable=False),
    sa.Column('paid_amount', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('paid_date', sa.Date(), nullable=True),
    sa.Column('settle_days', sa.Integer(), nullable=True),
    sa.Column('pay_days', sa.Integer(), nullable=True),
    sa.Column('bank_account', sa.String(length=32), nullable=True),
    sa.CheckConstraint('(paid_amount IS NULL) = (paid_date IS NULL)', name=op.f('ck_payout_rows_paid_amount_and_date')),
    sa.ForeignKeyConstraint(['insurer_id'], ['insurers.id'], name=op.f('fk_payout_rows_insurer_id_insurers')),
    sa.ForeignKeyConstraint(['list_id'], ['payout_lists.id'], name=op.f('fk_payout_rows_list_id_payout_lists'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_payout_rows_product_id_products')),
    sa.ForeignKeyConstraint(['region_id'], ['regions.id'], name=op.f('fk_payout_rows_region_id_regions')),
    sa.ForeignKeyConstraint(['uw_list_id'], ['underwriting_lists.id'], name=op.f('fk_payout_rows_uw_list_id_underwriting_lists'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('list_id', 'row_no', name=op.f('pk_payout_rows'))
    )
    with op.batch_alter_table('payout_rows', schema=None) as batch_op:
        batch_op.create_index('ix_payout_rows_scope', ['insurer_id', 'region_id', 'product_id', 'year'], unique=False)

    op.create_table('payout_flags',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('list_id', sa.Integer(), nullable=False),
    sa.Column('row_no', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('over_sum_insured', 'name_not_in_list', 'paid_late', 'slow_settlement', 'paid_twice', name='payoutflagkind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('detail', sa.String(length=200), nullable=True),
    sa.Column('comment', sa.String(length=500), nullable=True),
    sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint('(reviewed_at IS NULL) = (reviewed_by_id IS NULL)', name=op.f('ck_payout_flags_reviewed_by_and_at')),
    sa.ForeignKeyConstraint(['list_id', 'row_no'], ['payout_rows.list_id', 'payout_rows.row_no'], name='fk_payout_flags_row', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['list_id'], ['payout_lists.id'], name=op.f('fk_payout_flags_list_id_payout_lists'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['users.id'], name=op.f('fk_payout_flags_reviewed_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payout_flags'))
    )
    with op.batch_alter_table('payout_flags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payout_flags_list_id'), ['list_id'], unique=False)



def downgrade():
    with op.batch_alter_table('payout_flags', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payout_flags_list_id'))

    op.drop_table('payout_flags')
    with op.batch_alter_table('payout_rows', schema=None) as batch_op:
        batch_op.drop_index('ix_payout_rows_scope')

    op.drop_table('payout_rows')
    op.drop_table('payout_lists')
