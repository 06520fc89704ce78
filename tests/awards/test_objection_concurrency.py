"""Objections, two requests at once: the same objection sent twice (a double click, a second tab) is stored once,
and an answer given while another answer is being written waits for it and then sees what it decided."""

from __future__ import annotations

import sqlalchemy as sa

from agri_insurance import storage
from agri_insurance.awards import service
from agri_insurance.awards.models import Objection, ObjectionStatus
from agri_insurance.extensions import db as _db
from agri_insurance.tenders.models import RoundStatus, SelectionRound
from tests.awards.factories import bidder_usernames, file_objection, make_awarded_round, publish
from tests.concurrency import second_waits_for_first
from tests.tenders.factories import PDF_BYTES, user


def _publicised() -> int:
    rnd = make_awarded_round()
    publish(rnd)
    return rnd.id


def _file(round_id: int):
    """The insurer's objection, its letter uploaded beforehand (each request carries its own upload)."""
    document = storage.save_bytes(PDF_BYTES, "质疑函.pdf", user("insurer"))
    _db.session.commit()
    kind, document_id = type(document), document.id

    def work():
        actor = user("insurer")
        service.file_objection(_db.session.get(SelectionRound, round_id), actor.insurer_id, "评分异议",
                               "机构设置得分有误", _db.session.get(kind, document_id), actor)
    return work


def _answer(objection_id: int, upheld: bool, text: str):
    return lambda: service.answer_objection(_db.session.get(Objection, objection_id), upheld, text,
                                            user("city_agri"))


def test_the_same_objection_sent_twice_at_once_is_stored_once(app, demo, db):
    round_id = _publicised()
    outcome: dict = {}
    second_waits_for_first(app, _file(round_id), _file(round_id), outcome)
    assert outcome == {"first": "done", "second": "已提交过相同的质疑，请勿重复提交"}
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count(Objection.id))) == 1


def test_two_answers_to_one_objection_at_once_the_second_is_refused(app, demo, db):
    round_id = _publicised()
    objection_id = file_objection(db.session.get(SelectionRound, round_id)).id
    outcome: dict = {}
    second_waits_for_first(app, _answer(objection_id, True, "质疑成立，重新评审。"),
                           _answer(objection_id, False, "维持原结果。"), outcome)
    assert outcome == {"first": "done", "second": "该质疑已答复"}
    db.session.expire_all()
    objection = db.session.get(Objection, objection_id)
    assert (objection.status, objection.answer) == (ObjectionStatus.UPHELD, "质疑成立，重新评审。")
    assert db.session.get(SelectionRound, round_id).status is RoundStatus.EVALUATION


def test_an_answer_written_while_another_objection_is_upheld_waits_and_finds_its_objection_closed(app, demo, db):
    round_id = _publicised()
    rnd = db.session.get(SelectionRound, round_id)
    upheld_id = file_objection(rnd).id
    other_id = file_objection(rnd, username=bidder_usernames(2)[1], subject="另一标段的异议").id
    outcome: dict = {}
    second_waits_for_first(app, _answer(upheld_id, True, "质疑成立，重新评审。"),
                           _answer(other_id, False, "维持原结果。"), outcome)
    assert outcome == {"first": "done", "second": "该质疑已答复"}
    db.session.expire_all()
    assert db.session.get(Objection, other_id).status is ObjectionStatus.CLOSED


def test_an_objection_upheld_while_another_is_being_rejected_leaves_that_answer_as_given(app, demo, db):
    """The other way round: the rejection is being written when a second objection is upheld. The upholding waits
    for it and closes only the objections still pending, so the rejection stays as the bureau wrote it."""
    round_id = _publicised()
    rnd = db.session.get(SelectionRound, round_id)
    rejected_id = file_objection(rnd).id
    upheld_id = file_objection(rnd, username=bidder_usernames(2)[1], subject="另一标段的异议").id
    outcome: dict = {}
    second_waits_for_first(app, _answer(rejected_id, False, "维持原结果。"),
                           _answer(upheld_id, True, "质疑成立，重新评审。"), outcome)
    assert outcome == {"first": "done", "second": "done"}
    db.session.expire_all()
    rejected = db.session.get(Objection, rejected_id)
    assert (rejected.status, rejected.answer) == (ObjectionStatus.REJECTED, "维持原结果。")
    assert db.session.get(Objection, upheld_id).status is ObjectionStatus.UPHELD
    assert db.session.get(SelectionRound, round_id).status is RoundStatus.EVALUATION
