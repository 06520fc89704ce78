"""The README's production database roles, run as written on PostgreSQL: the owner migrates, the runtime role
reads and writes rows but cannot change the schema, and nobody rewrites the audit log."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid

import pytest
import sqlalchemy as sa

from agri_insurance.config import PROJECT_ROOT

pytestmark = pytest.mark.postgres


def _readme_block() -> str:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Database roles", 1)[1]
    return re.search(r"```sql\n(.*?)```", section, re.S).group(1)


def test_the_readme_roles_migrate_as_owner_and_run_without_schema_rights(app, tmp_path):
    url = sa.engine.make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() != "postgresql":
        pytest.skip("database roles are PostgreSQL's; SQLite is a file")
    tag = uuid.uuid4().hex[:8]
    owner, runtime, database = f"agri_owner_{tag}", f"agri_app_{tag}", f"agri_roles_{tag}"
    script = (_readme_block().replace("agri_owner", owner).replace("agri_app", runtime)
              .replace("DATABASE agri ", f"DATABASE {database} ").replace("\\connect agri", f"\\connect {database}"))
    server = url.set(database="postgres")
    superuser = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        statements = []
        for part in script.split(";"):
            lines = [ln for ln in part.strip().splitlines() if not ln.strip().startswith("--")]
            for line in lines:
                if line.startswith("\\connect"):
                    statements.append(("connect", line.split()[1]))
                    lines = [x for x in lines if x != line]
            if lines:
                statements.append(("sql", "\n".join(lines)))
        engine = superuser
        for kind, text in statements:
            if kind == "connect":
                engine = sa.create_engine(server.set(database=text), isolation_level="AUTOCOMMIT")
            else:
                with engine.connect() as conn:
                    conn.execute(sa.text(text))
        engine.dispose()

        as_owner = url.set(username=owner, password="owner-password", database=database)
        as_runtime = url.set(username=runtime, password="app-password", database=database)
        env = {**os.environ, "DATABASE_URL": as_owner.render_as_string(hide_password=False),
               "SECRET_KEY": "x", "AGRI_INSTANCE_DIR": str(tmp_path)}
        env.pop("REDIS_URL", None)
        done = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], cwd=PROJECT_ROOT,
                              env=env, capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, done.stderr[-2000:]

        runtime_engine = sa.create_engine(as_runtime)
        try:
            with runtime_engine.begin() as conn:
                conn.execute(sa.text(
                    "INSERT INTO audit_entries (created_at, actor_name, action, object_type, summary, details) "
                    "VALUES (now(), 'system', 'test.roles', 'test', 'runtime writes', '{}')"))
                assert conn.scalar(sa.text("SELECT count(*) FROM audit_entries")) == 1
            refused = ("UPDATE audit_entries SET summary = 'x'", "DELETE FROM audit_entries",
                       "TRUNCATE audit_entries", "CREATE TABLE intruder (id int)", "DROP TABLE users",
                       "ALTER TABLE users ADD COLUMN x int")
            for statement in refused:
                with pytest.raises(sa.exc.DBAPIError):
                    with runtime_engine.begin() as conn:
                        conn.execute(sa.text(statement))
            with runtime_engine.connect() as conn:
                assert conn.scalar(sa.text("SELECT rolsuper OR rolcreaterole OR rolcreatedb FROM pg_roles "
                                           "WHERE rolname = current_user")) is False
        finally:
            runtime_engine.dispose()
    finally:
        with superuser.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
            conn.execute(sa.text(f"DROP ROLE IF EXISTS {runtime}"))
            conn.execute(sa.text(f"DROP ROLE IF EXISTS {owner}"))
        superuser.dispose()
