"""allocation: approved departures from a round's allocation rules (规则偏离); awards: notice numbers (文号)

Revision ID: 0018_departure_rule_departures
Revises: 0017_subsidies_opinion
Create Date: 2026-12-08 10:00:00

A round whose market-share cap or insurer capacities admit no allocation could only be cancelled: a departure
approved by the bureau's collective decision or a higher authority is now recorded (document number, date,
PDF) and adoption accepts what it approves. Final award and non-award notices get a document number in the
bureau's convention, assigned once when the result is finalised; rounds finalised before keep their old
references.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018_departure_rule_departures'
down_revision = '0017_subsidies_opinion'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'rule_departures',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('round_id', sa.Integer(), nullable=False),
        sa.Column('published_cap_pct', sa.Numeric(precision=7, scale=4), nullable=True),
        sa.Column('approved_cap_pct', sa.Numeric(precision=7, scale=4), nullable=True),
        sa.Column('insurer_id', sa.Integer(), nullable=True),
        sa.Column('published_capacity', sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column('approved_capacity', sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column('basis', sa.Enum('collective', 'higher_approval', name='departurebasis', native_enum=False,
                                   create_constraint=True, length=32), nullable=False),
        sa.Column('doc_no', sa.String(length=100), nullable=False),
        sa.Column('decided_on', sa.Date(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('document_id', sa.Integer(), nullable=False),
        sa.Column('recorded_at', sa.DateTime(), nullable=False),
        sa.Column('recorded_by_id', sa.Integer(), nullable=True),
        sa.Column('adopted_run_id', sa.Integer(), nullable=True),
        sa.CheckConstraint('approved_cap_pct IS NOT NULL OR insurer_id IS NOT NULL',
                           name=op.f('ck_rule_departures_departs_from_a_rule')),
        sa.CheckConstraint('(approved_cap_pct IS NULL) = (published_cap_pct IS NULL)',
                           name=op.f('ck_rule_departures_cap_pair')),
        sa.CheckConstraint('approved_cap_pct IS NULL OR (approved_cap_pct > published_cap_pct '
                           'AND approved_cap_pct <= 100)', name=op.f('ck_rule_departures_cap_raised')),
        sa.CheckConstraint('(insurer_id IS NULL) = (approved_capacity IS NULL) '
                           'AND (insurer_id IS NULL) = (published_capacity IS NULL)',
                           name=op.f('ck_rule_departures_capacity_triple')),
        sa.CheckConstraint('approved_capacity IS NULL OR approved_capacity > published_capacity',
                           name=op.f('ck_rule_departures_capacity_raised')),
        sa.ForeignKeyConstraint(['adopted_run_id'], ['allocation_runs.id'],
                                name=op.f('fk_rule_departures_adopted_run_id_allocation_runs')),
        sa.ForeignKeyConstraint(['document_id'], ['stored_files.id'],
                                name=op.f('fk_rule_departures_document_id_stored_files')),
        sa.ForeignKeyConstraint(['insurer_id'], ['insurers.id'], name=op.f('fk_rule_departures_insurer_id_insurers')),
        sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_rule_departures_recorded_by_id_users')),
        sa.ForeignKeyConstraint(['round_id'], ['selection_rounds.id'],
                                name=op.f('fk_rule_departures_round_id_selection_rounds')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_rule_departures')),
        sa.UniqueConstraint('round_id', 'insurer_id', name='uq_rule_departures_round_insurer'),
    )
    with op.batch_alter_table('rule_departures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rule_departures_round_id'), ['round_id'], unique=False)
        batch_op.create_index('uq_rule_departures_cap', ['round_id'], unique=True,
                              sqlite_where=sa.text('approved_cap_pct IS NOT NULL'),
                              postgresql_where=sa.text('approved_cap_pct IS NOT NULL'))

    op.create_table(
        'notice_numbers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('round_id', sa.Integer(), nullable=False),
        sa.Column('insurer_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('sequence', sa.Integer(), nullable=False),
        sa.Column('number', sa.String(length=100), nullable=False),
        sa.Column('assigned_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint('sequence >= 1', name=op.f('ck_notice_numbers_sequence_positive')),
        sa.CheckConstraint("kind IN ('award', 'non_award')", name=op.f('ck_notice_numbers_kind_known')),
        sa.ForeignKeyConstraint(['insurer_id'], ['insurers.id'], name=op.f('fk_notice_numbers_insurer_id_insurers')),
        sa.ForeignKeyConstraint(['round_id'], ['selection_rounds.id'],
                                name=op.f('fk_notice_numbers_round_id_selection_rounds')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notice_numbers')),
        sa.UniqueConstraint('round_id', 'insurer_id', name='uq_notice_numbers_round_insurer'),
        sa.UniqueConstraint('year', 'sequence', name='uq_notice_numbers_year_sequence'),
    )
    with op.batch_alter_table('notice_numbers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_numbers_round_id'), ['round_id'], unique=False)


def downgrade():
    with op.batch_alter_table('notice_numbers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_numbers_round_id'))
    op.drop_table('notice_numbers')
    with op.batch_alter_table('rule_departures', schema=None) as batch_op:
        batch_op.drop_index('uq_rule_departures_cap', sqlite_where=sa.text('approved_cap_pct IS NOT NULL'),
                            postgresql_where=sa.text('approved_cap_pct IS NOT NULL'))
        batch_op.drop_index(batch_op.f('ix_rule_departures_round_id'))
    op.drop_table('rule_departures')
