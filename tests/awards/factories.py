"""Factories for awards: a round with opened bids of three insurers, awards built directly (as an adopted run
would create them), publication, finalisation, objections."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa
import time_machine

from agri_insurance.clock import utcnow
from agri_insurance.extensions import db as _db
from tests.tenders.factories import PDF_BYTES, make_bid, make_round, user

OWN = "insurer"


def bidder_usernames(n: int = 3) -> list[str]:
    """The demo insurer's user and users of (n - 1) other demo insurers (created when missing)."""
    from agri_insurance.auth.models import Role, User
    from agri_insurance.reference.models import Insurer
    from tests.factories import make_user

    own = user(OWN)
    names = [OWN]
    for insurer in _db.session.scalars(sa.select(Insurer).where(Insurer.id != own.insurer_id).order_by(Insurer.id)):
        if len(names) == n:
            break
        username = f"bidder{insurer.id}"
        if _db.session.scalar(sa.select(User.id).where(User.username == username)) is None:
            make_user(username, Role.INSURER, insurer=insurer)
        names.append(username)
    return names


def make_evaluation_round(bidders: int = 3, name: str = "2029–2031年度遴选（中标测试）", term_start_year: int = 2029,
                          lots_per_county: int = 2, drafts: int = 0, withdrawn: int = 0):
    """A round in evaluation whose bids (one per bidder, on every lot) were opened two days ago. `drafts` more
    insurers left their bid unsubmitted, then `withdrawn` more submitted theirs and withdrew it, before the
    deadline."""
    from agri_insurance.bids import service as bids
    from agri_insurance.tenders import service as tenders
    from agri_insurance.tenders.models import RoundStatus

    now = utcnow()
    with time_machine.travel(now - timedelta(days=20), tick=False):
        rnd = make_round(deadline=now - timedelta(days=3), opening=now - timedelta(days=3), publish=True, name=name,
                         term_start_year=term_start_year, lots_per_county=lots_per_county)
        names = bidder_usernames(bidders + drafts + withdrawn)
        for username in names[:bidders]:
            make_bid(rnd, username, attachment=False)
        for username in names[bidders:bidders + drafts]:
            make_bid(rnd, username, submit=False, attachment=False)
        for username in names[bidders + drafts:]:
            bids.withdraw_bid(make_bid(rnd, username, attachment=False), user(username))
            _db.session.commit()
    with time_machine.travel(now - timedelta(days=2), tick=False):
        bids.open_bids(rnd, user("city_agri"))
        tenders.transition(rnd, RoundStatus.EVALUATION, user("city_agri"), "test: evaluation")
        _db.session.commit()
    return rnd


def insurer_of(username: str):
    return user(username).insurer


def make_awarded_round(**kwargs):
    """A round in `allocated` with awards: in each county lot 1 → the demo insurer, lot 2 → the second bidder;
    the third bidder is every county's first backup."""
    return make_awards(make_evaluation_round(**kwargs))


def make_awards(rnd):
    """The awards of `make_awarded_round` for a round in evaluation (again after an upheld objection)."""
    from agri_insurance.awards import service

    names = bidder_usernames(3)
    a, b, c = (insurer_of(n) for n in names)
    winners = {}
    for lot in rnd.lots:
        winners[lot.id] = (a.id, Decimal("90.5")) if lot.code.endswith("-1") else (b.id, Decimal("84.25"))
    ranking = [(a.id, Decimal("90.5")), (c.id, Decimal("86")), (b.id, Decimal("84.25"))]
    service.create_awards(rnd, None, winners, {lot.region_id: ranking for lot in rnd.lots}, user("city_agri"))
    _db.session.commit()
    return rnd


def publish(rnd, days_ago: int = 0):
    from agri_insurance.awards import service

    with time_machine.travel(utcnow() - timedelta(days=days_ago), tick=False):
        notice = service.publish(rnd, user("city_agri"))
        _db.session.commit()
    return notice


def file_objection(rnd, username: str = OWN, days_ago: int = 0, subject: str = "对婺源县标段结果有异议"):
    from agri_insurance import storage
    from agri_insurance.awards import service

    actor = user(username)
    with time_machine.travel(utcnow() - timedelta(days=days_ago), tick=False):
        document = storage.save_bytes(PDF_BYTES, "质疑函.pdf", actor)
        objection = service.file_objection(rnd, actor.insurer_id, subject, "得分计算有误，请复核。", document, actor)
        _db.session.commit()
    return objection


def make_finalised_round():
    """Published three weeks ago (the period is over), one objection answered, then finalised."""
    from agri_insurance.awards import service

    rnd = make_awarded_round(name="2032–2034年度遴选（已确定中标）", term_start_year=2032)
    publish(rnd, days_ago=21)
    objection = file_objection(rnd, days_ago=20)
    service.answer_objection(objection, False, "经复核，评分无误，维持结果。", user("city_agri"))
    service.finalise(rnd, user("city_agri"))
    _db.session.commit()
    return rnd


def make_run(rnd, status: str = "done"):
    """A finished allocation run of `rnd` with a tiny scenario and result (no solver)."""
    from agri_insurance.allocation.models import AllocationRun, RunSource, RunStatus

    lot = rnd.lots[0]
    scenario = {"format": "agri-insurance-allocation-scenario/1", "round": {"id": f"SR-{rnd.id}", "name": rnd.name},
                "settings": {"min_insurers_per_county": 1, "max_insurers_per_county": 3, "market_share_cap": None,
                             "time_limit_s": 10, "mip_gap": "0"},
                "counties": [{"id": lot.region.code, "name": lot.region.name}],
                "lots": [{"id": lot.code, "county_id": lot.region.code, "name": lot.name, "products": [],
                          "expected_premium": "1000000.00"}],
                "insurers": [{"id": "X", "name": "示例财险"}], "bids": [{"insurer_id": "X", "lot_id": lot.code,
                                                                    "score": "80"}],
                "fixed": [], "forbidden": []}
    result = {"format": "agri-insurance-allocation-result/1", "status": "optimal", "solver": "test",
              "objective": "80000000.00", "bound": "80000000.00", "gap": "0", "solve_seconds": 0.01,
              "awards": [{"lot_id": lot.code, "insurer_id": "X"}], "counties": [], "diagnostics": [],
              "baseline": {"method": "rank_order_draft", "feasible": True, "objective": "80000000.00"}}
    number = len(_db.session.scalars(sa.select(AllocationRun.id).where(AllocationRun.round_id == rnd.id)).all()) + 1
    run = AllocationRun(round_id=rnd.id, number=number, label="测试方案", source=RunSource.DATABASE, changes={},
                        scenario=scenario, result=result, status=RunStatus(status), solver_status="optimal",
                        objective=Decimal("80000000.00"))
    _db.session.add(run)
    _db.session.commit()
    return run


def make_used_departure(rnd):
    """A rule departure (market-share cap 30 % → 40 %) that `rnd`'s adopted run rests on, written directly as
    adoption leaves it (the round is past the stage where the service records one)."""
    from agri_insurance import storage
    from agri_insurance.allocation.models import DepartureBasis, RuleDeparture

    run = make_run(rnd)
    run.adopted_at = utcnow()
    departure = RuleDeparture(round_id=rnd.id, published_cap_pct=Decimal("30"), approved_cap_pct=Decimal("40"),
                              basis=DepartureBasis.COLLECTIVE, doc_no="饶农局党组会〔2026〕7号",
                              decided_on=date(2026, 1, 5), reason="按公布的市场份额上限无法分配。",
                              document=storage.save_bytes(PDF_BYTES, "纪要.pdf", None), adopted_run_id=run.id)
    _db.session.add(departure)
    _db.session.commit()
    return departure


def access_objects() -> dict:
    """For the access table: a run of the first round, a finalised round, the demo insurer's award notice, an
    objection, a rule departure the finalised result rests on and a holiday (created once per test)."""
    from agri_insurance.allocation.models import AllocationRun, RuleDeparture
    from agri_insurance.awards import exports
    from agri_insurance.awards.models import Award, Holiday, Objection
    from agri_insurance.tenders.models import SelectionRound

    first_round = _db.session.scalar(sa.select(SelectionRound).order_by(SelectionRound.id))
    run = _db.session.scalar(sa.select(AllocationRun.id).where(AllocationRun.round_id == first_round.id))
    if run is None:
        run = make_run(first_round).id
    award_round_id = _db.session.scalar(sa.select(Award.round_id).order_by(Award.id))
    if award_round_id is None:
        award_round_id = make_finalised_round().id
    award_round = _db.session.get(SelectionRound, award_round_id)
    departure = _db.session.scalar(sa.select(RuleDeparture.id).where(RuleDeparture.round_id == award_round_id))
    if departure is None:
        departure = make_used_departure(award_round).id
    own = insurer_of(OWN)
    notice = exports.notice_for(award_round, own.name)
    holiday = _db.session.scalar(sa.select(Holiday.id))
    if holiday is None:
        holiday = Holiday(day=date(2030, 10, 1), name="国庆节")
        _db.session.add(holiday)
        _db.session.commit()
        holiday = holiday.id
    return {"run": run, "award_round": award_round_id, "award_notice": notice.ref if notice else "none",
            "objection": _db.session.scalar(sa.select(Objection.id).order_by(Objection.id)), "holiday": holiday,
            "departure": departure, **_change_objects(award_round)}


def _change_objects(award_round) -> dict:
    """An award of the finalised round and a termination of it still waiting for its replacement (a row: the
    replacement's rules are tested in tests/awards/test_replacement.py)."""
    from agri_insurance import storage
    from agri_insurance.awards.models import Award, AwardChange

    award = _db.session.scalar(sa.select(Award).where(Award.round_id == award_round.id).order_by(Award.id))
    change = _db.session.scalar(sa.select(AwardChange.id).where(AwardChange.award_id == award.id))
    if change is None:
        city = user("city_agri")
        row = AwardChange(round_id=award_round.id, award_id=award.id, lot_id=award.lot_id,
                          old_insurer_id=award.insurer_id, method="backup", reason="严重违规经营",
                          doc_no="饶农字〔2033〕1号", document=storage.save_bytes(PDF_BYTES, "终止决定.pdf", city),
                          effective_on=date(2033, 7, 1), terminated_by_id=city.id)
        _db.session.add(row)
        _db.session.commit()
        change = row.id
    return {"award": award.id, "award_change": change}
