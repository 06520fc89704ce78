"""Award and non-award notices before and after the result is final, their document numbers, and the public
notice page's contact and the way to object."""

import io
import re
from datetime import datetime, timedelta
from html import unescape
from urllib.parse import parse_qs, urlsplit

import sqlalchemy as sa
import time_machine
from docx import Document
from pypdf import PdfReader

from agri_insurance.audit.models import AuditEntry
from agri_insurance.awards import exports, service
from agri_insurance.awards.models import NoticeNumber
from agri_insurance.clock import utcnow
from tests.awards.factories import insurer_of, make_awarded_round, publish
from tests.factories import read_text
from tests.tenders.factories import user


def _docx_text(data: bytes) -> str:
    document = Document(io.BytesIO(data))
    parts = [p.text for p in document.paragraphs]
    parts += [c.text for t in document.tables for r in t.rows for c in r.cells]
    parts += [p.text for section in document.sections for p in section.header.paragraphs]
    return "\n".join(parts)


def _pdf_text(data: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).replace("\n", "")


def _finalised(name: str, term_start_year: int):
    """A round published three weeks ago (its period is over) and finalised now."""
    rnd = make_awarded_round(name=name, term_start_year=term_start_year)
    publish(rnd, days_ago=21)
    service.finalise(rnd, user("city_agri"))
    from agri_insurance.extensions import db

    db.session.commit()
    return rnd


def test_a_notice_before_the_result_is_final_is_a_marked_draft(demo, db, login):
    rnd = make_awarded_round()
    publish(rnd)
    notices = exports.notices(rnd)
    assert notices and not any(n.final for n in notices) and all(n.number is None for n in notices)
    for notice in notices:
        docx = _docx_text(exports.notice_docx(notice))
        header = "\n".join(p.text for p in Document(io.BytesIO(exports.notice_docx(notice))).sections[0].header.paragraphs)
        assert "草稿 DRAFT" in header and "【草稿 DRAFT】" in docx
        assert "公示期满" not in docx and "饶农险遴" not in docx and "（盖章）" in docx
        pdf = _pdf_text(exports.notice_pdf(notice))
        assert "草稿" in pdf and "DRAFT" in pdf and "公示期满" not in pdf and "饶农险遴" not in pdf
        assert "草稿" in notice.filename_stem
    page = read_text(login("city_agri").get(f"/awards/rounds/{rnd.id}"))
    table = page.split('id="notices"')[1].split("</table>")[0]
    assert table.count("草稿") == len(notices) and "饶农险遴" not in table


def test_final_notices_carry_a_number_given_once_in_the_bureaus_convention(demo, db, login, app):
    with time_machine.travel(datetime(2026, 3, 2, 2, 0), tick=False):  # 10:00 in Shangrao
        first = _finalised("2029–2031年度遴选（甲）", 2029)
        second = _finalised("2032–2034年度遴选（乙）", 2032)
    numbers = {n.insurer_name: n.number for n in exports.notices(first)}
    # award notices first, then non-award notices, each by insurer name; the next round continues the sequence
    assert sorted(numbers.values()) == ["饶农险遴〔2026〕1号", "饶农险遴〔2026〕2号", "饶农险遴〔2026〕3号"]
    assert [n.number for n in exports.notices(second)] == ["饶农险遴〔2026〕4号", "饶农险遴〔2026〕5号",
                                                         "饶农险遴〔2026〕6号"]
    assert [n.kind for n in exports.notices(first)] == ["award", "award", "non_award"]
    own = exports.notice_for(first, insurer_of("insurer").name)
    docx = _docx_text(exports.notice_docx(own))
    assert own.number in docx and "公示期满" in docx and "草稿" not in docx
    assert "上饶市农业农村局" in docx and "（盖章）" in docx and "2026年3月2日" in docx
    pdf = _pdf_text(exports.notice_pdf(own))
    assert own.number in pdf and "公示期满" in pdf and "草稿" not in pdf and "（盖章）" in pdf
    assert own.number in own.filename_stem
    # the insurer downloads its own final notice with its number
    client = login("insurer")
    assert own.number in _pdf_text(client.get(f"/awards/rounds/{first.id}/notices/{own.ref}.pdf").data)
    assert own.number in read_text(client.get(f"/awards/rounds/{first.id}"))
    entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "notices.numbered",
                                                           AuditEntry.object_id == str(first.id))).one()
    assert sorted(entry.details["numbers"].values()) == sorted(numbers.values())

    # a new year starts again at 1, under the prefix set then; numbers already given never change
    app.config["NOTICE_NUMBER_PREFIX"] = "饶农遴选"
    try:
        with time_machine.travel(datetime(2027, 1, 11, 2, 0), tick=False):
            third = _finalised("2035–2037年度遴选（丙）", 2035)
        assert exports.notices(third)[0].number == "饶农遴选〔2027〕1号"
        assert {n.insurer_name: n.number for n in exports.notices(first)} == numbers
    finally:
        app.config["NOTICE_NUMBER_PREFIX"] = "饶农险遴"
    assert db.session.scalar(sa.select(sa.func.count(NoticeNumber.id))) == 9


def test_a_number_is_never_given_twice(demo, db):
    """The database refuses a second notice with the same year and sequence."""
    import pytest
    from sqlalchemy.exc import IntegrityError

    rnd = _finalised("2029–2031年度遴选（甲）", 2029)
    taken = db.session.scalars(sa.select(NoticeNumber)).first()
    other = make_awarded_round(name="2032–2034年度遴选（乙）", term_start_year=2032)
    db.session.add(NoticeNumber(round_id=other.id, insurer_id=taken.insurer_id, kind="award", year=taken.year,
                                sequence=taken.sequence, number="x"))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
    assert rnd.id != other.id


def test_the_public_notice_names_a_contact_and_says_how_and_until_when_to_object(demo, db, app, login):
    rnd = make_awarded_round()
    notice = publish(rnd)
    anonymous = app.test_client()
    page = read_text(anonymous.get(f"/awards/public/{rnd.id}"))
    assert rnd.contact and rnd.contact in page.split('id="public-contact"')[1].split("</td>")[0]
    how = page.split('id="how-to-object"')[1].split("</div></div>")[0]
    assert f"公示期内（{notice.ends_on.isoformat()} 当日结束前）" in how
    assert "书面形式" in how and "加盖单位公章的质疑函（PDF）" in how and rnd.contact in how
    href = unescape(re.search(r'id="object-login" href="([^"]+)"', how).group(1))
    assert urlsplit(href).path == "/login"
    target = parse_qs(urlsplit(href).query)["next"][0]
    assert target == f"/awards/rounds/{rnd.id}"
    # the link leads a bidder, once logged in, to the page where it files its objection
    bidder = app.test_client()
    response = bidder.post(href, data={"username": "insurer", "password": "demo1234"})
    assert response.status_code == 302 and response.location.endswith(target)
    assert f"/awards/rounds/{rnd.id}/objections/new" in read_text(bidder.get(target))
    # after the period, the page says objections are no longer accepted
    with time_machine.travel(utcnow() + timedelta(days=14), tick=False):
        page = read_text(anonymous.get(f"/awards/public/{rnd.id}"))
    how = page.split('id="how-to-object"')[1].split("</div></div>")[0]
    assert f"公示期已于 {notice.ends_on.isoformat()} 结束，不再受理质疑" in how and "object-login" not in how
    assert rnd.contact in how
    # in English too
    anonymous.get("/lang/en")
    assert "written objection" in read_text(anonymous.get(f"/awards/public/{rnd.id}"))
