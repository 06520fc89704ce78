"""No query per row, on any page: every HTML page of the access table (tests/test_access.py ROUTES), for every role
that may open it, issues as many SQL statements with twice the data as with once (an N+1 shows up here as a count
that grows). The data that grows is what the lists of a city's years grow with: claims in every state (some
overdue, some partly paid), their audit entries, users, rounds with their lots.

One world for the module (built once, not per role): the demo data, every role's URL objects, one logged-in client
per role; then the data grows once, every role's pages are counted, it grows again by as much, and every role's
pages are counted again. A growth step of one of everything is enough: a statement per row adds at least one
statement per step (a lazy load injected on the ledger page fails the test).

PostgreSQL only: the statements a page issues come from the same ORM code on both databases (no page read branches
on the dialect; only writes do: locks, COPY, ANALYZE), so a query per row shows up on either, and PostgreSQL is
what production runs. On SQLite it passes too (34 s), but would add that to every CI run without catching more."""

from datetime import date, timedelta

import pytest
import time_machine

from agri_insurance import clock
from agri_insurance.db_types import FEN
from agri_insurance.extensions import db as _db
from agri_insurance.roles import Role
from agri_insurance.subsidies import service as subsidies
from agri_insurance.subsidies.models import ShareLevel
from tests.factories import county, make_user
from tests.lists import Logins, module_world
from tests.subsidies.factories import make_claim, user
from tests.tenders.factories import make_round
from tests.test_access import fill_url
from tests.test_get_reads_only import _get_routes
from tests.test_query_counts import counting

pytestmark = pytest.mark.postgres


def _grow(batch: int) -> None:
    """One more of everything a growing list shows (batch `batch` names them apart)."""
    with time_machine.travel(clock.utcnow() - timedelta(days=90), tick=False):
        late = make_claim(status="verified", premium="1000.00", period=f"增长{batch}甲")
    paying = make_claim(status="verified", premium="2000.00", period=f"增长{batch}乙")
    for claim in (paying, late):   # part of the city's share paid
        subsidies.confirm_payment(claim, ShareLevel.CITY, (claim.share(ShareLevel.CITY).amount / 2).quantize(
            FEN), date.today(), f"V{claim.id}", user("city_finance"))
    make_claim(status="submitted", premium="3000.00", period=f"增长{batch}丙")
    make_claim(premium="4000.00", period=f"增长{batch}丁")
    make_user(f"grow{batch}", Role.COUNTY_AGRI, region=county())
    make_round(lots_per_county=batch, name=f"增长轮次{batch}")
    _db.session.commit()


DOWNLOADS = (".xlsx", ".pdf", ".zip")


def _pages(role) -> list[str]:
    """The role's GET URLs that may be HTML pages (a path ending .xlsx/.pdf/.zip is a download)."""
    return [url for _endpoint, url in _get_routes(role) if not url.split("?")[0].endswith(DOWNLOADS)]


def _html_counts(client, urls) -> dict[str, int]:
    counts = {}
    for url in urls:
        with counting(_db.engine) as statements:
            response = client.get(url)
        if response.status_code == 200 and response.mimetype == "text/html":
            counts[url] = len(statements)
    return counts


@pytest.fixture(scope="module")
def counts(app):
    """{role: (statements per URL with the data grown once, the same grown twice)}."""
    from agri_insurance.demo import load_demo_data

    def build():
        load_demo_data()
        _db.session.commit()
        return {role: [fill_url(url, _db, role) for url in _pages(role)] for role in Role}

    for urls in module_world(app, build):
        logins = Logins(app)
        clients = {role: logins(role.value) for role in Role}
        measured = {role: [] for role in Role}
        for batch in (1, 2):
            with app.test_request_context():
                _grow(batch)
                _db.session.remove()
            with app.app_context():
                for role in Role:
                    measured[role].append(_html_counts(clients[role], urls[role]))
                    urls[role] = list(measured[role][0])   # the second time, only what was an HTML page
        yield {role: tuple(pair) for role, pair in measured.items()}


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_every_page_costs_the_same_queries_with_twice_the_data(role, counts):
    small, large = counts[role]
    assert small, f"{role.value}: no HTML page counted"
    grown = {url: (small[url], large.get(url)) for url in small if large.get(url) != small[url]}
    assert not grown, f"{role.value}: statements at 1× → 2× the data: {grown}"


@pytest.mark.parametrize("role", [Role.COUNTY_FINANCE, Role.CITY_FINANCE], ids=lambda r: r.value)
def test_the_finance_bureaus_payment_list_is_among_the_pages_counted(role, counts):
    """The payment list grows with every verified claim of the year (a line per share the bureau pays, with its
    payments): it is one of the pages held to the same statements at 1× and 2× above."""
    small, large = counts[role]
    listed = [url for url in small if url.startswith("/subsidies/payment-list") and ".xlsx" not in url]
    assert listed and all(large[url] == small[url] for url in listed)
