"""Mid-term exit and replacement (终止 / 替补, rule R13): the city bureau ends an award before its term is over,
with its reason, decision document and effective date, and the lot passes either to a backup underwriter of its
county or to a new allocation run with every other award fixed. The changed result goes through adoption's
checks (`allocation.check_change`: 2–3 underwriters per county unless an exception is approved, capacities and
the market-share cap within what a recorded departure approves), is published on the result pages and in the OCDS
export (an amendment), moves the subsidy assignments from the effective date, and is audited.

The subsidy side: the old underwriter's assignments for the lot's county and products end the day before the
effective date (`ends_on`), the new underwriter's start on it (`starts_on`); `subsidies.service.may_claim` reads
them. The assignment rows are updated in this transaction, and a claim being submitted locks them first
(`subsidies.service.lock_assignments`), so a claim and a change at once have one outcome. Functions check,
change and audit; none commits (the caller does)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from agri_insurance import clock
from agri_insurance.actions import Action, Actions
from agri_insurance.allocation import service as allocation
from agri_insurance.audit import service as audit
from agri_insurance.awards.models import Award, AwardChange, BackupUnderwriter
from agri_insurance.awards.service import _consecutive, awards_of
from agri_insurance.clock import utcnow
from agri_insurance.errors import require
from agri_insurance.extensions import db, lock_for_update
from agri_insurance.roles import Role
from agri_insurance.subsidies.models import UnderwritingAssignment as UA
from agri_insurance.tenders.models import RoundStatus, SelectionRound

S = RoundStatus
CHANGEABLE = (S.AWARDED, S.IN_FORCE)  # the result is final and the term not over
METHODS = ("backup", "run")
CHANGE_SOURCE = "award_change"


# --- reading ----------------------------------------------------------------------------------------

def changes_of(rnd: SelectionRound) -> list[AwardChange]:
    """The round's mid-term changes, oldest first."""
    return list(db.session.scalars(sa.select(AwardChange).where(AwardChange.round_id == rnd.id)
                                   .order_by(AwardChange.id)))


def pending_change(award: Award) -> AwardChange | None:
    """The award's termination still waiting for its replacement (a new run being computed), if any."""
    return db.session.scalar(sa.select(AwardChange).where(AwardChange.award_id == award.id,
                                                          AwardChange.new_insurer_id.is_(None)))


def backup_candidates(award: Award) -> list[BackupUnderwriter]:
    """The county's backup underwriters in rank order that hold no lot of the county now (an earlier change may
    have installed one) and are not the award's own underwriter."""
    holders = {a.insurer_id for a in awards_of(award.round) if a.lot.region_id == award.lot.region_id}
    rows = db.session.scalars(sa.select(BackupUnderwriter).where(
        BackupUnderwriter.round_id == award.round_id, BackupUnderwriter.region_id == award.lot.region_id)
        .order_by(BackupUnderwriter.rank))
    return [b for b in rows if b.insurer_id not in holders]


def available_actions(award: Award, user) -> Actions:
    """The bureau running the round ends an award while the result is final and the term not over."""
    if user.role is not Role.CITY_AGRI or award.round.status not in CHANGEABLE:
        return Actions()
    change = pending_change(award)
    return _award_actions(award.id, change.id if change is not None else None)


def award_actions(rnd: SelectionRound, user) -> dict[int, Actions]:
    """{award id: its actions} for the round's result page: two queries whatever the number of awards."""
    if user.role is not Role.CITY_AGRI or rnd.status not in CHANGEABLE:
        return {}
    pending = dict(db.session.execute(sa.select(AwardChange.award_id, AwardChange.id).where(
        AwardChange.round_id == rnd.id, AwardChange.new_insurer_id.is_(None))).all())
    return {a.id: _award_actions(a.id, pending.get(a.id)) for a in awards_of(rnd)}


def _award_actions(award_id: int, pending_id: int | None) -> Actions:
    if pending_id is not None:
        return Actions([Action("change", _l("查看中标变更"), "awards.award_change", {"change_id": pending_id},
                               style="outline-secondary", order=10)])
    return Actions([Action("terminate", _l("终止中标"), "awards.terminate_award", {"award_id": award_id},
                           style="outline-danger", order=10)])


def change_actions(change: AwardChange, user) -> Actions:
    """On a pending change: install the run's result once it is computed, or compute again."""
    if user.role is not Role.CITY_AGRI or not change.pending or change.round.status not in CHANGEABLE:
        return Actions()
    run = change.run
    actions = [Action("rerun", _l("重新计算替补方案"), "awards.rerun_change", {"change_id": change.id}, post=True,
                      order=20)]
    if run is not None and run.ok:
        actions.append(Action("install", _l("采用此替补方案"), "awards.install_change", {"change_id": change.id},
                              post=True, style="success", element_id="install-change", order=10))
    return Actions(actions)


# --- terminating ------------------------------------------------------------------------------------

def terminate(award: Award, *, reason: str, doc_no: str, document, effective_on: date | None, method: str,
              backup_insurer_id: int | None, actor, now: bool = False, insurer_id: int | None = None) -> AwardChange:
    """End `award` from `effective_on`: with `method` "backup", the county's backup `backup_insurer_id` takes the
    lot at once; with "run", a new allocation run (every other award fixed, the old underwriter excluded from the
    lot) is computed as a job (`now`: here) and `install_from_run` installs its result. The round row is locked
    (two changes of one round are made one after the other). `insurer_id`: the underwriter the bureau meant to end
    (the page's); of two terminations of one award at once the second finds another underwriter there and is
    refused, instead of ending the backup the first has just installed."""
    rnd = lock_for_update(award.round)
    award = lock_for_update(award)
    require(rnd.status in CHANGEABLE, _("只有已确定中标、服务期未满的轮次可以终止中标"))
    require(pending_change(award) is None, _("该标段的中标已终止，正在确定替补机构"))
    require(insurer_id is None or award.insurer_id == insurer_id,
            _("该标段的中标已变更，现由 %(insurer)s 承保，请刷新页面后再决定", insurer=award.insurer.name))
    reason, doc_no = (reason or "").strip(), (doc_no or "").strip()
    require(reason, _("请填写终止理由"), "reason")
    require(doc_no, _("请填写终止决定文号"), "doc_no")
    require(document is not None, _("请上传终止决定文件（PDF）"), "document")
    require(effective_on is not None, _("请填写终止生效日期"), "effective_on")
    require(effective_on >= clock.local_today(), _("终止生效日期不能早于今天"), "effective_on")
    require(effective_on <= date(rnd.term_end_year, 12, 31),
            _("终止生效日期应在本轮服务期（%(start)s–%(end)s年）内", start=rnd.term_start_year, end=rnd.term_end_year),
            "effective_on")
    require(method in METHODS, _("请选择替补方式"), "method")
    winners = used = None
    if method == "backup":
        candidates = {b.insurer_id: b for b in backup_candidates(award)}
        require(candidates, _("%(county)s 没有可替补的后备机构，请选择重新分配（其他标段中标结果不变）",
                              county=award.lot.region.label), "method")
        require(backup_insurer_id in candidates, _("请选择该县的后备机构"), "backup_insurer_id")
        winners, used = allocation.check_change(rnd, _current(rnd, award.lot_id, backup_insurer_id))
    change = AwardChange(round_id=rnd.id, award_id=award.id, lot_id=award.lot_id, old_insurer_id=award.insurer_id,
                         method=method, reason=reason, doc_no=doc_no[:100], document=document,
                         effective_on=effective_on, terminated_by_id=getattr(actor, "id", None))
    if method == "run":
        change.run = _start_run(rnd, award, actor, now)
    db.session.add(change)
    db.session.flush()
    ended = _end_old_assignments(change)
    audit.record(actor, "award.terminated", change,
                 _l("终止中标：%(lot)s %(insurer)s，%(day)s起生效（%(doc)s）", lot=award.lot.code,
                    insurer=award.insurer.name, day=effective_on.isoformat(), doc=change.doc_no),
                 round_id=rnd.id, lot=award.lot.code, insurer_id=award.insurer_id, effective_on=effective_on,
                 doc_no=change.doc_no, reason=reason, method=method, document_sha256=document.sha256,
                 assignments_ended=ended, run_id=change.run_id)
    if method == "backup":
        _install(change, backup_insurer_id, winners[award.lot_id][1], None, used, actor)
    return change


def _current(rnd: SelectionRound, lot_id: int, insurer_id: int) -> dict[int, int]:
    """The round's awards now, {lot id: insurer id}, with `lot_id` given to `insurer_id`."""
    chosen = {a.lot_id: a.insurer_id for a in awards_of(rnd)}
    chosen[lot_id] = insurer_id
    return chosen


def _start_run(rnd: SelectionRound, award: Award, actor, now: bool):
    fixed = {a.lot.code: a.insurer.credit_code for a in awards_of(rnd) if a.id != award.id}
    label = _("中标变更：%(lot)s（终止 %(insurer)s，其他标段不变）", lot=award.lot.code, insurer=award.insurer.name)
    return allocation.start_change_run(rnd, fixed, [(award.lot.code, award.insurer.credit_code)], label, actor,
                                       now=now)


def rerun(change: AwardChange, actor, now: bool = False) -> None:
    """Compute the replacement again (after an infeasible run, or once a departure has been recorded)."""
    lock_for_update(change.round)
    change = lock_for_update(change)
    require(change.pending, _("该中标变更已完成"))
    require(change.round.status in CHANGEABLE, _("只有已确定中标、服务期未满的轮次可以终止中标"))
    change.run = _start_run(change.round, change.award, actor, now)
    db.session.flush()


def install_from_run(change: AwardChange, actor) -> None:
    """Install the replacement the change's run found: every other lot must still have the underwriter it has now
    (they were fixed), and the result passes adoption's checks."""
    rnd = lock_for_update(change.round)
    change = lock_for_update(change)
    require(change.pending, _("该中标变更已完成"))
    require(rnd.status in CHANGEABLE, _("只有已确定中标、服务期未满的轮次可以终止中标"))
    run = change.run
    require(run is not None and run.ok, _("替补方案尚未求得可行解"))
    chosen = allocation.chosen_awards(run)
    current = {a.lot_id: a.insurer_id for a in awards_of(rnd)}
    require(all(chosen.get(lot_id) == insurer_id for lot_id, insurer_id in current.items() if lot_id != change.lot_id)
            and change.lot_id in chosen, _("替补方案改变了其他标段的中标结果，不能采用"))
    require(chosen[change.lot_id] != change.old_insurer_id, _("替补方案仍由被终止的承保机构承保该标段"))
    winners, used = allocation.check_change(rnd, _current(rnd, change.lot_id, chosen[change.lot_id]))
    _install(change, chosen[change.lot_id], winners[change.lot_id][1], run, used, actor)


def _install(change: AwardChange, insurer_id: int, score: Decimal | None, run, used: list, actor) -> None:
    award = change.award
    award.insurer_id = insurer_id
    award.score = score
    if run is not None:
        award.run_id = run.id
    change.new_insurer_id = insurer_id
    change.new_score = score
    change.replaced_at = utcnow()
    change.replaced_by_id = getattr(actor, "id", None)
    db.session.flush()
    db.session.expire(award)
    db.session.expire(change)
    added = _start_new_assignments(change)
    audit.record(actor, "award.replaced", change,
                 _l("替补中标：%(lot)s 由 %(insurer)s 承保，%(day)s起生效", lot=change.lot.code,
                    insurer=change.new_insurer.name, day=change.effective_on.isoformat()),
                 round_id=change.round_id, lot=change.lot.code, old_insurer_id=change.old_insurer_id,
                 new_insurer_id=insurer_id, method=change.method, run_id=getattr(run, "id", None),
                 departures=[d.id for d in used], assignments_added=added)


# --- the subsidy assignments ----------------------------------------------------------------------------

def _years(change: AwardChange) -> tuple[int, int]:
    rnd = change.round
    return max(change.effective_on.year, rnd.term_start_year), rnd.term_end_year


def _note(change: AwardChange) -> str:
    return f"遴选轮次#{change.round_id} 中标变更#{change.id}"


def _end_old_assignments(change: AwardChange) -> int:
    """The old underwriter's assignments for the lot's county and products (those no other lot of it in the county
    covers) end the day before the change takes effect; years before the effective date's stay as they were.
    Returns how many rows were changed."""
    first, last = _years(change)
    last_day = change.effective_on - timedelta(days=1)
    lot = change.lot
    kept = {p.id for a in awards_of(change.round) if a.insurer_id == change.old_insurer_id
            and a.lot.region_id == lot.region_id and a.lot_id != lot.id for p in a.lot.products}
    changed = 0
    for product in lot.products:
        if product.id in kept:
            continue
        rows = db.session.scalars(sa.select(UA).where(
            UA.insurer_id == change.old_insurer_id, UA.region_id == lot.region_id, UA.product_id == product.id,
            UA.start_year <= last, UA.end_year >= first).order_by(UA.start_year)).all()
        for row in rows:
            if row.start_year < first:  # the earlier years stay; the rest ends on the day
                tail = UA(insurer_id=row.insurer_id, region_id=row.region_id, product_id=row.product_id,
                          start_year=first, end_year=row.end_year, source=row.source, notes=row.notes,
                          starts_on=row.starts_on, ends_on=last_day)
                row.end_year = first - 1
                db.session.flush()
                db.session.add(tail)
            else:
                row.ends_on = last_day if row.ends_on is None else min(row.ends_on, last_day)
            changed += 1
    db.session.flush()
    return changed


def _start_new_assignments(change: AwardChange) -> int:
    """The new underwriter's assignments for the lot's county and products, from the effective date to the end of
    the term, for the years no assignment of it covers yet. Returns how many were added."""
    first, last = _years(change)
    lot = change.lot
    added = 0
    for product in lot.products:
        covered = set()
        for start, end in db.session.execute(sa.select(UA.start_year, UA.end_year).where(
                UA.insurer_id == change.new_insurer_id, UA.region_id == lot.region_id, UA.product_id == product.id,
                UA.start_year <= last, UA.end_year >= first)):
            covered.update(range(start, end + 1))
        for span in _consecutive([year for year in range(first, last + 1) if year not in covered]):
            db.session.add(UA(insurer_id=change.new_insurer_id, region_id=lot.region_id, product_id=product.id,
                              start_year=span[0], end_year=span[-1], source=CHANGE_SOURCE, notes=_note(change),
                              starts_on=change.effective_on))
            added += 1
    db.session.flush()
    return added
