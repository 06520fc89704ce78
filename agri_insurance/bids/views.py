"""Bids. Every bid is loaded through `Bid.visible_to` (scoped_get_or_404): another insurer's bid, or any bid
before the opening for the bureau, is a plain 404 that says nothing about its existence."""

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from agri_insurance import storage
from agri_insurance.access import roles_required, scoped_get_or_404
from agri_insurance.bids import exports, service
from agri_insurance.bids.forms import AttachmentForm, BidForm, BidUploadForm
from agri_insurance.bids.models import Bid, BidAttachment, BidReceipt, BidStatus
from agri_insurance.extensions import db
from agri_insurance.forms_util import commit_or_flash
from agri_insurance.paging import ListFilters, options, paginate, text_matches
from agri_insurance.reference.models import Insurer
from agri_insurance.roles import Role
from agri_insurance.spreadsheets import download, xlsx_download
from agri_insurance.tenders.models import Lot, RoundStatus, SelectionRound

bp = Blueprint("bids", __name__, url_prefix="/bids")
INSURER = (Role.INSURER,)
BUREAU = (Role.ADMIN, Role.CITY_AGRI)
OPENING_VIEWERS = (Role.ADMIN, Role.CITY_AGRI, Role.COUNTY_AGRI, Role.INSURER)


def _bid(bid_id: int) -> Bid:
    return scoped_get_or_404(Bid, bid_id)


def _round(round_id: int) -> SelectionRound:
    return scoped_get_or_404(SelectionRound, round_id)


def _back(bid: Bid):
    return redirect(url_for(".bid_detail", bid_id=bid.id))


# --- the insurer's pages ---------------------------------------------------------------------------

@bp.get("/")
@roles_required(*INSURER)
def my_bids():
    """The rounds open for bids (few at a time) with the insurer's bid in each, and every bid it made (paged)."""
    open_rounds = db.session.scalars(sa.select(SelectionRound).where(
        SelectionRound.status == RoundStatus.OPEN).order_by(SelectionRound.bid_deadline)).all()
    by_round = {b.round_id: b for b in db.session.scalars(sa.select(Bid).where(
        Bid.visible_to(current_user), Bid.round_id.in_([r.id for r in open_rounds])))}
    filters = ListFilters()
    stmt = sa.select(Bid).where(Bid.visible_to(current_user)).options(joinedload(Bid.round))
    if status := filters.choice("status", _("状态"), BidStatus):
        stmt = stmt.where(Bid.status == status)
    if text := filters.text("q"):
        stmt = stmt.where(Bid.round_id.in_(sa.select(SelectionRound.id).where(
            text_matches(text, SelectionRound.name))))
    page = paginate(stmt.order_by(Bid.id.desc()), filters)
    return render_template("bids/my_bids.html", open_rounds=open_rounds, page=page, filters=filters,
                           statuses=list(BidStatus), by_round=by_round)


@bp.post("/rounds/<int:round_id>/start")
@roles_required(*INSURER)
def start(round_id: int):
    rnd = _round(round_id)
    try:
        done = commit_or_flash(lambda: service.start_bid(rnd, current_user))
    except IntegrityError:
        # A double click: the other request created the bid first (uq_bids_round_insurer); go to that one.
        db.session.rollback()
        bid = service.bid_for(rnd, current_user.insurer_id)
        if bid is None:
            raise
        return redirect(url_for(".edit_bid", bid_id=bid.id))
    if not done:
        return redirect(url_for("tenders.round_detail", round_id=rnd.id))
    return redirect(url_for(".edit_bid", bid_id=done.value.id))


@bp.get("/<int:bid_id>")
@roles_required(*INSURER, *BUREAU)
def bid_detail(bid_id: int):
    bid = _bid(bid_id)
    return _detail_page(bid, BidUploadForm())


def _detail_page(bid: Bid, upload_form: BidUploadForm, problems: list[str] | None = None):
    return render_template("bids/bid_detail.html", bid=bid, receipt=bid.latest_receipt,
                           actions=service.available_actions(bid, current_user),
                           missing=service.missing_for_submission(bid)
                           if bid.editable and service.is_own(bid, current_user) else [],
                           problems=problems, attachment_form=AttachmentForm(), upload_form=upload_form,
                           changes=service.describe_invalidation(bid))


def _fill_form(form: BidForm, bid: Bid) -> None:
    """Pre-fill the repeated sections: one county row per county of the round, existing rows plus blanks."""
    setups = {s.region_id: s for s in bid.county_setups}
    while len(form.county_setups):
        form.county_setups.pop_entry()
    for region in bid.round.counties():
        s = setups.get(region.id)
        form.county_setups.append_entry({
            "region_id": region.id, "has_county_branch": s.has_county_branch if s else False,
            "township_stations": s.township_stations if s else None, "agri_staff": s.agri_staff if s else None})
    while len(form.innovations):
        form.innovations.pop_entry()
    for i in bid.innovations:
        form.innovations.append_entry({"name": i.name, "filed_on": i.filed_on})
    for _blank in range(2):
        form.innovations.append_entry()
    while len(form.penalties):
        form.penalties.pop_entry()
    for p in bid.penalties:
        form.penalties.append_entry({"decided_on": p.decided_on, "amount": p.amount, "authority": p.authority,
                                     "reason": p.reason})
    for _blank in range(2):
        form.penalties.append_entry()


@bp.route("/<int:bid_id>/edit", methods=["GET", "POST"])
@roles_required(*INSURER)
def edit_bid(bid_id: int):
    bid = _bid(bid_id)
    if "edit" not in service.available_actions(bid, current_user):
        flash(_("已提交的投标文件不能修改；如需修改请先撤回") if bid.editable is False
              else _("投标已截止或本轮未在接受投标，投标文件不能再变更"), "warning")
        return _back(bid)
    form = BidForm(obj=bid if request.method == "GET" else None, lots=bid.round.lots)
    if request.method == "GET":
        form.lot_ids.data = [lot.id for lot in bid.lots]
        form.service_rating.data = bid.service_rating or ""
        form.risk_rating.data = bid.risk_rating.value if bid.risk_rating else ""
        _fill_form(form, bid)
    if form.validate_on_submit():
        done = commit_or_flash(lambda: service.save_bid(bid, form.to_data(), current_user), _("已保存"), form)
        if done:
            return _back(bid)
    counties = {r.id: r for r in bid.round.counties()}
    return render_template("bids/bid_form.html", form=form, bid=bid, counties=counties), 400 if form.errors else 200


@bp.post("/<int:bid_id>/submit")
@roles_required(*INSURER)
def submit(bid_id: int):
    bid = _bid(bid_id)
    done = commit_or_flash(lambda: service.submit_bid(bid, current_user))
    if done:
        flash(_("投标文件已提交，回执编号 %(no)s", no=done.value.receipt_no), "success")
    return _back(bid)


@bp.post("/<int:bid_id>/withdraw")
@roles_required(*INSURER)
def withdraw(bid_id: int):
    bid = _bid(bid_id)
    commit_or_flash(lambda: service.withdraw_bid(bid, current_user), _("投标文件已撤回；截止前可修改后重新提交"))
    return _back(bid)


@bp.get("/receipts/<int:receipt_id>.pdf")
@roles_required(*INSURER, *BUREAU)
def receipt_pdf(receipt_id: int):
    receipt = db.session.get(BidReceipt, receipt_id)
    if receipt is None:
        abort(404)
    bid = scoped_get_or_404(Bid, receipt.bid_id)
    return download(exports.receipt_pdf(bid, receipt), _("投标回执_%(no)s.pdf", no=receipt.receipt_no),
                    "application/pdf")


@bp.get("/<int:bid_id>/verify")
@roles_required(*INSURER, *BUREAU)
def verify(bid_id: int):
    bid = _bid(bid_id)
    results = [(r, service.verify_receipt(bid, r)) for r in bid.receipts]
    return render_template("bids/verify.html", bid=bid, results=results, current_hash=service.content_hash(bid))


# --- attachments ------------------------------------------------------------------------------------

@bp.post("/<int:bid_id>/attachments")
@roles_required(*INSURER)
def add_attachment(bid_id: int):
    bid = _bid(bid_id)
    form = AttachmentForm()
    if not form.validate_on_submit():
        flash(_("请选择要上传的PDF文件"), "danger")
        return _back(bid)
    def attach():
        service.require_editable(bid, current_user)  # before the file is stored
        return service.add_attachment(bid, storage.save_pdf(form.document.data, current_user), form.title.data,
                                      current_user)

    commit_or_flash(attach, _("附件已上传"))
    return _back(bid)


@bp.get("/attachments/<int:attachment_id>")
@roles_required(*INSURER, *BUREAU, Role.EXPERT)
def attachment(attachment_id: int):
    """The bid's insurer; the bureau after the opening; an expert only for the opened bids it may score (see
    BidAttachment.visible_to): a 404 for everyone else."""
    item = scoped_get_or_404(BidAttachment, attachment_id)
    return storage.send_stored(item.stored_file)


@bp.post("/attachments/<int:attachment_id>/delete")
@roles_required(*INSURER)
def delete_attachment(attachment_id: int):
    item = scoped_get_or_404(BidAttachment, attachment_id)
    bid = item.bid
    commit_or_flash(lambda: service.delete_attachment(item, current_user), _("已删除"))
    return _back(bid)


# --- the xlsx bid template --------------------------------------------------------------------------

@bp.get("/<int:bid_id>/template.xlsx")
@roles_required(*INSURER)
def bid_template(bid_id: int):
    bid = _bid(bid_id)
    return xlsx_download(exports.bid_workbook(bid), _("投标文件_%(name)s.xlsx", name=bid.round.name))


@bp.post("/<int:bid_id>/import")
@roles_required(*INSURER)
def import_bid(bid_id: int):
    bid = _bid(bid_id)
    form = BidUploadForm()
    if not form.validate_on_submit():
        flash(_("请选择要上传的 xlsx 文件"), "danger")
        return _back(bid)
    data, issues = exports.parse_bid(bid, form.file.data.read())
    problems = issues.messages()
    if not issues and commit_or_flash(lambda: service.save_bid(bid, data, current_user),
                                      _("已从 xlsx 导入投标文件"), problems=problems):
        return _back(bid)
    return _detail_page(bid, form, problems), 400


# --- the bureau's view of a round's bids, and the opening --------------------------------------------

@bp.get("/rounds/<int:round_id>")
@roles_required(*BUREAU)
def round_bids(round_id: int):
    """Before the opening only the number of submitted bids; afterwards the opened bids (filtered, paged)."""
    rnd = _round(round_id)
    filters = ListFilters()
    lots = options(rnd.lots, label=lambda lot: f"{lot.code} {lot.name}")
    stmt = service.opened_bids_statement(rnd).options(selectinload(Bid.lots))
    if text := filters.text("q"):
        stmt = stmt.where(Bid.insurer_id.in_(sa.select(Insurer.id).where(
            text_matches(text, Insurer.name, Insurer.short_name))))
    if lot_id := filters.record_id("lot_id", _("投标标段"), lots):
        stmt = stmt.where(Bid.lots.any(Lot.id == lot_id))
    return render_template("bids/round_bids.html", rnd=rnd, count=service.submitted_count(rnd),
                           page=paginate(stmt, filters), filters=filters, lots=lots,
                           opening=service.opening_of(rnd))


@bp.post("/rounds/<int:round_id>/open")
@roles_required(Role.CITY_AGRI)
def open_bids(round_id: int):
    rnd = _round(round_id)
    if not commit_or_flash(lambda: service.open_bids(rnd, current_user), _("已开标")):
        return redirect(url_for("tenders.round_detail", round_id=rnd.id))
    return redirect(url_for(".opening", round_id=rnd.id))


def _opening(round_id: int):
    rnd = _round(round_id)
    opening = service.opening_of(rnd)
    if not service.can_see_opening(rnd, current_user, opening):
        abort(404)
    return rnd, opening


@bp.get("/rounds/<int:round_id>/opening")
@roles_required(*OPENING_VIEWERS)
def opening(round_id: int):
    rnd, record = _opening(round_id)
    return render_template("bids/opening.html", rnd=rnd, opening=record, rows=exports.opening_rows(record, rnd),
                           headers=exports.opening_headers())


@bp.get("/rounds/<int:round_id>/opening.xlsx")
@roles_required(*OPENING_VIEWERS)
def opening_xlsx(round_id: int):
    rnd, record = _opening(round_id)
    return xlsx_download(exports.opening_workbook(record, rnd), _("开标记录_%(name)s.xlsx", name=rnd.name))


@bp.get("/rounds/<int:round_id>/opening.pdf")
@roles_required(*OPENING_VIEWERS)
def opening_pdf(round_id: int):
    rnd, record = _opening(round_id)
    return download(exports.opening_pdf(record, rnd), _("开标记录_%(name)s.pdf", name=rnd.name), "application/pdf")
