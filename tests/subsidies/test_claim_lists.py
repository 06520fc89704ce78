"""The claims list and the ledger with 1,800 claims: paging, each filter alone and together (kept in the page
links), text search, values no filter can use, organisation scope (counts included), totals of the filtered rows,
and a number of queries that does not grow with the rows shown."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from agri_insurance.auth.models import User
from agri_insurance.db_types import to_fen
from agri_insurance.extensions import db
from agri_insurance.reference.models import Insurer, Product, Region
from agri_insurance.subsidies import service as subsidies_service
from agri_insurance.subsidies.models import ClaimShare, ClaimStatus, ShareLevel, SubsidyClaim
from tests.lists import Logins, assert_same_queries, bulk_insert, get_page, module_world, query_of

S = ClaimStatus
COUNTIES = ("361128", "361127", "361130")          # 鄱阳县 (the demo county users'), 余干县, 婺源县
PRODUCTS = ("rice", "rapeseed", "peanut", "breeding_sow")
STATUS_CYCLE = (S.DRAFT, S.SUBMITTED, S.VERIFIED, S.PAYING, S.SETTLED, S.RETURNED, S.VERIFIED, S.SUBMITTED,
                S.SETTLED, S.PAYING, S.VERIFIED, S.SETTLED)
REPORTED = (S.SUBMITTED, S.VERIFIED, S.PAYING, S.SETTLED)
N = 1800
SHARES = ((ShareLevel.CENTRAL, Decimal("35")), (ShareLevel.PROVINCIAL, Decimal("25")), (ShareLevel.CITY, Decimal("8")))


@dataclass
class Claim:
    id: int
    county: str
    insurer: int          # index of the demo insurer (0: the demo insurer user's)
    product: str
    year: int
    period: str
    status: ClaimStatus
    premium: Decimal
    due: Decimal          # government shares
    paid: Decimal


@dataclass
class World:
    claims: list[Claim]
    counties: dict[str, int]
    insurers: list[int]
    insurer_names: list[str]
    products: dict[str, int]


def build_claims(n: int = N) -> World:
    """The demo world and `n` claims in three counties, six insurers, four products, two years, every status."""
    from agri_insurance.demo import load_demo_data

    load_demo_data()
    db.session.flush()
    counties = {code: db.session.scalar(sa.select(Region.id).where(Region.code == code)) for code in COUNTIES}
    insurers = list(db.session.execute(sa.select(Insurer.id, Insurer.short_name).order_by(Insurer.id)))
    products = {code: db.session.scalar(sa.select(Product.id).where(Product.code == code)) for code in PRODUCTS}
    users = dict(db.session.execute(sa.select(User.username, User.id)).all())
    verified_at = datetime(2026, 3, 2, 2)
    rows, facts = [], []
    for i in range(n):
        status = STATUS_CYCLE[(i * 5 + i // 7) % len(STATUS_CYCLE)]
        county, insurer = COUNTIES[i % 3], (i // 3) % len(insurers)
        product, year = PRODUCTS[(i // 18) % 4], 2026 if i % 10 < 8 else 2025
        premium = to_fen(Decimal(10000) + Decimal(i) * Decimal("13.37"))
        farmer = to_fen(premium / 5)
        verified = status in (S.VERIFIED, S.PAYING, S.SETTLED)
        rows.append({
            "insurer_id": insurers[insurer][0], "region_id": counties[county], "product_id": products[product],
            "year": year, "period": f"{year}年第{i:04d}批", "quantity": Decimal(100), "unit": "亩",
            "sum_insured": premium * 20, "premium_rate": Decimal(5), "total_premium": premium,
            "farmer_premium": farmer, "households": 10, "list_rows": 10, "notes": None, "scheme_id": None,
            "status": status, "created_by_id": users["insurer"], "created_at": datetime(2026, 1, 5),
            "submitted_at": None if status is S.DRAFT else datetime(2026, 2, 1),
            "verified_at": verified_at if verified else None,
            "verified_by_id": users["county_agri"] if verified else None, "due_days": 30 if verified else None,
            "over_budget_confirmed": False, "returned_reason": "清单不符" if status is S.RETURNED else None,
            "verification_opinion": "同意拨付" if verified else None,
            "settled_at": datetime(2026, 4, 1) if status is S.SETTLED else None})
        facts.append((county, insurer, product, year, status, premium, farmer))
    ids = bulk_insert(SubsidyClaim, rows)
    shares, claims = [], []
    for claim_id, (county, insurer, product, year, status, premium, farmer) in zip(ids, facts, strict=True):
        due = premium - farmer
        paid = Decimal(0)
        if status is not S.DRAFT:
            amounts = {level: to_fen(premium * pct / 100) for level, pct in SHARES}
            amounts[ShareLevel.COUNTY] = due - sum(amounts.values())
            amounts[ShareLevel.FARMER] = farmer
            for level, amount in amounts.items():
                level_paid = Decimal(0)
                if level is not ShareLevel.FARMER:
                    level_paid = amount if status is S.SETTLED else to_fen(amount / 2) if status is S.PAYING else 0
                    paid += level_paid
                shares.append({"claim_id": claim_id, "level": level, "pct": Decimal(20), "amount": amount,
                               "paid": level_paid})
        claims.append(Claim(claim_id, county, insurer, product, year, rows[len(claims)]["period"], status, premium,
                            due, paid))
    bulk_insert(ClaimShare, shares)
    subsidies_service.fill_due_dates()
    return World(claims, counties, [i for i, _ in insurers], [n for _, n in insurers], products)


@pytest.fixture(scope="module")
def world(app):
    yield from module_world(app, build_claims)


@pytest.fixture(scope="module")
def logins(app, world):
    return Logins(app)


def visible(world: World, username: str) -> list[Claim]:
    """What each demo user may see (drafts are the insurer's own until submitted), newest first."""
    rule = {"city_agri": lambda c: c.status is not S.DRAFT, "city_finance": lambda c: c.status is not S.DRAFT,
            "county_agri": lambda c: c.status is not S.DRAFT and c.county == "361128",
            "county_finance": lambda c: c.status is not S.DRAFT and c.county == "361128",
            "insurer": lambda c: c.insurer == 0, "admin": lambda c: True}[username]
    return sorted((c for c in world.claims if rule(c)), key=lambda c: -c.id)


def ids(page) -> list[int]:
    return [int(cell.lstrip("#")) for cell in page.column(0)]


def money(text: str) -> Decimal:
    return Decimal(text.replace(",", ""))


# --- the claims list ------------------------------------------------------------------------------------------

def test_claims_are_paged_newest_first(world, logins):
    city = logins("city_agri")
    expected = visible(world, "city_agri")
    assert len(expected) > 1000
    first = get_page(city, "/subsidies/claims")
    assert first.total == len(expected) and ids(first) == [c.id for c in expected[:50]]
    assert f"共 {len(expected)} 条，显示第 1–50 条" in first.summary
    second = get_page(city, first.link("next"))
    assert ids(second) == [c.id for c in expected[50:100]] and "显示第 51–100 条" in second.summary
    assert query_of(second.link("prev")) == {}  # back to the first page: no page number
    last_number = -(-len(expected) // 50)
    assert str(last_number) in first.page_numbers and "…" in first.page_numbers
    last = get_page(city, f"/subsidies/claims?page={last_number}")
    assert ids(last) == [c.id for c in expected[(last_number - 1) * 50:]] and last.link("next") is None
    # a page past the end shows the last page; a page that is no number, the first
    assert ids(get_page(city, "/subsidies/claims?page=9999")) == ids(last)
    assert ids(get_page(city, "/subsidies/claims?page=abc")) == ids(first)
    assert ids(get_page(city, "/subsidies/claims?page=99999999999999999999999")) == ids(first)


@pytest.mark.parametrize("name", ["region_id", "insurer_id", "product_id", "year", "status"])
def test_each_claim_filter_alone_and_in_the_links(world, logins, name):
    value, keep = {
        "region_id": (world.counties["361130"], lambda c: c.county == "361130"),
        "insurer_id": (world.insurers[2], lambda c: c.insurer == 2),
        "product_id": (world.products["peanut"], lambda c: c.product == "peanut"),
        "year": (2025, lambda c: c.year == 2025),
        "status": ("verified", lambda c: c.status is S.VERIFIED),
    }[name]
    expected = [c for c in visible(world, "city_agri") if keep(c)]
    assert len(expected) > 50  # more than one page
    page = get_page(logins("city_agri"), f"/subsidies/claims?{name}={value}")
    assert page.total == len(expected) and ids(page) == [c.id for c in expected[:50]]
    assert query_of(page.link("next")) == {name: str(value), "page": "2"}
    second = get_page(logins("city_agri"), page.link("next"))
    assert ids(second) == [c.id for c in expected[50:100]] and not page.problems
    if name != "year":
        assert page.selected(name) == str(value)  # the select shows the filter in use


def test_claim_filters_combined_and_their_total(world, logins):
    url = (f"/subsidies/claims?region_id={world.counties['361127']}&product_id={world.products['rice']}"
           f"&year=2026&status=settled")
    expected = [c for c in visible(world, "city_agri") if c.county == "361127" and c.product == "rice"
                and c.year == 2026 and c.status is S.SETTLED]
    page = get_page(logins("city_agri"), url)
    assert 0 < page.total == len(expected) and ids(page) == [c.id for c in expected[:50]]
    assert "合计" in page.footer()[0] and money(page.footer()[1]) == sum(c.premium for c in expected)
    # a wider filter spanning pages: the total is of every filtered row, not of the page shown
    expected = [c for c in visible(world, "city_agri") if c.year == 2026]
    page = get_page(logins("city_agri"), "/subsidies/claims?year=2026&page=3")
    assert money(page.footer()[1]) == sum(c.premium for c in expected)
    assert query_of(page.link("next")) == {"year": "2026", "page": "4"}
    assert query_of(page.link("prev")) == {"year": "2026", "page": "2"}


def test_claims_text_search(world, logins):
    city = logins("city_agri")
    target = visible(world, "city_agri")[300]
    for text in (str(target.id), f"#{target.id}"):  # a number also matches periods with its digits
        page = get_page(city, f"/subsidies/claims?{urlencode({'q': text})}")
        assert target.id in ids(page)
    assert ids(get_page(city, f"/subsidies/claims?{urlencode({'q': f'#{target.id}'})}")) == [target.id]
    page = get_page(city, f"/subsidies/claims?q=第{target.period.split('第')[1]}")  # the period
    assert ids(page) == [target.id]
    name = world.insurer_names[4]
    page = get_page(city, f"/subsidies/claims?q={name}")
    assert page.total == len([c for c in visible(world, "city_agri") if c.insurer == 4])
    assert query_of(page.link("next")) == {"q": name, "page": "2"}
    page = get_page(city, "/subsidies/claims?q=花生&year=2025")  # the product's name, with another filter
    assert page.total == len([c for c in visible(world, "city_agri") if c.product == "peanut" and c.year == 2025])
    for text in ("%", "_", "\\", "'"):  # LIKE's own characters are text like any other
        page = get_page(city, f"/subsidies/claims?{urlencode({'q': text})}")
        assert page.rows == [] and query_of(page.tree.xpath('//a[@id="clear-filters"]/@href')[0]) == {}, text


@pytest.mark.parametrize("query, problem", [
    ("year=abc", "年度"), ("year=20260", "年度"), ("status=bogus", "状态"), ("region_id=999999", "县（市、区）"),
    ("insurer_id=x", "承保机构"), ("product_id=-1", "险种"), ("region_id=99999999999999999999999", "县（市、区）"),
])
def test_a_value_no_filter_can_use_is_ignored_and_said(world, logins, query, problem):
    page = get_page(logins("city_agri"), f"/subsidies/claims?{query}")
    assert page.total == len(visible(world, "city_agri"))
    assert len(page.problems) == 1 and problem in page.problems[0] and "无效" in page.problems[0]
    assert query_of(page.link("next")) == {"page": "2"}  # the refused value is not carried on


def test_county_and_insurer_see_only_their_own_claims(world, logins):
    county = logins("county_agri")
    expected = visible(world, "county_agri")
    page = get_page(county, "/subsidies/claims")
    assert page.total == len(expected) and ids(page) == [c.id for c in expected[:50]]
    assert set(page.column(1)) == {"鄱阳县"} and 'name="region_id"' not in page.html
    # another county in the URL changes nothing: the county filter is not even read for a county user
    assert get_page(county, f"/subsidies/claims?region_id={world.counties['361130']}").total == len(expected)
    wuyuan = next(c for c in world.claims if c.county == "361130" and c.status is not S.DRAFT)
    assert get_page(county, f"/subsidies/claims?{urlencode({'q': f'#{wuyuan.id}'})}").rows == []
    insurer = logins("insurer")
    expected = visible(world, "insurer")
    page = get_page(insurer, "/subsidies/claims")
    assert page.total == len(expected) and ids(page) == [c.id for c in expected[:50]]
    assert any(c.status is S.DRAFT for c in expected) and 'name="insurer_id"' not in page.html
    other = world.insurer_names[1]
    assert get_page(insurer, f"/subsidies/claims?q={other}").total == 0
    assert get_page(insurer, f"/subsidies/claims?insurer_id={world.insurers[1]}").total == len(expected)
    assert money(page.footer()[1]) == sum(c.premium for c in expected)


def test_claims_page_queries_do_not_grow_with_its_rows(world, app, logins):
    target = visible(world, "city_agri")[7]
    few, many = assert_same_queries(app, logins("city_agri"), f"/subsidies/claims?q=%23{target.id}",
                                    "/subsidies/claims?page=2")
    assert few <= 12, few


# --- the ledger -------------------------------------------------------------------------------------------------

def ledger_rows(world: World, username: str, year: int = 2026, keep=lambda c: True) -> list[Claim]:
    """The ledger's rows in its order: county, product, period (by id: the ledger's own order), then id."""
    rows = [c for c in visible(world, username) if c.year == year and c.status in REPORTED and keep(c)]
    return sorted(rows, key=lambda c: (world.counties[c.county], world.products[c.product], c.period, c.id))


def test_ledger_pages_with_the_totals_of_every_filtered_row(world, logins):
    finance = logins("city_finance")
    expected = ledger_rows(world, "city_finance")
    assert len(expected) > 1000
    page = get_page(finance, "/subsidies/ledger?year=2026")
    assert page.total == len(expected) and ids(page) == [c.id for c in expected[:50]]
    footer = page.footer()
    assert [money(v) for v in footer[1:]] == [sum(c.premium for c in expected), sum(c.due for c in expected),
                                              sum(c.paid for c in expected),
                                              sum(c.due - c.paid for c in expected)]
    row = page.rows[0]
    assert [money(v) for v in row[6:]] == [expected[0].premium, expected[0].due, expected[0].paid,
                                           expected[0].due - expected[0].paid]
    second = get_page(finance, page.link("next"))
    assert ids(second) == [c.id for c in expected[50:100]] and second.footer() == footer
    assert query_of(page.link("next")) == {"year": "2026", "page": "2"}


def test_ledger_filters_combined_and_kept_in_the_links_and_the_download(world, logins):
    finance = logins("city_finance")
    url = (f"/subsidies/ledger?year=2026&region_id={world.counties['361127']}&insurer_id={world.insurers[3]}"
           f"&status=paying")
    expected = ledger_rows(world, "city_finance", keep=lambda c: c.county == "361127" and c.insurer == 3
                           and c.status is S.PAYING)
    page = get_page(finance, url)
    assert 0 < page.total == len(expected) and ids(page) == [c.id for c in expected]
    assert "余干县" in page.tree.xpath("//h1")[0].text_content()
    assert money(page.footer()[3]) == sum(c.paid for c in expected)
    download = page.tree.xpath('//a[@id="ledger-download"]/@href')[0]
    assert query_of(download) == query_of(url)
    ws = load_workbook(io.BytesIO(finance.get(download).data)).active
    all_rows = list(ws.iter_rows(min_row=4, values_only=True))
    data_rows = all_rows[:next(i for i, row in enumerate(all_rows) if row[0] == "合计")]  # totals, then signatures
    assert len(data_rows) == len(expected)
    # wider: by product, over several pages, the links keep every filter
    expected = ledger_rows(world, "city_finance", keep=lambda c: c.product == "rapeseed")
    page = get_page(finance, f"/subsidies/ledger?year=2026&product_id={world.products['rapeseed']}&q=2026年")
    assert page.total == len(expected) > 50
    assert query_of(page.link("next")) == {"year": "2026", "product_id": str(world.products["rapeseed"]),
                                           "q": "2026年", "page": "2"}
    assert money(page.footer()[2]) == sum(c.due for c in expected)


def test_ledger_offers_only_reported_statuses_and_ignores_others(world, logins):
    page = get_page(logins("city_finance"), "/subsidies/ledger?year=2026&status=draft")
    assert page.total == len(ledger_rows(world, "city_finance")) and "状态" in page.problems[0]
    assert 'value="draft"' not in page.html and 'value="returned"' not in page.html
    page = get_page(logins("city_finance"), "/subsidies/ledger?year=abc")  # this year, and said so
    assert "年度" in page.problems[0]


def test_county_ledger_counts_only_its_county(world, logins):
    finance = logins("county_finance")
    expected = ledger_rows(world, "county_finance")
    for url in ("/subsidies/ledger?year=2026", f"/subsidies/ledger?year=2026&region_id={world.counties['361130']}"):
        page = get_page(finance, url)
        assert page.total == len(expected) and set(page.column(1)) == {"鄱阳县"}
        assert money(page.footer()[1]) == sum(c.premium for c in expected)


def test_ledger_queries_do_not_grow_with_its_rows(world, app, logins):
    target = ledger_rows(world, "city_finance")[5]
    assert_same_queries(app, logins("city_finance"), f"/subsidies/ledger?year=2026&q=%23{target.id}",
                        "/subsidies/ledger?year=2026&page=3")

