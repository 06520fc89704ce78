"""Big lists for the paging tests: a world of 1,000+ rows built once per test module with bulk inserts (a
service call per row would take minutes), logins that need no per-test fixture, the statements a request runs,
and a page read back as a user sees it (rows, the count, the page links).

A module's tests only read (GET), so they share its world; it is wiped when the module is done.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from urllib.parse import parse_qs, urlsplit

import lxml.html
import sqlalchemy as sa

from agri_insurance.extensions import db as _db

DEMO_PASSWORD = "demo1234"


def wipe(app) -> None:
    """Every table emptied (as the per-test `db` fixture leaves the database)."""
    with app.app_context():
        _db.session.remove()
        tables = [t.name for t in reversed(_db.metadata.sorted_tables)]
        with _db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                _empty_postgres(conn, tables)
            else:
                # the audit log's append-only triggers go and come back (as PostgreSQL's TRUNCATE, emptying the
                # database is not a row change)
                triggers = conn.execute(sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                                                "AND tbl_name = 'audit_entries'")).all()
                for name, _sql in triggers:
                    conn.execute(sa.text(f"DROP TRIGGER {name}"))
                for name in tables:
                    conn.execute(sa.text(f"DELETE FROM {name}"))
                for _name, sql in triggers:
                    conn.execute(sa.text(sql))


def _empty_postgres(conn, tables: list[str]) -> None:
    """Only the tables a test wrote to, by DELETE, and the sequences it moved set back to 1.

    TRUNCATE of every table (RESTART IDENTITY CASCADE) gives each of the ~80 tables and their indexes new files:
    0.3-0.6 s after every test, most of a short test's time. A test writes to a few tables with a few rows, which
    DELETE empties in milliseconds. The session's replication role skips the triggers for it: the audit log's
    append-only one (as TRUNCATE did) and the foreign keys' (so the order does not matter; everything goes)."""
    if conn.execute(sa.text("SHOW is_superuser")).scalar() != "on":  # the role needs a superuser
        conn.execute(sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        return
    written = conn.execute(sa.text(" UNION ALL ".join(
        f"SELECT '{name}' WHERE EXISTS (SELECT 1 FROM {name})" for name in tables))).scalars().all()
    conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
    for name in written:
        conn.execute(sa.text(f"DELETE FROM {name}"))
    # a sequence never read shows no last value (so is as RESTART IDENTITY leaves it); the others start at 1 again
    conn.execute(sa.text("SELECT setval(format('%I.%I', schemaname, sequencename)::regclass, 1, false) "
                         "FROM pg_sequences WHERE schemaname = current_schema() AND last_value IS NOT NULL"))


def module_world(app, build: Callable[[], object]):
    """Run `build()` in a request context and commit; yields what it returns; wipes the database afterwards.
    Use from a module-scoped fixture: `yield from module_world(app, build)`."""
    try:
        with app.test_request_context():
            world = build()
            _db.session.commit()
            _db.session.remove()
        yield world
    finally:
        wipe(app)


def bulk_insert(model, rows: list[dict]) -> list[int]:
    """INSERT many rows, a thousand to a statement (Core, with RETURNING: SQLAlchemy's "insertmanyvalues"; the
    ORM's bulk path sends one statement per row); their ids, in the rows' order."""
    if not rows:
        return []
    table = model.__table__
    stmt = table.insert().returning(table.c.id, sort_by_parameter_order=True)
    return list(_db.session.connection().execute(stmt, rows).scalars())


class Logins:
    """`logins("county_agri")` → a test client logged in as that user (one login per user and module)."""

    def __init__(self, app):
        self.app = app
        self.clients = {}

    def __call__(self, username: str, password: str = DEMO_PASSWORD):
        if username not in self.clients:
            client = self.app.test_client()
            response = client.post("/login", data={"username": username, "password": password})
            assert response.status_code == 302, f"login as {username} failed: {response.status_code}"
            self.clients[username] = client
        return self.clients[username]


@contextmanager
def statements(app):
    """The SQL statements run inside the block (by any session on the application's engine)."""
    with app.app_context():
        engine = _db.engine
    seen: list[str] = []

    def record(_conn, _cursor, statement, _parameters, _context, _executemany):
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def queries_for(app, client, url: str, table_id: str | None = None) -> tuple[int, ListPage]:
    """How many statements one GET of `url` runs, and the page it returned."""
    with statements(app) as seen:
        page = get_page(client, url, table_id)
    return len(seen), page


class ListPage:
    """A list page read back: the rows of its table, the count it states, its page links, its filter problems."""

    def __init__(self, html: str, table_id: str):
        self.html = html
        self.tree = lxml.html.fromstring(html)
        self.table_id = table_id

    @property
    def rows(self) -> list[list[str]]:
        """The cells' text of each row of the list (an empty list's "nothing found" row is no row)."""
        rows = []
        for tr in self.tree.xpath(f'//table[@id="{self.table_id}"]/tbody/tr'):
            cells = [" ".join(td.text_content().split()) for td in tr.xpath("./td")]
            if len(cells) == 1 and tr.xpath('./td[@colspan]'):
                continue
            rows.append(cells)
        return rows

    def column(self, index: int) -> list[str]:
        return [row[index] for row in self.rows]

    @property
    def summary(self) -> str:
        found = self.tree.xpath('//*[@id="pagination"]//*[contains(@class, "page-summary")]')
        return " ".join(found[0].text_content().split()) if found else ""

    @property
    def total(self) -> int:
        """The number of rows the filtered list has, as the page says it ("共 N 条"); 0 when it says nothing."""
        text = self.summary
        return int(text.split("共")[1].split("条")[0].strip()) if text else 0

    def link(self, rel: str) -> str | None:
        """The href of the "next" or "prev" link."""
        found = self.tree.xpath(f'//*[@id="pagination"]//a[@rel="{rel}"]/@href')
        return found[0] if found else None

    @property
    def page_numbers(self) -> list[str]:
        return [" ".join(a.text_content().split()) for a in self.tree.xpath('//*[@id="pagination"]//li')]

    @property
    def problems(self) -> list[str]:
        return [" ".join(d.text_content().split()) for d in self.tree.xpath('//*[@id="filter-problems"]/div')]

    def footer(self) -> list[str]:
        return [" ".join(td.text_content().split()) for td in self.tree.xpath(
            f'//table[@id="{self.table_id}"]/tfoot/tr/td')]

    def selected(self, name: str) -> str | None:
        """The value a filter select shows as chosen."""
        found = self.tree.xpath(f'//select[@name="{name}"]//option[@selected]/@value')
        return found[0] if found else None


def get_page(client, url: str, table_id: str | None = None) -> ListPage:
    response = client.get(url)
    assert response.status_code == 200, f"GET {url}: {response.status_code}"
    return ListPage(response.get_data(as_text=True), table_id or TABLE_IDS.get(urlsplit(url).path, ""))


def query_of(href: str) -> dict[str, str]:
    """The query values of a link (one value each)."""
    return {k: v[0] for k, v in parse_qs(urlsplit(href).query).items()}


TABLE_IDS = {
    "/subsidies/claims": "claims",
    "/subsidies/ledger": "ledger",
    "/tenders/": "rounds",
    "/awards/": "award-rounds",
    "/evaluation/": "evaluation-rounds",
    "/bids/": "all-bids",
    "/jobs": "jobs",
    "/admin/users": "users",
    "/audit/": "audit-entries",
}


def assert_same_queries(app, client, few_rows_url: str, full_page_url: str, table_id: str | None = None
                        ) -> tuple[int, int]:
    """A page of few rows and a full page run as many statements (nothing is queried per row)."""
    few, small = queries_for(app, client, few_rows_url, table_id)
    many, big = queries_for(app, client, full_page_url, table_id)
    assert 0 < len(small.rows) < 10 and len(big.rows) == 50, (len(small.rows), len(big.rows))
    assert few == many, f"{few} statements for {len(small.rows)} rows, {many} for {len(big.rows)}"
    return few, many
