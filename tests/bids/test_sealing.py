"""SEALING: before the opening time nobody but a bid's own insurer users learns its content or even which
insurers bid. This walks EVERY route of the access table (pages, exports, POST actions with their follow-up
pages) as every role, plus a second bidding insurer and an anonymous visitor, while the round is open and
again after the deadline but before the opening, and searches every response (HTML, xlsx cells, PDF text,
headers) for the bids' distinctive content and the bidders' names.
"""

import inspect
import io
import re
import zipfile
from datetime import timedelta

import pytest
import sqlalchemy as sa
import time_machine
from openpyxl import load_workbook
from pypdf import PdfReader

from agri_insurance.auth.models import Role
from agri_insurance.bids.models import BidStatus
from agri_insurance.clock import utcnow
from agri_insurance.reference.models import Insurer
from tests.factories import make_user
from tests.tenders.factories import make_bid, make_exception, make_round
from tests.test_access import ROUTES, fill_url

RIVAL_REINSURANCE = "RIVAL-MARKER-9902 再保险临时分保安排"
RIVAL_INNOVATION = "RIVAL-MARKER-5517 大棚蔬菜气象指数保险"
OWN_REINSURANCE = "OWN-MARKER-3141 成数再保险"
# Pages where even a bidder's name would reveal who bid: the tender and bid pages, and the audit log filtered
# to bid actions. Reference, user and subsidy pages list every insurer whether it bid or not, and the general
# audit log and the bureau dashboard's "recent actions" name insurers created as reference data or given
# subsidy assignments, so only the bid content markers are searched there.
NAME_CHECKED = ("tenders.", "bids.", "audit.bid_actions")
EXTRA_URLS = [("audit.bid_actions", "GET", "/audit/?action=bid."), ("audit.bid_actions", "GET", "/audit/?object_type=Bid"),
              ("audit.bid_actions", "GET", "/audit/?action=round.")]


def _text(response) -> str:
    parts = [response.headers.get("Content-Disposition", ""), response.location or ""]
    data = response.data
    if data.startswith(b"PK"):
        if "xl/workbook.xml" in zipfile.ZipFile(io.BytesIO(data)).namelist():  # xlsx (docx and zip: members only)
            wb = load_workbook(io.BytesIO(data))
            parts += wb.sheetnames
            for ws in wb.worksheets:
                for row in ws.iter_rows(values_only=True):
                    parts += [str(v) for v in row if v is not None]
        with zipfile.ZipFile(io.BytesIO(data)) as archive:  # also comments, properties, hidden sheets
            parts += [archive.read(n).decode("utf-8", "replace") for n in archive.namelist()]
    elif data.startswith(b"%PDF"):
        parts += [page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages]
        parts.append(data.decode("latin-1"))
    else:
        parts.append(data.decode("utf-8", "replace"))
    return "\n".join(parts)


@pytest.fixture
def sealed_world(demo, db):
    rnd = make_round(deadline=utcnow() + timedelta(days=2), opening=utcnow() + timedelta(days=3), publish=True)
    make_exception(rnd)
    rival_insurer = db.session.scalar(sa.select(Insurer).where(Insurer.short_name == "信江农险"))
    make_user("rival", Role.INSURER, insurer=rival_insurer)
    own = make_bid(rnd, "insurer", reinsurance_arrangement=OWN_REINSURANCE)
    rival = make_bid(rnd, "rival", reinsurance_arrangement=RIVAL_REINSURANCE,
                     innovations=[{"name": RIVAL_INNOVATION, "filed_on": own.innovations[0].filed_on}])
    own_insurer = db.session.scalar(sa.select(Insurer).where(Insurer.short_name == "赣鄱财险"))
    return {"round": rnd, "bids": {"insurer": own, "rival": rival},
            "insurers": {"insurer": own_insurer, "rival": rival_insurer}}


def _secrets(world, owner: str) -> tuple[list[str], list[str]]:
    bid = world["bids"][owner]
    insurer = world["insurers"][owner]
    content = [bid.reinsurance_arrangement, bid.latest_receipt.sha256, bid.latest_receipt.receipt_no,
               *(i.name for i in bid.innovations)]
    names = [insurer.name, insurer.short_name, insurer.credit_code]
    return content, names


def _urls(world, db, role):
    """Every route of the access table, filled once per bid where it names one (other placeholders as the
    access table fills them)."""
    rnd = world["round"]
    mine = {"round": rnd.id, "lot": rnd.lots[0].id, "exception": rnd.exceptions[0].id}
    urls = []
    for endpoint, (method, template, _allowed) in ROUTES.items():
        if endpoint == "auth.logout":
            continue
        for bid in world["bids"].values():
            ids = {**mine, "bid": bid.id, "receipt": bid.latest_receipt.id, "attachment": bid.attachments[0].id}
            url = template
            for key, value in ids.items():
                url = url.replace("{" + key + "}", str(value))
            url = fill_url(url, db, role) if len(inspect.signature(fill_url).parameters) > 2 else fill_url(url, db)
            if (endpoint, method, url) not in urls:
                urls.append((endpoint, method, url))
    return sorted(urls + EXTRA_URLS, key=lambda u: u[1] == "POST")  # state-changing requests last


def _walk(app, login, world, db, viewer: str | None) -> int:
    client = login(viewer) if viewer else app.test_client()
    others = [owner for owner in world["bids"] if owner != viewer]
    checked = 0
    role = None if viewer is None else Role.INSURER if viewer == "rival" else Role(viewer)
    for endpoint, method, url in _urls(world, db, role):
        response = client.open(url, method=method, follow_redirects=(method == "POST"))
        text = _text(response)
        for owner in others:
            content, names = _secrets(world, owner)
            for secret in content:
                assert secret not in text, f"{viewer} {method} {url} shows {owner}'s bid content {secret!r}"
            if endpoint.startswith(NAME_CHECKED):
                for name in names:
                    assert name not in text, f"{viewer} {method} {url} names bidder {name!r}"
        checked += 1
    return checked


VIEWERS = [None, *(r.value for r in Role), "rival"]


@pytest.mark.parametrize("phase", ["open", "closed_not_yet_opened"])
@pytest.mark.parametrize("viewer", VIEWERS, ids=lambda v: v or "anonymous")
def test_no_route_reveals_a_bid_or_a_bidder_before_the_opening(phase, viewer, sealed_world, app, login, db):
    rnd = sealed_world["round"]
    moment = utcnow() if phase == "open" else rnd.bid_deadline + timedelta(hours=1)
    with time_machine.travel(moment, tick=False):
        checked = _walk(app, login, sealed_world, db, viewer)
    assert checked >= len(ROUTES)


def test_the_bureau_sees_only_the_count_and_404s_say_nothing(sealed_world, login, db):
    city = login("city_agri")
    rnd = sealed_world["round"]
    page = city.get(f"/bids/rounds/{rnd.id}").get_data(as_text=True)
    assert "已提交 2 份" in page
    rival = sealed_world["bids"]["rival"]
    existing = city.get(f"/bids/{rival.id}")
    missing = city.get("/bids/999999")
    assert existing.status_code == missing.status_code == 404
    # the pages are the same but for the id and the CSRF token (signed with a timestamp to the second)
    same = [re.sub(r'name="csrf_token" value="[^"]*"', "", r.get_data(as_text=True)).replace(path, "/bids/N")
            for r, path in ((existing, f"/bids/{rival.id}"), (missing, "/bids/999999"))]
    assert same[0] == same[1]
    assert city.get(f"/bids/rounds/{rnd.id}/opening").status_code == 404


def test_each_insurer_sees_its_own_bid(sealed_world, login):
    for owner, bid in sealed_world["bids"].items():
        client = login(owner)
        page = client.get(f"/bids/{bid.id}").get_data(as_text=True)
        assert bid.reinsurance_arrangement in page and bid.latest_receipt.sha256 in page
        other = next(b for o, b in sealed_world["bids"].items() if o != owner)
        assert client.get(f"/bids/{other.id}").status_code == 404


def test_after_the_opening_the_bureau_and_the_bidders_see_the_record(sealed_world, login, db):
    rnd = sealed_world["round"]
    with time_machine.travel(rnd.opening_time, tick=False):
        city = login("city_agri")
        assert city.post(f"/bids/rounds/{rnd.id}/open").status_code == 302
        record = city.get(f"/bids/rounds/{rnd.id}/opening").get_data(as_text=True)
        for owner, bid in sealed_world["bids"].items():
            assert sealed_world["insurers"][owner].name in record and bid.latest_receipt.sha256 in record
        rival_view = login("rival").get(f"/bids/rounds/{rnd.id}/opening").get_data(as_text=True)
        assert sealed_world["insurers"]["insurer"].name in rival_view
        assert login("expert").get(f"/bids/rounds/{rnd.id}/opening").status_code == 403
        assert city.get(f"/bids/{sealed_world['bids']['rival'].id}").status_code == 200
    db.session.expire_all()
    assert all(b.status is BidStatus.SUBMITTED for b in sealed_world["bids"].values())
