"""The holidays the admin lists, and the public notice's end counted on them (clock.add_working_days)."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from agri_insurance import clock
from agri_insurance.audit import service as audit
from agri_insurance.awards.models import Holiday, PublicNotice
from agri_insurance.errors import require
from agri_insurance.extensions import db


def holidays_from(start: date) -> set[date]:
    """The listed holidays on or after `start` (a notice period never reaches back)."""
    return set(db.session.scalars(sa.select(Holiday.day).where(Holiday.day >= start)))


def notice_end(start: date, days: int) -> date:
    """Last day of a notice period of `days` working days published on `start`."""
    return clock.add_working_days(start, days, holidays_from(start))


def add_holiday(day: date, name: str, actor) -> Holiday:
    name = (name or "").strip()
    require(name, _("请填写节假日名称"), "name")
    require(db.session.scalar(sa.select(Holiday.id).where(Holiday.day == day)) is None,
            _("%(day)s 已在节假日列表中", day=day.isoformat()), "day")
    holiday = Holiday(day=day, name=name)
    db.session.add(holiday)
    db.session.flush()
    audit.record(actor, "holiday.created", holiday, _l("新增节假日：%(day)s %(name)s", day=day.isoformat(), name=name))
    _extend_running_notices(day, actor)
    return holiday


def _extend_running_notices(day: date, actor) -> None:
    """A holiday announced inside a running notice period moves its end (节假日顺延): the period keeps its number of
    working days. A deleted holiday never shortens one: bidders may already rely on the published end."""
    running = db.session.scalars(sa.select(PublicNotice).where(
        PublicNotice.closed_at.is_(None), PublicNotice.starts_on < day, PublicNotice.ends_on >= day)).all()
    for notice in running:
        ends = notice_end(notice.starts_on, notice.working_days)
        if ends > notice.ends_on:
            before, notice.ends_on = notice.ends_on, ends
            db.session.flush()
            audit.record(actor, "notice.extended", notice,
                         _l("节假日顺延公示期：%(before)s 改为 %(after)s", before=before.isoformat(), after=ends.isoformat()),
                         round_id=notice.round_id, holiday=day)


def delete_holiday(holiday: Holiday, actor) -> None:
    audit.record(actor, "holiday.deleted", holiday,
                 _l("删除节假日：%(day)s %(name)s", day=holiday.day.isoformat(), name=holiday.name))
    db.session.delete(holiday)
    db.session.flush()
