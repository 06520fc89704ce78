"""A claim's life as subsidies announces it: who listens, in which order, and a refusal by a listener."""

from decimal import Decimal as D

import sqlalchemy as sa

from agri_insurance.audit.models import AuditEntry
from agri_insurance.subsidies import signals
from agri_insurance.subsidies.models import ClaimStatus, ShareLevel, SubsidyClaim
from tests.factories import county, read_text
from tests.subsidies.factories import assign, make_claim, product, user

UNDERWRITING = "agri_insurance.underwriting.listeners"


def test_who_listens_to_a_claims_life_and_in_which_order(app):
    assert signals.draft_changing.listeners() == [f"{UNDERWRITING}._no_import_running"]
    assert signals.claim_scope_changing.listeners() == [f"{UNDERWRITING}._drop_list_of_the_old_scope"]
    assert signals.claim_submitting.listeners() == [f"{UNDERWRITING}._require_a_matching_list"]
    assert signals.claim_verifying.listeners() == [f"{UNDERWRITING}._require_flags_reviewed",
                                                   f"{UNDERWRITING}._require_notice_evidence"]
    assert signals.draft_deleting.listeners() == [f"{UNDERWRITING}._remove_the_list"]
    assert signals.claim_actions.listeners() == [f"{UNDERWRITING}._open_the_list"]
    assert signals.claim_list_actions.listeners() == [f"{UNDERWRITING}._new_claim_from_a_list"]
    assert signals.claim_page_parts.listeners() == [f"{UNDERWRITING}._the_list_on_claim_pages",
                                                    f"{UNDERWRITING}._the_notice_on_claim_pages"]


def test_a_submission_a_listener_refuses_leaves_nothing_saved(demo, db, login):
    """The shares are set again from the scheme in force before underwriting checks the list; when the list does
    not match, the whole submission goes: status, shares, scheme and audit entry."""
    from agri_insurance.reference import service as reference_service
    from agri_insurance.underwriting.demo import attach_matching_list

    assign()
    claim = make_claim(premium="100000.00")                  # city-wide scheme: county 5 %
    attach_matching_list(claim, user("insurer"))
    claim.households += 1                                     # the list no longer adds up to the claim
    reference_service.save_scheme(None, {
        "product_id": product("rice").id, "region_id": county().id, "year": 2026, "central_pct": D(45),
        "provincial_pct": D(25), "city_pct": D(0), "county_pct": D(10), "farmer_pct": D(20)}, None)
    db.session.commit()
    claim_id, scheme_id = claim.id, claim.scheme_id

    page = read_text(login("insurer").post(f"/subsidies/claims/{claim_id}/submit", follow_redirects=True))

    assert "承保清单与申请不一致" in page
    db.session.expire_all()
    claim = db.session.get(SubsidyClaim, claim_id)
    assert claim.status is ClaimStatus.DRAFT and claim.submitted_at is None and claim.scheme_id == scheme_id
    assert claim.share(ShareLevel.COUNTY).amount == D("5000.00")   # not the 10,000.00 the new scheme says
    actions = db.session.scalars(sa.select(AuditEntry.action).where(
        AuditEntry.object_type == "SubsidyClaim", AuditEntry.object_id == str(claim_id))).all()
    assert "claim.submitted" not in actions
