"""Demo subsidy data for `flask demo-data`: who underwrites what, and claims in every state.

Everything goes through the services, so the demo obeys the same rules as real input: a claim is submitted with
the documents the other modules ask for (its underwriting list), which the caller attaches (agri_insurance.demo
composes this module with underwriting's demo; subsidies knows nothing of underwriting).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import date, timedelta
from decimal import ROUND_CEILING, Decimal

import sqlalchemy as sa

from agri_insurance import clock
from agri_insurance.auth import service as auth_service
from agri_insurance.auth.models import User
from agri_insurance.clock import utcnow
from agri_insurance.extensions import db
from agri_insurance.reference.models import Insurer, Product, Region, RegionLevel
from agri_insurance.roles import Role
from agri_insurance.subsidies import funds, service, yearend
from agri_insurance.subsidies.models import Budget, ShareLevel, SubsidyClaim

# (county code, product code, insurer index in demo.INSURERS)
ASSIGNMENTS = (
    ("361128", "rice", 0), ("361128", "rapeseed", 1), ("361128", "breeding_sow", 2), ("361128", "camellia_oil", 0),
    ("361127", "rice", 1), ("361127", "peanut", 3), ("361129", "rice", 0), ("361129", "citrus", 4),
    ("361130", "commercial_forest", 2), ("361130", "greenhouse_vegetables", 5), ("361181", "rice", 4),
    ("361123", "rice", 3), ("361124", "medicinal_herbs", 5),
)
# (county, product, insurer index, year, period, premium, state, days since verification)
CLAIMS = (
    ("361128", "rice", 0, 2025, "2025年全年", "3200000.00", "settled", 300),
    ("361128", "rice", 0, 2026, "2026年早稻季", "1850000.00", "paying", 50),
    ("361128", "camellia_oil", 0, 2026, "2026年全年", "86400.00", "verified", 5),
    ("361128", "rapeseed", 1, 2026, "2026年全年", "420000.00", "submitted", None),
    ("361128", "breeding_sow", 2, 2026, "2026年第一季度", "156000.00", "verified", 40),
    ("361127", "rice", 1, 2025, "2025年全年", "2600000.00", "settled", 280),
    ("361127", "rice", 1, 2026, "2026年早稻季", "1980000.00", "verified", 12),
    ("361129", "rice", 0, 2025, "2025年全年", "1500000.00", "settled", 290),
    ("361129", "rice", 0, 2026, "2026年早稻季", "1234567.89", "draft", None),
    ("361130", "commercial_forest", 2, 2026, "2026年全年", "310000.00", "paying", 35),
)
RATE = Decimal("5")
CLAIM_YEARS = sorted({year for _c, _p, _i, year, *_rest in CLAIMS})
OPINION = "经核验，承保清单与申请一致，承保数量、保费和农户自缴保费无误，同意拨付补贴。"
# Budgets: half as much again as the demo claims' shares need, in whole 100,000 yuan, and at least 500,000 yuan for
# each level (the city, every county with an underwriting assignment), so the demo claims verify without a budget
# warning; a bureau sees how much is left on its budget page.
BUDGET_STEP = Decimal("100000")
BUDGET_FLOOR = Decimal("500000.00")


def _insurer_users(insurers: list[Insurer]) -> list[User]:
    """The demo insurer user for the first insurer, insurer2 … insurer6 for the others."""
    users = []
    for index, insurer in enumerate(insurers):
        username = "insurer" if index == 0 else f"insurer{index + 1}"
        user = db.session.scalar(sa.select(User).where(User.username == username))
        if user is None:
            user = auth_service.create_user(username, f"{insurer.short_name} 业务员", Role.INSURER, "demo1234", None,
                                            insurer_id=insurer.id)
        users.append(user)
    return users


def load_demo_subsidies(insurer_names: list[str],
                        attach_documents: Callable[[SubsidyClaim, User], None] | None = None) -> int:
    """Assignments and claims; skipped when any claim exists. Returns the number of claims created.

    `attach_documents(claim, insurer_user)`: gives a draft what its submission needs (agri_insurance.demo passes
    underwriting's matching list), before every claim beyond a draft is submitted."""
    if db.session.scalar(sa.select(sa.func.count(SubsidyClaim.id))):
        return 0
    insurers = [db.session.scalar(sa.select(Insurer).where(Insurer.name == name)) for name in insurer_names]
    users = _insurer_users(insurers)
    counties = {r.code: r for r in db.session.scalars(sa.select(Region).where(Region.level == RegionLevel.COUNTY))}
    products = {p.code: p for p in db.session.scalars(sa.select(Product))}
    for code, product, index in ASSIGNMENTS:
        # Only the years no assignment covers yet (the demo's awarded round may already cover some).
        for year in CLAIM_YEARS:
            if not service.may_claim(insurers[index].id, counties[code].id, products[product].id, year):
                service.save_assignment({"insurer_id": insurers[index].id, "region_id": counties[code].id,
                                         "product_id": products[product].id, "start_year": year, "end_year": year,
                                         "notes": "演示数据"}, None)
    _load_budgets(counties, products)
    verifiers = {}
    county_agri = db.session.scalar(sa.select(User).where(User.username == "county_agri"))
    city_finance = db.session.scalar(sa.select(User).where(User.username == "city_finance"))
    county_finance = db.session.scalar(sa.select(User).where(User.username == "county_finance"))
    # the open year: an advance the 2026 rice claim of 余干县 draws down when it is verified (below)
    yearend.save_advance({"year": 2026, "insurer_id": insurers[1].id, "region_id": counties["361127"].id,
                          "level": ShareLevel.COUNTY, "amount": Decimal("40000.00"), "paid_on": date(2026, 3, 1),
                          "voucher_no": "YB-2026-001"}, _county_user(counties["361127"], "finance"))
    created = 0
    for code, product, index, year, period, premium, state, days_ago in CLAIMS:
        region, prod, actor = counties[code], products[product], users[index]
        scheme = service.applicable_scheme(prod.id, region.id, year)
        amounts = service.split_premium(Decimal(premium), service.scheme_pcts(scheme))
        claim = service.save_claim(None, {
            "region_id": region.id, "product_id": prod.id, "year": year, "period": period,
            "quantity": (Decimal(premium) / Decimal(50)).quantize(Decimal("1")), "unit": prod.unit,
            "sum_insured": Decimal(premium) * 100 / RATE, "premium_rate": RATE, "total_premium": Decimal(premium),
            "farmer_premium": amounts[ShareLevel.FARMER], "households": int(Decimal(premium) / 900),
            "list_rows": int(Decimal(premium) / 900), "notes": None}, actor.insurer, actor)
        created += 1
        if state == "draft":
            continue
        if attach_documents is not None:
            attach_documents(claim, actor)
        service.submit_claim(claim, actor)
        if state == "submitted":
            continue
        verifier = county_agri if code == "361128" else verifiers.setdefault(code, _county_user(region, "agri"))
        service.verify_claim(claim, verifier, OPINION, flags_reviewed=True)
        claim.verified_at = utcnow() - timedelta(days=days_ago)   # demo history: some payments are late
        service.keep_due_date(claim)
        if state in ("paying", "settled"):
            payer = county_finance if code == "361128" else verifiers.setdefault(
                code + "f", _county_user(region, "finance"))
            county_share = claim.share(ShareLevel.COUNTY).amount
            first = county_share if state == "settled" else (county_share / 2).quantize(Decimal("0.01"))
            service.confirm_payment(claim, ShareLevel.COUNTY, first, claim.verified_at.date() + timedelta(days=20),
                                    f"XC-{claim.id:04d}-1", payer)
            if state == "settled":
                for level in (ShareLevel.CITY, ShareLevel.PROVINCIAL, ShareLevel.CENTRAL):
                    service.confirm_payment(claim, level, claim.share(level).amount,
                                            claim.verified_at.date() + timedelta(days=25),
                                            f"SC-{claim.id:04d}-{level.value}", city_finance)
    db.session.flush()
    _close_last_year(insurers, counties, city_finance)
    _load_funds(counties, city_finance)
    return created


def _load_funds(counties: dict[str, Region], city_finance: User) -> None:
    """Money from above: 2025's central and provincial allocations to the city (what it paid on 2025's claims), and
    2026's so far, part passed on to 余干县 and a provincial allocation straight to 鄱阳县."""
    today = clock.local_today()
    city_id = funds.city().id
    entries = (
        (2025, "central", city_id, False, "财金〔2025〕15号", date(2025, 4, 10), "1500000.00", city_finance),
        (2025, "provincial", city_id, False, "赣财金〔2025〕22号", date(2025, 5, 8), "800000.00", city_finance),
        (2026, "central", city_id, False, "财金〔2026〕9号", date(2026, 3, 20), "1000000.00", city_finance),
        (2026, "central", counties["361127"].id, True, "饶财农〔2026〕4号", date(2026, 4, 2), "200000.00",
         city_finance),
        (2026, "provincial", counties["361128"].id, False, "赣财金〔2026〕11号", date(2026, 4, 15), "300000.00",
         city_finance),
    )
    for year, level, to_region_id, passed_on, document_no, issued_on, amount, actor in entries:
        if issued_on > today:
            continue
        funds.record_allocation({"year": year, "level": level, "product_id": None, "to_region_id": to_region_id,
                                 "passed_on": passed_on, "document_no": document_no, "issued_on": issued_on,
                                 "amount": Decimal(amount), "notes": "演示数据"}, actor)


def _close_last_year(insurers: list[Insurer], counties: dict[str, Region], city_finance: User) -> None:
    """The closed year: 2025's claims were paid in full, yet 万年县's bureau had also advanced 30,000.00 of its
    county share to the underwriter, so the settlement asks for it back; the bureau confirmed, the underwriter has
    still to. (Only once 2025 is over, as the close itself requires.)"""
    if clock.local_today().year <= 2025:
        return
    bureau = _county_user(counties["361129"], "finance")
    yearend.save_advance({"year": 2025, "insurer_id": insurers[0].id, "region_id": counties["361129"].id,
                          "level": ShareLevel.COUNTY, "amount": Decimal("30000.00"), "paid_on": date(2025, 3, 1),
                          "voucher_no": "YB-2025-007"}, bureau)
    for settlement in yearend.close_year(2025, city_finance):
        if settlement.balance < 0:
            yearend.confirm_settlement(settlement, bureau)


def _load_budgets(counties: dict[str, Region], products: dict[str, Product]) -> None:
    """Each demo year's budget of the city and of every county an insurer underwrites in (where none is set)."""
    admin = db.session.scalar(sa.select(User).where(User.username == "admin"))
    city = db.session.scalar(sa.select(Region).where(Region.level == RegionLevel.CITY))
    needs: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    for code, product, _index, year, _period, premium, _state, _days in CLAIMS:
        scheme = service.applicable_scheme(products[product].id, counties[code].id, year)
        amounts = service.split_premium(Decimal(premium), service.scheme_pcts(scheme))
        needs[(year, code)] += amounts[ShareLevel.COUNTY]
        needs[(year, city.code)] += amounts[ShareLevel.CITY]
    regions = [city, *sorted({counties[code] for code, _p, _i in ASSIGNMENTS}, key=lambda r: r.code)]
    existing = {(b.year, b.region_id) for b in db.session.scalars(sa.select(Budget))}
    for year in CLAIM_YEARS:
        for region in regions:
            if (year, region.id) in existing:
                continue
            need = needs[(year, region.code)] * 3 / 2
            amount = max(BUDGET_FLOOR, (need / BUDGET_STEP).to_integral_value(ROUND_CEILING) * BUDGET_STEP)
            service.save_budget(year, region, amount.quantize(Decimal("0.01")), admin)


def _county_user(region: Region, kind: str) -> User:
    """A county bureau user for demo counties other than 鄱阳县 (e.g. 余干县农业农村局 yugan_agri)."""
    username = f"{region.code}_{kind}"
    user = db.session.scalar(sa.select(User).where(User.username == username))
    if user is None:
        role = Role.COUNTY_AGRI if kind == "agri" else Role.COUNTY_FINANCE
        label = "农业农村局" if kind == "agri" else "财政局"
        user = auth_service.create_user(username, f"{region.name}{label}", role, "demo1234", None, region_id=region.id)
    return user
