"""A replacement racing a subsidy claim: the old underwriter submits a claim for the lot's county and product while
the bureau terminates its award from today. Whichever comes first, the second waits for it (the claim locks the
assignments the termination updates) and then sees what it committed: one outcome, never a claim submitted
against an assignment already ended."""

from __future__ import annotations

import sqlalchemy as sa

from agri_insurance.auth.models import User
from agri_insurance.awards.models import Award, AwardChange
from agri_insurance.extensions import db as _db
from agri_insurance.subsidies import service as subsidies
from agri_insurance.subsidies.models import ClaimStatus, SubsidyClaim
from agri_insurance.underwriting.demo import attach_matching_list
from tests.awards.test_replacement import LOT, award_of, finalised, schemes_for, terminate  # noqa: F401
from tests.concurrency import second_waits_for_first
from tests.subsidies.factories import claim_data


def _old_draft(award) -> tuple[int, int]:
    """A draft claim of the award's underwriter for the lot's county and first product in the term's first year,
    with its matching underwriting list; returns (claim id, award id)."""
    rnd, lot = award.round, award.lot
    schemes_for(rnd.term_start_year)
    actor = _db.session.scalar(sa.select(User).where(User.insurer_id == award.insurer_id).order_by(User.id))
    data = claim_data(product_code=lot.products[0].code, county_code=lot.region.code, year=rnd.term_start_year,
                      period=f"{rnd.term_start_year}年第一季度", households=20, list_rows=20)
    claim = subsidies.save_claim(None, data, actor.insurer, actor)
    attach_matching_list(claim, actor)
    _db.session.commit()
    return claim.id, award.id


def _submit(claim_id: int):
    def work():
        claim = _db.session.get(SubsidyClaim, claim_id)
        subsidies.submit_claim(claim, _db.session.get(User, claim.created_by_id))
    return work


def _terminate(award_id: int):
    return lambda: terminate(_db.session.get(Award, award_id))


def test_a_termination_first_makes_the_old_underwriters_claim_wait_and_be_refused(app, finalised, db):  # noqa: F811
    claim_id, award_id = _old_draft(award_of(LOT))
    outcome: dict = {}
    second_waits_for_first(app, _terminate(award_id), _submit(claim_id), outcome)
    assert outcome["first"] == "done"
    assert "中标已变更" in outcome["second"]
    db.session.expire_all()
    assert db.session.get(SubsidyClaim, claim_id).status is ClaimStatus.DRAFT


def test_a_claim_first_is_submitted_and_the_termination_then_goes_through(app, finalised, db):  # noqa: F811
    claim_id, award_id = _old_draft(award_of(LOT))
    outcome: dict = {}
    second_waits_for_first(app, _submit(claim_id), _terminate(award_id), outcome)
    assert outcome == {"first": "done", "second": "done"}
    db.session.expire_all()
    assert db.session.get(SubsidyClaim, claim_id).status is ClaimStatus.SUBMITTED
    assert db.session.scalar(sa.select(sa.func.count(AwardChange.id))) == 1
