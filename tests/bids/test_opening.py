"""The bid opening record: frozen at the opening, visible to the bureaus and the round's bidders, xlsx and PDF."""

import io
from datetime import timedelta

import sqlalchemy as sa
import time_machine
from openpyxl import load_workbook
from pypdf import PdfReader

from agri_insurance.auth.models import Role
from agri_insurance.bids import service
from agri_insurance.clock import utcnow
from agri_insurance.reference.models import Insurer
from tests.factories import make_user
from tests.tenders.factories import make_bid, make_round, user


def _setup(db):
    rnd = make_round(deadline=utcnow() + timedelta(days=1), opening=utcnow() + timedelta(days=1, hours=1),
                     publish=True)
    other = db.session.scalar(sa.select(Insurer).where(Insurer.short_name == "三清财险"))
    make_user("sanqing", Role.INSURER, insurer=other)
    outsider = db.session.scalar(sa.select(Insurer).where(Insurer.short_name == "怀玉财险"))
    make_user("huaiyu", Role.INSURER, insurer=outsider)
    a = make_bid(rnd, "insurer", lot_codes={"361128-1", "361130-1"})
    b = make_bid(rnd, "sanqing")
    withdrawn = make_bid(rnd, "huaiyu")
    service.withdraw_bid(withdrawn, user("huaiyu"))
    db.session.commit()
    return rnd, a, b


def test_opening_record_lists_submitted_bids_with_their_receipts(demo, db, login):
    rnd, a, b = _setup(db)
    with time_machine.travel(rnd.opening_time + timedelta(minutes=5), tick=False):
        city = login("city_agri")
        assert city.post(f"/bids/rounds/{rnd.id}/open").status_code == 302
        opening = service.opening_of(rnd)
        assert [e["insurer"] for e in opening.entries] == sorted([a.insurer.name, b.insurer.name])
        entry = next(e for e in opening.entries if e["bid_id"] == a.id)
        assert entry["lots"] == ["361128-1", "361130-1"] and entry["sha256"] == a.latest_receipt.sha256
        assert entry["verified"] is True

        xlsx = city.get(f"/bids/rounds/{rnd.id}/opening.xlsx")
        ws = load_workbook(io.BytesIO(xlsx.data)).active
        cells = [str(c) for row in ws.iter_rows(values_only=True) for c in row if c is not None]
        assert a.latest_receipt.sha256 in cells and b.insurer.name in cells
        assert "怀玉财产保险股份有限公司上饶中心支公司" not in cells  # withdrawn: not opened
        assert any(c.startswith("开标时间：") for c in cells)

        pdf = city.get(f"/bids/rounds/{rnd.id}/opening.pdf")
        pages = PdfReader(io.BytesIO(pdf.data)).pages
        lines = "".join(p.extract_text() for p in pages)
        assert "开标记录" in lines.replace("\n", "")
        assert a.latest_receipt.receipt_no in lines  # on one line: its column is wide enough (landscape)
        assert pages[0].mediabox.width > pages[0].mediabox.height

        # Bidders of the round and the county bureau see it; an insurer that did not (validly) bid does not.
        assert login("sanqing").get(f"/bids/rounds/{rnd.id}/opening").status_code == 200
        assert login("county_agri").get(f"/bids/rounds/{rnd.id}/opening.pdf").status_code == 200
        assert login("huaiyu").get(f"/bids/rounds/{rnd.id}/opening").status_code == 404
        # After the opening the bureau reads the opened bids, not the withdrawn one.
        assert city.get(f"/bids/{a.id}").status_code == 200
        page = city.get(f"/bids/rounds/{rnd.id}").get_data(as_text=True)
        assert a.insurer.name in page and "怀玉" not in page
        db.session.expire_all()
        assert [bid.id for bid in service.opened_bids(rnd)] == sorted([a.id, b.id])


def test_only_city_agri_opens_and_only_once(demo, db, login):
    rnd, _a, _b = _setup(db)
    with time_machine.travel(rnd.opening_time, tick=False):
        assert login("admin").post(f"/bids/rounds/{rnd.id}/open").status_code == 403
        city = login("city_agri")
        city.post(f"/bids/rounds/{rnd.id}/open")
        again = city.post(f"/bids/rounds/{rnd.id}/open", follow_redirects=True)
        assert "只有已截标的轮次可以开标" in again.get_data(as_text=True)
