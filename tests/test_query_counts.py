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
