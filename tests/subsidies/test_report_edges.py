"""The overview's figures and the insurer's statement, to the fen: which claims each one counts (year, status, level,
county, underwriter, the reader's scope), in which order, under which name.

One world for every test: claims of two underwriters in four counties, two years, two products and every status
that matters (a draft, a submitted claim, a returned one, verified claims, a part-paid one). The bureaus never see
a draft (their scope leaves drafts out); a returned claim they do see, and it is counted nowhere."""

from datetime import date, timedelta
from decimal import Decimal as D

import pytest
import sqlalchemy as sa
from flask import session
from flask_babel import refresh

from agri_insurance.access import scope_clause
from agri_insurance.auth.models import Role
from agri_insurance.reference import service as reference_service
from agri_insurance.reference.models import Region, RegionLevel
from agri_insurance.subsidies import service
from agri_insurance.subsidies.models import ShareLevel, SubsidyClaim
from tests.factories import county, make_insurer, make_user
from tests.subsidies.factories import assign, demo_insurer, make_claim, user
from tests.test_query_counts import counting


@pytest.fixture
def claims(world):
    """Rice: city 5 %, county 5 %; camellia oil (local specialty): city 15 %, county 30 %. Returns the claims by
    name; the demo insurer's unless said."""
    other = make_insurer()
    make_user("other_insurer", Role.INSURER, insurer=other)
    assign(product_code="camellia_oil")                                      # 鄱阳县
    assign(insurer=other)                                                    # 鄱阳县 rice, another underwriter
    for code in ("361127", "361129", "361130"):                              # 余干县, 万年县, 婺源县
        assign(county_code=code)
    world.session.commit()
    made = {
        # 鄱阳县 2026 (the late season's claim made first: the ledger's order is by period, not by when made)
        "submitted": make_claim(status="submitted", premium="30000.00", period="2026年晚稻季"),   # no money due yet
        "paid_in_part": make_claim(status="verified", premium="100000.00", period="2026年早稻季"),  # 2,000.00 paid
        "draft": make_claim(status="draft", premium="7000.00", period="2026年补充"),             # counted nowhere
        "returned": make_claim(status="submitted", premium="9000.00", period="2026年秋季"),       # nor this, once
        "camellia": make_claim(status="verified", product_code="camellia_oil", premium="86400.00"),  # local 38,880
        "other_insurer": make_claim(status="verified", insurer_username="other_insurer", premium="20000.00"),
        "last_year": make_claim(status="verified", premium="80000.00", year=2025, period="2025年全年"),
        # 余干县: the same premium both years; 婺源县: new this year; 万年县: last year only
        "yugan": make_claim(status="verified", county_code="361127", premium="40000.00"),
        "yugan_last_year": make_claim(status="verified", county_code="361127", premium="40000.00", year=2025,
                                      period="2025年全年"),
        "wuyuan": make_claim(status="verified", county_code="361130", premium="10000.00"),
        "wannian_last_year": make_claim(status="verified", county_code="361129", premium="50000.00", year=2025,
                                        period="2025年全年"),
    }
    service.return_claim(made["returned"], "数量与清单不符", user("county_agri"))
    service.confirm_payment(made["paid_in_part"], ShareLevel.COUNTY, D("2000.00"), date(2026, 6, 1), "KF-1",
                            user("county_finance"))
    world.session.commit()
    return made


def _scope(username: str):
    return scope_clause(SubsidyClaim, user(username))


def test_local_money_per_county_counts_verified_claims_of_the_year_city_and_county_levels_only(claims):
    assert service.disbursement_by_county(2026, _scope("city_finance")) == [
        {"county": "余干县", "due": D("4000.00"), "paid": D("0.00")},
        # 10,000.00 + 38,880.00 (camellia oil) + 2,000.00 (the other underwriter's); not the submitted claim, the
        # returned one, the draft nor last year's; not the central or provincial shares
        {"county": "鄱阳县", "due": D("50880.00"), "paid": D("2000.00")},
        {"county": "婺源县", "due": D("1000.00"), "paid": D("0.00")},
    ]


def test_local_money_per_county_is_limited_to_what_the_reader_may_see(claims):
    assert service.disbursement_by_county(2026, _scope("county_finance")) == [
        {"county": "鄱阳县", "due": D("50880.00"), "paid": D("2000.00")}]
    assert service.disbursement_by_county(2026, _scope("other_insurer")) == [
        {"county": "鄱阳县", "due": D("2000.00"), "paid": D("0.00")}]
    assert service.disbursement_by_county(2024, _scope("city_finance")) == []


def test_premium_per_product_counts_submitted_and_verified_claims_of_the_year(claims):
    # rice 100,000 + 30,000 (submitted) + 20,000 + 40,000 + 10,000; not the returned 9,000, the draft's 7,000 nor
    # last year's
    assert service.premium_by_product(2026, _scope("city_agri")) == [
        {"product": "油茶", "premium": D("86400.00")},
        {"product": "水稻", "premium": D("200000.00")},
    ]
    assert service.premium_by_product(2026, _scope("other_insurer")) == [
        {"product": "水稻", "premium": D("20000.00")}]
    assert service.premium_by_product(2025, _scope("city_agri")) == [
        {"product": "水稻", "premium": D("170000.00")}]


def test_premium_growth_per_county_against_last_year(claims):
    assert service.premium_growth(2026, _scope("city_agri")) == [
        {"county": "余干县", "premium": D("40000.00"), "previous": D("40000.00"), "growth_pct": D("0.0"),
         "lagging": False},
        # 100,000 + 30,000 + 86,400 + 20,000 = 236,400 against 80,000: +195.5 %
        {"county": "鄱阳县", "premium": D("236400.00"), "previous": D("80000.00"), "growth_pct": D("195.5"),
         "lagging": False},
        {"county": "万年县", "premium": D("0"), "previous": D("50000.00"), "growth_pct": D("-100.0"),
         "lagging": True},
        {"county": "婺源县", "premium": D("10000.00"), "previous": D("0"), "growth_pct": None, "lagging": False},
    ]
    assert [row["county"] for row in service.premium_growth(2026, _scope("county_agri"))] == ["鄱阳县"]
    # the underwriter's own scope holds its draft: still not counted (100,000 + 30,000 + 86,400 against 80,000)
    assert service.premium_growth(2026, _scope("insurer"))[1] == {
        "county": "鄱阳县", "premium": D("216400.00"), "previous": D("80000.00"), "growth_pct": D("170.5"),
        "lagging": False}
    assert service.premium_growth(2026, _scope("other_insurer")) == [
        {"county": "鄱阳县", "premium": D("20000.00"), "previous": D("0"), "growth_pct": None, "lagging": False}]


def test_an_english_reader_gets_the_english_names(app, claims):
    with app.test_request_context():
        session["lang"] = "en"
        refresh()                                           # the locale read before (Chinese) is not kept
        scope = _scope("city_agri")
        assert [row["county"] for row in service.disbursement_by_county(2026, scope)] == [
            "Yugan County", "Poyang County", "Wuyuan County"]
        assert [row["product"] for row in service.premium_by_product(2026, scope)] == ["Camellia oil", "Rice"]
        assert [row["county"] for row in service.premium_growth(2026, scope)] == [
            "Yugan County", "Poyang County", "Wannian County", "Wuyuan County"]


def _ids(rows) -> set[int]:
    return {claim.id for claim in rows}


def test_the_statement_lists_the_reported_claims_of_the_year_county_and_underwriter(claims):
    city, insurer = _scope("city_finance"), demo_insurer().id
    poyang = county("361128").id
    assert _ids(service.claims_for_report(city, 2026, poyang, insurer)) == {
        claims["paid_in_part"].id, claims["submitted"].id, claims["camellia"].id}
    assert _ids(service.claims_for_report(city, None, county("361127").id)) == {
        claims["yugan"].id, claims["yugan_last_year"].id}
    assert _ids(service.claims_for_report(city, 2025, insurer_id=insurer)) == {
        claims["last_year"].id, claims["yugan_last_year"].id, claims["wannian_last_year"].id}
    # the reader's scope holds whatever is asked
    assert _ids(service.claims_for_report(_scope("other_insurer"), 2026, insurer_id=insurer)) == set()
    assert _ids(service.claims_for_report(_scope("other_insurer"), 2026)) == {claims["other_insurer"].id}
    # nor a draft in the underwriter's own
    assert claims["draft"].id not in _ids(service.claims_for_report(_scope("insurer"), 2026))


def test_the_statement_is_in_the_ledgers_order(claims):
    rows = list(service.claims_for_report(_scope("city_finance"), 2026))
    assert [(c.region_id, c.product_id, c.period, c.id) for c in rows] == sorted(
        (c.region_id, c.product_id, c.period, c.id) for c in rows)
    assert len(rows) == 6


def _ledger_clauses(username: str, year: int) -> list:
    return [_scope(username), SubsidyClaim.year == year, SubsidyClaim.status.in_(service.REPORTED)]


def test_the_ledgers_totals_count_the_government_shares_of_the_reported_claims(claims):
    # premium 100,000 + 30,000 + 86,400 + 20,000 + 40,000 + 10,000; government shares 80 % of rice (central,
    # provincial, city, county) and 45 % of camellia oil (city, county): 80,000 + 24,000 + 38,880 + 16,000 + 32,000
    # + 8,000; the county's 2,000.00 paid
    assert service.ledger_summary(_ledger_clauses("city_finance", 2026)) == (6, {
        "premium": D("286400.00"), "due": D("198880.00"), "paid": D("2000.00"), "outstanding": D("196880.00")})


def test_an_empty_ledger_totals_zero_and_nothing_is_overdue(world):
    assert service.ledger_summary(_ledger_clauses("city_finance", 2026)) == (0, {
        "premium": D("0.00"), "due": D("0.00"), "paid": D("0.00"), "outstanding": D("0.00")})
    nothing = service.overdue_summary(_scope("county_finance"))
    assert (nothing.shares, nothing.claims, nothing.outstanding, nothing.days_overdue()) == (0, 0, D("0.00"), 0)


def _totals(totals) -> tuple:
    return totals.due, totals.paid, totals.lines


def test_a_county_bureaus_totals_by_insurer_are_in_the_insurers_name_order(claims):
    """鄱阳县's county shares of the year's verified claims: 5,000.00 (2,000.00 paid) and 25,920.00 (camellia oil) of
    the demo insurer (赣鄱财险, made first), 1,000.00 of the other (测试财险, made later, named first)."""
    paid = service.payment_totals(service.FinanceBureau(county("361128")), 2026)
    assert (paid.bureau.region.code, paid.year, paid.lines) == ("361128", 2026, [])   # totals only: no line read
    assert [(insurer.short_name, _totals(t)) for insurer, t in paid.by_insurer] == [
        ("测试财险", (D("1000.00"), D("0.00"), 1)), ("赣鄱财险", (D("30920.00"), D("2000.00"), 2))]
    assert {level: _totals(t) for level, t in paid.by_level.items()} == {
        ShareLevel.COUNTY: (D("31920.00"), D("2000.00"), 3)}
    assert [(region.code, _totals(t)) for region, t in paid.by_county] == [
        ("361128", (D("31920.00"), D("2000.00"), 3))]
    assert (_totals(paid.total), paid.total.outstanding) == ((D("31920.00"), D("2000.00"), 3), D("29920.00"))


def test_a_county_added_after_the_others_is_still_listed_in_code_order(world):
    """The counties' growth is listed by code, not in the order the counties were entered."""
    city = world.session.scalar(sa.select(Region).where(Region.level == RegionLevel.CITY))
    reference_service.save_region(None, {"code": "361101", "name": "测试区", "name_en": "Test District",
                                         "level": RegionLevel.COUNTY, "parent_id": city.id}, None)
    assign(county_code="361101")
    world.session.commit()
    make_claim(status="submitted", county_code="361101", premium="1000.00")
    make_claim(status="submitted", premium="2000.00")                                    # 鄱阳县, entered first
    assert [row["county"] for row in service.premium_growth(2026, _scope("city_agri"))] == ["测试区", "鄱阳县"]


def test_the_city_bureaus_lines_by_insurer_name_county_claim_and_level_without_shares_of_0(claims):
    """The city pays central, provincial and city shares: camellia oil (a local specialty) has 0 % central and
    provincial, so only its city share is a line. The other underwriter (测试财险) is listed first by name, though
    entered later; the demo insurer's claims by county (余干县 before 鄱阳县, though entered later), then by claim."""
    city = service.FinanceBureau(county("361100"))
    assert city.levels == (ShareLevel.CENTRAL, ShareLevel.PROVINCIAL, ShareLevel.CITY)
    names = {claim.id: name for name, claim in claims.items()}
    lines = [(line.claim.insurer.short_name, names[line.claim.id], line.share.level.value, line.share.amount)
             for line in service.stream_payment_lines(city, 2026)]
    assert lines == [
        ("测试财险", "other_insurer", "central", D("9000.00")), ("测试财险", "other_insurer", "provincial", D("5000.00")),
        ("测试财险", "other_insurer", "city", D("1000.00")),
        ("赣鄱财险", "yugan", "central", D("18000.00")), ("赣鄱财险", "yugan", "provincial", D("10000.00")),
        ("赣鄱财险", "yugan", "city", D("2000.00")),
        ("赣鄱财险", "paid_in_part", "central", D("45000.00")), ("赣鄱财险", "paid_in_part", "provincial", D("25000.00")),
        ("赣鄱财险", "paid_in_part", "city", D("5000.00")),
        ("赣鄱财险", "camellia", "city", D("12960.00")),
        ("赣鄱财险", "wuyuan", "central", D("4500.00")), ("赣鄱财险", "wuyuan", "provincial", D("2500.00")),
        ("赣鄱财险", "wuyuan", "city", D("500.00")),
    ]


def test_a_bureaus_line_is_overdue_while_anything_of_it_is_owed_after_its_due_day(claims):
    other = claims["other_insurer"]
    finance = user("city_finance")
    service.confirm_payment(other, ShareLevel.CENTRAL, D("9000.00"), date(2026, 6, 2), "ZY-1", finance)   # in full
    service.confirm_payment(other, ShareLevel.CITY, D("999.50"), date(2026, 6, 2), "SF-2", finance)       # 0.50 owed
    due = other.due_date
    asked = due + timedelta(days=45)
    late = {line.share.level: line.days_overdue for line in
            service.stream_payment_lines(service.FinanceBureau(county("361100")), 2026, today=asked)
            if line.claim.id == other.id}
    assert late == {ShareLevel.CENTRAL: 0, ShareLevel.PROVINCIAL: 45, ShareLevel.CITY: 45}


def test_a_claims_lines_stay_together_in_the_bureaus_list(world):
    first = make_claim(status="verified", premium="100000.00", period="2026年早稻季")
    second = make_claim(status="verified", premium="20000.00", period="2026年晚稻季")
    lines = [(line.claim.id, line.share.level) for line in
             service.stream_payment_lines(service.FinanceBureau(county("361100")), 2026)]
    assert lines == [(claim.id, level) for claim in (first, second)
                     for level in (ShareLevel.CENTRAL, ShareLevel.PROVINCIAL, ShareLevel.CITY)]


def test_overdue_shares_as_of_the_day_asked_by_county_level_and_claim(claims):
    """Every claim was verified today, so all fall due on one day: as of a day after it every government share
    still owed is overdue (not the camellia oil's 0 % central and provincial ones, nor what was paid), listed by
    county, then level, then claim. As of today nothing is."""
    service.confirm_payment(claims["other_insurer"], ShareLevel.COUNTY, D("1000.00"), date(2026, 6, 2), "KF-2",
                            user("county_finance"))               # the other's county share paid in full: not owed
    city = _scope("city_finance")
    counties = [("361127", ["yugan", "yugan_last_year"]),
                ("361128", ["paid_in_part", "camellia", "other_insurer", "last_year"]),
                ("361129", ["wannian_last_year"]), ("361130", ["wuyuan"])]
    expected = [(code, level, name) for code, names in counties
                for level in (ShareLevel.CENTRAL, ShareLevel.PROVINCIAL, ShareLevel.CITY, ShareLevel.COUNTY)
                for name in names
                if not (name == "camellia" and level in (ShareLevel.CENTRAL, ShareLevel.PROVINCIAL))
                and (name, level) != ("other_insurer", ShareLevel.COUNTY)]
    names = {claim.id: name for name, claim in claims.items()}
    asked = date(2027, 6, 1)
    items = service.overdue_items(city, today=asked)
    assert [(item.claim.region.code, item.share.level, names[item.claim.id]) for item in items] == expected
    due = claims["yugan"].due_date
    assert {(item.due_date, item.days_overdue) for item in items} == {(due, (asked - due).days)}
    owed = {(names[item.claim.id], item.share.level): item.share.outstanding for item in items}
    assert owed[("paid_in_part", ShareLevel.COUNTY)] == D("3000.00")
    assert service.overdue_items(city) == []
    assert service.overdue_items(city, today=due) == []            # due that day: not overdue yet
    assert len(service.overdue_items(city, today=due + timedelta(days=1))) == len(expected)


def test_the_overdue_summary_as_of_the_day_asked_for_the_city_and_a_county(app, claims):
    """What the menu's badge and the home page count: the shares still owed past their due day, on how many claims,
    how much, since when; the city's from the index alone, a county's through its claims."""
    asked = date(2027, 6, 1)
    due = claims["yugan"].due_date
    city = service.overdue_summary(None, asked)
    # 8 claims verified, 4 government shares each but camellia oil's 2: 30 shares; owed: 80 % of the rice premiums
    # (340,000.00 of 2026 and 2025) and 45 % of camellia oil's 86,400.00, less the county's 2,000.00 paid
    assert (city.shares, city.claims, city.outstanding, city.oldest_due) == (30, 8, D("308880.00"), due)
    assert city.days_overdue(asked) == (asked - due).days
    poyang = service.overdue_summary(_scope("county_finance"), asked, claims=False)
    # 鄱阳县's claims (every government share of them): 78,000.00 still owed of 80,000.00, 38,880.00 (camellia oil's
    # 2 shares), 16,000.00 (the other underwriter's) and 64,000.00 (2025)
    assert (poyang.shares, poyang.claims, poyang.outstanding) == (14, None, D("196880.00"))
    assert service.overdue_summary(None) == service.OverdueSummary(0, 0, D("0.00"), None)
    with app.test_request_context():
        badge = service.overdue_summary_for(user("county_finance"), asked)
        assert (badge.shares, badge.claims, badge.outstanding) == (14, None, D("196880.00"))
        listed = service.overdue_summary_for(user("county_finance"), asked, claims=True)
        assert (listed.shares, listed.claims) == (14, 4)
        assert service.overdue_summary_for(user("city_agri"), asked).shares == 30


def test_the_overdue_summary_is_counted_once_per_request(app, world, db):
    """The menu's badge, the home page and the overdue list each ask for it: one query in a request, a second only
    when the claims are asked for and were not counted."""
    bureau = user("county_finance")
    asked = date(2027, 6, 1)
    with app.test_request_context():
        with counting(db.engine) as statements:
            service.overdue_summary_for(bureau, asked)
            service.overdue_summary_for(bureau, asked)
        assert len(statements) == 1
        with counting(db.engine) as statements:
            service.overdue_summary_for(bureau, asked, claims=True)
            service.overdue_summary_for(bureau, asked, claims=True)
            service.overdue_summary_for(bureau, asked)
        assert len(statements) == 1
