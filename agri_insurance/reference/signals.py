"""What happens to reference data that other modules may have to refuse or follow."""

from __future__ import annotations

from agri_insurance.announcements import Announcement

# An insurer's name or credit code is about to change (sender: the insurer; details: name, credit_code, the new
# values). Listeners refuse with DomainError (bids: a sealed bid's receipt hashes the old ones).
insurer_identity_changing = Announcement("insurer-identity-changing",
                                         "an insurer's name or credit code is about to change")

# Collected, not reacted to: what other modules show on a region's or an insurer's page to `user` (auth: the
# organisation's users). Listeners return lists of agri_insurance.actions.PagePart.
organisation_page_parts = Announcement("organisation-page-parts",
                                       "what other modules show on a region's or an insurer's page")
