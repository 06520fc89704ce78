"""Award rules: awards from an adopted run, backup underwriters, the public notice (公示), objections (质疑)
and finalisation. Every function checks, changes and audits; none commits (the caller does)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from agri_insurance import clock
from agri_insurance.actions import Action, Actions
from agri_insurance.allocation import service as allocation
from agri_insurance.allocation.models import AllocationRun, RuleDeparture
from agri_insurance.audit import service as audit
from agri_insurance.awards import calendar
from agri_insurance.awards.models import (
    OBJECTION_STATUS_LABELS,
    PUBLISHED_STATES,
    Award,
    AwardChange,
    BackupUnderwriter,
    NoticeNumber,
    Objection,
    ObjectionStatus,
    PublicNotice,
)
from agri_insurance.bids.models import Bid, BidStatus
from agri_insurance.clock import utcnow
from agri_insurance.errors import require
from agri_insurance.extensions import db, lock_for_update
from agri_insurance.i18n import in_record_language
from agri_insurance.reference.models import Insurer
from agri_insurance.roles import Role
from agri_insurance.subsidies.models import SubsidyClaim
from agri_insurance.subsidies.models import UnderwritingAssignment as UA
from agri_insurance.tenders import service as tenders
from agri_insurance.tenders.models import Lot, RoundStatus, SelectionRound

S = RoundStatus
ASSIGNMENT_SOURCE = "award"
FINAL_STATES = (S.AWARDED, S.IN_FORCE, S.EXPIRED)  # the result is final: notices are issued, numbered


# --- reading ----------------------------------------------------------------------------------------

def awards_of(rnd: SelectionRound) -> list[Award]:
    return list(db.session.scalars(sa.select(Award).join(Lot, Award.lot_id == Lot.id)
                                   .where(Award.round_id == rnd.id).order_by(Lot.code)))


def backups_of(rnd: SelectionRound) -> dict[int, list[BackupUnderwriter]]:
    """{region_id: backups in rank order}."""
    rows = db.session.scalars(sa.select(BackupUnderwriter).where(BackupUnderwriter.round_id == rnd.id)
                              .order_by(BackupUnderwriter.region_id, BackupUnderwriter.rank))
    result: dict[int, list[BackupUnderwriter]] = {}
    for row in rows:
        result.setdefault(row.region_id, []).append(row)
    return result


@dataclass
class CountyAwards:
    region: object
    awards: list[Award]
    backups: list[BackupUnderwriter]

    @property
    def insurers(self) -> list:
        seen = {a.insurer_id: a.insurer for a in self.awards}
        return sorted(seen.values(), key=lambda i: i.name)


def by_county(rnd: SelectionRound) -> list[CountyAwards]:
    awards = awards_of(rnd)
    backups = backups_of(rnd)
    groups: dict[int, CountyAwards] = {}
    for award in awards:
        region = award.lot.region
        groups.setdefault(region.id, CountyAwards(region, [], backups.get(region.id, []))).awards.append(award)
    return sorted(groups.values(), key=lambda g: g.region.code)


def current_notice(rnd: SelectionRound) -> PublicNotice | None:
    return db.session.scalar(sa.select(PublicNotice).where(PublicNotice.round_id == rnd.id)
                             .order_by(PublicNotice.id.desc()).limit(1))


def notice_ends_on(rnd: SelectionRound) -> date | None:
    """Last day of the public notice: the recorded notice's (working days less the listed holidays), else
    computed on the same calendar from the day the round was publicised."""
    if rnd.publicised_at is None:
        return None
    notice = current_notice(rnd)
    if notice is not None:
        return notice.ends_on
    return calendar.notice_end(clock.local_date(rnd.publicised_at), rnd.notice_working_days)


def require_notice_over(rnd: SelectionRound) -> None:
    """No final result while the public notice runs (the round's move to awarded waits for this)."""
    ends = notice_ends_on(rnd)
    require(ends is not None and clock.local_today() > ends,
            _("公示期（%(n)s个工作日）尚未结束", n=rnd.notice_working_days))


def notice_is_open(notice: PublicNotice | None) -> bool:
    return notice is not None and notice.closed_at is None and clock.local_today() <= notice.ends_on


def objections_of(rnd: SelectionRound, user) -> list[Objection]:
    return list(db.session.scalars(sa.select(Objection).where(Objection.round_id == rnd.id,
                                                              Objection.visible_to(user))
                                   .order_by(Objection.id)))


def pending_objections(rnd: SelectionRound) -> int:
    return db.session.scalar(sa.select(sa.func.count(Objection.id)).where(
        Objection.round_id == rnd.id, Objection.status == ObjectionStatus.PENDING)) or 0


def bidders(rnd: SelectionRound) -> list:
    """Insurers with a submitted bid in the round (those to whom a notice is sent)."""
    return [b.insurer for b in db.session.scalars(
        sa.select(Bid).where(Bid.round_id == rnd.id, Bid.status == BidStatus.SUBMITTED))]


def is_published(rnd: SelectionRound) -> bool:
    return rnd.status in PUBLISHED_STATES and bool(awards_of(rnd))



# --- what is waiting (the home page's to-do lists) ---------------------------------------------------------

def pending_objection_counts() -> dict[int, int]:
    """{round id: objections waiting for the bureau's answer}, for every round that has some. One query."""
    return dict(db.session.execute(sa.select(Objection.round_id, sa.func.count(Objection.id))
                                   .where(Objection.status == ObjectionStatus.PENDING)
                                   .group_by(Objection.round_id)).all())


def notices_ended(round_ids: list[int], today: date | None = None) -> dict[int, date]:
    """{round id: last day of its notice} for those of the rounds (publicised) whose running public notice ended
    before `today`: the result may be finalised once every objection is answered (`finalise`). One query."""
    if not round_ids:
        return {}
    today = today or clock.local_today()
    latest = sa.select(sa.func.max(PublicNotice.id)).where(PublicNotice.round_id.in_(round_ids)) \
        .group_by(PublicNotice.round_id)
    return dict(db.session.execute(sa.select(PublicNotice.round_id, PublicNotice.ends_on).where(
        PublicNotice.id.in_(latest), PublicNotice.closed_at.is_(None), PublicNotice.ends_on < today)).all())


def awards_won(insurer_id: int | None) -> list[tuple[SelectionRound, int]]:
    """The rounds whose final result (awarded, the term not yet begun) gives the insurer lots, with how many: its
    award notice is ready to download. One query."""
    if insurer_id is None:
        return []
    return [(rnd, lots) for rnd, lots in db.session.execute(
        sa.select(SelectionRound, sa.func.count(Award.id)).join(Award, Award.round_id == SelectionRound.id)
        .where(Award.insurer_id == insurer_id, SelectionRound.status == S.AWARDED)
        .group_by(SelectionRound.id).order_by(SelectionRound.id))]


def result_final(rnd: SelectionRound) -> bool:
    """The notice period is over and the result finalised: the notices are issued (numbered, no longer drafts)."""
    return rnd.status in FINAL_STATES


def departures_used(rnd: SelectionRound) -> list[RuleDeparture]:
    """The approved departures from the round's rules its adopted allocation rests on (shown with the result)."""
    return allocation.departures_used(rnd)


def departure_text(departure: RuleDeparture) -> str:
    return allocation.departure_text(departure)


def objection_deadline(notice: PublicNotice | None) -> date | None:
    """The last day an objection is accepted: the last working day of the notice period (until the day ends)."""
    return notice.ends_on if notice is not None else None


# --- who gets which notice, and its number ------------------------------------------------------------

@dataclass
class Recipient:
    kind: str      # "award" (an insurer that won a lot) or "non_award" (another bidder)
    insurer: object
    lots: list     # the lots won, or the lots bid on


def notice_recipients(rnd: SelectionRound) -> list[Recipient]:
    """One notice per bidder: an award notice for each insurer that won a lot, then a non-award notice for each
    other insurer with a submitted bid, each group by insurer name (the order notices are listed and numbered).
    The notices are those of the result as finalised: a mid-term change of an award (replacement.py) is a decision
    of its own, with its own document, and changes no notice (the award goes by its first underwriter)."""
    first_holder = dict(db.session.execute(sa.select(AwardChange.award_id, AwardChange.old_insurer_id).where(
        AwardChange.round_id == rnd.id).order_by(AwardChange.id.desc())).all())
    won: dict[int, list] = {}
    insurers = {}
    for award in awards_of(rnd):
        insurer_id = first_holder.get(award.id, award.insurer_id)
        won.setdefault(insurer_id, []).append(award.lot)
        insurers[insurer_id] = award.insurer if insurer_id == award.insurer_id else db.session.get(Insurer, insurer_id)
    others = [b for b in db.session.scalars(sa.select(Bid).where(Bid.round_id == rnd.id,
                                                                 Bid.status == BidStatus.SUBMITTED))
              if b.insurer_id not in won]
    result = [Recipient("award", insurers[insurer_id], sorted(lots, key=lambda lot: lot.code))
              for insurer_id, lots in sorted(won.items(), key=lambda kv: insurers[kv[0]].name)]
    result += [Recipient("non_award", bid.insurer, list(bid.lots)) for bid in sorted(others, key=lambda b: b.insurer.name)]
    return result


def notice_number_text(prefix: str, year: int, sequence: int) -> str:
    """A document number in the bureau's convention: 饶农险遴〔2026〕3号."""
    return f"{prefix}〔{year}〕{sequence}号"


def notice_numbers(rnd: SelectionRound) -> dict[int, NoticeNumber]:
    """{insurer id: its notice's number}: empty until the result is final (and for rounds finalised before
    notices were numbered)."""
    return {n.insurer_id: n for n in db.session.scalars(sa.select(NoticeNumber).where(NoticeNumber.round_id == rnd.id))}


# an arbitrary constant: the PostgreSQL advisory lock that queues the numbering of notices
_NUMBERING_LOCK = 0x4E4F5449


def _assign_notice_numbers(rnd: SelectionRound, actor) -> list[NoticeNumber]:
    """Number the round's notices, once, as the result becomes final: the prefix setting, the year of
    finalisation, the next sequence numbers of that year. Two rounds finalised at the same moment queue (an
    advisory lock on PostgreSQL; SQLite's write lock, already held by the round's status change), and the unique
    (year, sequence) constraint refuses a number given twice."""
    if notice_numbers(rnd):
        return []
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _NUMBERING_LOCK})
    year = clock.local_today().year
    last = db.session.scalar(sa.select(sa.func.max(NoticeNumber.sequence)).where(NoticeNumber.year == year)) or 0
    prefix = current_app.config["NOTICE_NUMBER_PREFIX"]
    numbers = []
    for recipient in notice_recipients(rnd):
        last += 1
        numbers.append(NoticeNumber(round_id=rnd.id, insurer_id=recipient.insurer.id, kind=recipient.kind, year=year,
                                    sequence=last, number=notice_number_text(prefix, year, last)))
    db.session.add_all(numbers)
    db.session.flush()
    if numbers:
        audit.record(actor, "notices.numbered", rnd,
                     _l("通知书编号：%(first)s 至 %(last)s，共%(n)s份", first=numbers[0].number, last=numbers[-1].number,
                        n=len(numbers)),
                     round_id=rnd.id, numbers={str(n.insurer_id): n.number for n in numbers})
    return numbers


# --- what a user may do now ------------------------------------------------------------------------------

BUREAU = frozenset({Role.ADMIN, Role.CITY_AGRI})
MANAGERS = frozenset({Role.CITY_AGRI})


def result_visible(rnd: SelectionRound, user) -> bool:
    """The bureau sees the result from the adoption on; everyone else once it is published."""
    return user.role in BUREAU or rnd.status in PUBLISHED_STATES


def result_visible_clause(user):
    """`result_visible` as a WHERE clause on rounds, for the list of results."""
    return sa.true() if user.role in BUREAU else SelectionRound.status.in_(PUBLISHED_STATES)


def is_bidder(rnd: SelectionRound, user) -> bool:
    return user.role is Role.INSURER and any(i.id == user.insurer_id for i in bidders(rnd))


def available_actions(rnd: SelectionRound, user, notice: PublicNotice | None = None) -> Actions:
    """What `user` may do on the round's result page now (`notice`: the current public notice, if read)."""
    actions: list[Action] = []
    if user.role in BUREAU:
        actions += [Action("allocation", _l("分配方案"), "allocation.round_runs", {"round_id": rnd.id}, order=10),
                    Action("download_all", _l("全部通知书（zip）"), "awards.notices_zip", {"round_id": rnd.id},
                           style="outline-primary", element_id="notices-zip", order=200)]
    if user.role in MANAGERS:
        if rnd.status is S.ALLOCATED:
            actions.append(Action("publish", _l("公示中标结果"), "awards.publish", {"round_id": rnd.id}, post=True,
                                  style="success", element_id="publish-awards", order=20))
        if rnd.status is S.PUBLICISED:
            waiting = notice_is_open(notice) or bool(pending_objections(rnd))
            actions.append(Action("finalise", _l("公示期满，确定中标"), "awards.finalise", {"round_id": rnd.id},
                                  post=True, style="success", element_id="finalise-awards", order=20,
                                  disabled=waiting))
        actions.append(Action("answer_objections", _l("提交答复"), "awards.round_awards", {"round_id": rnd.id},
                              order=300))
    if rnd.status is S.PUBLICISED and notice_is_open(notice) and is_bidder(rnd, user):
        actions.append(Action("object", _l("提出质疑"), "awards.new_objection", {"round_id": rnd.id},
                              style="warning", order=210))
    return Actions(actions)


# --- creating awards (adoption) --------------------------------------------------------------------

def create_awards(rnd: SelectionRound, run, winners: dict[int, tuple[int, Decimal | None]],
                  rankings: dict[int, list[tuple[int, Decimal | None]]], actor) -> list[Award]:
    """The adopted run's awards: `winners` {lot_id: (insurer_id, score)}; `rankings` {region_id: [(insurer_id,
    score)] best first, eligible only} gives the backup underwriters. Moves the round to allocated. The winners
    may claim subsidies only once the result is final (see `finalise`)."""
    require(rnd.status is S.EVALUATION, _("只有评审中的轮次可以确定分配方案"))
    require(winners, _("分配方案没有任何中标标段"))
    existing = db.session.scalar(sa.select(sa.func.count(Award.id)).where(Award.round_id == rnd.id))
    require(not existing, _("本轮已有中标结果，不能重复确定"))
    lots = {lot.id: lot for lot in rnd.lots}
    require(set(winners) <= set(lots), _("分配方案含有不属于本轮的标段"))
    awards = []
    for lot_id, (insurer_id, score) in sorted(winners.items(), key=lambda kv: lots[kv[0]].code):
        award = Award(round_id=rnd.id, lot_id=lot_id, insurer_id=insurer_id, run_id=getattr(run, "id", None),
                      score=score)
        db.session.add(award)
        awards.append(award)
    db.session.flush()
    awarded_in: dict[int, set[int]] = {}
    for award in awards:
        awarded_in.setdefault(lots[award.lot_id].region_id, set()).add(award.insurer_id)
    for region_id, winners_here in sorted(awarded_in.items()):
        rank = 0
        for insurer_id, score in rankings.get(region_id, []):
            if insurer_id in winners_here:
                continue
            rank += 1
            db.session.add(BackupUnderwriter(round_id=rnd.id, region_id=region_id, insurer_id=insurer_id, rank=rank,
                                             score=score))
    db.session.flush()
    tenders.mark_allocated(rnd, actor)
    audit.record(actor, "awards.created", rnd, _l("确定分配方案：%(name)s，%(n)s个标段中标", name=rnd.name, n=len(awards)),
                 run_id=getattr(run, "id", None),
                 awards={lots[a.lot_id].code: a.insurer_id for a in awards})
    return awards


def _assignment_note(rnd: SelectionRound) -> str:
    return f"遴选轮次#{rnd.id} 中标"


def _add_assignments(rnd: SelectionRound, awards: list[Award]) -> int:
    """Underwriting assignments (source "award") for the years of the term that no assignment of the same
    insurer, county and product covers yet (one recorded by hand may cover some of them). Returns how many."""
    term = range(rnd.term_start_year, rnd.term_end_year + 1)
    added = 0
    for insurer_id, region_id, product_id in sorted({(a.insurer_id, a.lot.region_id, p.id)
                                                      for a in awards for p in a.lot.products}):
        covered = set()
        for start, end in db.session.execute(sa.select(UA.start_year, UA.end_year).where(
                UA.insurer_id == insurer_id, UA.region_id == region_id, UA.product_id == product_id,
                UA.start_year <= term[-1], UA.end_year >= term[0])):
            covered.update(range(start, end + 1))
        missing = [year for year in term if year not in covered]
        for span in _consecutive(missing):
            db.session.add(UA(insurer_id=insurer_id, region_id=region_id, product_id=product_id,
                              start_year=span[0], end_year=span[-1], source=ASSIGNMENT_SOURCE,
                              notes=_assignment_note(rnd)))
            added += 1
    db.session.flush()
    return added


def _consecutive(years: list[int]) -> list[list[int]]:
    spans: list[list[int]] = []
    for year in years:
        if spans and spans[-1][-1] == year - 1:
            spans[-1].append(year)
        else:
            spans.append([year])
    return spans


def _revoke(rnd: SelectionRound, reason: str, actor) -> None:
    """Undo an adoption: awards and backups go; the run is marked revoked. Assignments are made when the result
    is final, after which a round can no longer be withdrawn; those a round got at its adoption before that
    rule (older data) go too, unless a claim already rests on them."""
    assignments = db.session.scalars(sa.select(UA).where(UA.source == ASSIGNMENT_SOURCE,
                                                         UA.notes == _assignment_note(rnd))).all()
    for a in assignments:
        used = db.session.scalar(sa.select(SubsidyClaim.id).where(
            SubsidyClaim.insurer_id == a.insurer_id, SubsidyClaim.region_id == a.region_id,
            SubsidyClaim.product_id == a.product_id, SubsidyClaim.year.between(a.start_year, a.end_year)).limit(1))
        require(used is None, _("已有补贴申请依据本轮中标结果，不能撤销"))
        db.session.delete(a)
    db.session.execute(sa.delete(BackupUnderwriter).where(BackupUnderwriter.round_id == rnd.id))
    db.session.execute(sa.delete(Award).where(Award.round_id == rnd.id))
    # the departures the withdrawn result rested on no longer carry a result (their use stays in the audit log)
    db.session.execute(sa.update(RuleDeparture).where(RuleDeparture.round_id == rnd.id)
                       .values(adopted_run_id=None))
    now = utcnow()
    db.session.execute(sa.update(AllocationRun).where(
        AllocationRun.round_id == rnd.id, AllocationRun.adopted_at.is_not(None), AllocationRun.revoked_at.is_(None))
        .values(revoked_at=now, revoke_reason=reason))
    db.session.flush()
    db.session.expire_all()


def withdraw_for_cancellation(rnd: SelectionRound, reason: str, actor) -> None:
    """The round is being cancelled (tenders.cancel_round, same transaction): its result, if any, goes with it
    (see `_withdraw_result`)."""
    with in_record_language():
        answer = _("本轮遴选已取消，中标结果已撤销，质疑不再审查。取消原因：%(reason)s", reason=reason)
        revoke_reason = _("遴选轮次已取消：%(reason)s", reason=reason)
    _withdraw_result(rnd, actor, outcome="cancelled", objection_answer=answer, revoke_reason=revoke_reason,
                     notice_summary=_l("终止公示（遴选轮次已取消）：%(name)s", name=rnd.name),
                     awards_summary=_l("遴选轮次取消，撤销中标结果：%(name)s", name=rnd.name), reason=reason)


def _withdraw_result(rnd: SelectionRound, actor, *, outcome: str, objection_answer: str, revoke_reason: str,
                     notice_summary, awards_summary, **details) -> None:
    """The result goes, each step audited: pending objections are closed unexamined with `objection_answer`,
    the running public notice is closed with `outcome`, and the awards and backups are revoked."""
    now = utcnow()
    pending = db.session.scalars(sa.select(Objection).where(
        Objection.round_id == rnd.id, Objection.status == ObjectionStatus.PENDING).order_by(Objection.id)).all()
    for objection in pending:
        objection.status = ObjectionStatus.CLOSED  # neither upheld nor rejected: it was not examined
        objection.answer = objection_answer
        objection.answered_at = now
        objection.answered_by_id = getattr(actor, "id", None)
        db.session.flush()
        audit.record(actor, "objection.answered", objection,
                     _l("答复质疑：%(subject)s（%(status)s）", subject=objection.subject,
                        status=OBJECTION_STATUS_LABELS[objection.status]),
                     round_id=rnd.id, upheld=False, closed=True, **details)
    notice = current_notice(rnd)
    if notice is not None and notice.closed_at is None:
        notice.closed_at = now
        notice.outcome = outcome
        db.session.flush()
        audit.record(actor, "notice.closed", notice, notice_summary, round_id=rnd.id, outcome=outcome, **details)
    revoked = {a.lot.code: a.insurer_id for a in awards_of(rnd)}
    if revoked:
        _revoke(rnd, revoke_reason, actor)
        audit.record(actor, "awards.revoked", rnd, awards_summary, awards=revoked, **details)


# --- public notice ------------------------------------------------------------------------------------

def publish(rnd: SelectionRound, actor) -> PublicNotice:
    """allocated → publicised: the public notice runs for the round's notice period in working days."""
    require(rnd.status is S.ALLOCATED, _("只有已确定分配方案的轮次可以公示"))
    require(awards_of(rnd), _("本轮没有中标结果，不能公示"))
    run_id = db.session.scalar(sa.select(AllocationRun.id).where(
        AllocationRun.round_id == rnd.id, AllocationRun.adopted_at.is_not(None), AllocationRun.revoked_at.is_(None)))
    tenders.mark_publicised(rnd, actor)
    starts = clock.local_today()
    ends = calendar.notice_end(starts, rnd.notice_working_days)
    notice = PublicNotice(round_id=rnd.id, run_id=run_id, starts_on=starts, ends_on=ends,
                          working_days=rnd.notice_working_days, opened_by_id=getattr(actor, "id", None))
    db.session.add(notice)
    db.session.flush()
    audit.record(actor, "notice.opened", notice,
                 _l("中标结果公示：%(name)s，%(start)s至%(end)s（%(n)s个工作日）", name=rnd.name,
                   start=starts.isoformat(), end=ends.isoformat(), n=rnd.notice_working_days),
                 round_id=rnd.id, starts_on=starts, ends_on=ends)
    return notice


def file_objection(rnd: SelectionRound, insurer_id: int, subject: str, body: str, document, actor) -> Objection:
    """A bidder's written objection with its PDF, accepted while the notice period runs."""
    require(rnd.status is S.PUBLICISED, _("只有公示中的轮次可以提出质疑"))
    notice = current_notice(rnd)
    require(notice_is_open(notice), _("公示期已结束，不再接受质疑"))
    require(any(i.id == insurer_id for i in bidders(rnd)), _("只有本轮投标人可以提出质疑"))
    subject, body = (subject or "").strip(), (body or "").strip()
    require(subject, _("请填写质疑事项"), "subject")
    require(body, _("请填写质疑内容及理由"), "body")
    require(document is not None, _("请上传加盖公章的质疑函（PDF）"), "document")
    lock_for_update(notice)  # a double click: the second request sees the first one's objection
    repeated = db.session.scalar(sa.select(Objection.id).where(
        Objection.notice_id == notice.id, Objection.insurer_id == insurer_id, Objection.subject == subject[:200],
        Objection.body == body))
    require(repeated is None, _("已提交过相同的质疑，请勿重复提交"), "subject")  # a double click, a second tab
    objection = Objection(round_id=rnd.id, notice_id=notice.id, insurer_id=insurer_id, subject=subject[:200],
                          body=body, document=document, filed_by_id=getattr(actor, "id", None))
    db.session.add(objection)
    db.session.flush()
    audit.record(actor, "objection.filed", objection, _l("提出质疑：%(subject)s", subject=objection.subject),
                 round_id=rnd.id, insurer_id=insurer_id, document_sha256=document.sha256)
    return objection


def answer_objection(objection: Objection, upheld: bool, answer: str, actor) -> None:
    """The bureau's written answer. An upheld objection ends the notice and sends the round back to evaluation:
    the awards are withdrawn, the other pending objections closed, and a new run must be adopted and published."""
    # Locked, the round first as every withdrawal of its result does (cancellation too): two answers at once are
    # given one after the other, so a "not upheld" is not written over an upheld one, nor an answer over the
    # closing of the others, and two locks are never taken in opposite orders.
    lock_for_update(objection.round)
    objection = lock_for_update(objection)
    require(objection.status is ObjectionStatus.PENDING, _("该质疑已答复"))
    answer = (answer or "").strip()
    require(answer, _("请填写答复内容"), "answer")
    rnd = objection.round
    if upheld:
        require(rnd.status is S.PUBLICISED, _("只有公示中的轮次可以因质疑成立退回评审"))
    objection.status = ObjectionStatus.UPHELD if upheld else ObjectionStatus.REJECTED
    objection.answer = answer
    objection.answered_at = utcnow()
    objection.answered_by_id = getattr(actor, "id", None)
    db.session.flush()
    audit.record(actor, "objection.answered", objection,
                 _l("答复质疑：%(subject)s（%(status)s）", subject=objection.subject,
                    status=OBJECTION_STATUS_LABELS[objection.status]),
                 round_id=rnd.id, upheld=upheld)
    if upheld:
        with in_record_language():
            others = _("另一质疑（%(subject)s）成立，中标结果已撤销并退回评审，本质疑不再单独审查。",
                       subject=objection.subject)
            revoke_reason = _("质疑成立：%(subject)s", subject=objection.subject)
        _withdraw_result(rnd, actor, outcome="reopened", objection_answer=others, revoke_reason=revoke_reason,
                         notice_summary=_l("终止公示（质疑成立，退回评审）：%(name)s", name=rnd.name),
                         awards_summary=_l("质疑成立，撤销中标结果：%(name)s", name=rnd.name),
                         objection_id=objection.id)
        tenders.transition(rnd, S.EVALUATION, actor, _l("质疑成立，退回评审：%(name)s", name=rnd.name),
                           objection_id=objection.id)


def finalise(rnd: SelectionRound, actor) -> None:
    """publicised → awarded: only after the notice period has ended and every objection has been answered. The
    notices are numbered now, once (see `_assign_notice_numbers`)."""
    require(rnd.status is S.PUBLICISED, _("只有公示中的轮次可以确定中标"))
    notice = current_notice(rnd)
    require(notice is not None and notice.closed_at is None, _("本轮没有进行中的公示"))
    require(clock.local_today() > notice.ends_on,
            _("公示期至%(end)s结束，期满后才能确定中标", end=notice.ends_on.isoformat()))
    pending = pending_objections(rnd)
    require(not pending, _("还有%(n)s件质疑未答复，不能确定中标", n=pending))
    tenders.mark_awarded(rnd, actor)
    notice.closed_at = utcnow()
    notice.outcome = "finalised"
    db.session.flush()
    # From now on the winners may claim subsidies for their lots' counties and products (not before: a result
    # still open to objections must not be acted on, and a withdrawn one must leave nothing behind).
    added = _add_assignments(rnd, awards_of(rnd))
    audit.record(actor, "assignments.created", rnd, _l("确定中标，登记承保资格：%(name)s，%(n)s项", name=rnd.name,
                                                       n=added), round_id=rnd.id)
    _assign_notice_numbers(rnd, actor)


def issue_date(rnd: SelectionRound) -> date:
    """The date on the notices: the day the result was finalised, or today for a draft before that."""
    notice = current_notice(rnd)
    if notice is not None and notice.outcome == "finalised" and notice.closed_at is not None:
        return clock.local_date(notice.closed_at)
    return clock.local_today()
