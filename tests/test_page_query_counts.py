"""No query per row, on any page: every HTML page of the access table (tests/test_access.py ROUTES), for every role
that may open it, issues as many SQL statements with three times the data as with one (an N+1 shows up here as a
count that grows). The data that grows is what the lists of a city's years grow with: claims in every state (some
overdue, some partly paid), their audit entries, users, rounds with their lots."""

from datetime import date, timedelta

import pytest
import time_machine

from agri_insurance import clock
from agri_insurance.db_types import FEN
from agri_insurance.roles import Role
from agri_insurance.subsidies import service as subsidies
from agri_insurance.subsidies.models import ShareLevel
from tests.factories import county, make_user
from tests.subsidies.factories import make_claim, user
from tests.tenders.factories import make_round
from tests.test_access import fill_url
from tests.test_get_reads_only import _get_routes
from tests.test_query_counts import counting


def _grow(db, batch: int, times: int) -> None:
    """`times` more of everything a growing list shows (batch `batch` names them apart)."""
    for n in range(times):
        tag = f"{batch}-{n}"
        with time_machine.travel(clock.utcnow() - timedelta(days=90), tick=False):
            late = make_claim(status="verified", premium="1000.00", period=f"增长{tag}甲")
        paying = make_claim(status="verified", premium="2000.00", period=f"增长{tag}乙")
        for claim in (paying, late):   # part of the city's share paid
            subsidies.confirm_payment(claim, ShareLevel.CITY, (claim.share(ShareLevel.CITY).amount / 2).quantize(
                FEN), date.today(), f"V{claim.id}", user("city_finance"))
        make_claim(status="submitted", premium="3000.00", period=f"增长{tag}丙")
        make_claim(premium="4000.00", period=f"增长{tag}丁")
        make_user(f"grow{batch}_{n}", Role.COUNTY_AGRI, region=county())
        make_round(lots_per_county=1 + n, name=f"增长轮次{tag}")
    db.session.commit()


def _html_counts(client, urls) -> dict[str, int]:
    counts = {}
    for url in urls:
        with counting(client.application.extensions["sqlalchemy"].engine) as statements:
            response = client.get(url)
        if response.status_code == 200 and response.mimetype == "text/html":
            counts[url] = len(statements)
    return counts


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_every_page_costs_the_same_queries_with_three_times_the_data(role, login, db):
    client = login(role.value)
    urls = [fill_url(url, db, role) for _endpoint, url in _get_routes(role)]
    _grow(db, 1, 1)
    small = _html_counts(client, urls)
    _grow(db, 2, 2)
    large = _html_counts(client, urls)
    grown = {url: (small[url], large.get(url)) for url in small if large.get(url) != small[url]}
    assert not grown, f"{role.value}: statements at 1× → 3× the data: {grown}"
