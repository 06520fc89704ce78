"""Bid rules: prepare, submit, withdraw, re-confirm, receipts, invalidation, and the bid opening.

SEALING. Before the round's opening time nobody but the bid's own insurer users may learn a bid's content or
even which insurers bid. Consequences here: audit entries of bid actions name neither the insurer nor the
acting user (`sealed_actor`), only counts are offered to the bureau (`submitted_count`), and every read goes
through `Bid.visible_to`. Callers commit.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from agri_insurance import storage
from agri_insurance.actions import Action, Actions
from agri_insurance.audit import service as audit
from agri_insurance.bids.fields import FIELD_LABELS, REQUIRED_FOR_SUBMISSION, SCALAR_FIELDS
from agri_insurance.bids.models import (
    SERVICE_RATINGS,
    Bid,
    BidAttachment,
    BidCountySetup,
    BidInnovation,
    BidOpening,
    BidPenalty,
    BidReceipt,
    BidStatus,
    RiskRating,
)
from agri_insurance.clock import utcnow
from agri_insurance.errors import DomainError, require
from agri_insurance.extensions import db, lock_for_update
from agri_insurance.roles import Role
from agri_insurance.tenders import changes as round_changes
from agri_insurance.tenders import service as tenders
from agri_insurance.tenders.models import Lot, RoundStatus, SelectionRound

B = BidStatus
BID_TRANSITIONS: dict[BidStatus, frozenset[BidStatus]] = {
    B.DRAFT: frozenset({B.SUBMITTED}),
    B.SUBMITTED: frozenset({B.WITHDRAWN, B.INVALIDATED}),
    B.WITHDRAWN: frozenset({B.SUBMITTED}),
    B.INVALIDATED: frozenset({B.SUBMITTED}),
}
SEALED_ACTOR_NAME = "sealed-bidder"



@dataclass(frozen=True)
class SealedActor:
    """Stands in for the insurer's user in the audit log: the id is kept (accountability after the opening),
    the name shown to the bureau is not."""

    id: int | None
    username: str = SEALED_ACTOR_NAME


def sealed_actor(user) -> SealedActor:
    return SealedActor(getattr(user, "id", None))


# --- what a user may do now ------------------------------------------------------------------------------

BUREAU = frozenset({Role.ADMIN, Role.CITY_AGRI})
SUBMIT_LABELS = {B.INVALIDATED: _l("重新确认并提交"), B.WITHDRAWN: _l("重新提交")}


def is_own(bid: Bid, user) -> bool:
    return user.role is Role.INSURER and user.insurer_id == bid.insurer_id


def available_actions(bid: Bid, user) -> Actions:
    """What `user` may do with `bid` now: its owner fills, submits or withdraws it while the round accepts bids
    (BID_TRANSITIONS), and downloads its xlsx template at any time."""
    if not is_own(bid, user):
        return Actions()
    actions = [Action("download_template", _l("下载投标文件模板（含当前内容）"), "bids.bid_template",
                      {"bid_id": bid.id}, element_id="bid-template")]
    accepting = bid.round.status is RoundStatus.OPEN
    if accepting and bid.editable:
        actions.append(Action("edit", _l("填写投标文件"), "bids.edit_bid", {"bid_id": bid.id},
                              style="outline-primary", element_id="edit-bid", order=10))
        actions.append(Action("submit", SUBMIT_LABELS.get(bid.status, _l("提交投标文件")), "bids.submit",
                              {"bid_id": bid.id}, post=True, style="success", element_id="submit-bid", order=20))
    if accepting and B.WITHDRAWN in BID_TRANSITIONS[bid.status]:
        actions.append(Action("withdraw", _l("撤回"), "bids.withdraw", {"bid_id": bid.id}, post=True,
                              style="outline-danger", element_id="withdraw-bid", order=30))
    return Actions(actions)


def round_actions(rnd: SelectionRound, user) -> list[Action]:
    """What bids offers on the round page: the opening (when the bids may be opened)."""
    if user.role is Role.CITY_AGRI and RoundStatus.OPENED in tenders.ROUND_TRANSITIONS[rnd.status]:
        return [Action("open_bids", _l("开标"), "bids.open_bids", {"round_id": rnd.id}, post=True, style="success",
                       element_id="open-bids-button", order=50)]
    return []


def round_summary(rnd: SelectionRound, user) -> dict[str, Any] | None:
    """What the round page shows of the bids to `user`: the bureau the number submitted (all it may know before
    the opening); an insurer its own bid, or the button to start one while the round accepts bids; whoever may
    read it, the opening record."""
    opening = opening_of(rnd)
    summary = {"can_see_opening": can_see_opening(rnd, user, opening), "bid_count": None, "own": False,
               "own_bid": None, "may_start": False}
    if user.role in BUREAU:
        summary["bid_count"] = submitted_count(rnd)
    if user.role is Role.INSURER:
        summary["own"] = True
        summary["own_bid"] = bid_for(rnd, user.insurer_id)
        summary["may_start"] = summary["own_bid"] is None and rnd.status is RoundStatus.OPEN
    if not any((summary["can_see_opening"], summary["bid_count"] is not None, summary["own"])):
        return None
    return summary


def require_no_sealed_bid(insurer) -> None:
    """A sealed bid's receipt hashes the insurer's name and credit code: changed before the opening, the opening
    record would call a genuine bid tampered with."""
    sealed = db.session.scalar(sa.select(sa.func.count(Bid.id)).join(SelectionRound).where(
        Bid.insurer_id == insurer.id, Bid.status == B.SUBMITTED,
        SelectionRound.status.in_((RoundStatus.OPEN, RoundStatus.CLOSED))))
    require(not sealed, _("该机构有尚未开标的投标，开标前不能修改名称或统一社会信用代码"), "name")


# --- reading ----------------------------------------------------------------------------------------

def bid_for(rnd: SelectionRound, insurer_id: int) -> Bid | None:
    return db.session.scalar(sa.select(Bid).where(Bid.round_id == rnd.id, Bid.insurer_id == insurer_id))


def submitted_count(rnd: SelectionRound) -> int:
    """How many bids are submitted: the only thing the bureau learns before the opening."""
    return db.session.scalar(sa.select(sa.func.count(Bid.id)).where(
        Bid.round_id == rnd.id, Bid.status == B.SUBMITTED)) or 0


def opening_of(rnd: SelectionRound) -> BidOpening | None:
    return db.session.scalar(sa.select(BidOpening).where(BidOpening.round_id == rnd.id))


def can_see_opening(rnd: SelectionRound, user, opening: BidOpening | None) -> bool:
    """The opening record: the bureaus, and every insurer that bid in the round, once the bids are opened."""
    if opening is None or not rnd.bids_opened:
        return False
    if user.role in (Role.ADMIN, Role.CITY_AGRI, Role.COUNTY_AGRI):
        return True
    if user.role is Role.INSURER:
        return any(entry["insurer_id"] == user.insurer_id for entry in opening.entries)
    return False


# --- canonical content and receipts -------------------------------------------------------------------

def _dec(value: Decimal | None) -> str | None:
    if value is None:
        return None
    text = format(Decimal(value).normalize(), "f")
    return "0" if text in ("-0", "0E+0") else text


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return _dec(value)
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "value") and not isinstance(value, str | int | float | bool):
        return value.value
    return value


def canonical_content(bid: Bid) -> dict[str, Any]:
    """Everything the insurer submits, in a fixed order and fixed number format: what the receipt hashes."""
    rnd = bid.round
    return {
        "round": {"id": rnd.id, "name": rnd.name, "rules_version": rnd.rules_version},
        "insurer": {"id": bid.insurer.id, "name": bid.insurer.name, "credit_code": bid.insurer.credit_code},
        "lots": sorted(lot.code for lot in bid.lots),
        "institution": sorted(
            ({"county": s.region.code, "county_branch": bool(s.has_county_branch),
              "township_stations": int(s.township_stations), "agri_staff": int(s.agri_staff)}
             for s in bid.county_setups), key=lambda d: d["county"]),
        "fields": {name: _plain(getattr(bid, name)) for name in SCALAR_FIELDS},
        "innovations": sorted(({"name": i.name, "filed_on": i.filed_on.isoformat()} for i in bid.innovations),
                              key=lambda d: (d["filed_on"], d["name"])),
        "penalties": sorted(({"decided_on": p.decided_on.isoformat(), "amount": _dec(p.amount),
                              "authority": p.authority or "", "reason": p.reason or ""} for p in bid.penalties),
                            key=lambda d: (d["decided_on"], d["amount"], d["authority"], d["reason"])),
        "attachments": sorted(({"title": a.title, "sha256": a.stored_file.sha256} for a in bid.attachments),
                              key=lambda d: (d["sha256"], d["title"])),
    }


def canonical_json(bid: Bid) -> bytes:
    return json.dumps(canonical_content(bid), ensure_ascii=False, sort_keys=True,
                      separators=(",", ":")).encode("utf-8")


def content_hash(bid: Bid) -> str:
    return hashlib.sha256(canonical_json(bid)).hexdigest()


def verify_receipt(bid: Bid, receipt: BidReceipt) -> bool:
    """True when the stored bid still hashes to the receipt's SHA-256."""
    return receipt.bid_id == bid.id and content_hash(bid) == receipt.sha256


# --- preparing a bid ----------------------------------------------------------------------------------

def _require_accepting(rnd: SelectionRound) -> None:
    tenders.advance_by_clock(rnd)
    require(rnd.status is RoundStatus.OPEN and utcnow() < rnd.bid_deadline,
            _("投标已截止或本轮未在接受投标，投标文件不能再变更"))


def _require_own(bid: Bid, user) -> None:
    # Views load bids through Bid.visible_to; this guards service callers as well.
    if user.role is not Role.INSURER or user.insurer_id != bid.insurer_id:
        raise DomainError(_("只能操作本机构的投标文件"))


def start_bid(rnd: SelectionRound, user) -> Bid:
    """The user's insurer's bid for `rnd`: the existing one, or a new draft."""
    require(user.role is Role.INSURER and user.insurer_id, _("只有承保机构用户可以投标"))
    _require_accepting(rnd)
    existing = bid_for(rnd, user.insurer_id)
    if existing is not None:
        return existing
    require(user.insurer.active, _("本机构已停用，不能投标"))
    bid = Bid(round=rnd, insurer_id=user.insurer_id, status=B.DRAFT,
              parent_company=user.insurer.parent_company)
    db.session.add(bid)
    db.session.flush()
    audit.record(sealed_actor(user), "bid.created", bid, _l("新建投标文件（密封）"), round_id=rnd.id)
    return bid


def require_editable(bid: Bid, user) -> None:
    """The bid may be changed by `user` now. Locks it first: a change from another tab must not land after a
    submission it raced with (the submitted bid would no longer match its receipt)."""
    lock_for_update(bid)
    _require_own(bid, user)
    _require_accepting(bid.round)
    require(bid.editable, _("已提交的投标文件不能修改；如需修改请先撤回"))


def save_bid(bid: Bid, data: dict[str, Any], user) -> None:
    """Replace the bid's content with `data`: SCALAR_FIELDS, lot_ids, county_setups [{region_id,
    has_county_branch, township_stations, agri_staff}], innovations [{name, filed_on}], penalties [{decided_on,
    amount, authority, reason}]. Field-level checks (types, ranges) are the form's or the xlsx parser's."""
    require_editable(bid, user)
    rnd = bid.round
    lot_ids = set(data.get("lot_ids") or [])
    lots = db.session.scalars(sa.select(Lot).where(Lot.round_id == rnd.id, Lot.id.in_(lot_ids))).all()
    require(len(lots) == len(lot_ids), _("所选标段不属于本轮遴选"), "lot_ids")
    rating = data.get("service_rating")
    require(rating in (None, "", *SERVICE_RATINGS), _("服务评价等级无效"), "service_rating")
    risk = data.get("risk_rating")
    if risk not in (None, "") and not isinstance(risk, RiskRating):
        risk = RiskRating(risk)
    county_ids = {lot.region_id for lot in rnd.lots}
    setups = data.get("county_setups") or []
    for s in setups:
        require(s["region_id"] in county_ids, _("机构设置中的县不在本轮遴选范围内"), "county_setups")
    require(len({s["region_id"] for s in setups}) == len(setups), _("机构设置中同一县只能填写一行"), "county_setups")
    for s in setups:
        require(s["township_stations"] >= 0 and s["agri_staff"] >= 0, _("数量不能为负数"), "county_setups")
    for p in data.get("penalties") or []:
        require(p["amount"] >= 0, _("处罚金额不能为负数"), "penalties")

    for name in SCALAR_FIELDS:
        value = data.get(name)
        if isinstance(value, str):
            value = value.strip() or None
        setattr(bid, name, value)
    bid.service_rating = rating or None
    bid.risk_rating = risk or None
    bid.lots = list(lots)
    # Replace the repeated sections: delete the old rows first (unique per bid and county).
    bid.county_setups.clear()
    bid.innovations.clear()
    bid.penalties.clear()
    db.session.flush()
    bid.county_setups = [BidCountySetup(region_id=s["region_id"], has_county_branch=bool(s["has_county_branch"]),
                                        township_stations=s["township_stations"], agri_staff=s["agri_staff"])
                         for s in sorted(setups, key=lambda s: s["region_id"])]
    bid.innovations = [BidInnovation(name=i["name"].strip(), filed_on=i["filed_on"])
                       for i in data.get("innovations") or []]
    bid.penalties = [BidPenalty(decided_on=p["decided_on"], amount=p["amount"],
                                authority=(p.get("authority") or "").strip() or None,
                                reason=(p.get("reason") or "").strip() or None)
                     for p in data.get("penalties") or []]
    bid.updated_at = utcnow()
    db.session.flush()
    audit.record(sealed_actor(user), "bid.saved", bid, _l("投标文件已保存（密封）"), round_id=rnd.id)


def add_attachment(bid: Bid, stored_file, title: str, user) -> BidAttachment:
    require_editable(bid, user)
    title = (title or "").strip() or stored_file.original_name
    attachment = BidAttachment(bid=bid, stored_file=stored_file, title=title[:200])
    db.session.add(attachment)
    bid.updated_at = utcnow()
    db.session.flush()
    audit.record(sealed_actor(user), "bid.attachment_added", bid, _l("投标文件增加附件（密封）"), round_id=bid.round_id)
    return attachment


def delete_attachment(attachment: BidAttachment, user) -> None:
    bid = attachment.bid
    require_editable(bid, user)
    stored = attachment.stored_file
    db.session.delete(attachment)
    db.session.flush()
    storage.discard(stored)
    db.session.expire(bid, ["attachments"])
    audit.record(sealed_actor(user), "bid.attachment_deleted", bid, _l("投标文件删除附件（密封）"),
                 round_id=bid.round_id)


# --- submit, withdraw, invalidate -------------------------------------------------------------------------

def missing_for_submission(bid: Bid) -> list[str]:
    """What still has to be filled in before the bid can be submitted (translated, for the page)."""
    problems = []
    if not bid.lots:
        problems.append(_("至少选择一个标段"))
    have = {s.region_id for s in bid.county_setups}
    for region in sorted({lot.region for lot in bid.lots}, key=lambda r: r.code):
        if region.id not in have:
            problems.append(_("缺少%(county)s的机构设置情况", county=region.label))
    for name in REQUIRED_FOR_SUBMISSION:
        if getattr(bid, name) in (None, ""):
            problems.append(_("请填写：%(field)s", field=str(FIELD_LABELS[name])))
    return problems


def _move(bid: Bid, target: BidStatus) -> None:
    if target not in BID_TRANSITIONS[bid.status]:
        raise DomainError(_("投标文件当前状态为“%(current)s”，不能变更为“%(target)s”",
                            current=bid.status.label, target=target.label))
    bid.status = target


def submit_bid(bid: Bid, user) -> BidReceipt:
    """Submit (or re-submit / re-confirm) before the deadline; returns the receipt with the content hash."""
    lock_for_update(bid)  # a double click: the second waits, then numbers its receipt after the first
    _require_own(bid, user)
    _require_accepting(bid.round)
    problems = missing_for_submission(bid)
    # the bid's page lists what is missing ("提交前还需完善"): the message only says how much, not all of it again
    require(not problems, _("投标文件不完整，还有%(n)s项需要完善，见“提交前还需完善”清单", n=len(problems)))
    _move(bid, B.SUBMITTED)
    now = utcnow()
    bid.submitted_at = now
    bid.invalidated_at = None
    bid.invalidation_reason = None
    bid.invalidation_changes = None
    db.session.flush()
    number = len(bid.receipts) + 1
    receipt = BidReceipt(bid=bid, receipt_no=f"R{bid.round_id:04d}-{bid.id:05d}-{number:02d}", submitted_at=now,
                         sha256=content_hash(bid), submitted_by_id=user.id)
    db.session.add(receipt)
    db.session.flush()
    # The receipt (number, hash) stays with the sealed bid; the audit log only records that a submission happened.
    audit.record(sealed_actor(user), "bid.submitted", bid, _l("投标文件已提交（密封）"), round_id=bid.round_id)
    return receipt


def withdraw_bid(bid: Bid, user) -> None:
    lock_for_update(bid)
    _require_own(bid, user)
    _require_accepting(bid.round)
    _move(bid, B.WITHDRAWN)
    bid.withdrawn_at = utcnow()
    db.session.flush()
    audit.record(sealed_actor(user), "bid.withdrawn", bid, _l("投标文件已撤回（密封）"), round_id=bid.round_id)


def invalidate_submitted_bids(rnd: SelectionRound, reason: str, actor,
                              changes: list[dict[str, Any]] | None = None) -> int:
    """Lots or rules of an open round changed: every submitted bid must be re-confirmed by its insurer.

    `changes`: what changed, as data (`tenders.changes`); each invalidated bid keeps them, and a bid already
    waiting for its re-confirmation adds them to those it has, so its insurer reads everything that changed
    since it submitted. Returns how many bids were invalidated now."""
    changes = list(changes or [])
    bids = db.session.scalars(sa.select(Bid).where(
        Bid.round_id == rnd.id, Bid.status.in_((B.SUBMITTED, B.INVALIDATED))).order_by(Bid.id)).all()
    now = utcnow()
    invalidated = 0
    for bid in bids:
        if bid.status is B.SUBMITTED:
            _move(bid, B.INVALIDATED)
            bid.invalidated_at = now
            bid.invalidation_reason = reason
            bid.invalidation_changes = changes
            invalidated += 1
        elif changes:
            bid.invalidation_changes = [*(bid.invalidation_changes or []), *changes]
    db.session.flush()
    if invalidated:
        audit.record(actor, "bid.invalidated", rnd,
                     _l("标段或规则变更，%(n)s 份已提交的投标文件需重新确认", n=invalidated),
                     reason=reason, count=invalidated, changes=changes)
    return invalidated


def describe_invalidation(bid: Bid) -> list[round_changes.ChangeView]:
    """What changed since `bid` was submitted, in the reader's language (empty when it was not invalidated, or
    was before the changes were kept: its reason then says what kind of change it was)."""
    if not bid.is_invalidated:
        return []
    return round_changes.describe(bid.invalidation_changes)


def invalidated_bids_of(user) -> list[Bid]:
    """The insurer user's bids that must be re-confirmed (for the dashboard notice). What changed: each bid's
    `invalidation_changes` (data), worded for the reader by `describe_invalidation(bid)` and shown by the
    template `bids/_invalidation_changes.html`."""
    if user.role is not Role.INSURER:
        return []
    return list(db.session.scalars(
        sa.select(Bid).join(SelectionRound).where(
            Bid.insurer_id == user.insurer_id, Bid.status == B.INVALIDATED,
            SelectionRound.status == RoundStatus.OPEN, SelectionRound.bid_deadline > utcnow())))


# --- the opening ------------------------------------------------------------------------------------------

def open_bids(rnd: SelectionRound, actor) -> BidOpening:
    """closed → opened, at or after the opening time: freeze the opening record (开标记录)."""
    lock_for_update(rnd)  # a double click: the second sees the round opened and is refused
    tenders.advance_by_clock(rnd)
    require(rnd.status is RoundStatus.CLOSED,
            _("只有已截标的轮次可以开标（当前状态：%(s)s）", s=rnd.status.label))
    now = utcnow()
    require(now >= rnd.opening_time, _("未到开标时间"))
    bids = db.session.scalars(sa.select(Bid).where(Bid.round_id == rnd.id, Bid.status == B.SUBMITTED)).all()
    entries = []
    for bid in sorted(bids, key=lambda b: b.insurer.name):
        receipt = bid.latest_receipt
        entries.append({
            "bid_id": bid.id, "insurer_id": bid.insurer_id, "insurer": bid.insurer.name,
            "credit_code": bid.insurer.credit_code, "lots": sorted(lot.code for lot in bid.lots),
            "receipt_no": receipt.receipt_no, "sha256": receipt.sha256,
            "submitted_at": receipt.submitted_at.isoformat(), "verified": verify_receipt(bid, receipt),
        })
    rnd.opened_at = now
    rnd.opened_by_id = getattr(actor, "id", None)
    opening = BidOpening(round_id=rnd.id, opened_at=now, opened_by_id=rnd.opened_by_id, entries=entries)
    db.session.add(opening)
    tenders.transition(rnd, RoundStatus.OPENED, actor, _l("开标：%(name)s，%(n)s 份投标", name=rnd.name, n=len(entries)),
                       bidders=[e["insurer"] for e in entries])
    return opening


def opened_bids(rnd: SelectionRound) -> list[Bid]:
    """The bids that were opened, for evaluation (only after the opening; empty before)."""
    return list(db.session.scalars(opened_bids_statement(rnd)))


def opened_bids_statement(rnd: SelectionRound) -> sa.Select:
    """The SELECT of the bids that were opened, by id (matching nothing before the opening), for a page to filter
    and page."""
    opening = opening_of(rnd) if rnd.bids_opened else None
    ids = [e["bid_id"] for e in (opening.entries if opening else [])]
    return sa.select(Bid).where(Bid.id.in_(ids)).order_by(Bid.id)
