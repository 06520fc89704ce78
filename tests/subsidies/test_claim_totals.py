"""Each claim keeps its government shares' amount and paid summed (gov_due, gov_paid), by database triggers, for
the ledger's totals at volume. They must always be the shares summed: after the demo's years (payments, advances,
a settled year), a payment, a draft edited (its shares split again) and a draft deleted (its shares with it). The
year-end paths (advances drawn, a settlement's top-up and refund) are checked in test_yearend.py."""

from datetime import date
from decimal import Decimal as D

import sqlalchemy as sa

from agri_insurance.subsidies import service
from agri_insurance.subsidies.models import ClaimStatus, ShareLevel, SubsidyClaim
from tests.subsidies.factories import claim_data, government_totals_disagreeing, ledger, make_claim, user


def test_the_demo_years_claims_keep_their_shares_summed(db):
    from agri_insurance.demo import load_everything

    load_everything()                  # what `flask demo-data` loads: claims paid, advances drawn, a year settled
    db.session.commit()
    paid = sa.select(sa.func.count()).select_from(SubsidyClaim).where(SubsidyClaim.gov_paid > 0)
    assert db.session.scalar(paid) > 0
    assert government_totals_disagreeing() == []


def test_a_payment_an_edited_draft_and_a_deleted_draft_keep_the_totals(world, db):
    verified = make_claim(status="verified", premium="100000.00")
    service.confirm_payment(verified, ShareLevel.COUNTY, D("1000.50"), date(2026, 3, 1), "K", user("county_finance"))
    draft = make_claim(premium="5000.00", period="2026年第二季度")
    db.session.commit()
    due, paid = db.session.execute(sa.select(SubsidyClaim.gov_due, SubsidyClaim.gov_paid)
                                   .where(SubsidyClaim.id == verified.id)).one()
    assert (due, paid) == (D("80000.00"), D("1000.50"))      # premium less the farmer's 20 %; the county's payment
    actor = user("insurer")
    service.save_claim(draft, claim_data(premium="6000.00", period="2026年第二季度"), actor.insurer, actor)
    db.session.commit()
    assert db.session.scalar(sa.select(SubsidyClaim.gov_due).where(SubsidyClaim.id == draft.id)) == D("4800.00")
    assert government_totals_disagreeing() == []
    service.delete_draft(draft, actor)
    db.session.commit()
    assert government_totals_disagreeing() == []
    assert db.session.get(SubsidyClaim, verified.id).status is ClaimStatus.PAYING


def test_the_ledger_totals_are_the_shares_summed(world, db):
    first = make_claim(status="verified", premium="1234567.89")
    make_claim(status="verified", premium="100000.00", period="2026年第二季度")
    service.confirm_payment(first, ShareLevel.CITY, D("0.01"), date(2026, 3, 1), "C", user("city_finance"))
    db.session.commit()
    lines, totals = ledger([SubsidyClaim.year == 2026, SubsidyClaim.status.in_(service.REPORTED)])
    assert totals["due"] == sum(line.due for line in lines) == D("1067654.31")
    assert totals["paid"] == sum(line.paid for line in lines) == D("0.01")
