"""What the evaluation asks other modules while it checks and scores a round's bids, and what its pages let them
add (collected announcements: the listeners answer, evaluation imports none of them; listed in docs/architecture.md)."""

from __future__ import annotations

from agri_insurance.announcements import Announcement

# The eligibility gates of a bid from other modules (sender: the bid; details: scheme). Each listener returns a list
# of failures {"gate": name in service.GATE_MESSAGES, "params": {...}, "region_id": county id or absent}; a failure
# with a county excludes the bid from that county's lots only (from all, when it names every county of the bid).
bid_gates = Announcement("bid-gates", "collected: gate failures of a bid")

# The measured input of the service-rating criterion (服务业绩和评级) that replaces an insurer's declared rating
# (sender: the round; details: insurer_ids). Listeners return (insurer id, level on the 1–5 scale) pairs.
service_levels = Announcement("service-levels", "collected: (insurer id, service level) pairs")

panel_page_parts = Announcement(
    "panel-page-parts", "what other modules show on a round's evaluation page to `user`; details: bids (opened)")
