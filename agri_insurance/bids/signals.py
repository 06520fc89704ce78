"""What bids asks the modules above it, which it does not import (agri_insurance.announcements).

`bid_readers` (collected; sender: the user): the ids of the bids whose documents `user` may read besides the ones
`Bid.visible_to` shows (the bid's own insurer; the bureau after the opening). Evaluation answers for its experts:
the opened bids each may score. Listeners return a list of bid ids; nobody else is let in.
"""

from __future__ import annotations

from agri_insurance.announcements import Announcement

bid_readers = Announcement("bid-readers", "the bids whose documents `user` may also read (collected: bid ids)")
