import re
from decimal import Decimal

import pytest
import sqlalchemy as sa

from agri_insurance.audit.models import AuditEntry
from agri_insurance.demo import demo_credit_code
from agri_insurance.reference.models import Insurer, Product, SubsidyScheme
from tests.factories import county, read_text

NEW_INSURER = {"name": "新余财产保险股份有限公司上饶支公司", "short_name": "新余财险", "parent_company": "",
               "contact_person": "", "contact_phone": "", "address": "", "active": "y"}


def test_city_agri_adds_an_insurer_and_it_is_audited(login, db):
    client = login("city_agri")
    response = client.post("/reference/insurers/new", data={**NEW_INSURER, "credit_code": demo_credit_code(77)})
    assert response.status_code == 302
    insurer = db.session.scalar(sa.select(Insurer).where(Insurer.short_name == "新余财险"))
    assert insurer.credit_code == demo_credit_code(77)
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "insurer.created",
                                                          AuditEntry.object_id == str(insurer.id)))
    assert entry.actor_name == "city_agri"
    assert "新余财险" in read_text(client.get("/reference/insurers"))


def test_bad_credit_code_is_reported_on_the_field_and_nothing_saved(login, db):
    client = login("city_agri")
    bad = demo_credit_code(77)[:-1] + ("0" if demo_credit_code(77)[-1] != "0" else "1")
    response = client.post("/reference/insurers/new", data={**NEW_INSURER, "credit_code": bad})
    assert response.status_code == 400
    assert "校验位不正确" in read_text(response)
    assert db.session.scalar(sa.select(Insurer).where(Insurer.short_name == "新余财险")) is None


def test_bad_credit_code_message_in_english(login):
    client = login("city_agri")
    client.get("/lang/en")
    response = client.post("/reference/insurers/new", data={**NEW_INSURER, "credit_code": "91330100799655058C"})
    assert "The check character of the unified social credit code is wrong" in read_text(response)


def test_editing_an_insurer_records_old_and_new_values(login, db):
    client = login("admin")
    insurer = db.session.scalar(sa.select(Insurer).order_by(Insurer.id))
    data = {"name": insurer.name, "short_name": "改名财险", "credit_code": insurer.credit_code,
            "parent_company": insurer.parent_company, "contact_person": "", "contact_phone": "", "address": "",
            "active": "y"}
    assert client.post(f"/reference/insurers/{insurer.id}/edit", data=data).status_code == 302
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "insurer.updated"))
    assert entry.details["changes"]["short_name"] == [insurer.short_name, "改名财险"]


@pytest.mark.parametrize("city_pct, county_pct, farmer_pct, message", [
    ("20", "10.5", "-0.5", None),                        # city + county above 30 % (and a negative farmer share)
    ("5.00001", "4.99999", "20", "最多保留4位小数"),        # a fifth decimal place the column cannot hold
    ("1e30", "5", "20", "应在0到100之间"),                 # too large to round: it was a 500
])
def test_scheme_form_refuses_bad_shares_and_saves_nothing(login, db, city_pct, county_pct, farmer_pct, message):
    client = login("city_agri")
    rice = db.session.scalar(sa.select(Product).where(Product.code == "rice"))
    response = client.post("/reference/schemes/new", data={
        "product_id": rice.id, "region_id": "", "year": 2027, "central_pct": "45", "provincial_pct": "25",
        "city_pct": city_pct, "county_pct": county_pct, "farmer_pct": farmer_pct})
    assert response.status_code == 400
    assert message is None or message in read_text(response)
    assert db.session.scalar(sa.select(SubsidyScheme).where(SubsidyScheme.year == 2027)) is None


def test_county_specific_specialty_scheme_with_reason(login, db):
    client = login("city_agri")
    camellia = db.session.scalar(sa.select(Product).where(Product.code == "camellia_oil"))
    data = {"product_id": camellia.id, "region_id": county("361130").id, "year": 2026, "central_pct": "0",
            "provincial_pct": "0", "city_pct": "15", "county_pct": "35", "farmer_pct": "50"}
    response = client.post("/reference/schemes/new", data=data)
    assert response.status_code == 400 and "须填写理由" in read_text(response)
    response = client.post("/reference/schemes/new", data={**data, "deviation_reason": "婺源县政府提高县级补贴"})
    assert response.status_code == 302
    scheme = db.session.scalar(sa.select(SubsidyScheme).where(SubsidyScheme.region_id == county("361130").id))
    assert scheme.county_pct == Decimal("35") and scheme.farmer_pct == Decimal("50")
    # A second city-wide scheme for a product and year that has one already is refused.
    response = client.post("/reference/schemes/new", data={**data, "region_id": "", "county_pct": "30",
                                                           "farmer_pct": "55"})
    assert response.status_code == 400 and "已存在" in read_text(response)


def test_new_scheme_form_suggests_policy_defaults(login, db):
    client = login("city_agri")
    sow = db.session.scalar(sa.select(Product).where(Product.code == "breeding_sow"))
    page = read_text(client.get(f"/reference/schemes/new?product_id={sow.id}"))
    assert re.search(r'<input[^>]*name="central_pct"[^>]*value="50.0000"', page)
    assert re.search(r'<input[^>]*name="farmer_pct"[^>]*value="15.0000"', page)


def test_readers_see_no_edit_buttons(login):
    page = read_text(login("county_finance").get("/reference/schemes"))
    assert "/reference/schemes/new" not in page and "编辑" not in page


def test_demo_schemes_cover_every_product_and_obey_the_rules(demo, db):
    from agri_insurance.reference.service import validate_shares

    schemes = db.session.scalars(sa.select(SubsidyScheme)).all()
    assert len(schemes) == 13 * 2
    for scheme in schemes:
        validate_shares(scheme.product.category, scheme.shares(), scheme.deviation_reason)
        assert sum(scheme.shares().values()) == 100


def test_demo_data_is_idempotent(demo, db):
    from agri_insurance.demo import load_demo_data

    before = db.session.scalar(sa.select(sa.func.count(AuditEntry.id)))
    assert load_demo_data() == {"insurers": 0, "schemes": 0, "users": 0}
    assert db.session.scalar(sa.select(sa.func.count(AuditEntry.id))) == before


def test_shangrao_has_twelve_counties_with_their_codes(ref, db):
    from agri_insurance.reference.models import Region, RegionLevel

    codes = db.session.scalars(sa.select(Region.code).where(Region.level == RegionLevel.COUNTY)).all()
    assert sorted(codes) == ["361102", "361103", "361104", "361123", "361124", "361125", "361126", "361127",
                             "361128", "361129", "361130", "361181"]





def test_a_products_category_cannot_change_once_it_has_schemes(login, db):
    """Its schemes obey the old category's rules (R5/R6): rice as 'specialty' would keep a central share."""
    client = login("city_agri")
    rice = db.session.scalar(sa.select(Product).where(Product.code == "rice"))
    data = {"code": "rice", "name": rice.name, "name_en": rice.name_en, "category": "specialty",
            "kind": rice.kind.value, "unit": rice.unit, "active": "y"}
    response = client.post(f"/reference/products/{rice.id}/edit", data=data)
    assert response.status_code == 400 and "不能再改变类别" in read_text(response)
    db.session.expire_all()
    assert db.session.get(Product, rice.id).category.value == "central"
    for limit in ("Infinity", "1e30", "sNaN"):
        response = client.post(f"/reference/products/{rice.id}/edit",
                               data={**data, "category": "central", "household_limit": limit})
        assert response.status_code == 400, limit
