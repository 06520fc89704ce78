"""The demo's publicised round (loaded by `flask demo-data`, never by the test fixtures): built through the
services, with every county at two insurers, backups and an open notice; its cap admitted no allocation, so the
adopted run rests on an approved rule departure; loading twice adds nothing."""

import sqlalchemy as sa

from agri_insurance.allocation.service import adopted_run, departures_used, runs_of
from agri_insurance.awards import service
from agri_insurance.awards.demo import AWARDED_LOTS, AWARDED_ROUND_NAME, load_demo_awarded_round
from agri_insurance.tenders.models import RoundStatus, SelectionRound


def test_demo_awarded_round_is_publicised_and_loads_once(demo, db):
    assert db.session.scalar(sa.select(SelectionRound.id).where(SelectionRound.name == AWARDED_ROUND_NAME)) is None
    assert load_demo_awarded_round() == 1
    db.session.commit()
    rnd = db.session.scalar(sa.select(SelectionRound).where(SelectionRound.name == AWARDED_ROUND_NAME))
    assert rnd.status is RoundStatus.PUBLICISED
    assert adopted_run(rnd).solver_status == "optimal"
    awards = service.awards_of(rnd)
    assert sorted(a.lot.code for a in awards) == sorted(code for _c, code, *_rest in AWARDED_LOTS)
    for group in service.by_county(rnd):
        assert len({a.insurer_id for a in group.awards}) == 2  # two lots, the county minimum of two insurers
        assert [b.rank for b in group.backups] == [1, 2]  # the other two bidders
    assert service.notice_is_open(service.current_notice(rnd))
    # the published 35 % cap admitted no allocation; the run under the approved 45 % was adopted
    first, adopted = sorted(runs_of(rnd), key=lambda r: r.number)
    assert first.solver_status == "infeasible" and adopted.adopted
    (departure,) = departures_used(rnd)
    assert departure.approved_cap_pct == 45 and departure.adopted_run_id == adopted.id
    assert "45%" in adopted.label and departure.doc_no in adopted.label
    assert load_demo_awarded_round() == 0
    assert db.session.scalar(sa.select(sa.func.count(SelectionRound.id))) == 1


def test_demo_holidays_load_once(demo, db):
    from agri_insurance.awards.demo import DEMO_HOLIDAYS, load_demo_holidays
    from agri_insurance.awards.models import Holiday

    assert load_demo_holidays() == len(DEMO_HOLIDAYS)
    assert load_demo_holidays() == 0
    assert sorted(db.session.scalars(sa.select(Holiday.day))) == sorted(day for day, _name in DEMO_HOLIDAYS)


def test_demo_finalised_round_has_numbered_notices_and_loads_once(demo, db):
    from agri_insurance.awards.demo import FINALISED_CONTROL, FINALISED_ROUND_NAME, load_demo_finalised_round
    from agri_insurance.awards.models import ObjectionStatus
    from agri_insurance.evaluation.service import eligibility_checks
    from tests.tenders.factories import user

    assert load_demo_finalised_round() == 1
    db.session.commit()
    rnd = db.session.scalar(sa.select(SelectionRound).where(SelectionRound.name == FINALISED_ROUND_NAME))
    assert rnd.status is RoundStatus.AWARDED and service.result_final(rnd)
    decided = {c.bid.insurer.short_name: c.control_decision.value for c in eligibility_checks(rnd) if c.flagged}
    assert decided == {short: decision for short, (decision, _note) in FINALISED_CONTROL.items()}
    (objection,) = service.objections_of(rnd, user("city_agri"))
    assert objection.status is ObjectionStatus.REJECTED
    numbers = service.notice_numbers(rnd)
    recipients = service.notice_recipients(rnd)
    assert len(numbers) == len(recipients) == 5  # 灵山 was excluded, but bid: it gets a non-award notice too
    assert {r.insurer.short_name for r in recipients if r.kind == "non_award"} >= {"灵山财险", objection.insurer.short_name}
    year = service.issue_date(rnd).year
    assert sorted(n.number for n in numbers.values()) == sorted(f"饶农险遴〔{year}〕{i}号" for i in range(1, 6))
    assert load_demo_finalised_round() == 0
