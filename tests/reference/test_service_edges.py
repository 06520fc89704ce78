"""The reference data's rules at the service: each refusal's exact words and field, the boundaries of the shares,
the uniqueness checks against another record and not against the record itself, and the audit of every save."""

from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from agri_insurance.demo import demo_credit_code
from agri_insurance.extensions import db
from agri_insurance.reference import service
from agri_insurance.reference.models import (
    Insurer,
    Product,
    ProductCategory,
    ProductKind,
    Region,
    RegionLevel,
    SubsidyScheme,
)
from agri_insurance.reference.signals import insurer_identity_changing
from agri_insurance.roles import Role
from tests.factories import audit_entries, county, make_user, refused

CENTRAL, SPECIALTY = ProductCategory.CENTRAL, ProductCategory.SPECIALTY


def insurer_data(name="测试财产保险股份有限公司", code=None, **extra):
    return {"name": name, "short_name": "测试财险", "credit_code": code or demo_credit_code(50),
            "parent_company": None, "contact_person": None, "contact_phone": None, "address": None, "active": True,
            **extra}


def product(code: str) -> Product:
    return db.session.scalars(sa.select(Product).where(Product.code == code)).one()


# --- credit codes and insurers ---------------------------------------------------------------------------------

def test_a_credit_code_is_read_without_spaces_in_capitals(db):
    code = demo_credit_code(50)
    assert service.normalise_credit_code(f"  {code.lower()} ") == code
    assert service.normalise_credit_code(None) == ""
    assert service.validate_credit_code(f" {code.lower()}  ") == code


@pytest.mark.parametrize("code", [None, "", "91361150MA3500T0", "91361150MA3500T0X1Y"])
def test_a_credit_code_not_of_18_characters_is_refused_on_its_field(db, code):
    error = refused(service.validate_credit_code, code)
    assert (error.message, error.field) == ("统一社会信用代码应为18位", "credit_code")


def test_a_credit_code_with_a_wrong_check_character_is_refused_on_its_field(db):
    code = demo_credit_code(50)
    wrong = code[:-1] + ("0" if code[-1] != "0" else "1")
    error = refused(service.validate_credit_code, wrong)
    assert (error.message, error.field) == ("统一社会信用代码校验位不正确", "credit_code")


def test_a_new_insurer_is_stored_with_its_name_trimmed_and_audited(db):
    admin = make_user("admin", Role.ADMIN)
    code = demo_credit_code(50)
    insurer = service.save_insurer(None, insurer_data(name="  测试财产保险股份有限公司 ", code=code.lower()), admin)
    db.session.commit()
    stored = db.session.get(Insurer, insurer.id)
    assert (stored.name, stored.credit_code, stored.short_name) == ("测试财产保险股份有限公司", code, "测试财险")
    [entry] = audit_entries("insurer.created")
    assert (entry.actor_name, entry.object_type, entry.object_id) == ("admin", "Insurer", str(insurer.id))
    assert entry.summary == "新建：测试财产保险股份有限公司"
    assert entry.details["name"] == "测试财产保险股份有限公司"
    assert entry.details["credit_code"] == code
    assert entry.details["short_name"] == "测试财险"


def test_an_insurer_with_another_ones_name_or_credit_code_is_refused_on_that_field(db):
    first = service.save_insurer(None, insurer_data(), None)
    db.session.commit()
    error = refused(service.save_insurer, None, insurer_data(code=demo_credit_code(51)), None)
    assert (error.message, error.field) == ("已有相同名称或信用代码的承保机构：测试财产保险股份有限公司", "name")
    error = refused(service.save_insurer, None, insurer_data(name="另一家财产保险公司"), None)
    assert (error.message, error.field) == ("已有相同名称或信用代码的承保机构：测试财产保险股份有限公司",
                                            "credit_code")
    # the same insurer saved again is no clash with itself
    service.save_insurer(first, insurer_data(short_name="测试"), None)
    db.session.commit()
    assert db.session.get(Insurer, first.id).short_name == "测试"
    # another insurer's edit is checked against the first
    second = service.save_insurer(None, insurer_data(name="另一家财产保险公司", code=demo_credit_code(51)), None)
    db.session.commit()
    error = refused(service.save_insurer, second, insurer_data(code=demo_credit_code(51)), None)
    assert error.field == "name"


def test_only_a_change_of_name_or_credit_code_is_announced_with_the_new_values(db):
    insurer = service.save_insurer(None, insurer_data(), None)
    db.session.commit()
    heard = []

    def listener(sender, **details):
        heard.append((sender, details))

    with insurer_identity_changing.connected_to(listener):
        service.save_insurer(insurer, insurer_data(contact_phone="0793-1234567"), None)
        assert heard == []
        service.save_insurer(insurer, insurer_data(name=" 新名称财产保险公司 "), None)
        assert heard == [(insurer, {"name": "新名称财产保险公司", "credit_code": demo_credit_code(50)})]
        service.save_insurer(insurer, insurer_data(name="新名称财产保险公司", code=demo_credit_code(51)), None)
        assert heard[1] == (insurer, {"name": "新名称财产保险公司", "credit_code": demo_credit_code(51)})
    # a new insurer has no identity to change
    with insurer_identity_changing.connected_to(listener):
        service.save_insurer(None, insurer_data(name="又一家财产保险公司", code=demo_credit_code(52)), None)
    assert len(heard) == 2


def test_an_edit_is_audited_with_its_changes_and_an_edit_changing_nothing_is_not(db):
    admin = make_user("admin", Role.ADMIN)
    insurer = service.save_insurer(None, insurer_data(), admin)
    db.session.commit()
    service.save_insurer(insurer, insurer_data(), admin)
    db.session.commit()
    assert audit_entries("insurer.updated") == []
    service.save_insurer(insurer, insurer_data(short_name="改名财险", address="上饶市信州区"), admin)
    db.session.commit()
    [entry] = audit_entries("insurer.updated")
    assert (entry.actor_name, entry.object_type, entry.object_id) == ("admin", "Insurer", str(insurer.id))
    assert entry.summary == "修改：测试财产保险股份有限公司"
    assert entry.details == {"changes": {"short_name": ["测试财险", "改名财险"], "address": [None, "上饶市信州区"]}}
    stored = db.session.get(Insurer, insurer.id)
    assert (stored.short_name, stored.address) == ("改名财险", "上饶市信州区")


# --- regions and products ----------------------------------------------------------------------------------------

def region_data(code, **extra):
    return {"code": code, "name": "测试县", "name_en": "Test County", "level": RegionLevel.COUNTY, **extra}


@pytest.mark.parametrize("code", [None, "", "36112", "3611289", "36112A", "36 128"])
def test_a_region_code_of_other_than_six_digits_is_refused_on_its_field(ref, code):
    error = refused(service.save_region, None, region_data(code), None)
    assert (error.message, error.field) == ("行政区划代码应为6位数字", "code")


def test_a_region_is_stored_with_its_code_and_contact_trimmed_and_audited(ref):
    admin = make_user("admin", Role.ADMIN)
    city = ref.session.scalar(sa.select(Region).where(Region.code == "361100"))
    region = service.save_region(None, region_data(" 361199 ", parent_id=city.id, bureau_contact=" 测试县农业农村局 "),
                                 admin)
    ref.session.commit()
    stored = ref.session.get(Region, region.id)
    assert (stored.code, stored.name, stored.parent_id, stored.bureau_contact) == (
        "361199", "测试县", city.id, "测试县农业农村局")
    [entry] = audit_entries("region.created")
    assert (entry.actor_name, entry.object_type, entry.object_id) == ("admin", "Region", str(region.id))
    assert entry.summary == "新建：测试县"
    assert entry.details["code"] == "361199"
    # a blank contact is none; a form without the field keeps the one stored
    service.save_region(stored, region_data("361199", bureau_contact="  "), admin)
    ref.session.commit()
    assert ref.session.get(Region, region.id).bureau_contact is None
    service.save_region(stored, region_data("361199", bureau_contact="联系人"), admin)
    service.save_region(stored, region_data("361199", bureau_contact=None), admin)
    ref.session.commit()
    assert ref.session.get(Region, region.id).bureau_contact is None
    service.save_region(stored, region_data("361199", bureau_contact="联系人 0793-1"), admin)
    service.save_region(stored, region_data("361199", name="改名县"), admin)
    ref.session.commit()
    stored = ref.session.get(Region, region.id)
    assert (stored.name, stored.bureau_contact) == ("改名县", "联系人 0793-1")
    last = audit_entries("region.updated")[-1]
    assert last.summary == "修改：改名县"
    assert last.details == {"changes": {"name": ["测试县", "改名县"]}}


def test_a_region_code_another_region_has_is_refused_but_a_region_keeps_its_own(ref):
    poyang = county("361128")
    error = refused(service.save_region, None, region_data(" 361128"), None)
    assert (error.message, error.field) == ("行政区划代码 361128 已存在", "code")
    # the first region stored (the city, id 1 in an emptied database) is another region for a new one too
    city = ref.session.scalar(sa.select(Region).order_by(Region.id))
    assert city.id == 1
    error = refused(service.save_region, None, region_data(city.code), None)
    assert (error.message, error.field) == (f"行政区划代码 {city.code} 已存在", "code")
    error = refused(service.save_region, county("361130"), region_data("361128"), None)
    assert (error.message, error.field) == ("行政区划代码 361128 已存在", "code")
    service.save_region(poyang, region_data("361128", name="鄱阳县"), None)
    ref.session.commit()
    assert ref.session.get(Region, poyang.id).code == "361128"


def product_data(code, **extra):
    return {"code": code, "name": "测试作物", "name_en": "Test crop", "category": CENTRAL,
            "kind": ProductKind.PLANTING, "unit": "亩", "active": True, **extra}


def test_a_product_code_another_product_has_is_refused_but_a_product_keeps_its_own(ref):
    admin = make_user("admin", Role.ADMIN)
    error = refused(service.save_product, None, product_data(" rice "), None)
    assert (error.message, error.field) == ("险种代码 rice 已存在", "code")
    error = refused(service.save_product, product("peanut"), product_data("rice"), None)
    assert (error.message, error.field) == ("险种代码 rice 已存在", "code")
    new = service.save_product(None, product_data(" test_crop "), admin)
    ref.session.commit()
    assert ref.session.get(Product, new.id).code == "test_crop"
    [entry] = audit_entries("product.created")
    assert (entry.actor_name, entry.object_type, entry.summary) == ("admin", "Product", "新建：测试作物")
    assert entry.details["code"] == "test_crop"
    service.save_product(new, product_data("test_crop", unit="头"), admin)
    ref.session.commit()
    [entry] = audit_entries("product.updated")
    assert entry.details == {"changes": {"unit": ["亩", "头"]}}


def test_a_products_category_changes_only_while_it_has_no_scheme(ref):
    crop = service.save_product(None, product_data("test_crop"), None)
    ref.session.commit()
    # no scheme yet: the category may change, and back
    service.save_product(crop, product_data("test_crop", category=SPECIALTY), None)
    service.save_product(crop, product_data("test_crop", category=CENTRAL), None)
    for year in (2026, 2027):
        service.save_scheme(None, scheme_data(crop, year=year), None)
    ref.session.commit()
    error = refused(service.save_product, crop, product_data("test_crop", category=SPECIALTY), None)
    assert (error.message, error.field) == ("该险种已有 2 个补贴方案，不能再改变类别；请新建险种", "category")
    # the same category, or none given, is no change
    service.save_product(crop, product_data("test_crop", name="改名作物"), None)
    without_category = product_data("test_crop", name="再改名")
    del without_category["category"]
    service.save_product(crop, without_category, None)
    ref.session.commit()
    assert ref.session.get(Product, crop.id).category is CENTRAL
    # another product's schemes do not hold this one
    other = service.save_product(None, product_data("other_crop"), None)
    service.save_product(other, product_data("other_crop", category=SPECIALTY), None)


# --- shares -------------------------------------------------------------------------------------------------------

def shares(central, provincial, city, county, farmer):
    return {"central": D(central), "provincial": D(provincial), "city": D(city), "county": D(county),
            "farmer": D(farmer)}


@pytest.mark.parametrize("level", ["central", "provincial", "city", "county", "farmer"])
@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "1.00001"])
def test_a_share_not_finite_or_with_a_fifth_decimal_is_refused_on_its_own_field(db, level, value):
    s = shares(45, 25, 5, 5, 20)
    s[level] = D(value)
    error = refused(service.validate_shares, CENTRAL, s, None)
    assert (error.message, error.field) == ("比例最多保留4位小数", f"{level}_pct")


@pytest.mark.parametrize("level", ["central", "provincial", "city", "county", "farmer"])
def test_a_share_below_0_or_above_100_is_refused_on_its_own_field(db, level):
    for value in ("-0.0001", "100.0001"):
        s = shares(0, 0, 15, 30, 55)
        s[level] = D(value)
        error = refused(service.validate_shares, SPECIALTY, s, "理由")
        assert (error.message, error.field) == ("各级分担比例应在0到100之间", f"{level}_pct")


def test_shares_of_exactly_0_and_100_are_in_range(db):
    service.validate_shares(SPECIALTY, shares(0, 0, 0, 0, 100), "县里全额由农户自担")
    service.validate_shares(SPECIALTY, shares(0, 100, 0, 0, 0), "省级全额补贴")


def test_shares_not_summing_to_100_are_refused_with_their_sum(db):
    error = refused(service.validate_shares, CENTRAL, shares(45, 25, 5, 5, "19.9999"), None)
    assert (error.message, error.field) == ("各级分担比例合计应为100%，当前为99.9999%", "farmer_pct")
    error = refused(service.validate_shares, CENTRAL, shares(45, 25, 5, 5, 30), None)
    assert error.message == "各级分担比例合计应为100%，当前为110%"
    error = refused(service.validate_shares, CENTRAL, shares(45, 25, 5, 5, "20.0001"), None)
    assert error.message == "各级分担比例合计应为100%，当前为100.0001%"


def test_a_central_products_local_share_outside_5_to_30_is_refused_with_its_sum(db):
    error = refused(service.validate_shares, CENTRAL, shares(45, 25, "2", "2.9999", "25.0001"), None)
    assert (error.message, error.field) == ("中央政策性险种的市县补贴合计应在5%至30%之间，当前为4.9999%", "city_pct")
    error = refused(service.validate_shares, CENTRAL, shares(40, 25, 20, "10.0001", "4.9999"), None)
    assert (error.message, error.field) == ("中央政策性险种的市县补贴合计应在5%至30%之间，当前为30.0001%", "city_pct")
    error = refused(service.validate_shares, CENTRAL, shares(25, 25, 20, 20, 10), None)
    assert error.message == "中央政策性险种的市县补贴合计应在5%至30%之间，当前为40%"
    service.validate_shares(CENTRAL, shares(45, 25, 0, 5, 25), None)       # 5 % from the county alone
    service.validate_shares(CENTRAL, shares(45, 25, 30, 0, 0), None)       # 30 % from the city alone


def test_a_central_products_provincial_share_is_at_least_25(db):
    error = refused(service.validate_shares, CENTRAL, shares(45, "24.9999", 5, 5, "20.0001"), None)
    assert (error.message, error.field) == ("中央政策性险种的省级补贴不应低于25%", "provincial_pct")
    service.validate_shares(CENTRAL, shares(45, 25, 5, 5, 20), None)
    # a specialty product has no provincial minimum
    service.validate_shares(SPECIALTY, shares(0, 0, 15, 30, 55), None)


@pytest.mark.parametrize("city, county, farmer", [(15, 29, 56), (14, 30, 56), (16, 30, 54), (30, 15, 55)])
def test_a_specialty_products_shares_off_15_and_30_need_a_reason(db, city, county, farmer):
    for reason in (None, "", "   "):
        error = refused(service.validate_shares, SPECIALTY, shares(0, 0, city, county, farmer), reason)
        assert (error.message, error.field) == ("地方特色险种默认市级15%、县级30%，调整比例须填写理由",
                                                "deviation_reason")
    service.validate_shares(SPECIALTY, shares(0, 0, city, county, farmer), "市政府常务会议决定")


def test_a_specialty_product_has_no_central_share_even_with_a_reason(db):
    for central, farmer in (("0.0001", "54.9999"), (10, 45)):
        error = refused(service.validate_shares, SPECIALTY, shares(central, 0, 15, 30, farmer), "理由")
        assert (error.message, error.field) == ("地方特色险种没有中央补贴", "central_pct")


# --- schemes ------------------------------------------------------------------------------------------------------

def scheme_data(prod, year=2026, region_id=None, **extra):
    return {"product_id": prod.id, "region_id": region_id, "year": year, "central_pct": D(45), "provincial_pct": D(25),
            "city_pct": D(5), "county_pct": D(5), "farmer_pct": D(20), **extra}


def test_a_scheme_needs_a_product(ref):
    error = refused(service.save_scheme, None, {**scheme_data(product("rice")), "product_id": 999999}, None)
    assert (error.message, error.field) == ("请选择险种", "product_id")


def test_a_scheme_is_checked_against_its_products_category(ref):
    error = refused(service.save_scheme, None, scheme_data(product("camellia_oil")), None)
    assert error.field == "deviation_reason"
    error = refused(service.save_scheme, None, scheme_data(product("rice"), provincial_pct=D(20), farmer_pct=D(25)),
                    None)
    assert error.field == "provincial_pct"


def test_one_scheme_per_product_year_and_region_and_a_scheme_is_no_duplicate_of_itself(ref):
    admin = make_user("admin", Role.ADMIN)
    rice, peanut = product("rice"), product("peanut")
    city_wide = service.save_scheme(None, scheme_data(rice), admin)
    ref.session.commit()
    [entry] = audit_entries("subsidy_scheme.created")
    assert (entry.actor_name, entry.object_type, entry.object_id) == ("admin", "SubsidyScheme", str(city_wide.id))
    assert entry.summary == "新建：水稻 2026"
    assert entry.details["city_pct"] == "5"
    duplicate = ("该险种、年度和地区的补贴方案已存在", "year")
    error = refused(service.save_scheme, None, scheme_data(rice), None)
    assert (error.message, error.field) == duplicate
    # a county's own scheme beside the city-wide one, another year, another product
    poyang = service.save_scheme(None, scheme_data(rice, region_id=county("361128").id), None)
    service.save_scheme(None, scheme_data(rice, year=2027), None)
    service.save_scheme(None, scheme_data(peanut), None)
    ref.session.commit()
    error = refused(service.save_scheme, None, scheme_data(rice, region_id=county("361128").id), None)
    assert (error.message, error.field) == duplicate
    service.save_scheme(None, scheme_data(rice, region_id=county("361130").id), None)
    # a scheme saved again is no duplicate of itself; moved onto another's place it is
    service.save_scheme(city_wide, scheme_data(rice, city_pct=D(10), farmer_pct=D(15)), admin)
    service.save_scheme(poyang, scheme_data(rice, region_id=county("361128").id), None)
    ref.session.commit()
    [entry] = audit_entries("subsidy_scheme.updated")
    assert entry.summary == "修改：水稻 2026"
    assert entry.details == {"changes": {"city_pct": ["5.0000", "10"], "farmer_pct": ["20.0000", "15"]}}
    error = refused(service.save_scheme, poyang, scheme_data(rice), None)
    assert (error.message, error.field) == duplicate
    assert ref.session.scalar(sa.select(sa.func.count(SubsidyScheme.id))) == 5


def test_a_new_schemes_suggested_shares_follow_the_products_category_and_kind(ref):
    def suggested(code):
        return {level: str(value) for level, value in service.scheme_defaults(product(code)).items()}

    assert suggested("rice") == {"central": "45", "provincial": "25", "city": "5", "county": "5", "farmer": "20"}
    assert suggested("breeding_sow") == {"central": "50", "provincial": "25", "city": "5", "county": "5",
                                         "farmer": "15"}
    assert suggested("commercial_forest") == {"central": "30", "provincial": "25", "city": "5", "county": "5",
                                              "farmer": "35"}
    assert suggested("camellia_oil") == {"central": "0", "provincial": "0", "city": "15", "county": "30",
                                         "farmer": "55"}
    assert suggested("price_index") == suggested("camellia_oil")
    # a central product of the index kind (none in the policy's list) gets the planting share
    index = service.save_product(None, product_data("central_index", kind=ProductKind.INDEX), None)
    assert {k: str(v) for k, v in service.scheme_defaults(index).items()} == suggested("rice")
    for code in ("rice", "breeding_sow", "commercial_forest", "camellia_oil"):
        prod = product(code)
        service.validate_shares(prod.category, service.scheme_defaults(prod), None)
