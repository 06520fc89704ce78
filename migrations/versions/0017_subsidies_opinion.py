"""subsidies: the county bureau's verification opinion (核验意见) on a claim

Revision ID: 0017_subsidies_opinion
Revises: 0016_rules_notice_changes_audit
Create Date: 2026-12-10 10:00:00

The verifying county bureau writes its opinion when it verifies a claim; it is printed on the verification sheet
(核验单) it signs and seals. A verified claim has one (a check constraint, as it has a verifier); claims verified
before this version are given a note saying that no opinion was recorded then, rather than an opinion nobody gave.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017_subsidies_opinion'
down_revision = '0016_rules_notice_changes_audit'
branch_labels = None
depends_on = None

NO_OPINION_RECORDED = '（本系统记录核验意见之前核验，未录入意见）'


def upgrade():
    with op.batch_alter_table('subsidy_claims', schema=None) as batch_op:
        batch_op.add_column(sa.Column('verification_opinion', sa.Text(), nullable=True))
    op.execute(sa.text(
        "UPDATE subsidy_claims SET verification_opinion = :note "
        "WHERE status IN ('verified', 'paying', 'settled') AND verification_opinion IS NULL"
    ).bindparams(note=NO_OPINION_RECORDED))
    with op.batch_alter_table('subsidy_claims', schema=None) as batch_op:
        batch_op.create_check_constraint(
            batch_op.f('ck_subsidy_claims_verified_has_opinion'),
            "status NOT IN ('verified', 'paying', 'settled') OR verification_opinion IS NOT NULL")


def downgrade():
    with op.batch_alter_table('subsidy_claims', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_subsidy_claims_verified_has_opinion'), type_='check')
        batch_op.drop_column('verification_opinion')
