"""Experts score with the bid documents: the scoring page links the bid's PDFs and its data sheet, which an expert
reads only for the opened bids it may score (assigned to the panel, declared, no conflict with the bidder); a sealed
bid, another expert's or a conflicted expert's bid and another insurer's bid stay a plain 404."""

import io
from datetime import timedelta

import pytest
import time_machine
from lxml import html
from openpyxl import load_workbook

from agri_insurance.bids.signals import bid_readers
from agri_insurance.clock import utcnow
from agri_insurance.evaluation import service
from tests.evaluation.factories import expert, insurer, insurer_user, make_evaluation_round, panel_ready
from tests.factories import read_text
from tests.tenders.factories import PDF_BYTES, SEALED_REINSURANCE, make_bid, make_round, user


@pytest.fixture
def scoring(demo, db):
    """Two opened bids in scoring; `expert` declared no conflict, `expert2` a conflict with 信江, `expert3` is on
    no panel."""
    rnd, bids = make_evaluation_round({"赣鄱财险": {}, "信江农险": {}})
    members = panel_ready(rnd, experts=("expert", "expert2"))
    service.declare_conflicts(members["expert"], [], "", members["expert"].user)
    service.declare_conflicts(members["expert2"], [insurer("信江农险").id], "曾任顾问", members["expert2"].user)
    expert("expert3")
    db.session.commit()
    return rnd, bids


def _links(page: str) -> dict[str, str]:
    documents = html.fromstring(page).get_element_by_id("bid-documents")
    return {a.text_content().strip(): a.get("href") for a in documents.iter("a")}


def test_the_scoring_page_links_the_bids_pdfs_and_data_sheet(scoring, login):
    rnd, bids = scoring
    bid = bids["信江农险"]
    client = login("expert")
    links = _links(read_text(client.get(f"/evaluation/rounds/{rnd.id}/bids/{bid.id}/score")))
    assert set(links) == {"投标数据表（xlsx）", "营业执照"}
    pdf = client.get(links["营业执照"])
    assert pdf.status_code == 200 and pdf.data == PDF_BYTES and pdf.mimetype == "application/pdf"
    sheet = client.get(links["投标数据表（xlsx）"])
    assert sheet.status_code == 200
    cells = [v for ws in load_workbook(io.BytesIO(sheet.data)).worksheets for row in ws.iter_rows(values_only=True)
             for v in row if v is not None]
    assert SEALED_REINSURANCE in cells  # the bid's own data, as its insurer filled it in


def test_only_experts_who_may_score_the_bid_read_its_documents(scoring, login):
    rnd, bids = scoring
    xin = bids["信江农险"]
    pdf, sheet = f"/bids/attachments/{xin.attachments[0].id}", f"/evaluation/rounds/{rnd.id}/bids/{xin.id}/bid.xlsx"
    assert login("expert").get(pdf).status_code == 200
    conflicted = login("expert2")  # declared a conflict with 信江: reads 赣鄱's documents only
    assert conflicted.get(pdf).status_code == 404 and conflicted.get(sheet).status_code == 404
    assert conflicted.get(f"/bids/attachments/{bids['赣鄱财险'].attachments[0].id}").status_code == 200
    unassigned = login("expert3")
    assert unassigned.get(pdf).status_code == 404 and unassigned.get(sheet).status_code == 404
    rival = login(insurer_user("赣鄱财险"))  # another bidder
    assert rival.get(pdf).status_code == 404
    assert login(insurer_user("信江农险")).get(pdf).status_code == 200  # its own, as before


def test_an_expert_reads_nothing_before_declaring_or_before_the_scoring(demo, db, login):
    rnd, bids = make_evaluation_round({"赣鄱财险": {}, "信江农险": {}})
    city = user("city_agri")
    member = service.assign_expert(rnd, expert("expert"), city)
    service.check_eligibility(rnd, city)
    db.session.commit()
    pdf = f"/bids/attachments/{bids['赣鄱财险'].attachments[0].id}"
    client = login("expert")
    assert client.get(pdf).status_code == 404  # eligibility still open: nothing to score yet
    service.start_scoring(rnd, city)
    db.session.commit()
    assert client.get(pdf).status_code == 404  # no declaration of conflicts yet
    service.declare_conflicts(member, [], "", member.user)
    db.session.commit()
    assert client.get(pdf).status_code == 200


def test_sealed_bids_stay_sealed_for_an_assigned_expert(scoring, login, db):
    rnd, bids = scoring
    pdf = f"/bids/attachments/{bids['赣鄱财险'].attachments[0].id}"
    client = login("expert")
    assert client.get(pdf).status_code == 200
    with time_machine.travel(rnd.opening_time - timedelta(minutes=1), tick=False):  # the clock decides, not a flag
        assert login("expert").get(pdf).status_code == 404
    # a round still open for bids: the expert already on its panel sees no bid document
    sealed = make_round(deadline=utcnow() + timedelta(days=2), opening=utcnow() + timedelta(days=3), publish=True)
    sealed_bid = make_bid(sealed, insurer_user("赣鄱财险"))
    service.assign_expert(sealed, expert("expert"), user("city_agri"))
    db.session.commit()
    assert client.get(f"/bids/attachments/{sealed_bid.attachments[0].id}").status_code == 404


def test_evaluation_names_the_bid_readers(app):
    assert bid_readers.listeners() == ["agri_insurance.evaluation.listeners._experts_read_the_bids_they_score"]
