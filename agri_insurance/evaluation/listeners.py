"""What evaluation does when tenders announces something about a round, and what it answers bids
(agri_insurance.announcements)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from agri_insurance.actions import Action
from agri_insurance.bids.signals import bid_readers
from agri_insurance.evaluation import service
from agri_insurance.roles import Role
from agri_insurance.tenders import signals
from agri_insurance.tenders.models import RoundStatus

S = RoundStatus
BUREAU = frozenset({Role.ADMIN, Role.CITY_AGRI})
# From the evaluation on, the bureau reaches the evaluation and the allocation from the round page.
EVALUATED_STATES = frozenset({S.EVALUATION, S.ALLOCATED, S.PUBLICISED, S.AWARDED, S.IN_FORCE, S.EXPIRED})


@signals.round_created.listen(order=10)
def _give_the_round_its_scheme(rnd, actor, **_):
    """The default scoring scheme and eligibility gates, for the bureau to adapt before publishing."""
    service.scheme_for(rnd, actor)


@signals.round_published.listen(order=10)
def _freeze_scheme(rnd, actor, **_):
    """The scoring scheme and eligibility gates must be valid when the round is published, and are fixed from
    then on (a refusal undoes the publication)."""
    service.freeze_scheme(rnd, actor)


@signals.round_actions.listen(order=10)
def _round_actions(rnd, user, **_):
    actions = []
    if user.role in BUREAU and rnd.status in EVALUATED_STATES:
        actions.append(Action("evaluation", _l("评审"), "evaluation.panel", {"round_id": rnd.id},
                              element_id="evaluation-link", order=10))
    if user.role is Role.CITY_AGRI and rnd.status is S.OPENED:  # opened → evaluation (ROUND_TRANSITIONS)
        actions.append(Action("start_evaluation", _l("进入评审"), "evaluation.start_evaluation",
                              {"round_id": rnd.id}, post=True, style="success", order=50))
    return actions



@bid_readers.listen(order=10)
def _experts_read_the_bids_they_score(user, **_):
    """An expert reads the documents of the opened bids it may score (BidAttachment.visible_to)."""
    return service.bids_readable_by(user)
