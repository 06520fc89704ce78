import sqlalchemy as sa

from agri_insurance.demo import load_demo_claims
from agri_insurance.subsidies.models import ClaimStatus, SubsidyClaim


def test_demo_subsidies_reach_every_state_and_load_once(demo, db):
    # the demo's claims as agri_insurance.demo composes them: subsidies' claims with underwriting's lists
    assert load_demo_claims() == 10
    db.session.commit()
    statuses = set(db.session.scalars(sa.select(SubsidyClaim.status)))
    assert statuses == {ClaimStatus.DRAFT, ClaimStatus.SUBMITTED, ClaimStatus.VERIFIED, ClaimStatus.PAYING,
                        ClaimStatus.SETTLED}
    assert load_demo_claims() == 0
    for claim in db.session.scalars(sa.select(SubsidyClaim)):
        assert sum(s.amount for s in claim.shares) == claim.total_premium


def test_every_demo_county_has_a_budget_its_demo_claims_stay_within(demo, db):
    """Verifying a demo claim needs no over-budget confirmation: the city and every county an insurer
    underwrites in have a budget for each demo year, and what is verified stays within it."""
    from agri_insurance.reference.models import Region, RegionLevel
    from agri_insurance.subsidies import service
    from agri_insurance.subsidies.demo import ASSIGNMENTS, CLAIM_YEARS
    from agri_insurance.subsidies.models import Budget

    load_demo_claims()
    db.session.commit()
    budgets = {(b.year, b.region.code) for b in db.session.scalars(sa.select(Budget))}
    city = db.session.scalar(sa.select(Region).where(Region.level == RegionLevel.CITY))
    for year in CLAIM_YEARS:
        for code in {city.code, *(code for code, _product, _insurer in ASSIGNMENTS)}:
            assert (year, code) in budgets, (year, code)
    assert not db.session.scalar(sa.select(sa.func.count(SubsidyClaim.id)).where(SubsidyClaim.over_budget_confirmed))
    submitted = db.session.scalar(sa.select(SubsidyClaim).where(SubsidyClaim.status == ClaimStatus.SUBMITTED))
    assert not [c for c in service.budget_checks(submitted) if c.exceeds]   # the county verifies it without warning
    for claim in db.session.scalars(sa.select(SubsidyClaim).where(SubsidyClaim.verified_at.is_not(None))):
        assert claim.verification_opinion


def test_the_demo_has_a_closed_year_and_an_open_one(demo, db):
    from decimal import Decimal

    from agri_insurance.subsidies import service
    from agri_insurance.subsidies.models import Advance, Settlement

    load_demo_claims()
    db.session.commit()
    assert service.year_closed(2025) and not service.year_closed(2026)
    refund = db.session.scalar(sa.select(Settlement).where(Settlement.balance < 0))
    assert refund.balance == Decimal("-30000.00") and refund.bureau_confirmed_at is not None
    assert refund.insurer_confirmed_at is None                       # the underwriter has still to confirm
    open_advance = db.session.scalar(sa.select(Advance).where(Advance.year == 2026))
    assert open_advance.drawn == Decimal("40000.00")                 # the 2026 rice claim of 余干县 drew it all
