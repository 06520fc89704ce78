"""The pagers of the two pages that grew one for volume (issue 23): a round's lots a hundred a page, a list's
flags fifty a page. A user pages forward and back and sees the lots and flags of each page, the counts of all."""

from decimal import Decimal

import pytest
import sqlalchemy as sa

from agri_insurance.extensions import db as _db
from tests.e2e.conftest import log_in

pytestmark = pytest.mark.browser


@pytest.fixture
def large_round(demo, db):
    """A draft round with 150 lots in 鄱阳县 besides its first two (each county's first by code comes first)."""
    from agri_insurance.tenders.models import Lot, lot_products
    from tests.subsidies.factories import product
    from tests.tenders.factories import make_round

    rnd = make_round(lots_per_county=1, name="一百五十个标段的轮次")
    region_id, rice = rnd.lots[0].region_id, product("rice").id
    ids = _db.session.scalars(sa.insert(Lot).returning(Lot.id), [
        {"round_id": rnd.id, "region_id": region_id, "code": f"L{n:03d}", "name": f"第{n}标段",
         "expected_premium": Decimal("100000.00")} for n in range(150)]).all()
    _db.session.execute(sa.insert(lot_products), [{"lot_id": i, "product_id": rice} for i in ids])
    _db.session.commit()
    return rnd


def test_a_rounds_lots_are_paged_a_hundred_at_a_time(page, large_round):
    log_in(page, "city_agri")
    page.goto(f"/tenders/{large_round.id}")
    pager = page.locator("#lots-pagination")
    assert "共 152 条，显示第 1–100 条" in pager.inner_text()
    lots = page.locator("#lots")
    assert lots.get_by_text("L000", exact=True).count() == 1 and lots.get_by_text("L098").count() == 0
    pager.locator("a[rel=next]").click()
    assert "显示第 101–152 条" in page.locator("#lots-pagination").inner_text()
    assert "page=2" in page.url
    assert page.locator("#lots").get_by_text("L149", exact=True).count() == 1
    assert page.locator("#lots").get_by_text("L000", exact=True).count() == 0
    page.locator("#lots-pagination a[rel=prev]").click()
    assert "显示第 1–100 条" in page.locator("#lots-pagination").inner_text()


@pytest.fixture
def flagged_claim(demo, db):
    """A submitted claim whose list of 330 rows names 30 people twice: 60 flags."""
    from tests.subsidies.factories import assign
    from tests.underwriting.factories import rows
    from tests.underwriting.notice_factories import claim_with_list

    assign()
    _db.session.commit()
    return claim_with_list(rows(300) + rows(30), submitted=True)


def test_a_lists_flags_are_paged_fifty_at_a_time(page, flagged_claim):
    log_in(page, "city_agri")
    page.goto(f"/underwriting/claims/{flagged_claim.id}")
    assert "共 60 条，显示第 1–50 条" in page.locator("#flags-pagination").inner_text()
    page.locator("#flags-pagination a[rel=next]").click()
    assert "显示第 51–60 条" in page.locator("#flags-pagination").inner_text()
    assert page.locator("#flags-pagination a[rel=next]").count() == 0   # the last page
