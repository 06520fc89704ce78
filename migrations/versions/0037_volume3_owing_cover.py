"""subsidies: the index of owed government shares by due date also holds their amount and paid (PostgreSQL), so the
overdue count and sum of the whole city is read from the index alone

Revision ID: 0037_volume3_owing_cover
Revises: 0036_payout_notice_photos
Create Date: 2026-12-05 04:30:00

At ten years' data the city's overdue figures (the menu's badge, the home page, the overdue list) counted and summed
some 65,000 overdue shares, each read from the table for its amount and paid; with them in the index (INCLUDE, a
PostgreSQL feature: SQLite keeps the index as it was) the count is an index-only scan.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0037_volume3_owing_cover'
down_revision = '0036_payout_notice_photos'
branch_labels = None
depends_on = None

OWING = "amount > paid AND level IN ('central', 'provincial', 'city', 'county')"


def _index(include: list[str]) -> None:
    with op.batch_alter_table('claim_shares', schema=None) as batch_op:
        batch_op.drop_index('ix_claim_shares_owing_due')
        batch_op.create_index('ix_claim_shares_owing_due', ['due_on', 'claim_id'], unique=False,
                              postgresql_where=sa.text(OWING), sqlite_where=sa.text(OWING),
                              postgresql_include=include)


def upgrade():
    _index(['amount', 'paid'])


def downgrade():
    _index([])
