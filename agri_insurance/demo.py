"""Reference data for Shangrao and a small fictional demo world. Loading is idempotent."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from agri_insurance.annual_review import demo as annual_review_demo
from agri_insurance.auth import service as auth_service
from agri_insurance.auth.models import User
from agri_insurance.awards.demo import (
    load_demo_awarded_round,
    load_demo_finalised_round,
    load_demo_holidays,
    load_demo_replacement,
)
from agri_insurance.clock import utcnow
from agri_insurance.evaluation.service import assign_expert
from agri_insurance.extensions import db
from agri_insurance.payouts import demo as payouts_demo
from agri_insurance.reference import service as reference_service
from agri_insurance.reference.codes import credit_code_check_char
from agri_insurance.reference.models import (
    Insurer,
    Product,
    ProductCategory,
    ProductKind,
    Region,
    RegionLevel,
    SubsidyScheme,
)
from agri_insurance.roles import Role
from agri_insurance.subsidies.demo import load_demo_subsidies
from agri_insurance.tenders import service as tenders
from agri_insurance.tenders.models import SelectionRound
from agri_insurance.underwriting.demo import attach_matching_list

CITY = ("361100", "上饶市", "Shangrao City")
COUNTIES = (
    ("361102", "信州区", "Xinzhou District"),
    ("361103", "广丰区", "Guangfeng District"),
    ("361104", "广信区", "Guangxin District"),
    ("361123", "玉山县", "Yushan County"),
    ("361124", "铅山县", "Yanshan County"),
    ("361125", "横峰县", "Hengfeng County"),
    ("361126", "弋阳县", "Yiyang County"),
    ("361127", "余干县", "Yugan County"),
    ("361128", "鄱阳县", "Poyang County"),
    ("361129", "万年县", "Wannian County"),
    ("361130", "婺源县", "Wuyuan County"),
    ("361181", "德兴市", "Dexing City"),
)

C, S = ProductCategory.CENTRAL, ProductCategory.SPECIALTY
PL, LV, FO, IX = ProductKind.PLANTING, ProductKind.LIVESTOCK, ProductKind.FORESTRY, ProductKind.INDEX
PRODUCTS = (
    # R5: central policy products
    ("rice", "水稻", "Rice", C, PL, "亩"),
    ("rapeseed", "油菜", "Rapeseed", C, PL, "亩"),
    ("peanut", "花生", "Peanut", C, PL, "亩"),
    ("citrus", "柑橘", "Citrus", C, PL, "亩"),
    ("breeding_sow", "能繁母猪", "Breeding sows", C, LV, "头"),
    ("commercial_forest", "商品林", "Commercial forest", C, FO, "亩"),
    ("dairy_cow", "奶牛", "Dairy cows", C, LV, "头"),
    # R6: local specialty insurance
    ("camellia_oil", "油茶", "Camellia oil", S, PL, "亩"),
    ("medicinal_herbs", "中药材", "Medicinal herbs", S, PL, "亩"),
    ("greenhouse_vegetables", "大棚蔬菜", "Greenhouse vegetables", S, PL, "亩"),
    ("price_index", "价格指数保险", "Price index insurance", S, IX, "头"),
    ("weather_index", "天气指数保险", "Weather index insurance", S, IX, "亩"),
    ("income_index", "收入保险", "Income insurance", S, IX, "亩"),
)

# Starting values for the per-household check of underwriting lists; the bureau edits them per product.
HOUSEHOLD_LIMITS = {"rice": "3000", "rapeseed": "2000", "peanut": "1000", "citrus": "500", "breeding_sow": "3000",
                    "dairy_cow": "1000", "commercial_forest": "20000", "camellia_oil": "2000"}

# Fictional companies: no real insurer's name. Two share a parent so common control can be shown.
INSURERS = (
    ("赣鄱财产保险股份有限公司上饶中心支公司", "赣鄱财险", "赣鄱财产保险股份有限公司"),
    ("信江农业保险股份有限公司上饶分公司", "信江农险", "信江农业保险股份有限公司"),
    ("三清财产保险股份有限公司上饶中心支公司", "三清财险", "三清保险集团股份有限公司"),
    ("灵山财产保险股份有限公司上饶中心支公司", "灵山财险", "三清保险集团股份有限公司"),
    ("怀玉财产保险股份有限公司上饶中心支公司", "怀玉财险", "怀玉财产保险股份有限公司"),
    ("龟峰财产保险股份有限公司上饶支公司", "龟峰财险", "龟峰财产保险股份有限公司"),
)

DEMO_PASSWORD = "demo1234"
DEMO_COUNTY = "361128"  # 鄱阳县
DEMO_USERS = (
    ("admin", "系统管理员", Role.ADMIN),
    ("security_admin", "安全管理员", Role.SECURITY_ADMIN),
    ("audit_admin", "审计管理员", Role.AUDIT_ADMIN),
    ("city_agri", "市农业农村局 王科长", Role.CITY_AGRI),
    ("county_agri", "鄱阳县农业农村局 李股长", Role.COUNTY_AGRI),
    ("insurer", "赣鄱财险 张经理", Role.INSURER),
    ("expert", "评审专家 陈教授", Role.EXPERT),
    ("county_finance", "鄱阳县财政局 刘会计", Role.COUNTY_FINANCE),
    ("city_finance", "市财政局 赵科长", Role.CITY_FINANCE),
)
SCHEME_YEARS = (2025, 2026)


def demo_credit_code(index: int) -> str:
    """A well-formed (check character included) but fictional credit code for demo insurer `index`."""
    first17 = f"9136110{index:02d}MA3{index:02d}0T0"[:17].ljust(17, "0")
    return first17 + credit_code_check_char(first17)


def load_reference_data() -> None:
    """Regions and products (the policy's lists). Safe to call repeatedly."""
    city = db.session.scalar(sa.select(Region).where(Region.code == CITY[0]))
    if city is None:
        city = Region(code=CITY[0], name=CITY[1], name_en=CITY[2], level=RegionLevel.CITY)
        db.session.add(city)
        db.session.flush()
    existing = set(db.session.scalars(sa.select(Region.code)))
    for code, name, name_en in COUNTIES:
        if code not in existing:
            db.session.add(Region(code=code, name=name, name_en=name_en, level=RegionLevel.COUNTY, parent=city))
    existing = set(db.session.scalars(sa.select(Product.code)))
    for code, name, name_en, category, kind, unit in PRODUCTS:
        if code not in existing:
            limit = HOUSEHOLD_LIMITS.get(code)
            db.session.add(Product(code=code, name=name, name_en=name_en, category=category, kind=kind, unit=unit,
                                   household_limit=Decimal(limit) if limit else None))
    db.session.flush()


def load_demo_data(with_rounds: bool | None = None) -> dict[str, int]:
    """Reference data, fictional insurers, city-wide subsidy schemes and one user per role; and, unless under
    test (`with_rounds` None means "not testing"), the demo selection rounds."""
    load_reference_data()
    created = {"insurers": 0, "schemes": 0, "users": 0}
    for index, region in enumerate(db.session.scalars(sa.select(Region).where(
            Region.level == RegionLevel.COUNTY, Region.bureau_contact.is_(None)).order_by(Region.code)), start=1):
        # fictional: where farmers object to the notices posted in the county's villages
        region.bureau_contact = f"{region.name}农业农村局计划财务股 0793-62{index:05d}"
    for index, (name, short, parent) in enumerate(INSURERS, start=1):
        if db.session.scalar(sa.select(Insurer.id).where(Insurer.name == name)) is None:
            reference_service.save_insurer(None, {
                "name": name, "short_name": short, "credit_code": demo_credit_code(index),
                "parent_company": parent, "contact_person": "联系人", "contact_phone": f"0793-82{index:05d}",
                "address": "江西省上饶市信州区", "active": True}, None)
            created["insurers"] += 1
    for product in db.session.scalars(sa.select(Product)):
        for year in SCHEME_YEARS:
            exists = db.session.scalar(sa.select(SubsidyScheme.id).where(
                SubsidyScheme.product_id == product.id, SubsidyScheme.year == year,
                SubsidyScheme.region_id.is_(None)))
            if exists is None:
                shares = reference_service.scheme_defaults(product)
                data = {"product_id": product.id, "region_id": None, "year": year,
                        **{f"{level}_pct": Decimal(value) for level, value in shares.items()}}
                reference_service.save_scheme(None, data, None)
                created["schemes"] += 1
    county = db.session.scalar(sa.select(Region).where(Region.code == DEMO_COUNTY))
    insurer = db.session.scalar(sa.select(Insurer).where(Insurer.name == INSURERS[0][0]))
    for username, display, role in DEMO_USERS:
        if db.session.scalar(sa.select(User.id).where(User.username == username)) is None:
            auth_service.create_user(username, display, role, DEMO_PASSWORD, None,
                                     region_id=county.id if role.needs_county else None,
                                     insurer_id=insurer.id if role.needs_insurer else None)
            created["users"] += 1
    db.session.flush()
    from flask import current_app

    if with_rounds is None:
        with_rounds = not current_app.testing  # tests build the rounds they need themselves
    if with_rounds:
        load_demo_holidays()
        created["rounds"] = load_demo_round() + load_demo_awarded_round() + load_demo_finalised_round()
        created["award_changes"] = load_demo_replacement()
    return created


DEMO_ROUND_NAME = "2026–2028年度上饶市政策性农业保险承保机构遴选（演示）"
DEMO_LOTS = (  # county, code, name, products, expected annual premium, historical loss ratio %
    ("361128", "PY-01", "鄱阳县种植业第一标段", ("rice",), "5200000", "68.5"),
    ("361128", "PY-02", "鄱阳县种植业第二标段", ("rapeseed", "peanut"), "2100000", "55.2"),
    ("361128", "PY-03", "鄱阳县养殖业标段", ("breeding_sow",), "1800000", "82.0"),
    ("361127", "YG-01", "余干县种植业标段", ("rice", "rapeseed"), "4300000", "63.1"),
    ("361127", "YG-02", "余干县特色农业标段", ("camellia_oil", "greenhouse_vegetables"), "900000", "47.8"),
    ("361130", "WY-01", "婺源县种植业标段", ("rice", "rapeseed"), "1600000", "58.0"),
    ("361130", "WY-02", "婺源县林业及特色标段", ("commercial_forest", "camellia_oil"), "1100000", "35.4"),
)


def load_demo_round() -> int:
    """One selection round open for bids (deadline 30 days ahead) with lots in three counties. Idempotent."""
    from datetime import timedelta


    if db.session.scalar(sa.select(SelectionRound.id).where(SelectionRound.name == DEMO_ROUND_NAME)) is not None:
        return 0
    actor = db.session.scalar(sa.select(User).where(User.username == "city_agri"))
    deadline = utcnow().replace(hour=9, minute=0, second=0, microsecond=0) + timedelta(days=30)  # 17:00 Beijing
    rnd = tenders.create_round({
        "name": DEMO_ROUND_NAME, "term_start_year": 2026, "bid_deadline": deadline,
        "opening_time": deadline + timedelta(hours=16, minutes=30), "notice_working_days": 5, "min_insurers": 2,
        "max_insurers": 3, "market_share_cap_pct": None, "contact": "市农业农村局计划财务科 0793-8000000",
        "notes": None}, actor)
    products = {p.code: p.id for p in db.session.scalars(sa.select(Product))}
    regions = {r.code: r.id for r in db.session.scalars(sa.select(Region))}
    for county, code, name, product_codes, premium, loss in DEMO_LOTS:
        tenders.save_lot(rnd, None, {
            "region_id": regions[county], "code": code, "name": name, "townships": None,
            "expected_premium": Decimal(premium), "loss_ratio_pct": Decimal(loss), "notes": None,
            "product_ids": [products[c] for c in product_codes]}, actor)
    tenders.publish_round(rnd, actor)  # installs and fixes the default scoring scheme (evaluation)

    assign_expert(rnd, db.session.scalar(sa.select(User).where(User.username == "expert")), actor)
    return 1


def load_everything(with_rounds: bool | None = None) -> dict[str, int]:
    """What `flask demo-data` loads: the demo world, its selection rounds and its subsidy claims."""
    created = load_demo_data(with_rounds)
    created["claims"] = load_demo_claims()
    created["payout_lists"] = load_demo_payouts()
    created["annual_reviews"] = load_demo_reviews()
    return created


def load_demo_claims() -> int:
    """The demo's subsidy claims in every state, each submitted with an underwriting list that matches it: the two
    modules are composed here, as subsidies (the owner of a claim's life) imports nothing of underwriting."""
    return load_demo_subsidies([name for name, _short, _parent in INSURERS], attach_documents=attach_matching_list)


def load_demo_payouts() -> int:
    """Two years of claim payouts (理赔清单) for the demo claims, matched to their underwriting lists: payouts is
    composed here on top of underwriting and subsidies, so the measured service pages show real figures."""
    return payouts_demo.load_demo_payouts()


def load_demo_reviews() -> int:
    """The 2023–2025 term's annual evaluations of 2023 and 2024 (finalised) and a complaint upheld in 2024: the
    annual evaluation is composed here on top of the demo rounds."""
    return annual_review_demo.load_demo_reviews()


def database_is_empty() -> bool:
    return db.session.scalar(sa.select(sa.func.count(User.id))) == 0
