"""The public notice (公示) runs at least 5 working days unless the round records why: the service, the form and
the database hold to it; the reason is shown on the round page and the public notice, and audited."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from agri_insurance.audit.models import AuditEntry
from agri_insurance.clock import utcnow
from agri_insurance.errors import DomainError
from agri_insurance.tenders import service
from agri_insurance.tenders.models import SelectionRound
from tests.factories import read_text
from tests.tenders.factories import make_round, user

REASON = "春节前须确定承保机构，经局务会研究缩短公示期"


def _data(**changes) -> dict:
    data = {"name": "2027–2029年度遴选", "term_start_year": 2027, "bid_deadline": utcnow() + timedelta(days=3),
            "opening_time": utcnow() + timedelta(days=4), "notice_working_days": 5, "min_insurers": 2,
            "max_insurers": 3, "market_share_cap_pct": None, "contact": None, "notes": None}
    data.update(changes)
    return data


FORM = {"name": "2027–2029年度遴选", "term_start_year": 2027, "bid_deadline": "2030-01-10T17:00",
        "opening_time": "2030-01-11T09:30", "min_insurers": 2, "max_insurers": 3}


def test_a_notice_shorter_than_five_working_days_needs_a_reason_in_the_service(demo, db):
    city = user("city_agri")
    for days in (0, 3):
        with pytest.raises(DomainError) as error:
            service.create_round(_data(notice_working_days=days), city)
        assert error.value.field == ("notice_working_days" if days == 0 else "notice_short_reason")
    assert "公示期缩短理由" in str(error.value)   # the message names the field to fill in
    with pytest.raises(DomainError) as error:   # a reason does not make a notice of no days a notice
        service.create_round(_data(notice_working_days=0, notice_short_reason=REASON), city)
    assert error.value.field == "notice_working_days"
    with pytest.raises(DomainError, match="公示期缩短理由"):
        service.create_round(_data(notice_working_days=4, notice_short_reason="   "), city)
    assert db.session.scalar(sa.select(sa.func.count(SelectionRound.id))) == 0

    rnd = service.create_round(_data(notice_working_days=3, notice_short_reason=f"  {REASON} "), city)
    db.session.commit()
    assert rnd.notice_short_reason == REASON
    created = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "round.created"))
    assert created.details["notice_working_days"] == 3 and created.details["notice_short_reason"] == REASON

    # back to five days: the reason goes (it explained a short notice), and the change is audited
    data = {k: getattr(rnd, k) for k in service.ROUND_FIELDS}
    service.update_round(rnd, {**data, "notice_working_days": 5}, city)
    db.session.commit()
    assert rnd.notice_working_days == 5 and rnd.notice_short_reason is None
    updated = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "round.updated"))
    assert updated.details["changes"] == {"notice_working_days": [3, 5], "notice_short_reason": [REASON, None]}
    # a reason given with a full notice is not kept
    service.update_round(rnd, {**data, "notice_working_days": 7, "notice_short_reason": REASON}, city)
    assert rnd.notice_short_reason is None


def test_the_database_refuses_a_short_notice_without_a_reason(demo, db):
    rnd = make_round()
    for statement in ("UPDATE selection_rounds SET notice_working_days = 3 WHERE id = :id",
                      "UPDATE selection_rounds SET notice_working_days = 3, notice_short_reason = ' ' WHERE id = :id"):
        with pytest.raises(sa.exc.IntegrityError):
            db.session.execute(sa.text(statement), {"id": rnd.id})
            db.session.flush()
        db.session.rollback()
    db.session.execute(sa.text("UPDATE selection_rounds SET notice_working_days = 3, notice_short_reason = :r "
                               "WHERE id = :id"), {"id": rnd.id, "r": REASON})
    db.session.commit()


def test_the_form_asks_for_the_reason_and_the_round_page_shows_it(login, db):
    city = login("city_agri")
    for days in ("0", "3"):
        response = city.post("/tenders/new", data={**FORM, "notice_working_days": days})
        assert response.status_code == 400
    page = read_text(response)
    assert "公示期少于5个工作日的，须填写“公示期缩短理由”" in page
    assert db.session.scalar(sa.select(sa.func.count(SelectionRound.id))) == 0
    response = city.post("/tenders/new", data={**FORM, "notice_working_days": "3", "notice_short_reason": REASON})
    assert response.status_code == 302
    rnd = db.session.scalar(sa.select(SelectionRound))
    page = read_text(city.get(f"/tenders/{rnd.id}"))
    assert "3 个工作日" in page and f"公示期缩短理由：{REASON}" in page
    city.get("/lang/en")
    assert f"Reason for the shorter public notice: {REASON}" in read_text(city.get(f"/tenders/{rnd.id}"))
    # the edit form keeps it, and the default round has none to show
    assert REASON in read_text(city.get(f"/tenders/{rnd.id}/edit"))
    assert 'id="notice-short-reason"' not in read_text(city.get(f"/tenders/{make_round().id}"))


def test_the_public_notice_shows_why_it_is_short(demo, db, client):
    from tests.awards.factories import make_awarded_round, publish

    rnd = make_awarded_round()
    rnd.notice_working_days, rnd.notice_short_reason = 3, REASON
    db.session.commit()
    publish(rnd)
    page = read_text(client.get(f"/awards/public/{rnd.id}"))
    assert "（3个工作日）" in page and f"公示期缩短理由：{REASON}" in page
