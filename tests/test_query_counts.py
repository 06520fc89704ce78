"""No query per row: a page issues as many SQL statements for a large round as for a small one (an N+1 shows up
here as a count that grows with the data)."""

from contextlib import contextmanager

import sqlalchemy as sa

from tests.tenders.factories import make_round


@contextmanager
def counting(engine):
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


def _queries(client, db, url: str) -> int:
    with counting(db.engine) as statements:
        assert client.get(url).status_code == 200, url
    return len(statements)


def test_a_rounds_page_costs_the_same_queries_with_four_lots_and_with_forty(login, db):
    small = make_round(lots_per_county=2, name="小轮次")
    large = make_round(lots_per_county=20, name="大轮次")
    client = login("city_agri")
    for url in ("/tenders/{}", "/tenders/{}/lots.xlsx", "/evaluation/rounds/{}/scheme"):
        client.get(url.format(small.id))   # warm: what is cached per process is not counted
        assert _queries(client, db, url.format(small.id)) == _queries(client, db, url.format(large.id)), url


def test_a_round_page_costs_the_same_queries_with_six_hundred_lots(login, db):
    """bench/web's round at 10× has 600 lots: the page shows them a hundred at a time, the counts per county
    counted in SQL (it loaded and drew every lot, and past 500 lots their products cost a statement more)."""
    from decimal import Decimal

    from agri_insurance.tenders.models import Lot, lot_products
    from tests.subsidies.factories import product

    small = make_round(lots_per_county=2, name="小轮次")
    large = make_round(lots_per_county=1, name="大轮次")
    region_id, rice, citrus = large.lots[0].region_id, product("rice").id, product("citrus").id
    ids = db.session.scalars(sa.insert(Lot).returning(Lot.id), [
        {"round_id": large.id, "region_id": region_id, "code": f"L{n:03d}", "name": f"第{n}标段",
         "expected_premium": Decimal("100000.00")} for n in range(600)]).all()
    db.session.execute(sa.insert(lot_products), [{"lot_id": i, "product_id": p} for i in ids for p in (rice, citrus)])
    db.session.commit()
    client = login("city_agri")
    url = "/tenders/{}"
    client.get(url.format(small.id))   # warm
    assert _queries(client, db, url.format(small.id)) == _queries(client, db, url.format(large.id))
    # the lots a hundred a page, by code (361128-1 and 361130-1 first), the county's count of all its 601
    first = client.get(url.format(large.id)).get_data(as_text=True)
    assert "L000" in first and "L097" in first and "L098" not in first and ">601<" in first
    assert "共 602 条，显示第 1–100 条" in first
    later = client.get(url.format(large.id) + "?page=7").get_data(as_text=True)
    assert "L598" in later and "L599" in later and "L597" not in later and "显示第 601–602 条" in later


def test_an_underwriting_list_page_costs_the_same_queries_for_five_rows_and_for_three_hundred(login, db):
    """The list page (its 50 first rows, its flags 50 a page, its villages' notice) reads the villages kept when the
    list was stored: no statement groups the list's rows, whose number (200,000 in bench/web) must not matter."""
    from tests.subsidies.factories import assign
    from tests.underwriting.factories import rows
    from tests.underwriting.notice_factories import claim_with_list

    assign()
    db.session.commit()
    small = claim_with_list(submitted=True)
    large = claim_with_list(rows(300) + rows(30), submitted=True, period="2026年第二季度")   # 30 people twice
    client = login("city_agri")
    url = "/underwriting/claims/{}"
    client.get(url.format(small.id))   # warm
    assert _queries(client, db, url.format(small.id)) == _queries(client, db, url.format(large.id))
    with counting(db.engine) as statements:
        page = client.get(url.format(large.id))
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "第8村" in html and "共 60 条，显示第 1–50 条" in html   # flags 50 a page
    assert "显示第 51–60 条" in client.get(url.format(large.id) + "?page=2").get_data(as_text=True)
    grouped = [s for s in statements if "underwriting_rows" in s and "GROUP BY" in s.upper()]
    assert grouped == []
