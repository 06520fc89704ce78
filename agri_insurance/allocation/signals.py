"""What happens to an allocation run that other modules act on."""

from __future__ import annotations

from agri_insurance.announcements import Announcement

# A run was adopted for its round (sender: the run; details: actor, winners {lot_id: (insurer_id, score)},
# rankings {region_id: [(insurer_id, score)] best first}). awards creates the awards and backups and moves the
# round to allocated; its listener returns the awards it created.
run_adopted = Announcement("run-adopted", "an allocation run was adopted")

# Factors scaling the insurers' premium capacities when a scenario is built (sender: the round; details:
# insurer_ids). Listeners return (insurer id, factor) pairs: the annual evaluation's grade factors, when set.
capacity_factors = Announcement("capacity-factors", "collected: (insurer id, capacity factor) pairs")
