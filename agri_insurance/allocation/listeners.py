"""What allocation offers when tenders asks what other modules show on a round (agri_insurance.announcements)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from agri_insurance.actions import Action
from agri_insurance.roles import Role
from agri_insurance.tenders import signals
from agri_insurance.tenders.models import RoundStatus

S = RoundStatus
BUREAU = frozenset({Role.ADMIN, Role.CITY_AGRI})
# The allocation runs are computed once the evaluation is under way, and stay readable afterwards.
ALLOCATION_STATES = frozenset({S.EVALUATION, S.ALLOCATED, S.PUBLICISED, S.AWARDED, S.IN_FORCE, S.EXPIRED})


@signals.round_actions.listen(order=20)
def _round_actions(rnd, user, **_):
    if user.role not in BUREAU or rnd.status not in ALLOCATION_STATES:
        return []
    return [Action("allocation", _l("分配方案"), "allocation.round_runs", {"round_id": rnd.id},
                   element_id="allocation-link", order=20)]
