"""allocation: a run whose job failed is recorded as failed when the job fails, not when its page is read

Revision ID: 0015_failed_runs_recorded
Revises: 0014_list_reconciliation_derived
Create Date: 2026-12-04 20:00:00

Until now the run page marked such a run failed on a GET (pages no longer write); runs left queued behind a
failed job are marked failed here, with the job's error, as the page would have done.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015_failed_runs_recorded'
down_revision = '0014_list_reconciliation_derived'
branch_labels = None
depends_on = None


def upgrade():
    op.execute(sa.text(
        "UPDATE allocation_runs SET status = 'failed', "
        "error = (SELECT jobs.error FROM jobs WHERE jobs.id = allocation_runs.job_id) "
        "WHERE status = 'queued' AND job_id IN (SELECT id FROM jobs WHERE status = 'failed')"))


def downgrade():
    pass  # the runs stay failed: the older version's page would have marked them so anyway
