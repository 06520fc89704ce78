"""Factories: each test states only what matters to it."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from agri_insurance.extensions import db as _db

DEMO_PASSWORD = "demo1234"


def county(code: str = "361128"):
    from agri_insurance.reference.models import Region

    return _db.session.scalar(sa.select(Region).where(Region.code == code))


def make_insurer(name: str = "测试财产保险股份有限公司", short: str = "测试财险", index: int = 50, **extra):
    from agri_insurance.demo import demo_credit_code
    from agri_insurance.reference import service

    data = {"name": name, "short_name": short, "credit_code": demo_credit_code(index), "parent_company": None,
            "contact_person": None, "contact_phone": None, "address": None, "active": True, **extra}
    insurer = service.save_insurer(None, data, None)
    _db.session.commit()
    return insurer


def make_user(username: str, role, password: str = DEMO_PASSWORD, region=None, insurer=None):
    from agri_insurance.auth.service import create_user

    user = create_user(username, username, role, password, None,
                       region_id=region.id if region is not None else None,
                       insurer_id=insurer.id if insurer is not None else None)
    _db.session.commit()
    return user


def refused(call, *args, **kwargs):
    """The DomainError `call(*args, **kwargs)` raises (the test then states its words and field)."""
    import pytest

    from agri_insurance.errors import DomainError

    with pytest.raises(DomainError) as info:
        call(*args, **kwargs)
    return info.value


def audit_entries(action: str, object_type: str | None = None, object_id: int | None = None) -> list:
    """The audit entries of `action`, oldest first; of one object when its type and id are given."""
    from agri_insurance.audit.models import AuditEntry

    stmt = sa.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
    if object_type is not None:
        stmt = stmt.where(AuditEntry.object_type == object_type, AuditEntry.object_id == str(object_id))
    return list(_db.session.scalars(stmt))


def read_text(response) -> str:
    return response.get_data(as_text=True)


ROOT = Path(__file__).resolve().parent.parent
