"""What happens to reference data that other modules may have to refuse or follow."""

from __future__ import annotations

from agri_insurance.announcements import Announcement

# An insurer's name or credit code is about to change (sender: the insurer; details: name, credit_code, the new
# values). Listeners refuse with DomainError (bids: a sealed bid's receipt hashes the old ones).
insurer_identity_changing = Announcement("insurer-identity-changing",
                                         "an insurer's name or credit code is about to change")
