"""payouts: photos of a payout list's notice to farmers (理赔公示) posted in each village

Revision ID: 0036_payout_notice_photos
Revises: 0035_payout_flags_row
Create Date: 2026-12-05 04:15:00

《农业保险条例》第十条: the insurer publicises the claim payouts to the farmers. As for the underwriting list's notice
(0019), the insurer uploads photos of the notice posted in each village of its payout list; the county bureau and
the city see them on the list page. Deleted with the list (the code deletes them first: SQLite does not enforce the
cascade).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0036_payout_notice_photos'
down_revision = '0035_payout_flags_row'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'payout_notice_photos',
        sa.Column('list_id', sa.Integer(), nullable=False),
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('township', sa.String(length=50), nullable=False),
        sa.Column('village', sa.String(length=50), nullable=False),
        sa.Column('posted_on', sa.Date(), nullable=False),
        sa.Column('width', sa.Integer(), nullable=False),
        sa.Column('height', sa.Integer(), nullable=False),
        sa.Column('uploaded_at', sa.DateTime(), nullable=False),
        sa.Column('file_id', sa.Integer(), nullable=False),
        sa.Column('uploaded_by_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['list_id'], ['payout_lists.id'], ondelete='CASCADE',
                                name=op.f('fk_payout_notice_photos_list_id_payout_lists')),
        sa.ForeignKeyConstraint(['file_id'], ['stored_files.id'],
                                name=op.f('fk_payout_notice_photos_file_id_stored_files')),
        sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'],
                                name=op.f('fk_payout_notice_photos_uploaded_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_payout_notice_photos')),
        sa.UniqueConstraint('file_id', name=op.f('uq_payout_notice_photos_file_id')),
    )
    with op.batch_alter_table('payout_notice_photos', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payout_notice_photos_list_id'), ['list_id'], unique=False)


def downgrade():
    with op.batch_alter_table('payout_notice_photos', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payout_notice_photos_list_id'))
    op.drop_table('payout_notice_photos')
