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
    # objects are named in the reader's language, not by their model names
    page = read_text(client.get("/audit/?object_type=SubsidyScheme"))
    assert '<option value="SubsidyScheme" selected>补贴方案</option>' in page and "补贴方案 #" in page
    client.get("/lang/en")
    assert "Subsidy scheme #" in read_text(client.get("/audit/?object_type=SubsidyScheme"))


def test_a_summary_is_shown_in_each_readers_language_and_stored_in_chinese(login, db):
    from flask_babel import force_locale
    from flask_babel import lazy_gettext as _l

    from agri_insurance.subsidies.models import LEVEL_LABELS, ShareLevel

    user = db.session.scalar(sa.select(User).where(User.username == "city_agri"))
    with force_locale("en"):  # the actor reads English: the entry is still stored in Chinese, its label too
        entry = audit.record(user, "test.language", user, _l("确认拨付 %(level)s %(amount)s 元",
                                                             level=LEVEL_LABELS[ShareLevel.COUNTY], amount="7,750.00"))
        db.session.commit()
        assert entry.display_summary == "Payment confirmed: County ¥7,750.00"
    assert entry.summary == "确认拨付 县级财政 7,750.00 元"
    client = login("city_agri")
    assert "确认拨付 县级财政 7,750.00 元" in read_text(client.get("/audit/?action=test.language"))
    client.get("/lang/en")
    assert "Payment confirmed: County ¥7,750.00" in read_text(client.get("/audit/?action=test.language"))


def test_entries_written_as_plain_text_are_shown_as_written(demo, db):
    user = db.session.scalar(sa.select(User).where(User.username == "city_agri"))
    entry = audit.record(user, "test.plain", user, "纯文本摘要")
    db.session.commit()
    assert entry.summary_message is None and entry.display_summary == "纯文本摘要"
