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
