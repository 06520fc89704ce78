"""Test fixtures: a migrated database (PostgreSQL or SQLite), a clean slate per test, factories, logins.

TEST_DB=sqlite runs on a temporary SQLite file; otherwise PostgreSQL at TEST_DATABASE_URL
(default postgresql://postgres@127.0.0.1:5432/test). Each xdist worker gets its own database.
Outside CI an unreachable PostgreSQL skips the database tests with a visible reason; with CI=true
it is an error.
"""

from __future__ import annotations

import contextvars
import os
import re

import pytest
from flask.testing import FlaskClient

from agri_insurance import create_app
from agri_insurance.config import TestingConfig
from agri_insurance.extensions import db as _db

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
DEMO_PASSWORD = "demo1234"


def _worker() -> str:
    # TEST_DB_WORKER names the database of a run outside xdist (tools/mutation.py: "mutation")
    return os.environ.get("PYTEST_XDIST_WORKER") or os.environ.get("TEST_DB_WORKER", "main")


# TEST_DB_REUSE=1 keeps the worker's database from one pytest run to the next (tools/mutation.py runs pytest once
# per mutant: creating and migrating a database each time would double a module's run); each run still starts
# from empty tables.
REUSE_DATABASE = os.environ.get("TEST_DB_REUSE") == "1"


def _postgres_url_for_worker() -> str:
    """Create (once) and return a database of this worker's own next to TEST_DATABASE_URL."""
    import psycopg

    base = os.environ.get("TEST_DATABASE_URL", DEFAULT_PG)
    name = re.sub(r"\W", "_", f"{base.rsplit('/', 1)[1]}_{_worker()}")
    try:
        with psycopg.connect(base.replace("postgresql+psycopg://", "postgresql://"), autocommit=True,
                             connect_timeout=3) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            if exists and not REUSE_DATABASE:
                conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            if not exists or not REUSE_DATABASE:
                conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as e:
        message = f"PostgreSQL not reachable at {base}: {e}"
        if os.environ.get("CI") == "true":
            pytest.exit(message, returncode=3)
        pytest.skip(message)
    return f"{base.rsplit('/', 1)[0]}/{name}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    if os.environ.get("TEST_DB", "postgres") == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"
    return _postgres_url_for_worker()


class IsolatedClient(FlaskClient):
    """Runs each request in an empty context, as production does.

    Otherwise Flask reuses the test's pushed app context: requests would share its database session
    and `g` (the logged-in user), and a view that forgot to commit would still look right.
    """

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    from flask_migrate import upgrade

    instance = tmp_path_factory.mktemp("instance")
    application = create_app(TestingConfig(database_url, str(instance)))
    application.config["WTF_CSRF_ENABLED"] = False
    application.test_client_class = IsolatedClient
    with application.app_context():
        upgrade(revision="heads")  # the schema under test is the migrated one
    if REUSE_DATABASE:
        _wipe(application)  # what a run stopped in the middle of a test left behind
    yield application
    with application.app_context():
        _db.engine.dispose()


def _wipe(app) -> None:
    from tests.lists import wipe

    wipe(app)


@pytest.fixture
def db(app):
    """An application context over an empty database (wiped after the test)."""
    ctx = app.test_request_context()
    ctx.push()
    yield _db
    _db.session.remove()
    ctx.pop()
    _wipe(app)


@pytest.fixture
def ref(db):
    """Shangrao's regions and the policy's products."""
    from agri_insurance.demo import load_reference_data

    load_reference_data()
    db.session.commit()
    return db


@pytest.fixture
def demo(db):
    """The full demo world: reference data, fictional insurers, schemes, one user per role."""
    from agri_insurance.demo import load_demo_data

    load_demo_data()
    db.session.commit()
    return db


@pytest.fixture
def client(app, db):
    return app.test_client()


class Login:
    def __init__(self, app):
        self.app = app

    def __call__(self, username: str, password: str = DEMO_PASSWORD):
        client = self.app.test_client()
        response = client.post("/login", data={"username": username, "password": password})
        assert response.status_code == 302, f"login as {username} failed: {response.status_code}"
        return client


@pytest.fixture
def login(app, demo):
    """login('county_agri') → a test client logged in as that demo user."""
    return Login(app)
