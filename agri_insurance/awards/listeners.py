"""What awards does when tenders or allocation announces something (agri_insurance.announcements)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from agri_insurance.actions import Action, PagePart
from agri_insurance.allocation.signals import run_adopted
from agri_insurance.awards import service
from agri_insurance.awards.models import PUBLISHED_STATES
from agri_insurance.roles import Role
from agri_insurance.tenders import signals
from agri_insurance.tenders.models import RoundStatus

BUREAU = frozenset({Role.ADMIN, Role.CITY_AGRI})


@run_adopted.listen(order=10)
def _create_awards(run, actor, winners, rankings, **_):
    """The adopted run's awards and backup underwriters; the round moves to allocated."""
    return service.create_awards(run.round, run, winners, rankings, actor)


@signals.round_moving.listen(order=10)
def _no_final_result_during_the_notice(rnd, target, **_):
    if target is RoundStatus.AWARDED:
        service.require_notice_over(rnd)


@signals.round_cancelled.listen(order=10)
def _withdraw_the_result(rnd, actor, previous, reason="", **_):
    """A round cancelled with a result not yet final loses it: awards and backups revoked, notice closed,
    pending objections closed unexamined."""
    if previous in (RoundStatus.ALLOCATED, RoundStatus.PUBLICISED):
        service.withdraw_for_cancellation(rnd, reason, actor)


@signals.round_actions.listen(order=30)
def _round_actions(rnd, user, **_):
    """The result's page: for everyone once published, for the bureau from the adoption on, and for an objector
    even when the result was withdrawn (its objections and their answers are there)."""
    visible = rnd.status in PUBLISHED_STATES or (user.role in BUREAU and rnd.status is RoundStatus.ALLOCATED) \
        or (user.role is Role.INSURER and bool(service.objections_of(rnd, user)))
    if not visible:
        return []
    return [Action("awards", _l("中标结果"), "awards.round_awards", {"round_id": rnd.id},
                   element_id="awards-link", order=30)]


@signals.round_page_parts.listen(order=30)
def _notice_end(rnd, user, **_):
    if rnd.status not in PUBLISHED_STATES:
        return []
    ends = service.notice_ends_on(rnd)
    return [PagePart("notice", "awards/_notice_end.html", {"ends_on": ends})] if ends else []
