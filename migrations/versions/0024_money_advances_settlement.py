"""subsidies: the year's money — advances (预拨) drawn down by verified claims, closed years, settlements (清算)

Revision ID: 0024_money_advances_settlement
Revises: 0023_harden_audit_sqlite
Create Date: 2026-12-04 22:04:22.532947

A share records what of its paid amount came from the underwriter's advance (0 for every existing share); a
payment may carry the settlement whose top-up it is.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0024_money_advances_settlement'
down_revision = '0023_harden_audit_sqlite'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('subsidy_advances',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('insurer_id', sa.Integer(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.Enum('central', 'provincial', 'city', 'county', 'farmer', name='sharelevel', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('drawn', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('basis', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('pct', sa.Numeric(precision=7, scale=4), nullable=True),
    sa.Column('paid_on', sa.Date(), nullable=False),
    sa.Column('voucher_no', sa.String(length=60), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("level <> 'farmer'", name=op.f('ck_subsidy_advances_government_level')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_subsidy_advances_amount_positive')),
    sa.CheckConstraint('drawn >= 0 AND drawn <= amount', name=op.f('ck_subsidy_advances_drawn_within_amount')),
    sa.ForeignKeyConstraint(['insurer_id'], ['insurers.id'], name=op.f('fk_subsidy_advances_insurer_id_insurers')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_subsidy_advances_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['region_id'], ['regions.id'], name=op.f('fk_subsidy_advances_region_id_regions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subsidy_advances')),
    sa.UniqueConstraint('year', 'insurer_id', 'region_id', 'level', name='uq_subsidy_advances_scope')
    )
    with op.batch_alter_table('subsidy_advances', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subsidy_advances_insurer_id'), ['insurer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_subsidy_advances_region_id'), ['region_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_subsidy_advances_year'), ['year'], unique=False)

    op.create_table('subsidy_years',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('closed_at', sa.DateTime(), nullable=False),
    sa.Column('closed_by_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['closed_by_id'], ['users.id'], name=op.f('fk_subsidy_years_closed_by_id_users')),
    sa.PrimaryKeyConstraint('year', name=op.f('pk_subsidy_years'))
    )
    op.create_table('subsidy_settlements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('insurer_id', sa.Integer(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.Enum('central', 'provincial', 'city', 'county', 'farmer', name='sharelevel', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('verified', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('advanced', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('paid', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('balance', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('transferred', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('bureau_confirmed_at', sa.DateTime(), nullable=True),
    sa.Column('bureau_confirmed_by_id', sa.Integer(), nullable=True),
    sa.Column('insurer_confirmed_at', sa.DateTime(), nullable=True),
    sa.Column('insurer_confirmed_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("level <> 'farmer'", name=op.f('ck_subsidy_settlements_government_level')),
    sa.CheckConstraint('abs(balance - (verified - advanced - paid)) < 0.005', name=op.f('ck_subsidy_settlements_balance_adds_up')),
    sa.CheckConstraint('transferred >= 0 AND transferred < abs(balance) + 0.005', name=op.f('ck_subsidy_settlements_transferred_within_balance')),
    sa.ForeignKeyConstraint(['bureau_confirmed_by_id'], ['users.id'], name=op.f('fk_subsidy_settlements_bureau_confirmed_by_id_users')),
    sa.ForeignKeyConstraint(['insurer_confirmed_by_id'], ['users.id'], name=op.f('fk_subsidy_settlements_insurer_confirmed_by_id_users')),
    sa.ForeignKeyConstraint(['insurer_id'], ['insurers.id'], name=op.f('fk_subsidy_settlements_insurer_id_insurers')),
    sa.ForeignKeyConstraint(['region_id'], ['regions.id'], name=op.f('fk_subsidy_settlements_region_id_regions')),
    sa.ForeignKeyConstraint(['year'], ['subsidy_years.year'], name=op.f('fk_subsidy_settlements_year_subsidy_years')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subsidy_settlements')),
    sa.UniqueConstraint('year', 'insurer_id', 'region_id', 'level', name='uq_subsidy_settlements_scope')
    )
    with op.batch_alter_table('subsidy_settlements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subsidy_settlements_insurer_id'), ['insurer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_subsidy_settlements_region_id'), ['region_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_subsidy_settlements_year'), ['year'], unique=False)

    op.create_table('subsidy_settlement_transfers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('settlement_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=False),
    sa.Column('voucher_no', sa.String(length=60), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_subsidy_settlement_transfers_amount_positive')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_subsidy_settlement_transfers_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['settlement_id'], ['subsidy_settlements.id'], name=op.f('fk_subsidy_settlement_transfers_settlement_id_subsidy_settlements')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subsidy_settlement_transfers')),
    sa.UniqueConstraint('settlement_id', 'voucher_no', name='uq_subsidy_settlement_transfers_voucher')
    )
    with op.batch_alter_table('subsidy_settlement_transfers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subsidy_settlement_transfers_settlement_id'), ['settlement_id'], unique=False)

    with op.batch_alter_table('claim_shares', schema=None) as batch_op:
        batch_op.add_column(sa.Column('from_advance', sa.Numeric(precision=18, scale=2), server_default='0', nullable=False))
        batch_op.create_check_constraint(batch_op.f('ck_claim_shares_advance_within_paid'),
                                         'from_advance >= 0 AND from_advance <= paid')

    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('settlement_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_payments_settlement_id'), ['settlement_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_payments_settlement_id_subsidy_settlements'), 'subsidy_settlements', ['settlement_id'], ['id'])



def downgrade():
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_payments_settlement_id_subsidy_settlements'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_payments_settlement_id'))
        batch_op.drop_column('settlement_id')

    with op.batch_alter_table('claim_shares', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_claim_shares_advance_within_paid'), type_='check')
        batch_op.drop_column('from_advance')

    with op.batch_alter_table('subsidy_settlement_transfers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subsidy_settlement_transfers_settlement_id'))

    op.drop_table('subsidy_settlement_transfers')
    with op.batch_alter_table('subsidy_settlements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subsidy_settlements_year'))
        batch_op.drop_index(batch_op.f('ix_subsidy_settlements_region_id'))
        batch_op.drop_index(batch_op.f('ix_subsidy_settlements_insurer_id'))

    op.drop_table('subsidy_settlements')
    op.drop_table('subsidy_years')
    with op.batch_alter_table('subsidy_advances', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subsidy_advances_year'))
        batch_op.drop_index(batch_op.f('ix_subsidy_advances_region_id'))
        batch_op.drop_index(batch_op.f('ix_subsidy_advances_insurer_id'))

    op.drop_table('subsidy_advances')
