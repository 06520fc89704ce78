"""What bids does when tenders announces something about a round (agri_insurance.announcements)."""

from __future__ import annotations

from agri_insurance.actions import PagePart
from agri_insurance.bids import service
from agri_insurance.reference.signals import insurer_identity_changing
from agri_insurance.tenders import signals


@signals.round_rules_changed.listen(order=10)
def _invalidate_submitted_bids(rnd, actor, what, changes=None, **_):
    """Submitted bids answer rules that no longer hold: the insurers must re-confirm before the deadline, told
    what changed."""
    service.invalidate_submitted_bids(rnd, what, actor, changes)


@insurer_identity_changing.listen(order=10)
def _keep_sealed_receipts_true(insurer, **_):
    """A sealed bid's receipt hashes the insurer's name and credit code: refuse the change before the opening."""
    service.require_no_sealed_bid(insurer)


@signals.round_actions.listen(order=10)
def _round_actions(rnd, user, **_):
    return service.round_actions(rnd, user)


@signals.round_page_parts.listen(order=10)
def _round_page_part(rnd, user, **_):
    summary = service.round_summary(rnd, user)
    return [PagePart("side", "bids/_round_part.html", summary, order=10)] if summary else []
