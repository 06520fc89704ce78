"""Factories for evaluation tests: a round in evaluation with bids of several demo insurers, a panel, scores."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa
import time_machine

from agri_insurance.auth.models import Role, User
from agri_insurance.clock import utcnow
from agri_insurance.extensions import db as _db
from agri_insurance.reference.models import Insurer
from tests.factories import make_user
from tests.tenders.factories import make_bid, make_round, user


def insurer(short: str) -> Insurer:
    return _db.session.scalar(sa.select(Insurer).where(Insurer.short_name == short))


def insurer_user(short: str) -> str:
    """The username of an insurer user of the demo insurer `short` (created when missing)."""
    ins = insurer(short)
    existing = _db.session.scalar(sa.select(User.username).where(User.insurer_id == ins.id).order_by(User.id))
    return existing or make_user(f"ins{ins.id}", Role.INSURER, insurer=ins).username


def expert(username: str) -> User:
    return user(username) or make_user(username, Role.EXPERT)


def make_evaluation_round(bids: dict[str, dict], *, counties=("361128", "361130"), lots=None, start=True,
                          scheme_edit=None):
    """A round whose bids were opened yesterday and which is in evaluation (unless start=False).

    `bids`: insurer short name → overrides of `bid_data` (parent company defaults to the insurer's own, no
    penalties). `lots`: insurer short name → lot codes bid on (default: all). `scheme_edit(rnd)` runs on the
    draft round before it is published."""
    from agri_insurance.bids import service as bids_service
    from agri_insurance.tenders import service as tenders

    now = utcnow()
    city = user("city_agri")
    made = {}
    with time_machine.travel(now - timedelta(days=10), tick=False):
        rnd = make_round(counties=counties, deadline=now - timedelta(days=2), opening=now - timedelta(days=2),
                         actor=city)
        if scheme_edit is not None:
            scheme_edit(rnd)
        tenders.publish_round(rnd, city)
        _db.session.commit()
        for short, overrides in bids.items():
            data = {"parent_company": insurer(short).parent_company, "penalties": [], **overrides}
            codes = (lots or {}).get(short)
            made[short] = make_bid(rnd, insurer_user(short), lot_codes=codes, **data)
    with time_machine.travel(now - timedelta(days=1), tick=False):
        bids_service.open_bids(rnd, city)
        if start:
            tenders.start_evaluation(rnd, city, len(bids_service.opened_bids(rnd)))
        _db.session.commit()
    return rnd, made


def panel_ready(rnd, experts=("expert",), decisions=None):
    """Check eligibility, decide common-control flags (`decisions`: short → ControlDecision), assign the experts
    and start the scoring. Returns the panel members by username."""
    from agri_insurance.evaluation import service

    city = user("city_agri")
    checks = service.check_eligibility(rnd, city)
    for check in checks:
        if check.flagged:
            decision = (decisions or {}).get(check.bid.insurer.short_name)
            if decision is not None:
                service.decide_common_control(check, decision, "经审查作出决定", city)
    members = {name: service.assign_expert(rnd, expert(name), city) for name in experts}
    service.start_scoring(rnd, city)
    _db.session.commit()
    return members


def score_all(rnd, member, points: dict[str, dict[str, str]] | None = None, default: str = "3", submit=True):
    """`member` declares no conflict and scores every eligible bid: points[short][criterion code], else `default`
    (capped at the criterion's maximum)."""
    from agri_insurance.evaluation import service

    actor = member.user
    if member.declared_at is None:
        service.declare_conflicts(member, [], "", actor)
    criteria = service.subjective_criteria(rnd)
    for bid in service.bids_to_score(member):
        given = (points or {}).get(bid.insurer.short_name, {})
        service.save_scores(member, bid, {
            c.id: (min(Decimal(given.get(c.code, default)), c.max_points), None) for c in criteria}, actor)
    if submit:
        service.submit_scores(member, actor)
    _db.session.commit()


def access_objects() -> dict:
    """For the access table and the sealing walk (see tests/test_access.py `_evaluation_objects`)."""
    from agri_insurance.bids.service import opened_bids
    from agri_insurance.evaluation import service
    from agri_insurance.evaluation.models import Criterion, EligibilityCheck, PanelMember
    from agri_insurance.tenders.models import SelectionRound

    rnd = _db.session.scalar(sa.select(SelectionRound).order_by(SelectionRound.id))
    member = _db.session.scalar(sa.select(PanelMember).order_by(PanelMember.id))
    if member is None:
        member = service.assign_expert(rnd, user("expert"), user("city_agri"))
        _db.session.commit()
    criterion = _db.session.scalar(sa.select(Criterion.id).order_by(Criterion.id))
    if criterion is None:
        service.scheme_for(rnd)
        _db.session.commit()
        criterion = _db.session.scalar(sa.select(Criterion.id).order_by(Criterion.id))
    check = _db.session.scalar(sa.select(EligibilityCheck.id).order_by(EligibilityCheck.id))
    bids = opened_bids(rnd)
    if check is None and bids:
        row = EligibilityCheck(round_id=rnd.id, bid_id=bids[0].id, failures=[], control_group="测试控股公司")
        _db.session.add(row)
        _db.session.commit()
        check = row.id
    return {"criterion": criterion, "member": member.id, "check": check or 0}


def let_the_expert_read() -> None:
    """For the access table: the first round (once its bids are opened) in scoring, the demo expert on its panel
    and declared free of conflicts, so it reads the bid documents it may score (a sealed round stays as it is)."""
    from agri_insurance.bids.service import opened_bids
    from agri_insurance.evaluation import service
    from agri_insurance.tenders import service as tenders
    from agri_insurance.tenders.models import RoundStatus, SelectionRound

    rnd = _db.session.scalar(sa.select(SelectionRound).order_by(SelectionRound.id))
    if not rnd.bids_opened:
        return
    city, reader = user("city_agri"), user("expert")
    if rnd.status is RoundStatus.OPENED:
        tenders.start_evaluation(rnd, city, len(opened_bids(rnd)))
    member = service.member_of(rnd, reader) or service.assign_expert(rnd, reader, city)
    panel = service.panel_of(rnd)
    if panel.checking:
        service.check_eligibility(rnd, city)
        service.start_scoring(rnd, city)
    if member.declared_at is None:
        service.declare_conflicts(member, [], "", reader)
    _db.session.commit()
