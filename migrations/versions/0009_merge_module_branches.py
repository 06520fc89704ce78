"""merge the module branches: one head again, so `flask db upgrade` and `flask db migrate` need no --head

Revision ID: 0009_merge_module_branches
Revises: 0006_underwriting_lists, 0007_evaluation, 0008_awards_allocation
Create Date: 2026-11-28 10:25:46.080722

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009_merge_module_branches'
down_revision = ('0006_underwriting_lists', '0007_evaluation', '0008_awards_allocation')
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
