"""awards: an objection can be closed unexamined (已终止) when its round is cancelled

Revision ID: 0013_objection_closed
Revises: 0012_audit_summary_message
Create Date: 2026-11-28 18:00:00

Cancelling a round used to mark its pending objections "answered, not upheld", which tells the objector
that the objection was examined and rejected. They now get a status of their own.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0013_objection_closed'
down_revision = '0012_audit_summary_message'
branch_labels = None
depends_on = None

OLD = ('pending', 'rejected', 'upheld')
NEW = OLD + ('closed',)


def _check(values):
    return "status IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def upgrade():
    with op.batch_alter_table('objections', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_objections_objectionstatus'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_objections_objectionstatus'), _check(NEW))


def downgrade():
    # a closed objection was not examined; going back, it reads as answered and not upheld (as before)
    op.execute("UPDATE objections SET status = 'rejected' WHERE status = 'closed'")
    with op.batch_alter_table('objections', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_objections_objectionstatus'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_objections_objectionstatus'), _check(OLD))
