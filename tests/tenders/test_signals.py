"""A round's life, announced: who listens to what, in which order, inside the caller's transaction."""

import pytest
import sqlalchemy as sa

from agri_insurance.announcements import Announcement
from agri_insurance.awards.models import Award
from agri_insurance.errors import DomainError
from agri_insurance.tenders import service, signals
from agri_insurance.tenders.models import RoundStatus as S
from tests.tenders.factories import user

LISTENERS = {
    signals.round_created: ["agri_insurance.evaluation.listeners._give_the_round_its_scheme"],
    signals.round_published: ["agri_insurance.evaluation.listeners._freeze_scheme"],
    signals.round_rules_changed: ["agri_insurance.bids.listeners._invalidate_submitted_bids"],
    signals.round_moving: ["agri_insurance.awards.listeners._no_final_result_during_the_notice"],
    signals.round_cancelled: ["agri_insurance.awards.listeners._withdraw_the_result"],
    signals.round_actions: ["agri_insurance.bids.listeners._round_actions",
                            "agri_insurance.evaluation.listeners._round_actions",
                            "agri_insurance.allocation.listeners._round_actions",
                            "agri_insurance.awards.listeners._round_actions"],
    signals.round_page_parts: ["agri_insurance.bids.listeners._round_page_part",
                               "agri_insurance.awards.listeners._notice_end"],
}


def test_who_listens_to_a_round_and_in_which_order(app):
    for announcement, expected in LISTENERS.items():
        assert announcement.listeners() == expected, announcement.name


def test_every_status_change_announces_itself(app):
    assert set(signals.round_moved) == {target for targets in service.ROUND_TRANSITIONS.values() for target in targets}


def test_listeners_run_in_their_declared_order_whatever_the_order_they_connected(app):
    news = Announcement("test-news")
    heard = []

    @news.listen(order=30)
    def third(sender, **_):
        heard.append("third")

    @news.listen(order=10)
    def first(sender, **_):
        heard.append("first")

    @news.listen(order=20)
    def second(sender, **_):
        heard.append("second")
        return ["from second"]

    assert news.collect("sender") == ["from second"]
    assert heard == ["first", "second", "third"]


def test_a_listener_that_refuses_undoes_the_whole_change(demo, db):
    """awards refuses the final result while the public notice runs: the round stays publicised, nothing of the
    move is kept, and the caller rolls back one transaction."""
    from tests.awards.factories import make_awarded_round, publish

    rnd = make_awarded_round()
    publish(rnd)
    with pytest.raises(DomainError, match="公示期"):
        service.mark_awarded(rnd, user("city_agri"))
    db.session.rollback()
    db.session.expire_all()
    assert db.session.get(type(rnd), rnd.id).status is S.PUBLICISED


def test_cancelling_withdraws_the_result_in_the_same_transaction(demo, db):
    from tests.awards.factories import make_awarded_round, publish

    rnd = make_awarded_round()
    publish(rnd)
    assert db.session.scalar(sa.select(sa.func.count(Award.id)).where(Award.round_id == rnd.id))
    service.cancel_round(rnd, "测试取消", user("city_agri"))
    assert not db.session.scalar(sa.select(sa.func.count(Award.id)).where(Award.round_id == rnd.id))
    db.session.rollback()  # the caller's one transaction: the cancellation and the withdrawal go together
    db.session.expire_all()
    assert db.session.get(type(rnd), rnd.id).status is S.PUBLICISED
    assert db.session.scalar(sa.select(sa.func.count(Award.id)).where(Award.round_id == rnd.id))
