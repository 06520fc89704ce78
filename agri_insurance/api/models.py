"""What the API keeps of its own: the first answer to each Idempotency-Key."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from agri_insurance.clock import utcnow
from agri_insurance.extensions import db


class IdempotencyKey(db.Model):
    """A write sent with an `Idempotency-Key` header, and the answer it got. Stored in the write's own transaction:
    a refused write stores nothing (a retry is tried afresh), a done one stores its answer with it, and a retry
    racing the first request waits on the unique key and then returns the first answer (the write happens once)."""

    __tablename__ = "api_idempotency_keys"
    __table_args__ = (sa.UniqueConstraint("user_id", "key", name="uq_api_idempotency_keys_user_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    key: Mapped[str] = mapped_column(sa.String(200))
    # The request the key was first used for (method and path): the same key on another request is refused.
    request: Mapped[str] = mapped_column(sa.String(300))
    status_code: Mapped[int]
    response: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
