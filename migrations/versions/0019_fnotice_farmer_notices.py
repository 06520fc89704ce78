"""underwriting: notices to farmers (承保公示) — the notice period of a list, photos of the notice posted in each
village, and per product and year whether a claim is verified only with them; regions: the county bureau's contact
printed on the notices

Revision ID: 0019_fnotice_farmer_notices
Revises: 0018_departure_rule_departures
Create Date: 2026-12-20 10:00:00

《农业保险条例》第十条: the insurer publicises the underwriting list to the farmers. The insurer enters the period of
its village notices, prints one A4 notice per village and uploads photos of them posted; the county bureau sees
the photos when it verifies the claim, and where the city requires them (per product and year; no row: not
required), verification is refused until every village of the list has one.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0019_fnotice_farmer_notices'
down_revision = '0018_departure_rule_departures'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('regions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('bureau_contact', sa.String(length=200), nullable=True))

    op.create_table(
        'underwriting_notices',
        sa.Column('list_id', sa.Integer(), nullable=False),
        sa.Column('starts_on', sa.Date(), nullable=False),
        sa.Column('days', sa.Integer(), nullable=False),
        sa.Column('set_at', sa.DateTime(), nullable=False),
        sa.Column('set_by_id', sa.Integer(), nullable=False),
        sa.CheckConstraint('days > 0', name=op.f('ck_underwriting_notices_days_positive')),
        sa.ForeignKeyConstraint(['list_id'], ['underwriting_lists.id'], ondelete='CASCADE',
                                name=op.f('fk_underwriting_notices_list_id_underwriting_lists')),
        sa.ForeignKeyConstraint(['set_by_id'], ['users.id'], name=op.f('fk_underwriting_notices_set_by_id_users')),
        sa.PrimaryKeyConstraint('list_id', name=op.f('pk_underwriting_notices')),
    )
    op.create_table(
        'underwriting_notice_photos',
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
        sa.ForeignKeyConstraint(['list_id'], ['underwriting_lists.id'], ondelete='CASCADE',
                                name=op.f('fk_underwriting_notice_photos_list_id_underwriting_lists')),
        sa.ForeignKeyConstraint(['file_id'], ['stored_files.id'],
                                name=op.f('fk_underwriting_notice_photos_file_id_stored_files')),
        sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'],
                                name=op.f('fk_underwriting_notice_photos_uploaded_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_underwriting_notice_photos')),
        sa.UniqueConstraint('file_id', name=op.f('uq_underwriting_notice_photos_file_id')),
    )
    with op.batch_alter_table('underwriting_notice_photos', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_underwriting_notice_photos_list_id'), ['list_id'], unique=False)

    op.create_table(
        'underwriting_notice_rules',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('product_id', sa.Integer(), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('evidence_required', sa.Boolean(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['product_id'], ['products.id'],
                                name=op.f('fk_underwriting_notice_rules_product_id_products')),
        sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'],
                                name=op.f('fk_underwriting_notice_rules_updated_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_underwriting_notice_rules')),
        sa.UniqueConstraint('product_id', 'year', name='uq_underwriting_notice_rules_product_year'),
    )


def downgrade():
    op.drop_table('underwriting_notice_rules')
    with op.batch_alter_table('underwriting_notice_photos', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_underwriting_notice_photos_list_id'))
    op.drop_table('underwriting_notice_photos')
    op.drop_table('underwriting_notices')
    with op.batch_alter_table('regions', schema=None) as batch_op:
        batch_op.drop_column('bureau_contact')
