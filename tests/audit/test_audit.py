import pytest
import sqlalchemy as sa

from agri_insurance.audit import service as audit
from agri_insurance.audit.models import AuditEntry, AuditLogIsAppendOnly
from agri_insurance.auth.models import User
from tests.factories import read_text


def test_audit_entries_cannot_be_changed_or_deleted(demo, db):
    entry = db.session.scalar(sa.select(AuditEntry).limit(1))
    entry.summary = "tampered"
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.scalar(sa.select(AuditEntry).limit(1)))
    with pytest.raises(AuditLogIsAppendOnly):
        db.session.flush()
    db.session.rollback()


def test_record_keeps_actor_name_and_json_details(demo, db):
    from decimal import Decimal

    user = db.session.scalar(sa.select(User).where(User.username == "city_agri"))
    entry = audit.record(user, "test.action", user, "测试", amount=Decimal("12.30"))
    db.session.commit()
    assert entry.actor_name == "city_agri" and entry.details == {"amount": "12.30"}


def test_audit_page_filters_by_action(login):
    client = login("city_agri")
    page = read_text(client.get("/audit/?action=user.login"))
    assert "user.login" in page and "subsidy_scheme.created" not in page
    page = read_text(client.get("/audit/?object_type=SubsidyScheme"))
    assert "subsidy_scheme.created" in page and "user.login" not in page
    page = read_text(client.get("/audit/?actor=nobody-at-all"))
    assert "没有符合条件的记录" in page
