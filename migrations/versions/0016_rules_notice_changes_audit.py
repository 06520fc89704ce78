"""rules: a public notice shorter than 5 working days records why; an invalidated bid keeps what changed; audit
entries name the person and unit who acted, and PostgreSQL refuses to change or delete them

Revision ID: 0016_rules_notice_changes_audit
Revises: 0015_failed_runs_recorded
Create Date: 2026-12-06 10:00:00

- selection_rounds.notice_short_reason: required when notice_working_days < 5 (check constraint). Rounds stored
  with a shorter notice before the rule get the reason "（旧数据，未记录原因）" (their period is left as it was:
  a round already publicised keeps the notice it ran); the round page and the public notice show it.
- bids.invalidation_changes: what changed since the bid was submitted (tenders.changes items; None for bids
  invalidated before, whose page shows the reason only).
- audit_entries.actor_display_name, actor_role, actor_organisation: copied when an entry is written. Entries
  written before are not touched (the log is append-only): pages name their actor by the user the login name
  belongs to.
- PostgreSQL: a trigger refuses UPDATE and DELETE on audit_entries (the application refused them already;
  now a direct statement is refused too). TRUNCATE, a maintenance operation, is not a row change and stays
  possible. SQLite, the zero set-up store, keeps the application's guard only.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016_rules_notice_changes_audit'
down_revision = '0015_failed_runs_recorded'
branch_labels = None
depends_on = None

LEGACY_REASON = "（旧数据，未记录原因）"
SHORT_NOTICE_RULE = ("notice_working_days >= 5 OR (notice_short_reason IS NOT NULL "
                     "AND length(trim(notice_short_reason)) > 0)")


def upgrade():
    with op.batch_alter_table('selection_rounds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('notice_short_reason', sa.Text(), nullable=True))
    op.execute(sa.text("UPDATE selection_rounds SET notice_short_reason = :reason WHERE notice_working_days < 5")
               .bindparams(reason=LEGACY_REASON))
    with op.batch_alter_table('selection_rounds', schema=None) as batch_op:
        batch_op.create_check_constraint(op.f('ck_selection_rounds_short_notice_has_reason'), SHORT_NOTICE_RULE)

    with op.batch_alter_table('bids', schema=None) as batch_op:
        batch_op.add_column(sa.Column('invalidation_changes', sa.JSON(), nullable=True))

    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('actor_display_name', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('actor_role', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('actor_organisation', sa.String(length=200), nullable=True))

    if op.get_bind().dialect.name == "postgresql":
        op.execute("""
            CREATE FUNCTION audit_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'audit entries are never updated or deleted' USING ERRCODE = 'restrict_violation';
            END
            $$""")
        op.execute("CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON audit_entries "
                   "FOR EACH ROW EXECUTE FUNCTION audit_entries_append_only()")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_entries_append_only ON audit_entries")
        op.execute("DROP FUNCTION IF EXISTS audit_entries_append_only()")

    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.drop_column('actor_organisation')
        batch_op.drop_column('actor_role')
        batch_op.drop_column('actor_display_name')

    with op.batch_alter_table('bids', schema=None) as batch_op:
        batch_op.drop_column('invalidation_changes')

    with op.batch_alter_table('selection_rounds', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_selection_rounds_short_notice_has_reason'), type_='check')
        batch_op.drop_column('notice_short_reason')
