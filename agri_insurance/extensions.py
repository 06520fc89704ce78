"""Flask extensions, created unbound and initialised in create_app()."""

import sqlalchemy as sa
from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Named constraints so Alembic can alter them on SQLite (batch mode) and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()


def analyze(*models) -> None:
    """PostgreSQL: refresh the planner's statistics of `models`' tables (after a bulk import, so the next query
    of the new rows is not planned blind); commits. SQLite: nothing (its planner keeps no such statistics)."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    tables = ", ".join(db.session.get_bind().dialect.identifier_preparer.quote(m.__tablename__) for m in models)
    db.session.execute(sa.text(f"ANALYZE {tables}"))
    db.session.commit()


def lock_for_update(obj):
    """Lock the row of ``obj`` until commit and read it again, so the rule checked next sees what a transaction
    that held the lock committed.

    PostgreSQL: SELECT ... FOR UPDATE of the primary key only (it cannot lock the nullable side of the outer
    joins a model's eagerly loaded relationships add). SQLite has no row locks and ignores FOR UPDATE: a write
    that changes nothing takes its database-wide write lock instead, so a second writer waits here (up to the
    driver's busy timeout) and then reads what the first committed. Without it, two payments of the same share
    both passed the balance check and the second overwrote the first one's `paid`."""
    from sqlalchemy import select, update

    model = type(obj)
    db.session.flush()
    if db.session.get_bind().dialect.name == "sqlite":
        table = model.__table__
        # each column that has an onupdate (updated_at) set to itself too, or the "no-op" would change it
        unchanged = {c.name: c for c in table.columns if c.primary_key or c.onupdate is not None}
        db.session.execute(update(table).where(table.c.id == obj.id).values(unchanged))
    else:
        db.session.execute(select(model.id).where(model.id == obj.id).with_for_update())
    db.session.refresh(obj)
    return obj
