"""A change to an open round invalidates the submitted bids; their insurers read what changed (old → new) on the
bid page, in their own language: the change is kept as data with the invalidation, never as Chinese text."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest

from agri_insurance import clock
from agri_insurance.bids import service
from agri_insurance.bids.models import BidStatus
from agri_insurance.clock import utcnow
from agri_insurance.tenders import service as tenders
from tests.factories import read_text
from tests.tenders.factories import make_bid, make_exception, make_round, product_ids, region, user


@pytest.fixture
def open_round(demo, db):
    return make_round(deadline=utcnow() + timedelta(days=3), publish=True, lots_per_county=3)


def _notice(client, bid) -> str:
    page = read_text(client.get(f"/bids/{bid.id}"))
    start = page.index('id="invalidated-notice"')
    return page[start:page.index("</div>", start)]


def _local(value) -> str:
    return clock.to_local(value).strftime("%Y-%m-%d %H:%M")


def test_a_rule_edit_shows_each_changed_field_old_and_new_in_the_readers_language(open_round, login, db):
    rnd = open_round
    bid = make_bid(rnd)
    old_deadline = rnd.bid_deadline
    new_deadline = old_deadline + timedelta(days=2)
    data = {k: getattr(rnd, k) for k in tenders.ROUND_FIELDS}
    tenders.update_round(rnd, {**data, "bid_deadline": new_deadline, "opening_time": new_deadline + timedelta(hours=1),
                               "market_share_cap_pct": Decimal("40")}, user("city_agri"))
    db.session.commit()
    assert bid.status is BidStatus.INVALIDATED and bid.invalidation_reason == "遴选规则已修改"

    # kept as data: field names and values, no words
    stored = json.dumps(bid.invalidation_changes, ensure_ascii=False)
    assert bid.invalidation_changes[0]["kind"] == "rules" and "投标截止时间" not in stored
    assert bid.invalidation_changes[0]["fields"]["bid_deadline"] == [old_deadline.isoformat(),
                                                                      new_deadline.isoformat()]

    client = login("insurer")
    notice = _notice(client, bid)
    assert "修改遴选规则" in notice
    assert f"投标截止时间：{_local(old_deadline)} → {_local(new_deadline)}" in notice   # local time, not UTC
    assert "单家市场份额上限：— → 40%" in notice
    assert "名称" not in notice   # unchanged fields are not listed
    client.get("/lang/en")
    notice = _notice(client, bid)
    assert "Selection rules changed" in notice
    assert f"Bid deadline: {_local(old_deadline)} → {_local(new_deadline)}" in notice
    assert "Market share cap per insurer: — → 40%" in notice
    assert "投标" not in notice and "遴选规则已修改" not in notice


def test_lots_added_changed_and_deleted_are_named_with_their_fields_and_products(open_round, login, db):
    rnd = open_round
    bid = make_bid(rnd)
    city = user("city_agri")
    lot = rnd.lots[0]                                       # 361128-1: rapeseed and rice (by code, as the round lists them), 1,000,000.00
    tenders.save_lot(rnd, lot, {"region_id": lot.region_id, "code": lot.code, "name": lot.name,
                                "expected_premium": Decimal("2000000"), "loss_ratio_pct": lot.loss_ratio_pct,
                                "product_ids": product_ids("rice")}, city)
    db.session.commit()
    # the bid waits for its re-confirmation: later changes are added to what its insurer reads
    tenders.save_lot(rnd, None, {"region_id": region("361130").id, "code": "361130-9", "name": "婺源县新增标段",
                                 "expected_premium": Decimal("350000.5"), "product_ids": product_ids("citrus")}, city)
    tenders.delete_lot(next(lot for lot in rnd.lots if lot.code == "361128-3"), city)
    db.session.commit()
    assert [c["kind"] for c in bid.invalidation_changes] == ["lot_changed", "lot_added", "lot_deleted"]

    client = login("insurer")
    notice = _notice(client, bid)
    assert "修改标段：361128-1 鄱阳县第1标段（鄱阳县）" in notice
    assert "预计年保费（元）：1,000,000.00 → 2,000,000.00" in notice
    assert "险种：油菜、水稻 → 水稻" in notice
    assert "新增标段：361130-9 婺源县新增标段（婺源县）" in notice and "险种：柑橘" in notice
    assert "预计年保费（元）：350,000.50" in notice
    assert "删除标段：361128-3 鄱阳县第3标段（鄱阳县）" in notice
    client.get("/lang/en")
    notice = _notice(client, bid)
    assert "Lot changed: 361128-1 鄱阳县第1标段 (Poyang County)" in notice
    assert "Expected annual premium (yuan): 1,000,000.00 → 2,000,000.00" in notice
    assert "Products: Rapeseed, Rice → Rice" in notice
    assert "Lot added: 361130-9 婺源县新增标段 (Wuyuan County)" in notice and "Products: Citrus" in notice
    assert "Lot deleted: 361128-3" in notice

    # re-confirming starts afresh: nothing left to read
    service.submit_bid(bid, user("insurer"))
    db.session.commit()
    assert bid.invalidation_changes is None
    assert 'id="invalidated-notice"' not in read_text(client.get(f"/bids/{bid.id}"))


def test_a_county_exception_names_the_county_and_its_limit(open_round, login, db):
    bid = make_bid(open_round)
    exception = make_exception(open_round, "361128", 4)
    tenders.delete_exception(exception, user("city_agri"))
    db.session.commit()
    client = login("insurer")
    notice = _notice(client, bid)
    assert notice.count("县级承保机构上限：鄱阳县") == 2
    assert "承保机构上限（家）：3 → 4" in notice and "承保机构上限（家）：4 → 3" in notice
    client.get("/lang/en")
    assert "Maximum insurers in Poyang County" in _notice(client, bid)


def test_the_home_page_helper_gets_the_changes_and_an_older_invalidation_still_reads(open_round, login, db):
    bid = make_bid(open_round)
    data = {k: getattr(open_round, k) for k in tenders.ROUND_FIELDS}
    tenders.update_round(open_round, {**data, "contact": "王科长 0793-1234567"}, user("city_agri"))
    db.session.commit()
    [waiting] = service.invalidated_bids_of(user("insurer"))
    [change] = service.describe_invalidation(waiting)
    assert change.title == "修改遴选规则"
    assert [(f.label, f.old, f.new) for f in change.fields] == [
        ("联系人及电话", "市农业农村局 0793-0000000", "王科长 0793-1234567")]
    assert f"bid-invalidated-{bid.id}" in read_text(login("insurer").get("/"))   # the dashboard block still works
    # invalidated before the changes were kept: the reason says what kind of change it was
    bid.invalidation_changes = None
    db.session.commit()
    assert service.describe_invalidation(bid) == []
    assert "招标方已变更标段或规则（遴选规则已修改）" in _notice(login("insurer"), bid)
