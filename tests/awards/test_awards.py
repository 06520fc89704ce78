"""Awards: working days across a weekend and a holiday, the public page, objections gating finalisation, an
upheld objection sending the round back, notices read back (docx and PDF), the award list, OCDS."""

import io
import zipfile
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
import time_machine
from docx import Document
from openpyxl import load_workbook
from pypdf import PdfReader

from agri_insurance import clock, storage
from agri_insurance.audit.models import AuditEntry
from agri_insurance.awards import calendar, exports, ocds, service
from agri_insurance.awards.models import Award, BackupUnderwriter, Holiday, Objection, ObjectionStatus
from agri_insurance.clock import utcnow
from agri_insurance.errors import DomainError
from agri_insurance.extensions import db as _db
from agri_insurance.subsidies.models import UnderwritingAssignment
from agri_insurance.tenders.models import RoundStatus
from tests.awards.factories import (
    bidder_usernames,
    file_objection,
    insurer_of,
    make_awarded_round,
    make_awards,
    make_finalised_round,
    publish,
)
from tests.factories import read_text
from tests.tenders.factories import PDF_BYTES, user


def test_working_days_skip_the_weekend_and_listed_holidays():
    friday = date(2026, 9, 25)
    assert clock.add_working_days(friday, 1, set()) == date(2026, 9, 28)   # over the weekend to Monday
    assert clock.add_working_days(friday, 5, set()) == date(2026, 10, 2)
    national_day = {date(2026, 10, 1), date(2026, 10, 2), date(2026, 10, 5)}
    assert clock.add_working_days(friday, 5, national_day) == date(2026, 10, 7)
    assert clock.add_working_days(friday, 0, national_day) == friday


def test_notice_period_uses_the_admin_holiday_list(login, db):
    calendar.add_holiday(date(2026, 10, 1), "国庆节", user("admin"))
    db.session.commit()
    assert calendar.notice_end(date(2026, 9, 28), 5) == date(2026, 10, 6)  # Mon + 5 working days, 1 Oct skipped
    client = login("admin")
    page = read_text(client.get("/awards/holidays"))
    assert "国庆节" in page
    response = client.post("/awards/holidays", data={"day": "2026-10-01", "name": "重复"})
    assert "已在节假日列表中" in read_text(response)


def test_a_holiday_announced_during_the_notice_moves_its_end_and_deleting_it_does_not_shorten_it(demo, db, login):
    from agri_insurance.audit.models import AuditEntry

    rnd = make_awarded_round()
    notice = publish(rnd)
    first_end = notice.ends_on
    # a weekday inside the period (not the publication day itself)
    day = next(notice.starts_on + timedelta(days=n) for n in range(1, 8)
               if (notice.starts_on + timedelta(days=n)).weekday() < 5)
    assert day <= first_end
    calendar.add_holiday(day, "临时假日", user("admin"))
    db.session.commit()
    later = service.current_notice(rnd).ends_on
    assert later > first_end and later == calendar.notice_end(notice.starts_on, notice.working_days)
    assert db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "notice.extended")) is not None
    assert later.isoformat() in read_text(login("insurer").get(f"/awards/rounds/{rnd.id}"))
    calendar.delete_holiday(db.session.scalar(sa.select(Holiday).where(Holiday.day == day)), user("admin"))
    db.session.commit()
    assert service.current_notice(rnd).ends_on == later


def test_adoption_creates_awards_and_backups(demo, db):
    rnd = make_awarded_round()
    assert rnd.status is RoundStatus.ALLOCATED
    awards = service.awards_of(rnd)
    assert len(awards) == 4
    names = bidder_usernames(3)
    third = insurer_of(names[2])
    backups = db.session.scalars(sa.select(BackupUnderwriter)).all()
    assert {(b.rank, b.insurer_id) for b in backups} == {(1, third.id)}  # per county: the best not awarded there
    with pytest.raises(DomainError):
        service.create_awards(rnd, None, {awards[0].lot_id: (awards[0].insurer_id, None)}, {}, user("city_agri"))


def test_winners_may_claim_subsidies_only_once_the_result_is_final(demo, db, login):
    """Not at adoption: a draft claim on a result still open to objections would block its withdrawal, and
    would tell the insurer it won before the result is public."""
    from agri_insurance.subsidies.service import may_claim

    rnd = make_awarded_round()
    winner = insurer_of("insurer")
    lot = next(a.lot for a in service.awards_of(rnd) if a.insurer_id == winner.id)
    key = (winner.id, lot.region_id, lot.products[0].id)
    assert not any(may_claim(*key, year) for year in (2029, 2030, 2031))
    publish(rnd, days_ago=21)
    assert not may_claim(*key, 2029)
    with time_machine.travel(utcnow(), tick=False):
        service.finalise(rnd, user("city_agri"))
        db.session.commit()
    assert all(may_claim(*key, year) for year in (2029, 2030, 2031)) and not may_claim(*key, 2032)
    assignments = db.session.scalars(sa.select(UnderwritingAssignment).where(
        UnderwritingAssignment.source == "award")).all()
    assert assignments and all((a.start_year, a.end_year) == (2029, 2031) for a in assignments)
    from agri_insurance.audit.models import AuditEntry
    assert db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "assignments.created")) is not None


def test_a_hand_recorded_assignment_for_part_of_the_term_leaves_the_other_years_to_the_award(demo, db):
    from agri_insurance.subsidies.service import may_claim

    rnd = make_awarded_round()
    winner = insurer_of("insurer")
    lot = next(a.lot for a in service.awards_of(rnd) if a.insurer_id == winner.id)
    product = lot.products[0]
    db.session.add(UnderwritingAssignment(insurer_id=winner.id, region_id=lot.region_id, product_id=product.id,
                                          start_year=2027, end_year=2029, source="manual"))
    db.session.commit()
    publish(rnd, days_ago=21)
    service.finalise(rnd, user("city_agri"))
    db.session.commit()
    assert all(may_claim(winner.id, lot.region_id, product.id, year) for year in (2029, 2030, 2031))
    added = db.session.scalars(sa.select(UnderwritingAssignment).where(
        UnderwritingAssignment.source == "award", UnderwritingAssignment.insurer_id == winner.id,
        UnderwritingAssignment.product_id == product.id, UnderwritingAssignment.region_id == lot.region_id)).all()
    assert [(a.start_year, a.end_year) for a in added] == [(2030, 2031)]


def test_public_page_without_login_shows_winners_backups_and_period(demo, db, app):
    rnd = make_awarded_round()
    anonymous = app.test_client()
    assert anonymous.get(f"/awards/public/{rnd.id}").status_code == 404  # not yet published
    notice = publish(rnd)
    page = read_text(anonymous.get(f"/awards/public/{rnd.id}"))
    assert rnd.name in page and insurer_of("insurer").name in page
    assert insurer_of(bidder_usernames(3)[2]).name in page  # the backup underwriter
    assert notice.ends_on.isoformat() in page
    assert rnd.name in read_text(anonymous.get("/awards/public"))


def test_objections_gate_finalisation(demo, db, login):
    rnd = make_awarded_round()
    publish(rnd, days_ago=1)
    objection = file_objection(rnd)
    city = user("city_agri")
    with pytest.raises(DomainError, match="公示期"):
        service.finalise(rnd, city)
    later = utcnow() + timedelta(days=14)
    with time_machine.travel(later, tick=False):
        with pytest.raises(DomainError, match="质疑"):
            service.file_objection(rnd, objection.insurer_id, "迟到的质疑", "x", objection.document, user("insurer"))
        with pytest.raises(DomainError, match="未答复"):
            service.finalise(rnd, city)
        service.answer_objection(objection, False, "经复核，维持原结果。", city)
        service.finalise(rnd, city)
        db.session.commit()
    assert rnd.status is RoundStatus.AWARDED
    assert service.current_notice(rnd).outcome == "finalised"


def test_an_objection_waiting_in_another_round_does_not_hold_this_one(demo, db):
    """Two results publicised at once: the objection pending in one is counted for it alone, so the other round
    is finalised when its period ends, and the first still waits for the answer."""
    waiting = make_awarded_round()
    other = make_awarded_round(name="2032–2034年度遴选（同时公示）", term_start_year=2032)
    publish(waiting, days_ago=21)
    publish(other, days_ago=21)
    file_objection(waiting, days_ago=20)
    city = user("city_agri")
    assert (service.pending_objections(waiting), service.pending_objections(other)) == (1, 0)
    service.finalise(other, city)
    db.session.commit()
    assert other.status is RoundStatus.AWARDED
    with pytest.raises(DomainError) as refused:
        service.finalise(waiting, city)
    assert refused.value.message == "还有1件质疑未答复，不能确定中标"


def test_objection_through_the_pages_with_a_pdf(demo, db, login):
    rnd = make_awarded_round()
    publish(rnd)
    insurer = login("insurer")
    response = insurer.post(f"/awards/rounds/{rnd.id}/objections/new", data={
        "subject": "评分异议", "body": "机构设置得分有误", "document": (io.BytesIO(PDF_BYTES), "质疑函.pdf")},
        content_type="multipart/form-data")
    assert response.status_code == 302
    objection = service.objections_of(rnd, user("city_agri"))[0]
    assert insurer.get(f"/awards/objections/{objection.id}/document").data == PDF_BYTES
    again = insurer.post(f"/awards/rounds/{rnd.id}/objections/new", data={
        "subject": "评分异议", "body": "机构设置得分有误", "document": (io.BytesIO(PDF_BYTES), "质疑函.pdf")},
        content_type="multipart/form-data")
    assert "已提交过相同的质疑" in read_text(again) and len(service.objections_of(rnd, user("city_agri"))) == 1
    other = login(bidder_usernames(2)[1])
    assert other.get(f"/awards/objections/{objection.id}/document").status_code == 404
    # another bidder sees neither the objection nor that there is one; the bureau sees both
    page = read_text(other.get(f"/awards/rounds/{rnd.id}"))
    assert "评分异议" not in page and "件质疑待答复" not in page
    assert "1件质疑待答复" in read_text(login("city_agri").get(f"/awards/rounds/{rnd.id}"))
    city = login("city_agri")
    # no conclusion chosen: the answer typed is still there to finish
    response = city.post(f"/awards/objections/{objection.id}/answer", data={"answer": "经复核，评分无误。"})
    assert response.status_code == 400
    page = read_text(response)
    assert "请选择答复结论" in page and "经复核，评分无误。</textarea>" in page
    response = city.post(f"/awards/objections/{objection.id}/answer", data={"decision": "rejected",
                                                                            "answer": "维持原结果"})
    assert response.status_code == 302
    db.session.expire_all()
    assert service.pending_objections(rnd) == 0


def test_upheld_objection_sends_the_round_back_to_evaluation(demo, db):
    rnd = make_awarded_round()
    publish(rnd)
    objection = file_objection(rnd)
    service.answer_objection(objection, True, "质疑成立，重新评审。", user("city_agri"))
    db.session.commit()
    assert rnd.status is RoundStatus.EVALUATION
    assert db.session.scalar(sa.select(sa.func.count(Award.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count(UnderwritingAssignment.id)).where(
        UnderwritingAssignment.source == "award")) == 0
    assert service.current_notice(rnd).outcome == "reopened"


def test_an_upheld_objection_closes_the_others_and_is_audited_like_a_cancellation(demo, db):
    from agri_insurance.allocation.models import AllocationRun, RunSource, RunStatus

    rnd = make_awarded_round()
    run = AllocationRun(round_id=rnd.id, number=1, label="分配方案", source=RunSource.DATABASE, changes={},
                        scenario={}, result={}, status=RunStatus.DONE, solver_status="optimal",
                        adopted_at=utcnow())  # the run the factory's awards stand for
    _db.session.add(run)
    _db.session.commit()
    publish(rnd)
    upheld = file_objection(rnd)
    other = file_objection(rnd, username=bidder_usernames(2)[1], subject="另一标段的异议")
    service.answer_objection(upheld, True, "质疑成立，重新评审。", user("city_agri"))
    db.session.commit()
    other = db.session.get(Objection, other.id)
    assert other.status is ObjectionStatus.CLOSED
    assert other.answer == "另一质疑（对婺源县标段结果有异议）成立，中标结果已撤销并退回评审，本质疑不再单独审查。"
    assert service.pending_objections(rnd) == 0
    upheld = db.session.get(Objection, upheld.id)
    assert (upheld.status, upheld.answer, upheld.answered_by_id) == (
        ObjectionStatus.UPHELD, "质疑成立，重新评审。", user("city_agri").id)
    actions = list(db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)))
    assert {"objection.answered", "notice.closed", "awards.revoked", "round.evaluation"} <= set(actions), actions
    # each step of the withdrawal says why, in words and by the objection upheld
    entries = {(e.action, e.object_id): e for e in db.session.scalars(sa.select(AuditEntry))}
    answered = entries[("objection.answered", str(upheld.id))]
    assert (answered.summary, answered.details) == ("答复质疑：对婺源县标段结果有异议（已答复（成立））",
                                                    {"round_id": rnd.id, "upheld": True})
    closed = entries[("objection.answered", str(other.id))]
    assert closed.details == {"round_id": rnd.id, "upheld": False, "closed": True, "objection_id": upheld.id}
    notice = service.current_notice(rnd)
    assert (entries[("notice.closed", str(notice.id))].summary, entries[("notice.closed", str(notice.id))].details) \
        == (f"终止公示（质疑成立，退回评审）：{rnd.name}",
            {"round_id": rnd.id, "outcome": "reopened", "objection_id": upheld.id})
    revoked = entries[("awards.revoked", str(rnd.id))]
    assert revoked.summary == f"质疑成立，撤销中标结果：{rnd.name}" and revoked.details["objection_id"] == upheld.id
    back = entries[("round.evaluation", str(rnd.id))]
    assert back.summary == f"质疑成立，退回评审：{rnd.name}" and back.details["objection_id"] == upheld.id
    run = db.session.get(AllocationRun, run.id)
    assert run.revoked_at is not None and run.revoke_reason == "质疑成立：对婺源县标段结果有异议"
    # every step is the bureau's, and the objection closed unexamined is answered by it too
    assert {entries[key].actor_name for key in (("objection.answered", str(other.id)), ("notice.closed", str(notice.id)),
                                                ("awards.revoked", str(rnd.id)), ("round.evaluation", str(rnd.id)))} \
        == {"city_agri"}
    assert other.answered_by_id == user("city_agri").id and other.answered_at is not None
    # answering it again (a second tab, a double click) is refused
    with pytest.raises(DomainError) as refused:
        service.answer_objection(upheld, False, "不成立", user("city_agri"))
    assert (refused.value.message, refused.value.field) == ("该质疑已答复", None)


def test_a_reopened_round_offers_no_notices(demo, db, login):
    """Without awards every bidder would get a 'non-award' notice: the page lists none and the links are gone."""
    rnd = make_awarded_round()
    publish(rnd)
    ref = exports.notice_for(rnd, insurer_of("insurer").name).ref
    city = login("city_agri")
    assert city.get(f"/awards/rounds/{rnd.id}/notices/{ref}.docx").status_code == 200
    service.answer_objection(file_objection(rnd), True, "质疑成立，重新评审。", user("city_agri"))
    db.session.commit()
    page = read_text(city.get(f"/awards/rounds/{rnd.id}"))
    assert "因质疑成立已退回评审" in page and 'id="notices"' not in page and "notices.zip" not in page
    assert city.get(f"/awards/rounds/{rnd.id}/notices/{ref}.docx").status_code == 404


def test_notices_read_back_as_docx_and_pdf_with_lots_and_numbers(demo, db, login):
    rnd = make_finalised_round()
    own = insurer_of("insurer")
    notices = exports.notices(rnd)
    kinds = {n.insurer_name: n.kind for n in notices}
    assert kinds[own.name] == "award" and list(kinds.values()).count("non_award") == 1
    notice = exports.notice_for(rnd, own.name)
    text = "\n".join(p.text for p in Document(io.BytesIO(exports.notice_docx(notice))).paragraphs)
    cells = [c.text for t in Document(io.BytesIO(exports.notice_docx(notice))).tables for r in t.rows for c in r.cells]
    assert "中标通知书" in text and notice.number in text and rnd.name in text and "2032年1月1日" in text
    assert "361128-1" in cells and "鄱阳县" in cells and "1,000,000.00" in cells and "上饶市农业农村局" in text
    pdf_text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(exports.notice_pdf(notice))).pages)
    assert notice.number in pdf_text and "361130-1" in pdf_text and "1,000,000.00" in pdf_text
    # the insurer downloads its own notice only; the bureau gets the zip
    client = login("insurer")
    assert client.get(f"/awards/rounds/{rnd.id}/notices/{notice.ref}.pdf").data.startswith(b"%PDF")
    other = next(n for n in notices if n.insurer_name != own.name)
    assert client.get(f"/awards/rounds/{rnd.id}/notices/{other.ref}.pdf").status_code == 404
    archive = zipfile.ZipFile(io.BytesIO(login("city_agri").get(f"/awards/rounds/{rnd.id}/notices.zip").data))
    assert len(archive.namelist()) == 2 * len(notices)


def test_award_list_xlsx(demo, db, login):
    rnd = make_awarded_round()
    publish(rnd)
    wb = load_workbook(io.BytesIO(login("county_agri").get(f"/awards/rounds/{rnd.id}/awards.xlsx").data))
    rows = list(wb.worksheets[0].iter_rows(min_row=4, values_only=True))
    assert len(rows) == 4 and rows[0][1] == "361128-1" and rows[0][4] == 1000000


def test_names_stored_before_the_forms_refused_odd_characters_still_export(demo, db, login):
    """A pasted vertical tab in a round's or lot's name gave a 500 on the xlsx and the Word notices; a name
    starting with '=' became a live formula in the xlsx."""
    rnd = make_finalised_round()
    rnd.name = "=HYPERLINK(\"http://x\")遴选"
    rnd.lots[0].name = "鄱阳县\x0b第一标段"
    db.session.commit()
    city = login("city_agri")
    ws = load_workbook(io.BytesIO(city.get(f"/awards/rounds/{rnd.id}/awards.xlsx").data)).worksheets[0]
    assert ws["A1"].data_type == "s" and ws["A1"].value == rnd.name
    assert "鄱阳县\ufffd第一标段" in [row[2] for row in ws.iter_rows(min_row=4, values_only=True)]
    archive = zipfile.ZipFile(io.BytesIO(city.get(f"/awards/rounds/{rnd.id}/notices.zip").data))
    docx_name = next(n for n in archive.namelist() if n.endswith(".docx"))
    document = Document(io.BytesIO(archive.read(docx_name)))
    assert any(rnd.name in p.text for p in document.paragraphs)


def test_ocds_release_package_validates(demo, db, login):
    rnd = make_finalised_round()
    package = ocds.release_package(rnd)
    assert ocds.validation_errors(package) == []
    release = package["releases"][0]
    assert [lot["id"] for lot in release["tender"]["lots"]] == [lot.code for lot in rnd.lots]
    assert release["bids"]["statistics"][0]["value"] == 3 and len(release["bids"]["details"]) == 3
    assert {a["relatedLots"][0] for a in release["awards"]} == {lot.code for lot in rnd.lots}
    assert {a["relatedBid"] for a in release["awards"]} <= {b["id"] for b in release["bids"]["details"]}
    roles = {p["name"]: p["roles"] for p in release["parties"]}
    assert "supplier" in roles[insurer_of("insurer").name]
    broken = {**package, "releases": [{**release, "tag": []}]}
    assert ocds.validation_errors(broken)
    assert login("city_agri").get(f"/awards/rounds/{rnd.id}/ocds.json").status_code == 200


def test_holiday_list_edit(demo, db, login):
    admin = login("admin")
    assert admin.post("/awards/holidays", data={"day": "2027-01-01", "name": "元旦"}).status_code == 302
    holiday = db.session.scalar(sa.select(Holiday))
    assert admin.post(f"/awards/holidays/{holiday.id}/delete").status_code == 302


def test_cancelling_a_publicised_round_withdraws_its_result(demo, db, login):
    """Cancelled after the allocation: no awards, no right to claim subsidies, no open notice, no pending objection."""
    from agri_insurance.audit.models import AuditEntry
    from agri_insurance.awards.models import Objection
    from agri_insurance.subsidies.service import may_claim
    from agri_insurance.tenders.models import SelectionRound

    rnd = make_awarded_round()
    publish(rnd)
    objection = file_objection(rnd)
    winner = insurer_of("insurer")
    lot = next(lot for lot in rnd.lots if lot.code.endswith("-1"))
    claim_key = (winner.id, lot.region_id, lot.products[0].id, rnd.term_start_year)
    assert not may_claim(*claim_key)  # not before the result is final, so no claim can hold the withdrawal up
    city = login("city_agri")
    assert 'id="cancel-warning"' in read_text(city.get(f"/tenders/{rnd.id}"))
    response = city.post(f"/tenders/{rnd.id}/cancel", data={"reason": "财政预算调整，重新组织遴选"})
    assert response.status_code == 302
    db.session.expire_all()
    rnd = db.session.get(SelectionRound, rnd.id)
    assert rnd.status is RoundStatus.CANCELLED and rnd.cancel_reason == "财政预算调整，重新组织遴选"
    assert not service.awards_of(rnd) and not db.session.scalars(sa.select(BackupUnderwriter)).all()
    assert not may_claim(*claim_key)
    notice = service.current_notice(rnd)
    assert notice.closed_at is not None and notice.outcome == "cancelled"
    assert not service.notice_is_open(notice)
    assert service.pending_objections(rnd) == 0
    closed = db.session.get(Objection, objection.id)
    assert "财政预算调整" in closed.answer
    # not "answered, not upheld": it was never examined, and the objector reads that
    assert closed.status is ObjectionStatus.CLOSED
    objector = login("insurer")
    assert 'id="awards-link"' in read_text(objector.get(f"/tenders/{rnd.id}"))
    page = read_text(objector.get(f"/awards/rounds/{rnd.id}"))
    assert "本轮遴选已取消：财政预算调整" in page and "已终止（未单独审查）" in page and "质疑不再审查" in page
    assert city.get(f"/awards/public/{rnd.id}").status_code == 404
    assert "遴选轮次已取消" in read_text(city.get(f"/awards/rounds/{rnd.id}"))
    actions = set(db.session.scalars(sa.select(AuditEntry.action)))
    assert {"round.cancelled", "awards.revoked", "notice.closed", "objection.answered"} <= actions


def test_a_second_publication_of_the_same_result_is_refused(demo, db):
    """A double click on 公示: the second request read the round as allocated before the first committed."""
    from sqlalchemy.orm.attributes import set_committed_value

    from agri_insurance.audit.models import AuditEntry
    from agri_insurance.awards.models import PublicNotice

    rnd = make_awarded_round()
    city = user("city_agri")
    service.publish(rnd, city)
    db.session.commit()
    set_committed_value(rnd, "status", RoundStatus.ALLOCATED)  # what the slower request had read
    with pytest.raises(DomainError, match="刚被他人变更"):
        service.publish(rnd, city)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(PublicNotice.id))) == 1
    actions = list(db.session.scalars(sa.select(AuditEntry.action).where(
        AuditEntry.action.in_(("notice.opened", "round.publicised")))))
    assert sorted(actions) == ["notice.opened", "round.publicised"]
    assert db.session.get(type(rnd), rnd.id).status is RoundStatus.PUBLICISED


def test_round_page_shows_the_notice_end_on_the_holiday_calendar(demo, db, login):
    from datetime import datetime

    calendar.add_holiday(date(2026, 10, 1), "国庆节", user("admin"))
    rnd = make_awarded_round()
    with time_machine.travel(datetime(2026, 9, 25, 2, 0), tick=False):  # Friday, 10:00 Beijing
        notice = service.publish(rnd, user("city_agri"))
        db.session.commit()
    assert notice.ends_on == date(2026, 10, 5)  # 1 October is a holiday
    page = read_text(login("insurer").get(f"/tenders/{rnd.id}"))
    assert "至2026-10-05" in page and "2026-10-02" not in page  # not Monday–Friday only


def test_a_notice_file_name_has_no_path_separator_or_character_windows_refuses():
    from datetime import date

    from agri_insurance.awards.exports import Notice

    notice = Notice("award", "SR1-001", "轮次", "2026–2028", '某某/财险:上饶*中心?"支公司"', [], date(2026, 11, 28), "市农业农村局")
    assert notice.filename_stem == "中标通知书（草稿）_SR1-001_某某_财险_上饶_中心__支公司_"
    final = Notice("award", "SR1-001", "轮次", "2026–2028", "某某/财险", [], date(2026, 11, 28), "市农业农村局",
                   number="饶农险遴〔2026〕3号")
    assert final.filename_stem == "中标通知书_饶农险遴〔2026〕3号_某某_财险"


def test_ocds_contracts_carry_the_subsidy_payments_as_transactions(demo, db):
    """A final round's awards become contracts; the subsidy paid to each underwriter on its lot's county and
    products during the term is published as implementation transactions (payer: the finance bureau)."""
    from datetime import date as day
    from decimal import Decimal

    from agri_insurance.subsidies import service as subsidies
    from agri_insurance.subsidies.models import ShareLevel
    from tests.awards.factories import file_objection, make_awarded_round, publish
    from tests.subsidies.factories import make_claim

    rnd = make_awarded_round(name="2026–2028年度遴选（拨付公开）", term_start_year=2026)
    publish(rnd, days_ago=21)
    objection = file_objection(rnd, days_ago=20)
    service.answer_objection(objection, False, "经复核，评分无误，维持结果。", user("city_agri"))
    service.finalise(rnd, user("city_agri"))
    db.session.commit()
    lot = next(lot for lot in rnd.lots if lot.code.endswith("-1"))            # the demo insurer's lot
    claim = make_claim(status="verified", county_code=lot.region.code, product_code=lot.products[0].code,
                       premium="100000.00", year=2026, period="2026年全年")
    subsidies.confirm_payment(claim, ShareLevel.COUNTY, Decimal("5000.00"), day(2026, 6, 1), "KF-1",
                              _county_finance(lot.region))
    db.session.commit()
    package = ocds.release_package(rnd)
    assert ocds.validation_errors(package) == []
    release = package["releases"][0]
    assert "contract" in release["tag"] and "implementation" in release["tag"]
    contract = next(c for c in release["contracts"] if c["id"] == f"{rnd.id}-{lot.code}")
    [transaction] = contract["implementation"]["transactions"]
    assert transaction["value"] == {"amount": 5000.0, "currency": "CNY"}
    assert transaction["payee"]["name"] == insurer_of("insurer").name
    assert transaction["payer"]["name"] == f"{lot.region.name}财政局"
    roles = {p["name"]: p["roles"] for p in release["parties"]}
    assert "payer" in roles[f"{lot.region.name}财政局"] and "payee" in roles[insurer_of("insurer").name]


def _county_finance(region):
    from agri_insurance.auth.models import Role
    from tests.factories import make_user

    return make_user(f"{region.code}_fin", Role.COUNTY_FINANCE, region=region)


def test_an_insurer_without_a_bid_in_the_round_cannot_object(demo, db, login):
    """Only a bidder may object: an insurer with no submitted bid is refused, by the service and on the page,
    and no objection is stored."""
    from agri_insurance import storage
    from agri_insurance.awards.models import Objection

    rnd = make_awarded_round()
    publish(rnd)
    outsider = bidder_usernames(4)[3]  # a fourth demo insurer, which did not bid in this round
    actor = user(outsider)
    assert actor.insurer_id not in {i.id for i in service.bidders(rnd)}
    document = storage.save_bytes(PDF_BYTES, "质疑函.pdf", actor)
    with pytest.raises(DomainError) as refused:
        service.file_objection(rnd, actor.insurer_id, "评分异议", "机构设置得分有误", document, actor)
    assert (refused.value.message, refused.value.field) == ("只有本轮投标人可以提出质疑", None)
    db.session.rollback()
    response = login(outsider).post(f"/awards/rounds/{rnd.id}/objections/new", data={
        "subject": "评分异议", "body": "机构设置得分有误", "document": (io.BytesIO(PDF_BYTES), "质疑函.pdf")},
        content_type="multipart/form-data")
    assert response.status_code == 200 and "只有本轮投标人可以提出质疑" in read_text(response)
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count(Objection.id))) == 0
    # a bid in another round does not make it a bidder of this one
    from tests.evaluation.factories import make_evaluation_round

    make_evaluation_round({insurer_of(outsider).short_name: {}})
    _db.session.commit()
    rnd = _db.session.get(type(rnd), rnd.id)
    document = storage.save_bytes(PDF_BYTES, "质疑函.pdf", actor)
    with pytest.raises(DomainError) as refused:
        service.file_objection(rnd, actor.insurer_id, "评分异议", "机构设置得分有误", document, actor)
    assert refused.value.message == "只有本轮投标人可以提出质疑"
    db.session.rollback()
    # a bidder of the same round is heard, so the refusal above is about the bid, not the moment
    file_objection(rnd)
    assert db.session.scalar(sa.select(sa.func.count(Objection.id))) == 1


def test_a_bid_left_unsubmitted_or_withdrawn_does_not_make_a_bidder(demo, db):
    """Only a submitted bid counts: an insurer that left its bid as a draft, or withdrew it before the deadline,
    is not one of the round's bidders and may not object."""
    rnd = make_awarded_round(drafts=1, withdrawn=1)
    publish(rnd)
    names = bidder_usernames(5)
    assert sorted(i.id for i in service.bidders(rnd)) == sorted(insurer_of(n).id for n in names[:3])
    for username in names[3:]:
        actor = user(username)
        document = _letter(username)
        assert _refusal(lambda actor=actor, document=document: service.file_objection(
            rnd, actor.insurer_id, "评分异议", "机构设置得分有误", document, actor)) == ("只有本轮投标人可以提出质疑", None)
    assert _db.session.scalar(sa.select(sa.func.count(Objection.id))) == 0


# --- objections: each refusal named exactly and on its field; what filing and answering record -------------------

def _refusal(call) -> tuple[str, str | None]:
    """The DomainError's message and field; the refused change is rolled back, as the page does."""
    with pytest.raises(DomainError) as refused:
        call()
    _db.session.rollback()
    return refused.value.message, refused.value.field


def _letter(username: str = "insurer"):
    document = storage.save_bytes(PDF_BYTES, "质疑函.pdf", user(username))
    _db.session.commit()
    return document


def test_an_objection_is_heard_only_while_the_result_is_publicised(demo, db):
    rnd = make_awarded_round()  # allocated: not yet publicised
    actor = user("insurer")
    document = _letter()

    def object_():
        return service.file_objection(_db.session.get(type(rnd), rnd.id), actor.insurer_id, "评分异议",
                                      "机构设置得分有误", document, actor)

    assert _refusal(object_) == ("只有公示中的轮次可以提出质疑", None)
    publish(_db.session.get(type(rnd), rnd.id), days_ago=1)
    with time_machine.travel(utcnow() + timedelta(days=14), tick=False):
        assert _refusal(object_) == ("公示期已结束，不再接受质疑", None)
    assert _db.session.scalar(sa.select(sa.func.count(Objection.id))) == 0


@pytest.mark.parametrize("subject, body, letter, refusal", [
    (None, "得分计算有误", True, ("请填写质疑事项", "subject")),
    ("   ", "得分计算有误", True, ("请填写质疑事项", "subject")),
    ("评分异议", None, True, ("请填写质疑内容及理由", "body")),
    ("评分异议", " \n ", True, ("请填写质疑内容及理由", "body")),
    ("评分异议", "得分计算有误", False, ("请上传加盖公章的质疑函（PDF）", "document")),
])
def test_an_objection_needs_its_subject_reasons_and_letter(demo, db, subject, body, letter, refusal):
    rnd = make_awarded_round()
    publish(rnd)
    actor = user("insurer")
    document = _letter() if letter else None
    assert _refusal(lambda: service.file_objection(rnd, actor.insurer_id, subject, body, document, actor)) == refusal
    assert _db.session.scalar(sa.select(sa.func.count(Objection.id))) == 0


def test_an_objection_is_stored_as_filed_and_the_same_one_is_refused_a_second_time(demo, db):
    """A subject longer than the column is kept to its first 200 characters, and the same objection filed again
    (a double click, a second tab) is recognised by those; another bidder may file the same words, and the same
    bidder other reasons, or the same reasons against another point."""
    rnd = make_awarded_round()
    publish(rnd)
    actor, other = user("insurer"), user(bidder_usernames(2)[1])
    subject = "对婺源县标段评分结果的异议" * 20
    body = "得分计算有误，请复核。"
    document = _letter()
    objection = service.file_objection(rnd, actor.insurer_id, f"  {subject}  ", f" {body}\n", document, actor)
    _db.session.commit()
    assert (objection.subject, objection.body, objection.filed_by_id, objection.status) == (
        subject[:200], body, actor.id, ObjectionStatus.PENDING)
    entry = _entry("objection.filed")
    assert (entry.actor_name, entry.object_id, entry.summary, entry.details) == (
        "insurer", str(objection.id), f"提出质疑：{subject[:200]}",
        {"round_id": rnd.id, "insurer_id": actor.insurer_id, "document_sha256": document.sha256})
    again = _letter()
    assert _refusal(lambda: service.file_objection(rnd, actor.insurer_id, subject, body, again, actor)) == (
        "已提交过相同的质疑，请勿重复提交", "subject")
    service.file_objection(rnd, other.insurer_id, subject, body, _letter(other.username), other)
    service.file_objection(rnd, actor.insurer_id, subject, "另有理由：备选承保机构排序有误。", _letter(), actor)
    service.file_objection(rnd, actor.insurer_id, "对鄱阳县标段评分结果的异议", body, _letter(), actor)  # same reasons
    _db.session.commit()
    assert service.pending_objections(rnd) == 4


def test_the_same_objection_may_be_filed_again_against_a_result_published_anew(demo, db):
    """An upheld objection sends the round back; the result adopted and published again is a new notice, against
    which the same bidder may file the same words again (only a repeat within one notice is a double click)."""
    rnd = make_awarded_round()
    publish(rnd, days_ago=2)
    first = file_objection(rnd, days_ago=1)
    service.answer_objection(first, True, "质疑成立，重新评审。", user("city_agri"))
    _db.session.commit()
    make_awards(rnd)
    notice = publish(rnd)
    again = file_objection(rnd)
    assert (again.subject, again.body, again.insurer_id) == (first.subject, first.body, first.insurer_id)
    assert (again.notice_id, again.status, service.pending_objections(rnd)) == (
        notice.id, ObjectionStatus.PENDING, 1)
    assert notice.id != first.notice_id
    actor = user("insurer")
    assert _refusal(lambda: service.file_objection(rnd, actor.insurer_id, first.subject, first.body, _letter(),
                                                   actor)) == ("已提交过相同的质疑，请勿重复提交", "subject")


def test_an_answer_needs_its_words_records_its_conclusion_and_is_given_once(demo, db):
    rnd = make_awarded_round()
    publish(rnd)
    objection_id = file_objection(rnd).id
    city = user("city_agri")

    def answer(upheld, text):
        return lambda: service.answer_objection(_db.session.get(Objection, objection_id), upheld, text, city)

    assert _refusal(answer(False, None)) == ("请填写答复内容", "answer")
    assert _refusal(answer(True, "  ")) == ("请填写答复内容", "answer")
    answer(False, "  经复核，评分无误，维持原结果。\n")()
    _db.session.commit()
    objection = _db.session.get(Objection, objection_id)
    assert (objection.status, objection.answer, objection.answered_by_id) == (
        ObjectionStatus.REJECTED, "经复核，评分无误，维持原结果。", city.id)
    assert objection.answered_at is not None and service.pending_objections(rnd) == 0
    entry = _entry("objection.answered")
    assert (entry.actor_name, entry.object_id, entry.summary, entry.details) == (
        "city_agri", str(objection_id), "答复质疑：对婺源县标段结果有异议（已答复（不成立））",
        {"round_id": rnd.id, "upheld": False})
    assert rnd.status is RoundStatus.PUBLICISED and _db.session.scalar(sa.select(sa.func.count(Award.id))) == 4
    assert _refusal(answer(True, "质疑成立")) == ("该质疑已答复", None)


# --- the holiday list: a name is required; changes audited; a holiday on the notice's last day moves its end ---

def _entry(action: str) -> AuditEntry:
    return _db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == action))


@pytest.mark.parametrize("name", [None, "", "   "])
def test_a_holiday_needs_its_name(demo, db, name):
    with pytest.raises(DomainError) as info:
        calendar.add_holiday(date(2026, 10, 1), name, user("admin"))
    assert (info.value.message, info.value.field) == ("请填写节假日名称", "name")
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Holiday.id))) == 0


def test_adding_and_deleting_a_holiday_are_audited_with_who_and_what(demo, db):
    holiday = calendar.add_holiday(date(2026, 10, 1), " 国庆节 ", user("admin"))
    db.session.commit()
    assert holiday.name == "国庆节"
    created = _entry("holiday.created")
    assert (created.actor_name, created.object_type, created.object_id, created.summary) == (
        "admin", "Holiday", str(holiday.id), "新增节假日：2026-10-01 国庆节")
    holiday_id = holiday.id
    calendar.delete_holiday(holiday, user("admin"))
    db.session.commit()
    deleted = _entry("holiday.deleted")
    assert (deleted.actor_name, deleted.object_type, deleted.object_id, deleted.summary) == (
        "admin", "Holiday", str(holiday_id), "删除节假日：2026-10-01 国庆节")
    assert db.session.get(Holiday, holiday_id) is None


def test_a_holiday_on_the_last_day_of_the_notice_moves_its_end_and_is_audited(demo, db):
    rnd = make_awarded_round()
    notice = publish(rnd)
    last = notice.ends_on
    assert last.weekday() < 5  # the last day of a period of working days is a working day
    calendar.add_holiday(last, "临时假日", user("admin"))
    db.session.commit()
    later = service.current_notice(rnd).ends_on
    assert later > last and later == calendar.notice_end(notice.starts_on, notice.working_days)
    extended = _entry("notice.extended")
    assert extended.summary == f"节假日顺延公示期：{last.isoformat()} 改为 {later.isoformat()}"
    assert (extended.actor_name, extended.object_type, extended.object_id) == ("admin", "PublicNotice", str(notice.id))
    assert extended.details["round_id"] == rnd.id and extended.details["holiday"] == last.isoformat()


def test_a_holiday_after_the_notice_ends_changes_nothing(demo, db):
    rnd = make_awarded_round()
    notice = publish(rnd)
    last = notice.ends_on
    calendar.add_holiday(last + timedelta(days=1), "临时假日", user("admin"))
    db.session.commit()
    assert service.current_notice(rnd).ends_on == last
    assert _entry("notice.extended") is None


def test_a_holiday_inside_a_closed_notice_period_moves_nothing(demo, db):
    """A finalised result's notice is closed: a holiday later listed inside its period leaves its end as it was."""
    rnd = make_finalised_round()
    notice = service.current_notice(rnd)
    assert notice.closed_at is not None and notice.ends_on < date.today()
    last = notice.ends_on
    calendar.add_holiday(last, "补录假日", user("admin"))
    db.session.commit()
    db.session.refresh(notice)
    assert notice.ends_on == last and _entry("notice.extended") is None


def test_a_holiday_on_a_weekend_inside_the_notice_moves_nothing_and_is_not_audited(demo, db):
    from datetime import UTC, datetime

    # published on a Monday (10:00 in Shangrao): its five working days end on Monday week, over a weekend
    with time_machine.travel(datetime(2026, 12, 7, 2, 0, tzinfo=UTC), tick=False):
        rnd = make_awarded_round()
        notice = publish(rnd)
        last = notice.ends_on
        assert (notice.starts_on, last) == (date(2026, 12, 7), date(2026, 12, 14))
        calendar.add_holiday(date(2026, 12, 12), "周末调休", user("admin"))   # the Saturday
        db.session.commit()
        assert service.current_notice(rnd).ends_on == last and _entry("notice.extended") is None


def test_a_day_already_listed_is_refused_on_its_field(demo, db):
    calendar.add_holiday(date(2026, 10, 1), "国庆节", user("admin"))
    with pytest.raises(DomainError) as info:
        calendar.add_holiday(date(2026, 10, 1), "重复", user("admin"))
    assert (info.value.message, info.value.field) == ("2026-10-01 已在节假日列表中", "day")
