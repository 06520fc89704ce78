"""The lists of rounds (tenders, results, evaluations) and of bids (an insurer's own, a round's opened bids) with
1,440 rounds and 1,000+ bids: paging, filters alone and together (kept in the page links), text search, values
no filter can use, who sees what (counts included), and a number of queries that does not grow with the rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa

from agri_insurance.auth.models import User
from agri_insurance.awards.models import PUBLISHED_STATES, Award
from agri_insurance.bids.models import Bid, BidOpening, BidStatus, bid_lots
from agri_insurance.evaluation.models import EvaluationPanel, PanelMember
from agri_insurance.extensions import db
from agri_insurance.reference.models import Insurer, Region
from agri_insurance.tenders.models import Lot, RoundStatus, SelectionRound
from tests.lists import Logins, assert_same_queries, bulk_insert, get_page, module_world, query_of, statements

R = RoundStatus
AWARDED_STATES = (R.ALLOCATED, R.PUBLICISED, R.AWARDED, R.IN_FORCE, R.EXPIRED)
# three rounds in four have a result, so that the results list has 1,000+ rows too
CYCLE = (R.DRAFT, R.OPEN, R.CLOSED, R.OPENED, R.EVALUATION, R.CANCELLED, *AWARDED_STATES * 3, R.ALLOCATED,
         R.PUBLICISED, R.AWARDED)
OPENED = (R.OPENED, R.EVALUATION, *AWARDED_STATES)
N_ROUNDS = 1440
N_BIDDERS = 1050
BID_CYCLE = (BidStatus.DRAFT, BidStatus.SUBMITTED, BidStatus.WITHDRAWN, BidStatus.INVALIDATED)
PAST, FUTURE = datetime(2026, 1, 10, 2), datetime(2099, 1, 10, 2)


@dataclass
class Round:
    id: int
    name: str
    start: int
    status: RoundStatus
    lots: int
    awarded: bool
    panel: bool
    expert: bool           # the demo expert sits on its panel
    bid: BidStatus | None  # the demo insurer's bid


@dataclass
class World:
    rounds: list[Round]
    own_bids: dict[int, int]           # round id → the demo insurer's bid id
    big_round: int
    bidders: list[tuple[int, str]]     # (bid id, insurer name) of the big round's opened bids, by bid id
    bid_lots: dict[int, set[str]]      # bid id → lot codes
    lots: dict[str, int]               # the big round's lots: code → id


def _round_row(name, start, status, users) -> dict:
    opened = status in OPENED
    return {"name": name, "term_start_year": start, "bid_deadline": FUTURE if status is R.OPEN else PAST,
            "opening_time": FUTURE if status is R.OPEN else PAST, "notice_working_days": 5, "min_insurers": 2,
            "max_insurers": 3, "market_share_cap_pct": None, "contact": None, "notes": None, "status": status,
            "status_changed_at": PAST, "opened_at": PAST if opened else None,
            "opened_by_id": users["city_agri"] if opened else None,
            "publicised_at": PAST if status in PUBLISHED_STATES else None,
            "cancelled_at": PAST if status is R.CANCELLED else None,
            "cancel_reason": "测试取消" if status is R.CANCELLED else None, "rules_version": 1, "created_at": PAST,
            "created_by_id": users["city_agri"]}


def _lot_row(round_id, region_id, code) -> dict:
    return {"round_id": round_id, "region_id": region_id, "code": code, "name": f"标段{code}", "townships": None,
            "expected_premium": Decimal("1000000.00"), "loss_ratio_pct": None, "notes": None}


def _bid_row(round_id, insurer_id, status) -> dict:
    return {"round_id": round_id, "insurer_id": insurer_id, "status": status, "created_at": PAST,
            "updated_at": PAST, "submitted_at": PAST if status is not BidStatus.DRAFT else None,
            "withdrawn_at": PAST if status is BidStatus.WITHDRAWN else None,
            "invalidated_at": PAST if status is BidStatus.INVALIDATED else None,
            "invalidation_reason": "标段变更" if status is BidStatus.INVALIDATED else None}


def _build() -> World:
    from agri_insurance.demo import load_demo_data

    load_demo_data()
    db.session.flush()
    users = dict(db.session.execute(sa.select(User.username, User.id)).all())
    county = db.session.scalar(sa.select(Region.id).where(Region.code == "361128"))
    demo_insurer = db.session.scalar(sa.select(User.insurer_id).where(User.username == "insurer"))
    other_insurer = db.session.scalar(sa.select(Insurer.id).where(Insurer.id != demo_insurer).limit(1))
    facts = []
    for i in range(N_ROUNDS):
        status, start = CYCLE[i % len(CYCLE)], 2030 + i % 60
        special = "油茶专项" if i % 7 == 0 else "综合"
        facts.append((f"{start}–{start + 2}年度{special}遴选第{i:04d}号", start, status, i % 3 + 1))
    ids = bulk_insert(SelectionRound, [_round_row(name, start, status, users) for name, start, status, _ in facts])
    lot_rows, award_rows = [], []
    for round_id, (_name, _start, _status, n_lots) in zip(ids, facts, strict=True):
        lot_rows += [_lot_row(round_id, county, f"L{k}") for k in range(n_lots)]
    lot_ids = bulk_insert(Lot, lot_rows)
    first_lot = {}
    for lot_id, row in zip(lot_ids, lot_rows, strict=True):
        first_lot.setdefault(row["round_id"], lot_id)
    rounds, bid_rows, panel_rows = [], [], []
    for i, (round_id, (name, start, status, n_lots)) in enumerate(zip(ids, facts, strict=True)):
        awarded = status in AWARDED_STATES
        if awarded:
            award_rows.append({"round_id": round_id, "lot_id": first_lot[round_id], "insurer_id": demo_insurer,
                               "run_id": None, "score": None, "created_at": PAST})
        bid = BID_CYCLE[i % 4] if i % 12 else None
        if bid is not None:
            bid_rows.append(_bid_row(round_id, demo_insurer, bid))
        if i % 5 == 0:  # another insurer's bid: never in the demo insurer's lists
            bid_rows.append(_bid_row(round_id, other_insurer, BidStatus.SUBMITTED))
        panel = i % 2 == 0 and status is not R.DRAFT
        if panel:
            panel_rows.append({"round_id": round_id, "status": "checking", "created_at": PAST})
        rounds.append(Round(round_id, name, start, status, n_lots, awarded, panel, panel and i % 4 == 0, bid))
    bulk_insert(Award, award_rows)
    bid_ids = bulk_insert(Bid, bid_rows)
    own_bids = {row["round_id"]: bid_id for bid_id, row in zip(bid_ids, bid_rows, strict=True)
                if row["insurer_id"] == demo_insurer}
    panel_ids = bulk_insert(EvaluationPanel, panel_rows)
    with_panel = [r for r in rounds if r.panel]
    bulk_insert(PanelMember, [{"panel_id": panel_id, "user_id": users["expert"], "assigned_at": PAST}
                              for panel_id, r in zip(panel_ids, with_panel, strict=True) if r.expert])
    # one round whose bids are opened, with more bidders than a page shows
    big = bulk_insert(SelectionRound, [_round_row("开标测试轮次", 2029, R.OPENED, users)])[0]
    lot_ids = bulk_insert(Lot, [_lot_row(big, county, f"BIG-{k}") for k in range(3)])
    lots = {f"BIG-{k}": lot_id for k, lot_id in enumerate(lot_ids)}
    insurer_rows = [{"name": f"测试保险第{k:04d}号股份有限公司", "short_name": f"测试{k:04d}",
                     "credit_code": f"91361100TEST{k:06d}", "parent_company": None, "contact_person": None,
                     "contact_phone": None, "address": None, "active": True, "created_at": PAST}
                    for k in range(N_BIDDERS + 5)]
    insurer_ids = bulk_insert(Insurer, insurer_rows)
    rows = [_bid_row(big, insurer_id, BidStatus.SUBMITTED if k < N_BIDDERS else BidStatus.DRAFT)
            for k, insurer_id in enumerate(insurer_ids)]
    big_bids = bulk_insert(Bid, rows)
    codes = {bid_id: {f"BIG-{k % 3}"} | ({f"BIG-{(k + 1) % 3}"} if k % 5 == 0 else set())
             for k, bid_id in enumerate(big_bids[:N_BIDDERS])}
    db.session.execute(bid_lots.insert(), [{"bid_id": bid_id, "lot_id": lots[code]}
                                           for bid_id, lot_codes in codes.items() for code in lot_codes])
    bulk_insert(BidOpening, [{"round_id": big, "opened_at": PAST, "opened_by_id": users["city_agri"],
                              "entries": [{"bid_id": bid_id, "insurer_id": insurer_ids[k]}
                                          for k, bid_id in enumerate(big_bids[:N_BIDDERS])]}])
    bidders = [(bid_id, insurer_rows[k]["name"]) for k, bid_id in enumerate(big_bids[:N_BIDDERS])]
    return World(rounds, own_bids, big, bidders, codes, lots)


@pytest.fixture(scope="module")
def world(app):
    yield from module_world(app, _build)


@pytest.fixture(scope="module")
def logins(app, world):
    return Logins(app)


def newest_first(rounds) -> list[Round]:
    return sorted(rounds, key=lambda r: (-r.start, -r.id))


def tender_rounds(world: World, username: str) -> list[Round]:
    bureau = username in ("admin", "city_agri")
    return newest_first(r for r in world.rounds if bureau or r.status is not R.DRAFT)


def names(page) -> list[str]:
    return page.column(0)


# --- the rounds of the tender -------------------------------------------------------------------------------

def test_tender_rounds_are_paged_with_their_lot_counts(world, logins):
    city = logins("city_agri")
    expected = tender_rounds(world, "city_agri")
    page = get_page(city, "/tenders/")
    assert page.total == len(expected) + 1  # and the round whose bids are opened
    assert names(page) == [r.name for r in expected[:50]]
    assert page.column(4) == [str(r.lots) for r in expected[:50]]
    last = get_page(city, f"/tenders/?page={page.total // 50 + 1}")
    assert last.rows[-1][0] == "开标测试轮次" and last.link("next") is None


@pytest.mark.parametrize("query, keep", [
    ("status=evaluation", lambda r: r.status is R.EVALUATION),
    ("year=2051", lambda r: 2049 <= r.start <= 2051),
    ("q=油茶专项", lambda r: "油茶专项" in r.name),
    ("q=油茶专项&year=2040&status=awarded", lambda r: "油茶专项" in r.name and 2038 <= r.start <= 2040
     and r.status is R.AWARDED),
])
def test_tender_round_filters(world, logins, query, keep):
    expected = [r for r in tender_rounds(world, "county_agri") if keep(r)]
    page = get_page(logins("county_agri"), f"/tenders/?{query}")
    assert 0 < page.total == len(expected) and names(page) == [r.name for r in expected[:50]]
    if page.total > 50:
        assert query_of(page.link("next")) == {**query_of(f"/?{query}"), "page": "2"}
        assert names(get_page(logins("county_agri"), page.link("next"))) == [r.name for r in expected[50:100]]


def test_drafts_stay_the_bureaus_even_when_asked_for(world, logins):
    county = logins("county_agri")
    assert get_page(county, "/tenders/?status=draft").total == 0
    assert get_page(county, "/tenders/").total == len(tender_rounds(world, "county_agri")) + 1
    drafts = [r for r in world.rounds if r.status is R.DRAFT]
    assert get_page(logins("city_agri"), "/tenders/?status=draft").total == len(drafts)


@pytest.mark.parametrize("query", ["status=nope", "year=x", "year=1999", "page=-3"])
def test_tender_rounds_ignore_values_no_filter_can_use(world, logins, query):
    page = get_page(logins("city_agri"), f"/tenders/?{query}")
    assert page.total == len(world.rounds) + 1 and len(page.rows) == 50
    assert len(page.problems) == (0 if query.startswith("page") else 1)


def test_tender_rounds_queries_do_not_grow(world, app, logins):
    assert_same_queries(app, logins("city_agri"), "/tenders/?q=第0007号", "/tenders/?page=2")


def test_the_query_count_check_bites(world, app):
    """A template that reads each round's lots (as the list once did) runs a query per row: the counter sees it."""
    from flask import render_template_string

    counts = []
    for n in (2, 50):
        with app.test_request_context(), statements(app) as seen:
            rows = db.session.scalars(sa.select(SelectionRound).order_by(SelectionRound.id).limit(n)).all()
            render_template_string("{% for r in rows %}{{ r.lots|length }}{% endfor %}", rows=rows)
            db.session.remove()
        counts.append(len(seen))
    assert counts[1] - counts[0] >= 48   # one query per row at least (two where the lots load their products)


# --- results and evaluations ----------------------------------------------------------------------------------

def test_results_list_pages_what_each_user_may_see(world, logins):
    city = get_page(logins("city_agri"), "/awards/")
    expected = newest_first(r for r in world.rounds if r.awarded)
    assert city.total == len(expected) > 1000 and names(city) == [r.name for r in expected[:50]]
    published = newest_first(r for r in world.rounds if r.awarded and r.status in PUBLISHED_STATES)
    insurer = get_page(logins("insurer"), "/awards/")
    assert insurer.total == len(published) and names(insurer) == [r.name for r in published[:50]]
    # an allocation not yet published stays the bureau's, even asked for by status
    assert get_page(logins("insurer"), "/awards/?status=allocated").total == 0
    allocated = [r for r in world.rounds if r.awarded and r.status is R.ALLOCATED]
    assert get_page(logins("city_agri"), "/awards/?status=allocated").total == len(allocated)
    expected = [r for r in published if "油茶专项" in r.name and r.status is R.EXPIRED]
    page = get_page(logins("insurer"), "/awards/?q=油茶专项&status=expired")
    assert page.total == len(expected) and names(page) == [r.name for r in expected[:50]]
    second = get_page(logins("insurer"), insurer.link("next"))
    assert names(second) == [r.name for r in published[50:100]]


def test_results_list_queries_do_not_grow(world, app, logins):
    assert_same_queries(app, logins("insurer"), "/awards/?q=第0008号", "/awards/?page=3")


def test_evaluation_list_for_the_bureau_an_expert_and_an_insurer(world, logins):
    expected = tender_rounds(world, "city_agri")
    page = get_page(logins("city_agri"), "/evaluation/")
    assert page.total == len(expected) + 1 and names(page) == [r.name for r in expected[:50]]
    assert page.column(2) == ["资格审查" if r.panel else "—" for r in expected[:50]]
    mine = newest_first(r for r in world.rounds if r.expert)
    page = get_page(logins("expert"), "/evaluation/")
    assert page.total == len(mine) and names(page) == [r.name for r in mine[:50]]
    bid_in = newest_first(r for r in world.rounds if r.bid is not None and r.status is not R.DRAFT)
    page = get_page(logins("insurer"), "/evaluation/")
    assert page.total == len(bid_in) > 1000 and names(page) == [r.name for r in bid_in[:50]]
    expected = [r for r in bid_in if r.status is R.EVALUATION and 2060 <= r.start <= 2062]
    page = get_page(logins("insurer"), "/evaluation/?status=evaluation&year=2062")
    assert page.total == len(expected) and names(page) == [r.name for r in expected]


def test_evaluation_list_queries_do_not_grow(world, app, logins):
    assert_same_queries(app, logins("city_agri"), "/evaluation/?q=第0010号", "/evaluation/?page=4")


# --- bids -----------------------------------------------------------------------------------------------------

def own_bids(world: World) -> list[tuple[int, Round]]:
    """The demo insurer's bids, newest first: (bid id, round)."""
    by_id = {r.id: r for r in world.rounds}
    return sorted(((bid_id, by_id[round_id]) for round_id, bid_id in world.own_bids.items()), key=lambda b: -b[0])


def test_an_insurers_bids_are_paged_and_filtered(world, logins):
    insurer = logins("insurer")
    expected = own_bids(world)
    page = get_page(insurer, "/bids/")
    assert page.total == len(expected) > 1000 and names(page) == [r.name for _, r in expected[:50]]
    second = get_page(insurer, page.link("next"))
    assert names(second) == [r.name for _, r in expected[50:100]]
    withdrawn = [(b, r) for b, r in expected if r.bid is BidStatus.WITHDRAWN and "油茶专项" in r.name]
    page = get_page(insurer, "/bids/?status=withdrawn&q=油茶专项")
    assert page.total == len(withdrawn) and set(page.column(1)) == {"已撤回"}
    assert names(page) == [r.name for _, r in withdrawn[:50]]
    # the rounds open for bids are listed above, with the insurer's bid where it has one
    open_rounds = [r for r in world.rounds if r.status is R.OPEN]
    table = page.tree.xpath('//table[@id="open-rounds"]/tbody/tr')
    assert len(table) == len(open_rounds)
    assert get_page(insurer, "/bids/?status=bogus").problems


def test_an_insurers_bid_list_queries_do_not_grow(world, app, logins):
    assert_same_queries(app, logins("insurer"), "/bids/?q=第0013号", "/bids/?page=5")


def test_a_rounds_opened_bids_are_paged_and_filtered(world, logins):
    city = logins("city_agri")
    url = f"/bids/rounds/{world.big_round}"
    page = get_page(city, url, "opened-bids")
    assert page.total == N_BIDDERS and page.column(0) == [name for _, name in world.bidders[:50]]
    assert page.column(1)[0] == "、".join(sorted(world.bid_lots[world.bidders[0][0]]))
    last = get_page(city, f"{url}?page={-(-N_BIDDERS // 50)}", "opened-bids")
    assert last.column(0) == [name for _, name in world.bidders[-(N_BIDDERS % 50 or 50):]]
    # the drafts of the round were never opened: they are in no page and no count
    assert "测试保险第1050号" not in last.html
    on_lot = [name for bid_id, name in world.bidders if "BIG-1" in world.bid_lots[bid_id]]
    page = get_page(city, f"{url}?lot_id={world.lots['BIG-1']}", "opened-bids")
    assert page.total == len(on_lot) and page.column(0) == on_lot[:50]
    assert query_of(page.link("next")) == {"lot_id": str(world.lots["BIG-1"]), "page": "2"}
    page = get_page(city, f"{url}?{urlencode({'q': '测试保险第0123号'})}", "opened-bids")
    assert page.column(0) == ["测试保险第0123号股份有限公司"]
    page = get_page(city, f"{url}?lot_id={world.lots['BIG-1']}&q=测试01", "opened-bids")
    assert page.column(0) == [name for name in on_lot if "测试保险第01" in name][:50]
    lot_of_another_round = next(iter(world.rounds)).id  # an id that is no lot of this round
    assert get_page(city, f"{url}?lot_id={lot_of_another_round}", "opened-bids").problems


def test_a_rounds_bid_list_queries_do_not_grow(world, app, logins):
    url = f"/bids/rounds/{world.big_round}"
    assert_same_queries(app, logins("city_agri"), f"{url}?{urlencode({'q': '测试保险第0123号'})}", url,
                        table_id="opened-bids")
