"""What happens to a selection round, announced by tenders (the owner of its life) to whoever must react.

tenders imports none of its listeners; they connect in their own package (`<module>/listeners.py`, imported by
the application) and run in the caller's transaction in the order they declare (agri_insurance.announcements).
Every status change announces itself from `tenders.service.transition` (or the clock's advance), with:
sender the round; `actor` (None for the clock), `previous` (the status it left) and the change's own details.

Who listens is listed in docs/architecture.md; `round_moved[status].listeners()` tells at run time.
"""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

from agri_insurance.announcements import Announcement
from agri_insurance.tenders.models import RoundStatus

S = RoundStatus

round_created = Announcement("round-created", "a new round in draft (evaluation gives it the default scheme)")
round_published = Announcement("round-published", "draft → open: bids are accepted from now on")
round_closed = Announcement("round-closed", "open → closed: the bid deadline passed (the clock)")
round_opened = Announcement("round-opened", "closed → opened: the bids were opened")
round_in_evaluation = Announcement("round-in-evaluation", "→ evaluation (from opened, or back from publicised)")
round_allocated = Announcement("round-allocated", "evaluation → allocated: an allocation run was adopted")
round_publicised = Announcement("round-publicised", "allocated → publicised: the public notice runs")
round_awarded = Announcement("round-awarded", "publicised → awarded: the result is final")
round_in_force = Announcement("round-in-force", "awarded → in force: the term started (the clock)")
round_expired = Announcement("round-expired", "in force → expired: the term ended (the clock)")
round_cancelled = Announcement("round-cancelled", "→ cancelled; details: reason")

# Before any status change, so a module can refuse it (awards: no final result while the notice runs);
# details: target. Listeners that refuse raise DomainError and nothing has changed.
round_moving = Announcement("round-moving", "a round is about to change status; details: target")

# the announcement each status change makes
round_moved: dict[RoundStatus, Announcement] = {
    S.OPEN: round_published,
    S.CLOSED: round_closed,
    S.OPENED: round_opened,
    S.EVALUATION: round_in_evaluation,
    S.ALLOCATED: round_allocated,
    S.PUBLICISED: round_publicised,
    S.AWARDED: round_awarded,
    S.IN_FORCE: round_in_force,
    S.EXPIRED: round_expired,
    S.CANCELLED: round_cancelled,
}

# Lots, county limits or rules of an open round changed (submitted bids no longer answer them); details: what
# (the kind of change, text in the record language), changes (what changed, old and new, as data:
# agri_insurance.tenders.changes)
round_rules_changed = Announcement("round-rules-changed",
                                   "an open round's lots or rules changed; details: what, changes")

# Collected, not reacted to: what other modules offer on the round page. Listeners return lists of
# agri_insurance.actions.Action (keyword `user`) and of PagePart (keyword `user`).
round_actions = Announcement("round-actions", "the actions other modules offer on a round to `user`")
round_page_parts = Announcement("round-page-parts", "what other modules show on the round page to `user`")

# Collected: the stored premium and claims paid of one county per product (and, with `by_township`, per township
# where the lists carry it) over some years, for the lot design assistant (R2, R11). Listeners return lists of
# LossHistory (keywords `region_id`, `years`, `by_township`).
lot_history = Announcement("lot-history", "stored premium and claims of a county per product for the lot design")


class LossHistory(NamedTuple):
    """One product's stored figures in a county (or in one of its townships) over the years asked: premium and
    claims paid summed over them, and in how many of them premium was stored."""

    product_id: int
    premium: Decimal
    claims_paid: Decimal
    years_with_premium: int
    township: str | None = None


# The measured premium and claims paid of counties per product and year, for the lots copied from the previous term
# (sender: the new round; keyword `region_ids`). Listeners (the payout lists' owner) return lists of YearFigures,
# one per underwriter, county, product and year; tenders sums them.
measured_losses = Announcement("measured-losses", "stored premium and claims paid per county, product and year")


class YearFigures(NamedTuple):
    region_id: int
    product_id: int
    year: int
    premium: Decimal
    claims_paid: Decimal
