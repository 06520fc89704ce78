"""secure: three administrators (三员分立), the log of views of unmasked personal data, audit retention

Revision ID: 0030_secure_admins_retention
Revises: 0029_replace_award_changes
Create Date: 2026-12-05 01:30:00

- users.role admits `security_admin` and `audit_admin`. Existing `admin` users become system administrators (the
  value is kept: it is the system administrator's): they keep users, organisations and reference set-up, and lose
  what the split gives the other two (roles, locks and unlocks, password resets; reading the audit log). Create
  the first security and audit administrators with `flask create-admin NAME --role security_admin|audit_admin`.
- audit_settings (one row): the audit log's retention in days, at least 180 (GB/T 22239-2019 8.1.4.3).
- personal_data_views: who was shown ID numbers or bank accounts in full, what, when, why.
- The append-only triggers of audit_entries now let a DELETE through for an entry older than the retention (an
  archived entry may go), and refuse any younger one; UPDATE stays refused. PostgreSQL: the function of 0016
  replaced; SQLite: the DELETE trigger of 0023 replaced by one with a WHEN clause.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0030_secure_admins_retention'
down_revision = '0029_replace_award_changes'
branch_labels = None
depends_on = None

OLD_ROLES = ('admin', 'city_agri', 'county_agri', 'insurer', 'expert', 'county_finance', 'city_finance')
NEW_ROLES = OLD_ROLES + ('security_admin', 'audit_admin')
REFUSAL = "audit entries are never updated or deleted"
EARLY = "audit entries are kept for their retention period before they may be deleted"


def _roles(values):
    return "role IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_users_role'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_users_role'), _roles(NEW_ROLES))

    op.create_table('audit_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('retention_days', sa.Integer(), nullable=False),
    sa.CheckConstraint('id = 1', name=op.f('ck_audit_settings_single_row')),
    sa.CheckConstraint('retention_days >= 180', name=op.f('ck_audit_settings_retention_minimum')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_settings'))
    )
    op.create_table('personal_data_views',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('what', sa.String(length=64), nullable=False),
    sa.Column('object_type', sa.String(length=64), nullable=False),
    sa.Column('object_id', sa.String(length=64), nullable=True),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_personal_data_views_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_personal_data_views'))
    )
    with op.batch_alter_table('personal_data_views', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_personal_data_views_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_personal_data_views_user_id'), ['user_id'], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE OR REPLACE FUNCTION audit_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'DELETE' THEN
                    IF OLD.created_at < (now() AT TIME ZONE 'UTC') - make_interval(days => coalesce(
                            (SELECT retention_days FROM audit_settings WHERE id = 1), 180)) THEN
                        RETURN OLD;
                    END IF;
                    RAISE EXCEPTION '{EARLY}' USING ERRCODE = 'restrict_violation';
                END IF;
                RAISE EXCEPTION '{REFUSAL}' USING ERRCODE = 'restrict_violation';
            END
            $$""")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_entries_append_only_delete")
        op.execute("CREATE TRIGGER audit_entries_append_only_delete BEFORE DELETE ON audit_entries "
                   "WHEN OLD.created_at >= datetime('now', '-' || coalesce("
                   "(SELECT retention_days FROM audit_settings WHERE id = 1), 180) || ' days') "
                   f"BEGIN SELECT RAISE(ABORT, '{EARLY}'); END")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE OR REPLACE FUNCTION audit_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '{REFUSAL}' USING ERRCODE = 'restrict_violation';
            END
            $$""")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_entries_append_only_delete")
        op.execute("CREATE TRIGGER audit_entries_append_only_delete BEFORE DELETE ON audit_entries "
                   f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END")
    with op.batch_alter_table('personal_data_views', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_personal_data_views_user_id'))
        batch_op.drop_index(batch_op.f('ix_personal_data_views_created_at'))
    op.drop_table('personal_data_views')
    op.drop_table('audit_settings')
    # the security and audit administrators have no place among the old roles: their accounts are deactivated
    # as city-level users with the system administrator's role, so nothing is lost and nobody gains access
    op.execute("UPDATE users SET active = false, role = 'admin' WHERE role IN ('security_admin', 'audit_admin')")
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_users_role'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_users_role'), _roles(OLD_ROLES))
