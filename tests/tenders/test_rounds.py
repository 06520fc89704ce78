"""The selection-round state machine: every allowed and refused transition, the clock, cancellation, audit."""

import contextlib
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from agri_insurance import clock
from agri_insurance.audit.models import AuditEntry
from agri_insurance.awards import service as awards_service
from agri_insurance.bids import service as bids
from agri_insurance.clock import utcnow
from agri_insurance.errors import DomainError
from agri_insurance.tenders import service, signals
from agri_insurance.tenders.models import RoundStatus as S
from tests.factories import read_text
from tests.tenders.factories import make_bid, make_round, region, user


def _actions(db, rnd) -> list[str]:
    return list(db.session.scalars(sa.select(AuditEntry.action).where(
        AuditEntry.object_type == "SelectionRound", AuditEntry.object_id == str(rnd.id)).order_by(AuditEntry.id)))


def test_transition_table_covers_every_status_and_ends_in_terminal_states():
    assert set(service.ROUND_TRANSITIONS) == set(S)
    assert service.ROUND_TRANSITIONS[S.EXPIRED] == frozenset()
    assert service.ROUND_TRANSITIONS[S.CANCELLED] == frozenset()
    # Cancelled is reachable from every state before awarded, and from none after.
    before_award = {S.DRAFT, S.OPEN, S.CLOSED, S.OPENED, S.EVALUATION, S.ALLOCATED, S.PUBLICISED}
    assert {s for s, targets in service.ROUND_TRANSITIONS.items() if S.CANCELLED in targets} == before_award


def _round_listeners_muted() -> contextlib.ExitStack:
    """The table alone: other modules' guards and reactions to a move are theirs to test."""
    stack = contextlib.ExitStack()
    for announcement in (signals.round_moving, *signals.round_moved.values()):
        stack.enter_context(announcement.muted())
    return stack


def test_transition_allows_exactly_the_table(ref, db):
    rnd = make_round()
    with _round_listeners_muted():
        _walk_every_transition(db, rnd)
    allowed = sum(len(t) for t in service.ROUND_TRANSITIONS.values())
    assert _actions(db, rnd).count("round.cancelled") == 7 and len(_actions(db, rnd)) == allowed + 1


def _walk_every_transition(db, rnd) -> None:
    for source in S:
        for target in S:
            rnd.status = source
            rnd.opened_at = utcnow()
            rnd.cancel_reason = "测试" if source is S.CANCELLED else None
            db.session.flush()
            if target in service.ROUND_TRANSITIONS[source]:
                values = {"cancel_reason": "测试" if target is S.CANCELLED else None}
                service.transition(rnd, target, None, "t", values=values)
                db.session.flush()
                assert rnd.status is target
                assert _actions(db, rnd)[-1] == f"round.{target.value}"
            else:
                with pytest.raises(DomainError, match="不能变更为"):
                    service.transition(rnd, target, None, "t")
                assert rnd.status is source, (source, target)


def test_publish_needs_two_lots_in_every_county(demo, db):
    rnd = make_round(counties=("361128", "361130"), lots_per_county=2)
    service.delete_lot(rnd.lots[-1], user("city_agri"))  # 婺源县 keeps one lot
    with pytest.raises(DomainError, match="婺源县（1）"):
        service.publish_round(rnd, user("city_agri"))
    assert rnd.status is S.DRAFT


def test_publish_needs_lots_at_all(demo, db):
    rnd = make_round(counties=())
    with pytest.raises(DomainError, match="还没有标段"):
        service.publish_round(rnd, user("city_agri"))


def test_publish_needs_a_deadline_in_the_future(demo, db):
    rnd = make_round(deadline=utcnow() + timedelta(hours=1))
    with time_machine.travel(utcnow() + timedelta(hours=2), tick=False):
        with pytest.raises(DomainError, match="投标截止时间必须晚于当前时间"):
            service.publish_round(rnd, user("city_agri"))
    service.publish_round(rnd, user("city_agri"))
    assert rnd.status is S.OPEN
    assert _actions(db, rnd) == ["round.created", "round.open"]


def test_min_lots_follow_the_minimum_number_of_insurers(demo, db):
    rnd = make_round(lots_per_county=2)
    rnd.min_insurers = 3
    with pytest.raises(DomainError, match="至少需要3个标段"):
        service.publish_round(rnd, user("city_agri"))


def test_round_closes_by_the_clock_on_access_exactly_once(demo, db, client, login):
    deadline = utcnow() + timedelta(days=1)
    rnd = make_round(deadline=deadline, publish=True)
    browser = login("insurer")
    with time_machine.travel(deadline - timedelta(seconds=1), tick=False):
        browser.get(f"/tenders/{rnd.id}")
        db.session.refresh(rnd)
        assert rnd.status is S.OPEN
    with time_machine.travel(deadline, tick=False):
        assert "已截标" in browser.get(f"/tenders/{rnd.id}").get_data(as_text=True)
        browser.get("/tenders/")
        db.session.refresh(rnd)
        assert rnd.status is S.CLOSED
    closing = [a for a in _actions(db, rnd) if a == "round.closed"]
    assert closing == ["round.closed"]
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "round.closed"))
    assert entry.actor_name == "system" and entry.details["automatic"] is True


def test_opening_only_at_or_after_the_opening_time(demo, db):
    deadline = utcnow() + timedelta(days=1)
    rnd = make_round(deadline=deadline, opening=deadline + timedelta(hours=2), publish=True)
    with time_machine.travel(deadline - timedelta(minutes=1), tick=False):
        with pytest.raises(DomainError, match="只有已截标的轮次可以开标"):
            bids.open_bids(rnd, user("city_agri"))
    with time_machine.travel(deadline + timedelta(hours=1), tick=False):
        with pytest.raises(DomainError, match="未到开标时间"):
            bids.open_bids(rnd, user("city_agri"))
        assert rnd.status is S.CLOSED  # advanced by the clock, not opened
    with time_machine.travel(deadline + timedelta(hours=2), tick=False):
        opening = bids.open_bids(rnd, user("city_agri"))
        assert rnd.status is S.OPENED and rnd.opened_at == deadline + timedelta(hours=2)
        assert opening.entries == []


def test_the_rest_of_the_life_cycle_with_its_guards(demo, db):
    deadline = utcnow() + timedelta(days=1)
    rnd = make_round(deadline=deadline, opening=deadline, publish=True, term_start_year=2027)
    make_bid(rnd)
    city = user("city_agri")
    with time_machine.travel(deadline, tick=False):
        bids.open_bids(rnd, city)
        with pytest.raises(DomainError, match="没有有效投标"):
            service.start_evaluation(rnd, city, 0)
        service.start_evaluation(rnd, city, len(bids.opened_bids(rnd)))
        service.mark_allocated(rnd, city)
    # Publicised on a Friday; 5 working days end the next Friday; awarded from the Saturday on.
    friday = datetime(2026, 12, 4, 2, 0)  # 10:00 Beijing
    with time_machine.travel(friday, tick=False):
        service.mark_publicised(rnd, city)
        assert awards_service.notice_ends_on(rnd).isoformat() == "2026-12-11"
    with time_machine.travel(datetime(2026, 12, 11, 8, 0), tick=False):
        with pytest.raises(DomainError, match="公示期"):
            service.mark_awarded(rnd, city)
    with time_machine.travel(datetime(2026, 12, 11, 16, 30), tick=False):  # 00:30 on the 12th in Beijing
        service.mark_awarded(rnd, city)
        with pytest.raises(DomainError, match="2027年1月1日"):
            service.put_in_force(rnd, city)
        with pytest.raises(DomainError, match="不能取消"):
            service.cancel_round(rnd, "太晚了", city)
    with time_machine.travel(datetime(2026, 12, 31, 16, 0), tick=False):  # 1 January 2027, 00:00 Beijing
        service.put_in_force(rnd, city)
    with time_machine.travel(datetime(2029, 12, 31, 15, 59), tick=False):
        assert service.advance_by_clock(rnd) == 0 and rnd.status is S.IN_FORCE
    with time_machine.travel(datetime(2029, 12, 31, 16, 0), tick=False):  # term 2027–2029 over
        assert service.advance_by_clock(rnd) == 1
    assert rnd.status is S.EXPIRED
    assert _actions(db, rnd)[1:] == ["round.open", "round.closed", "round.opened", "round.evaluation",
                                     "round.allocated", "round.publicised", "round.awarded", "round.in_force",
                                     "round.expired"]


def test_cancel_needs_a_reason_and_is_recorded(demo, db):
    rnd = make_round(publish=True)
    with pytest.raises(DomainError, match="请填写取消原因"):
        service.cancel_round(rnd, "  ", user("city_agri"))
    service.cancel_round(rnd, "财政预算调整", user("city_agri"))
    db.session.commit()
    assert rnd.status is S.CANCELLED and rnd.cancel_reason == "财政预算调整"
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "round.cancelled"))
    assert entry.details["reason"] == "财政预算调整" and entry.actor_name == "city_agri"
    with pytest.raises(DomainError):
        service.publish_round(rnd, user("city_agri"))


def test_database_refuses_cancelled_without_reason(demo, db):
    rnd = make_round()
    with pytest.raises(sa.exc.IntegrityError):
        db.session.execute(sa.text("UPDATE selection_rounds SET status = 'cancelled' WHERE id = :id"),
                           {"id": rnd.id})
        db.session.commit()
    db.session.rollback()


def test_rules_and_lots_cannot_change_once_closed(demo, db):
    deadline = utcnow() + timedelta(days=1)
    rnd = make_round(deadline=deadline, publish=True)
    with time_machine.travel(deadline + timedelta(minutes=1), tick=False):
        with pytest.raises(DomainError, match="只有草稿或投标中"):
            service.save_lot(rnd, rnd.lots[0], {"region_id": rnd.lots[0].region_id, "code": "X", "name": "x",
                                                "expected_premium": 1, "product_ids": [1]}, user("city_agri"))
        with pytest.raises(DomainError, match="只有草稿或投标中"):
            service.delete_lot(rnd.lots[0], user("city_agri"))
    assert rnd.status is S.CLOSED


def test_round_pages_flow_for_the_bureau(login, db):
    city = login("city_agri")
    response = city.post("/tenders/new", data={
        "name": "2027–2029年度遴选", "term_start_year": 2027, "bid_deadline": "2030-01-10T17:00",
        "opening_time": "2030-01-11T09:30", "notice_working_days": 5, "min_insurers": 2, "max_insurers": 3})
    assert response.status_code == 302, response.get_data(as_text=True)
    from agri_insurance.tenders.models import SelectionRound

    rnd = db.session.scalar(sa.select(SelectionRound))
    assert rnd.bid_deadline == datetime(2030, 1, 10, 9, 0)  # 17:00 Beijing = 09:00 UTC
    page = city.get(f"/tenders/{rnd.id}").get_data(as_text=True)
    assert "2030-01-10 17:00" in page and "草稿" in page
    # Drafts are the bureau's own: other roles do not see them.
    assert login("insurer").get(f"/tenders/{rnd.id}").status_code == 404
    assert "2027–2029年度遴选" not in login("county_agri").get("/tenders/").get_data(as_text=True)
    # Lots through the form.
    for county, code in (("361128", "A1"), ("361128", "A2")):
        response = city.post(f"/tenders/{rnd.id}/lots/new", data={
            "region_id": region(county).id, "code": code, "name": f"标段{code}", "product_ids": ["1", "2"],
            "expected_premium": "1200000.50", "loss_ratio_pct": "70"})
        assert response.status_code == 302, response.get_data(as_text=True)
    response = city.post(f"/tenders/{rnd.id}/lots/new", data={
        "region_id": region("361128").id, "code": "A1", "name": "重复", "product_ids": ["1"],
        "expected_premium": "-5"})
    assert response.status_code == 400
    assert city.post(f"/tenders/{rnd.id}/publish").status_code == 302
    db.session.refresh(rnd)
    assert rnd.status is S.OPEN
    assert "2027–2029年度遴选" in login("county_agri").get("/tenders/").get_data(as_text=True)


def _round_form(rnd, **changes) -> dict:
    data = {"name": rnd.name, "term_start_year": rnd.term_start_year,
            "bid_deadline": clock.to_local(rnd.bid_deadline).strftime("%Y-%m-%dT%H:%M"),
            "opening_time": clock.to_local(rnd.opening_time).strftime("%Y-%m-%dT%H:%M"),
            "notice_working_days": rnd.notice_working_days, "min_insurers": rnd.min_insurers,
            "max_insurers": rnd.max_insurers}
    data.update(changes)
    return data


def test_more_than_three_insurers_per_county_needs_a_county_exception(login, db):
    """R3: the round's maximum is at most 3; a county needing more gets an exception with the provincial approval."""
    from agri_insurance.tenders.models import SelectionRound

    city = login("city_agri")
    form = {"name": "2027–2029年度遴选", "term_start_year": 2027, "bid_deadline": "2030-01-10T17:00",
            "opening_time": "2030-01-11T09:30", "notice_working_days": 5, "min_insurers": 2, "max_insurers": 4}
    response = city.post("/tenders/new", data=form)
    assert response.status_code == 400 and "省级批准" in read_text(response)
    assert city.post("/tenders/new", data={**form, "min_insurers": 4}).status_code == 400
    assert db.session.scalar(sa.select(sa.func.count(SelectionRound.id))) == 0
    data = {"name": "x", "term_start_year": 2027, "bid_deadline": utcnow() + timedelta(days=3),
            "opening_time": utcnow() + timedelta(days=4), "notice_working_days": 5, "min_insurers": 2,
            "max_insurers": 4}
    with pytest.raises(DomainError, match="不超过3家") as error:
        service.create_round(data, user("city_agri"))
    assert error.value.field == "max_insurers"
    with pytest.raises(DomainError, match="上限不能小于下限"):
        service.create_round({**data, "min_insurers": 3, "max_insurers": 2}, user("city_agri"))
    rnd = make_round()
    with pytest.raises(DomainError, match="不超过3家"):
        service.update_round(rnd, {**_round_form(rnd), "bid_deadline": rnd.bid_deadline,
                                   "opening_time": rnd.opening_time, "max_insurers": 4}, user("city_agri"))
    db.session.rollback()
    assert db.session.get(SelectionRound, rnd.id).max_insurers == 3
    assert city.post(f"/tenders/{rnd.id}/edit", data=_round_form(rnd, max_insurers=4)).status_code == 400
    db.session.expire_all()
    assert db.session.get(SelectionRound, rnd.id).max_insurers == 3


def test_raising_the_minimum_on_an_open_round_needs_enough_lots(login, db):
    from agri_insurance.bids.models import BidStatus
    from agri_insurance.tenders.models import SelectionRound

    rnd = make_round(lots_per_county=2, publish=True)
    bid = make_bid(rnd)
    response = login("city_agri").post(f"/tenders/{rnd.id}/edit", data=_round_form(rnd, min_insurers=3))
    assert response.status_code == 400 and "至少需要3个标段" in read_text(response)
    db.session.expire_all()
    rnd = db.session.get(SelectionRound, rnd.id)
    assert rnd.min_insurers == 2 and rnd.rules_version == 1  # nothing saved
    assert db.session.get(type(bid), bid.id).status is BidStatus.SUBMITTED
    assert "round.updated" not in _actions(db, rnd)


def test_an_awarded_round_goes_into_force_by_the_clock(demo, db, login):
    from tests.awards.factories import make_finalised_round

    rnd = make_finalised_round()  # term 2032–2034
    assert rnd.status is S.AWARDED
    start = service.term_start_utc(rnd)
    assert start == datetime(2031, 12, 31, 16, 0)  # 1 January 2032, 00:00 Beijing
    with time_machine.travel(start - timedelta(seconds=1), tick=False):
        assert service.advance_by_clock() == 0 and rnd.status is S.AWARDED
    with time_machine.travel(start, tick=False):
        page = read_text(login("county_agri").get(f"/tenders/{rnd.id}"))
        assert "执行中" in page
    db.session.expire_all()
    assert db.session.get(type(rnd), rnd.id).status is S.IN_FORCE
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "round.in_force"))
    assert entry.actor_name == "system" and entry.details["automatic"] is True
    assert entry.details["status"] == ["awarded", "in_force"]


def test_the_clock_can_be_advanced_from_the_command_line(app, demo, db):
    """`flask advance-clock` (for a quiet system, e.g. from cron) makes the same change a page request would."""
    deadline = utcnow() + timedelta(hours=1)
    rnd = make_round(deadline=deadline, publish=True)
    db.session.commit()
    with time_machine.travel(deadline + timedelta(minutes=1), tick=False):
        result = app.test_cli_runner().invoke(args=["advance-clock"])
    assert result.exit_code == 0 and "1 round change(s)" in result.output
    db.session.expire_all()
    assert db.session.get(type(rnd), rnd.id).status is S.CLOSED
    assert _actions(db, rnd)[-1] == "round.closed"
