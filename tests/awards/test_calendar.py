"""The holiday list: a holiday needs its name, each change is audited as it happened, and a holiday on the last day
of a running notice period moves its end."""

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from agri_insurance.audit.models import AuditEntry
from agri_insurance.awards import calendar, service
from agri_insurance.awards.models import Holiday
from agri_insurance.errors import DomainError
from agri_insurance.extensions import db as _db
from tests.awards.factories import make_awarded_round, publish
from tests.tenders.factories import user


def _entry(action: str) -> AuditEntry:
    return _db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == action))


@pytest.mark.parametrize("name", [None, "", "   "])
def test_a_holiday_needs_its_name(demo, db, name):
    with pytest.raises(DomainError) as info:
        calendar.add_holiday(date(2026, 10, 1), name, user("admin"))
    assert (info.value.message, info.value.field) == ("请填写节假日名称", "name")
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Holiday.id))) == 0


def test_adding_and_deleting_a_holiday_are_audited_with_who_and_what(demo, db):
    holiday = calendar.add_holiday(date(2026, 10, 1), " 国庆节 ", user("admin"))
    db.session.commit()
    assert holiday.name == "国庆节"
    created = _entry("holiday.created")
    assert (created.actor_name, created.object_type, created.object_id, created.summary) == (
        "admin", "Holiday", str(holiday.id), "新增节假日：2026-10-01 国庆节")
    holiday_id = holiday.id
    calendar.delete_holiday(holiday, user("admin"))
    db.session.commit()
    deleted = _entry("holiday.deleted")
    assert (deleted.actor_name, deleted.object_type, deleted.object_id, deleted.summary) == (
        "admin", "Holiday", str(holiday_id), "删除节假日：2026-10-01 国庆节")
    assert db.session.get(Holiday, holiday_id) is None


def test_a_holiday_on_the_last_day_of_the_notice_moves_its_end_and_is_audited(demo, db):
    rnd = make_awarded_round()
    notice = publish(rnd)
    last = notice.ends_on
    assert last.weekday() < 5  # the last day of a period of working days is a working day
    calendar.add_holiday(last, "临时假日", user("admin"))
    db.session.commit()
    later = service.current_notice(rnd).ends_on
    assert later > last and later == calendar.notice_end(notice.starts_on, notice.working_days)
    extended = _entry("notice.extended")
    assert extended.summary == f"节假日顺延公示期：{last.isoformat()} 改为 {later.isoformat()}"
    assert extended.details["round_id"] == rnd.id and extended.details["holiday"] == last.isoformat()


def test_a_holiday_after_the_notice_ends_changes_nothing(demo, db):
    rnd = make_awarded_round()
    notice = publish(rnd)
    last = notice.ends_on
    calendar.add_holiday(last + timedelta(days=1), "临时假日", user("admin"))
    db.session.commit()
    assert service.current_notice(rnd).ends_on == last
    assert _entry("notice.extended") is None
