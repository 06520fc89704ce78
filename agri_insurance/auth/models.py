"""Users (their roles are agri_insurance.roles)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from agri_insurance.clock import utcnow
from agri_insurance.db_types import enum_type
from agri_insurance.extensions import db
from agri_insurance.roles import CITY_ROLES, COUNTY_ROLES, ROLE_LABELS, Role  # noqa: F401 - re-exported


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        # The organisation a role needs is enforced by the database too.
        sa.CheckConstraint(
            "(role = 'insurer') = (insurer_id IS NOT NULL)", name="insurer_binding"
        ),
        sa.CheckConstraint(
            "(role IN ('county_agri', 'county_finance')) = (region_id IS NOT NULL)", name="county_binding"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(100))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[Role] = mapped_column(enum_type(Role))
    active: Mapped[bool] = mapped_column(default=True)
    region_id: Mapped[int | None] = mapped_column(sa.ForeignKey("regions.id"), index=True)
    insurer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("insurers.id"), index=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    must_change_password: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # counted up when the password changes or the account is locked or deactivated: every session signed in before
    # carries the old number in its user id (get_id) and is no longer accepted (end_other_sessions)
    session_epoch: Mapped[int] = mapped_column(default=0, server_default="0")

    region = relationship("Region", lazy="joined")
    insurer = relationship("Insurer", lazy="joined")

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    def get_id(self) -> str:
        """What a session remembers of its user: the id and the session epoch it was signed in under."""
        return f"{self.id}.{self.session_epoch or 0}"

    def end_other_sessions(self) -> None:
        self.session_epoch = (self.session_epoch or 0) + 1

    def has_role(self, *roles: Role) -> bool:
        return self.role in roles

    @property
    def organisation_name(self) -> str:
        if self.insurer is not None:
            return self.insurer.name
        if self.region is not None:
            return self.region.label
        return ""

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role.value}>"


class ApiToken(db.Model):
    """A user's token for the JSON API (/api/v1): named by its owner, shown once, stored as a SHA-256 hash (the
    secret is random and long, so a slow hash buys nothing and would cost every request). `password_mark` is a hash
    of the owner's password hash when the token was made: a password change or reset makes every older token
    useless, as it ends the owner's sessions' claim to the old password."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(60))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(12))  # the first characters, to tell tokens apart on the page
    password_mark: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user = relationship("User")
