"""Bids: submit / withdraw / re-submit before the deadline, receipts, invalidation, attachments."""

import hashlib
import io
import json
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
import time_machine
from pypdf import PdfReader

from agri_insurance.audit.models import AuditEntry
from agri_insurance.bids import service
from agri_insurance.bids.models import Bid, BidStatus
from agri_insurance.clock import utcnow
from agri_insurance.errors import DomainError
from agri_insurance.tenders import service as tenders
from tests.factories import make_insurer, make_user
from tests.tenders.factories import (
    PDF_BYTES,
    bid_data,
    make_bid,
    make_exception,
    make_round,
    product_ids,
    user,
)


@pytest.fixture
def open_round(demo, db):
    return make_round(deadline=utcnow() + timedelta(days=3), publish=True)


def test_submit_issues_a_receipt_with_the_hash_of_the_canonical_content(open_round, db):
    bid = make_bid(open_round)
    receipt = bid.latest_receipt
    assert bid.status is BidStatus.SUBMITTED and receipt.submitted_at == bid.submitted_at
    expected = hashlib.sha256(json.dumps(service.canonical_content(bid), ensure_ascii=False, sort_keys=True,
                                         separators=(",", ":")).encode()).hexdigest()
    assert receipt.sha256 == expected
    assert service.verify_receipt(bid, receipt)
    content = service.canonical_content(bid)
    assert content["fields"]["catastrophe_reserve"] == "98765432.1"
    assert content["lots"] == ["361128-1", "361128-2", "361130-1", "361130-2"]
    # Reloaded from the database (Decimal scale, ordering) the hash is the same.
    db.session.expire_all()
    assert service.verify_receipt(db.session.get(Bid, bid.id), receipt)


def test_any_change_to_the_stored_bid_breaks_the_verification(open_round, db):
    bid = make_bid(open_round)
    receipt = bid.latest_receipt
    db.session.execute(sa.update(Bid).where(Bid.id == bid.id).values(complaints_per_10k=Decimal("0.36")))
    db.session.commit()
    db.session.expire_all()
    assert not service.verify_receipt(db.session.get(Bid, bid.id), receipt)


def test_receipt_pdf_shows_time_and_hash(open_round, login, db):
    bid = make_bid(open_round)
    receipt = bid.latest_receipt
    response = login("insurer").get(f"/bids/receipts/{receipt.id}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
    assert receipt.sha256 in text.replace("\n", "")
    assert receipt.receipt_no in text


def test_withdraw_edit_and_resubmit_before_the_deadline_then_nothing_changes(open_round, db):
    bid = make_bid(open_round)
    insurer = user("insurer")
    first = bid.latest_receipt.sha256
    with pytest.raises(DomainError, match="请先撤回"):
        service.save_bid(bid, bid_data(open_round), insurer)
    service.withdraw_bid(bid, insurer)
    assert bid.status is BidStatus.WITHDRAWN
    service.save_bid(bid, bid_data(open_round, lot_codes={"361128-1", "361128-2"}), insurer)
    second = service.submit_bid(bid, insurer)
    assert bid.status is BidStatus.SUBMITTED and second.sha256 != first and len(bid.receipts) == 2
    db.session.commit()
    with time_machine.travel(open_round.bid_deadline, tick=False):
        for action in (lambda: service.withdraw_bid(bid, insurer), lambda: service.submit_bid(bid, insurer),
                       lambda: service.save_bid(bid, bid_data(open_round), insurer)):
            with pytest.raises(DomainError, match="投标已截止"):
                action()
    assert bid.status is BidStatus.SUBMITTED


def test_incomplete_bid_is_not_submitted(open_round, db):
    insurer = user("insurer")
    bid = service.start_bid(open_round, insurer)
    with pytest.raises(DomainError, match="需要完善"):
        service.submit_bid(bid, insurer)
    assert any("至少选择一个标段" in m for m in service.missing_for_submission(bid))
    service.save_bid(bid, bid_data(open_round, county_setups=[], catastrophe_reserve=None), insurer)
    with pytest.raises(DomainError) as error:
        service.submit_bid(bid, insurer)
    missing = service.missing_for_submission(bid)
    assert f"还有{len(missing)}项需要完善" in str(error.value)
    assert any("鄱阳县的机构设置情况" in m for m in missing) and any("大灾风险准备金余额" in m for m in missing)
    assert bid.status is BidStatus.DRAFT and not bid.receipts


def test_one_bid_per_insurer_and_round_and_only_by_its_users(open_round, db):
    a = make_bid(open_round, submit=False)
    assert service.start_bid(open_round, user("insurer")).id == a.id
    other = make_insurer()
    make_user("other_ins", user("insurer").role, insurer=other)
    with pytest.raises(DomainError, match="只能操作本机构"):
        service.save_bid(a, bid_data(open_round), user("other_ins"))
    with pytest.raises(DomainError, match="只有承保机构用户"):
        service.start_bid(open_round, user("city_agri"))
    assert db.session.scalar(sa.select(sa.func.count(Bid.id))) == 1


def test_bids_only_for_lots_of_the_round(open_round, demo, db):
    other = make_round(name="另一轮", publish=True)
    insurer = user("insurer")
    bid = service.start_bid(open_round, insurer)
    with pytest.raises(DomainError, match="不属于本轮"):
        service.save_bid(bid, {**bid_data(open_round), "lot_ids": [other.lots[0].id]}, insurer)


@pytest.mark.parametrize("change", ["lot", "rules", "exception", "delete_lot"])
def test_changing_lots_or_rules_while_open_invalidates_submitted_bids(change, open_round, login, db):
    rnd = make_round(name="三标段轮", lots_per_county=3, publish=True) if change == "delete_lot" else open_round
    bid = make_bid(rnd)
    draft_round = make_round(name="草稿轮")  # changes to other rounds do not matter
    tenders.save_lot(draft_round, None, {"region_id": draft_round.lots[0].region_id, "code": "Z", "name": "z",
                                         "expected_premium": Decimal(1), "product_ids": product_ids("rice")}, None)
    db.session.commit()
    assert bid.status is BidStatus.SUBMITTED
    city = user("city_agri")
    if change == "lot":
        lot = rnd.lots[0]
        tenders.save_lot(rnd, lot, {"region_id": lot.region_id, "code": lot.code, "name": lot.name,
                                    "expected_premium": Decimal("2000000"), "loss_ratio_pct": None,
                                    "product_ids": [p.id for p in lot.products]}, city)
    elif change == "rules":
        data = {k: getattr(rnd, k) for k in tenders.ROUND_FIELDS}
        tenders.update_round(rnd, {**data, "market_share_cap_pct": Decimal("40")}, city)
    elif change == "exception":
        make_exception(rnd)
    else:
        tenders.delete_lot(rnd.lots[-1], city)
    db.session.commit()
    assert bid.status is BidStatus.INVALIDATED and bid.invalidation_reason
    assert rnd.rules_version == 2
    # The owner is told on the dashboard; others are not.
    assert f"bid-invalidated-{bid.id}" in login("insurer").get("/").get_data(as_text=True)
    assert "bid-invalidated" not in login("city_agri").get("/").get_data(as_text=True)
    # Re-confirming issues a new receipt over the new rules.
    receipt = service.submit_bid(bid, user("insurer"))
    db.session.commit()
    assert service.canonical_content(bid)["round"]["rules_version"] == 2
    assert service.verify_receipt(bid, receipt) and len(bid.receipts) == 2
    assert "bid-invalidated" not in login("insurer").get("/").get_data(as_text=True)


def test_an_open_round_keeps_two_lots_per_county(open_round, db):
    with pytest.raises(DomainError, match="至少需要2个标段"):
        tenders.delete_lot(open_round.lots[0], user("city_agri"))


def test_saving_an_unchanged_round_invalidates_nothing(open_round, db):
    bid = make_bid(open_round)
    data = {k: getattr(open_round, k) for k in tenders.ROUND_FIELDS}
    tenders.update_round(open_round, data, user("city_agri"))
    assert bid.status is BidStatus.SUBMITTED and open_round.rules_version == 1


def test_audit_entries_of_bids_name_neither_insurer_nor_user(open_round, db):
    make_bid(open_round)
    entries = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action.like("bid.%"))).all()
    assert {e.action for e in entries} >= {"bid.created", "bid.saved", "bid.submitted", "bid.attachment_added"}
    insurer = user("insurer").insurer
    for e in entries:
        text = json.dumps([e.actor_name, e.summary, e.details], ensure_ascii=False)
        assert insurer.name not in text and insurer.short_name not in text and "insurer" not in e.actor_name
        assert e.actor_id == user("insurer").id  # kept for accountability after the opening


def test_attachments_are_pdf_only_size_limited_and_served_only_to_the_owner(open_round, login, db, app):
    bid = make_bid(open_round, submit=False, attachment=False)
    client = login("insurer")
    not_pdf = client.post(f"/bids/{bid.id}/attachments", data={
        "title": "伪装", "document": (io.BytesIO(b"MZ\x90\x00 not a pdf"), "x.pdf")},
        content_type="multipart/form-data")
    assert not_pdf.status_code == 302
    assert not bid.attachments
    big = b"%PDF-1.4\n" + b"0" * (10 * 1024 * 1024)
    client.post(f"/bids/{bid.id}/attachments", data={"document": (io.BytesIO(big), "big.pdf")},
                content_type="multipart/form-data")
    db.session.expire_all()
    assert not db.session.get(Bid, bid.id).attachments
    ok = client.post(f"/bids/{bid.id}/attachments", data={
        "title": "偿付能力报告", "document": (io.BytesIO(PDF_BYTES), "report.pdf")}, content_type="multipart/form-data")
    assert ok.status_code == 302
    db.session.expire_all()
    attachment = db.session.get(Bid, bid.id).attachments[0]
    stored = attachment.stored_file
    assert stored.sha256 == hashlib.sha256(PDF_BYTES).hexdigest() and stored.stored_name != "report.pdf"
    from pathlib import Path

    upload_dir = Path(app.config["UPLOAD_DIR"])
    assert (upload_dir / stored.stored_name[:2] / stored.stored_name).read_bytes() == PDF_BYTES
    assert "static" not in str(upload_dir)
    assert client.get(f"/bids/attachments/{attachment.id}").data == PDF_BYTES
    # Not the bureau before the opening, not another insurer, and not through /static.
    assert login("city_agri").get(f"/bids/attachments/{attachment.id}").status_code == 404
    assert client.get(f"/static/../instance/uploads/{stored.stored_name}").status_code == 404


def test_a_double_click_on_start_bid_opens_the_existing_bid(open_round, login, db, monkeypatch):
    """The second request did not yet see the first one's bid: the unique constraint refuses it, no error page."""
    bid = make_bid(open_round, submit=False)
    real_bid_for = service.bid_for
    calls = []

    def not_yet_committed(rnd, insurer_id):
        calls.append(insurer_id)
        return None if len(calls) == 1 else real_bid_for(rnd, insurer_id)

    monkeypatch.setattr(service, "bid_for", not_yet_committed)
    response = login("insurer").post(f"/bids/rounds/{open_round.id}/start")
    assert response.status_code == 302 and response.location.endswith(f"/bids/{bid.id}/edit")
    assert db.session.scalar(sa.select(sa.func.count(Bid.id))) == 1


def _bid_form(**fields) -> dict:
    return {"service_rating": "", "risk_rating": "", **fields}


@pytest.mark.parametrize("region_id", ["", "abc", "1e3"])
def test_a_blank_or_tampered_county_row_is_refused(region_id, open_round, login, db):
    bid = make_bid(open_round, submit=False)
    response = login("insurer").post(f"/bids/{bid.id}/edit", data=_bid_form(**{
        "county_setups-0-region_id": region_id, "county_setups-0-agri_staff": "5"}))
    assert response.status_code == 400 and "请选择县（市、区）" in response.get_data(as_text=True)


def test_a_repeated_county_row_is_refused(open_round, login, db):
    bid = make_bid(open_round, submit=False)
    county = str(open_round.lots[0].region_id)
    response = login("insurer").post(f"/bids/{bid.id}/edit", data=_bid_form(**{
        "county_setups-0-region_id": county, "county_setups-0-agri_staff": "5",
        "county_setups-1-region_id": county, "county_setups-1-agri_staff": "7"}))
    assert response.status_code == 400 and "同一县只能填写一行" in response.get_data(as_text=True)
    db.session.expire_all()
    assert [s.agri_staff for s in db.session.get(Bid, bid.id).county_setups] == [30, 30]  # unchanged
    twice = [{"region_id": int(county), "has_county_branch": True, "township_stations": 1, "agri_staff": 2}] * 2
    with pytest.raises(DomainError, match="同一县只能填写一行"):
        service.save_bid(bid, bid_data(open_round, county_setups=twice), user("insurer"))


def test_errors_in_repeated_rows_read_in_the_page_language_next_to_their_field(open_round, login, db):
    import lxml.html

    bid = make_bid(open_round, submit=False)
    client = login("insurer")
    county = str(open_round.lots[0].region_id)
    response = client.post(f"/bids/{bid.id}/edit", data=_bid_form(**{
        "county_setups-0-region_id": county, "county_setups-0-township_stations": "-3",
        "penalties-0-amount": "-5", "penalties-0-authority": "某监管局"}))
    assert response.status_code == 400
    page = lxml.html.fromstring(response.get_data(as_text=True))

    def message(name):
        return page.xpath(f'//input[@name="{name}"]/..')[0].text_content()

    assert "数值" in message("penalties-0-amount") and "Number" not in message("penalties-0-amount")
    assert "数值" in message("county_setups-0-township_stations")
    client.get("/lang/en")
    page = lxml.html.fromstring(client.post(f"/bids/{bid.id}/edit", data=_bid_form(**{
        "penalties-0-amount": "-5", "penalties-0-authority": "x"})).get_data(as_text=True))
    assert "Number must be at least 0" in message("penalties-0-amount")


def test_the_allocation_page_does_not_tell_the_bureau_who_has_bid_before_the_opening(open_round, login, db):
    bid = make_bid(open_round)
    bidder = bid.insurer
    other = make_insurer()
    db.session.commit()
    city = login("city_agri")
    page = city.get(f"/allocation/rounds/{open_round.id}").get_data(as_text=True)
    assert bidder.name not in page
    answers = set()
    for insurer in (bidder, other):
        response = city.post(f"/allocation/rounds/{open_round.id}/capacities",
                             data={"insurer": insurer.id, "amount": "1000000", "basis": "偿付能力"},
                             follow_redirects=True)
        answers.add(response.get_data(as_text=True).split('class="alert')[1][:200])
    assert len(answers) == 1  # the same refusal whether the insurer has bid or not


@pytest.mark.parametrize("field, value", [("catastrophe_reserve", "Infinity"), ("premium_income_y1", "1e30"),
                                          ("complaints_per_10k", "Infinity"), ("penalties-0-amount", "Infinity")])
def test_the_bid_form_refuses_numbers_that_would_break_the_ranking(open_round, login, db, field, value):
    """∞ − ∞ in a linear criterion made the whole round's ranking a 500."""
    bid = make_bid(open_round, submit=False)
    data = _bid_form(**{field: value})
    if field.startswith("penalties"):
        data.update({"penalties-0-decided_on": "2025-01-01", "penalties-0-authority": "某监管局"})
    response = login("insurer").post(f"/bids/{bid.id}/edit", data=data)
    assert response.status_code == 400
    db.session.expire_all()
    stored = db.session.get(Bid, bid.id)
    assert all(v is None or v.is_finite() for v in (stored.catastrophe_reserve, stored.premium_income_y1,
                                                    stored.complaints_per_10k))


def test_an_insurer_with_a_sealed_bid_keeps_its_name_until_the_opening(open_round, db):
    """The receipt hashes the name: renamed before the opening, a genuine bid would read as tampered with."""
    from agri_insurance.reference import service as reference

    bid = make_bid(open_round)
    insurer = bid.insurer
    data = {k: getattr(insurer, k) for k in ("name", "short_name", "credit_code", "parent_company",
                                             "contact_person", "contact_phone", "address", "active")}
    with pytest.raises(DomainError, match="开标前不能修改名称"):
        reference.save_insurer(insurer, {**data, "name": insurer.name + "（更名）"}, user("admin"))
    db.session.rollback()
    reference.save_insurer(insurer, {**data, "contact_phone": "0793-1234567"}, user("admin"))  # other fields: fine
    db.session.commit()
    assert service.verify_receipt(bid, bid.latest_receipt)
