"""Subsidy factories: assignments and claims with numbers that pass every rule unless a test says otherwise."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import sqlalchemy as sa
import time_machine

from agri_insurance.auth.models import Role, User
from agri_insurance.extensions import db
from agri_insurance.reference.models import Insurer, Product
from agri_insurance.subsidies import lists, service
from agri_insurance.subsidies.models import ShareLevel
from agri_insurance.underwriting.demo import attach_matching_list
from tests.factories import county, make_user


def at(day: date):
    """The clock stopped at 10:00 in Shangrao (02:00 UTC) on `day`."""
    return time_machine.travel(datetime(day.year, day.month, day.day, 2, 0, tzinfo=UTC), tick=False)


def user(username: str) -> User:
    return db.session.scalar(sa.select(User).where(User.username == username))


def product(code: str) -> Product:
    return db.session.scalar(sa.select(Product).where(Product.code == code))


def demo_insurer() -> Insurer:
    return user("insurer").insurer


def assign(insurer=None, county_code="361128", product_code="rice", start=2025, end=2027):
    return service.save_assignment({
        "insurer_id": (insurer or demo_insurer()).id, "region_id": county(county_code).id,
        "product_id": product(product_code).id, "start_year": start, "end_year": end, "notes": None}, None)


def claim_data(product_code="rice", county_code="361128", premium="1000000.00", year=2026, period="2026年第一季度",
               rate="5", **overrides) -> dict:
    premium = Decimal(premium)
    prod = product(product_code)
    region = county(county_code)
    scheme = service.applicable_scheme(prod.id, region.id, year)
    # Without a scheme for that year (a test of that rule), any farmer premium will do.
    farmer = (service.split_premium(premium, service.scheme_pcts(scheme))[ShareLevel.FARMER] if scheme
              else premium / 5)
    data = {"region_id": region.id, "product_id": prod.id, "year": year, "period": period,
            "quantity": Decimal("20000"), "unit": prod.unit, "sum_insured": premium * 100 / Decimal(rate),
            "premium_rate": Decimal(rate), "total_premium": premium, "farmer_premium": farmer,
            "households": 850, "list_rows": 850, "notes": None}
    data.update(overrides)
    return data


OPINION = "经核验，承保清单与申请一致，同意拨付。"


def attach_list(claim, username="insurer"):
    """The claim's matching underwriting list (one row per household), uploaded by `username`; not committed."""
    claim.list_rows = claim.households
    attach_matching_list(claim, user(username))
    return claim


def make_claim(status="draft", insurer_username="insurer", **kwargs):
    """A claim advanced to `status` (draft, submitted, verified) by the demo users."""
    actor = user(insurer_username)
    claim = service.save_claim(None, claim_data(**kwargs), actor.insurer, actor)
    if status in ("submitted", "verified"):
        attach_list(claim, insurer_username)
        service.submit_claim(claim, actor)
    if status == "verified":
        verifier = db.session.scalar(sa.select(User).where(User.role == Role.COUNTY_AGRI,
                                                           User.region_id == claim.region_id).limit(1))
        if verifier is None:
            verifier = make_user(f"{claim.region.code}_agri", Role.COUNTY_AGRI, region=claim.region)
        service.verify_claim(claim, verifier, OPINION, confirm_over_budget=True, flags_reviewed=True)
    db.session.commit()
    return claim


def money_objects() -> dict:
    """{advance: an advance of 2026, settlement: the county settlement of 2025 (closed)}, made once; the demo
    insurer's assignment in the demo county must exist (test_access makes it with its claim)."""
    from agri_insurance.subsidies import yearend
    from agri_insurance.subsidies.models import Advance, Settlement

    if db.session.scalar(sa.select(Settlement.id)) is None:
        for year in (2025, 2026):
            yearend.save_advance({"year": year, "insurer_id": demo_insurer().id, "region_id": county().id,
                                  "level": ShareLevel.COUNTY, "amount": Decimal("1000.00"),
                                  "paid_on": date(2025, 2, 1), "voucher_no": f"YB-{year}"}, user("county_finance"))
        yearend.close_year(2025, user("city_finance"))
        db.session.commit()
    return {"advance": db.session.scalar(sa.select(Advance.id).where(Advance.year == 2026)),
            "settlement": db.session.scalar(sa.select(Settlement.id))}


def government_totals_disagreeing() -> list[int]:
    """The claims whose kept government totals (`gov_due`, `gov_paid`: triggers on claim_shares) differ from their
    government shares summed now: none, whatever paid them (payments, advances, settlements) or re-split them."""
    from agri_insurance.subsidies.models import GOVERNMENT_LEVELS, ClaimShare, SubsidyClaim

    shares = (sa.select(ClaimShare.claim_id, sa.func.sum(ClaimShare.amount).label("due"),
                        sa.func.sum(ClaimShare.paid).label("paid"))
              .where(ClaimShare.level.in_(GOVERNMENT_LEVELS)).group_by(ClaimShare.claim_id).subquery())
    rows = db.session.execute(sa.select(SubsidyClaim.id, SubsidyClaim.gov_due, SubsidyClaim.gov_paid,
                                        shares.c.due, shares.c.paid)
                              .outerjoin(shares, shares.c.claim_id == SubsidyClaim.id)).all()
    cent = Decimal("0.01")
    return [claim_id for claim_id, kept_due, kept_paid, due, paid in rows
            if (Decimal(kept_due).quantize(cent), Decimal(kept_paid).quantize(cent))
            != (Decimal(due or 0).quantize(cent), Decimal(paid or 0).quantize(cent))]


def ledger(clauses) -> tuple[list, dict]:
    """The ledger's lines for `clauses` and its totals, read as the ledger's page reads them (its statement, then
    the summary over every matching claim)."""
    lines = [service.LedgerLine(claim, Decimal(due), Decimal(paid))
             for claim, due, paid in db.session.execute(lists.ledger_statement(clauses))]
    return lines, service.ledger_summary(clauses)[1]
