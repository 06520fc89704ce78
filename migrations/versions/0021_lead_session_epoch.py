"""auth: a user's session epoch, counted up when the password changes or the account is locked

Revision ID: 0021_lead_session_epoch
Revises: 0020_jclaim_claim_corrects
Create Date: 2026-12-04 23:30:00

Every session remembers the epoch it was signed in under; a session of an older epoch is refused, so a password
change (own or reset) or a lock ends the user's other sessions (GB/T 22239-2019 level 3).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0021_lead_session_epoch'
down_revision = '0020_jclaim_claim_corrects'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_epoch', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_epoch')
