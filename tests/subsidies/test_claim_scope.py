"""The new-claim form offers only what the insurer underwrites (its underwriting assignments); a post naming
another county is refused with a message that says why, and nothing is saved."""

import json

import lxml.html
import pytest
import sqlalchemy as sa

from agri_insurance.subsidies.models import SubsidyClaim
from tests.factories import county, make_insurer, read_text
from tests.subsidies.factories import assign, claim_data, product


@pytest.fixture
def world(demo, db):
    assign()                                                      # 鄱阳县 rice 2025–2027
    assign(county_code="361130", product_code="peanut", start=2026, end=2026)
    assign(insurer=make_insurer(), county_code="361127")          # another insurer's county: 余干县
    db.session.commit()
    return db


def _form(data: dict) -> dict:
    return {k: ("" if v is None else str(v)) for k, v in data.items()}


def _options(page, name: str) -> list[str]:
    return [o.text_content().strip() for o in page.xpath(f'//select[@name="{name}"]/option') if o.get("value")]


def test_the_form_offers_the_counties_products_and_years_of_the_insurers_assignments(world, login):
    page = lxml.html.fromstring(read_text(login("insurer").get("/subsidies/claims/new")))
    assert _options(page, "region_id") == ["鄱阳县", "婺源县"]
    assert _options(page, "product_id") == ["花生（亩）", "水稻（亩）"]
    assert _options(page, "year") == ["2025", "2026", "2027"]
    assert page.xpath('//select[@name="year"]/option[@selected]')[0].get("value") == "2026"   # this year
    # which products go with which county and year, for the page to narrow the choice
    combos = json.loads(page.get_element_by_id("claim-form").get("data-scope-combos"))
    assert sorted(combos) == sorted([[county().id, product("rice").id, 2025, 2027],
                                     [county("361130").id, product("peanut").id, 2026, 2026]])


@pytest.mark.parametrize("code", ["361127", "361100"], ids=["another insurer's county", "the city"])
def test_a_post_for_a_county_the_insurer_does_not_underwrite_is_refused_clearly(world, login, db, code):
    from agri_insurance.reference.models import Region

    region = db.session.scalar(sa.select(Region).where(Region.code == code))
    data = claim_data()
    data["region_id"] = region.id
    response = login("insurer").post("/subsidies/claims/new", data=_form(data))
    assert response.status_code == 400
    field = lxml.html.fromstring(read_text(response)).xpath('//select[@name="region_id"]/..')[0].text_content()
    assert "贵机构在所选县（市、区）没有承保安排" in field
    assert db.session.scalar(sa.select(sa.func.count(SubsidyClaim.id))) == 0


def test_a_post_for_a_year_or_product_outside_the_assignment_is_refused_clearly(world, login, db):
    client = login("insurer")
    for overrides in ({"year": 2028}, {"product_code": "peanut"}):
        response = client.post("/subsidies/claims/new", data=_form(claim_data(**overrides)))
        assert response.status_code == 400
        assert "不承保此险种，不能申请补贴" in read_text(response), overrides
    assert db.session.scalar(sa.select(sa.func.count(SubsidyClaim.id))) == 0
    response = client.post("/subsidies/claims/new", data=_form(claim_data(county_code="361130", product_code="peanut")))
    assert response.status_code == 302                                  # what the assignments allow is saved
