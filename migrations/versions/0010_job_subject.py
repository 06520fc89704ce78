"""jobs: the record a job works on (subject_id), indexed with the kind

Revision ID: 0010_job_subject
Revises: 0009_merge_module_branches
Create Date: 2026-11-28 13:00:00

The underwriting page looked for a claim's latest import by reading the params of the 200 newest import
jobs; existing import jobs get their claim from those params.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010_job_subject'
down_revision = '0009_merge_module_branches'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subject_id', sa.Integer(), nullable=True))
        batch_op.create_index('ix_jobs_kind_subject', ['kind', 'subject_id'], unique=False)
    jobs = sa.table('jobs', sa.column('id', sa.Integer), sa.column('kind', sa.String),
                    sa.column('params', sa.JSON), sa.column('subject_id', sa.Integer))
    conn = op.get_bind()
    for job_id, params in conn.execute(sa.select(jobs.c.id, jobs.c.params)
                                       .where(jobs.c.kind == 'underwriting.import')).all():
        claim_id = (params or {}).get('claim_id')
        if isinstance(claim_id, int):
            conn.execute(sa.update(jobs).where(jobs.c.id == job_id).values(subject_id=claim_id))


def downgrade():
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_jobs_kind_subject')
        batch_op.drop_column('subject_id')
