"""The pages of the year's money: an advance recorded with its default, the close, a statement confirmed by both
sides, a refund recorded, the statement as xlsx and PDF read back."""

import io
from datetime import date
from decimal import Decimal as D

import sqlalchemy as sa
from openpyxl import load_workbook

from agri_insurance.extensions import db as _db
from agri_insurance.subsidies import service
from agri_insurance.subsidies.models import Advance, Settlement, SettlementTransfer, ShareLevel, SubsidyClaim
from tests.factories import county
from tests.subsidies.factories import assign, demo_insurer, make_claim, user


def _advance_form(**overrides) -> dict:
    data = {"insurer_id": demo_insurer().id, "region_id": county().id, "level": "county", "year": 2025,
            "amount": "", "paid_on": "2025-02-01", "voucher_no": "YB-1"}
    return {**data, **overrides}


def test_a_blank_amount_records_the_default_advance(world, login, db):
    client = login("county_finance")
    # no verified subsidy in 2024: the default is nothing, so an amount is asked for
    response = client.post("/subsidies/advances", data=_advance_form())
    assert response.status_code == 400 and "上年度没有已核验的补贴" in response.get_data(as_text=True)
    page = client.post("/subsidies/advances", data=_advance_form(year=2026), follow_redirects=True)
    # 2025 had nothing verified either; with a claim verified in 2025 the blank amount is half its county share
    assert "上年度没有已核验的补贴" in page.get_data(as_text=True)
    make_claim(status="verified", premium="100000.00", year=2025, period="2025年全年")      # county 5,000.00
    response = client.post("/subsidies/advances", data=_advance_form(year=2026))
    assert response.status_code == 302
    advance = db.session.scalar(sa.select(Advance))
    assert (advance.amount, advance.basis, advance.pct) == (D("2500.00"), D("5000.00"), D("50"))
    page = client.get("/subsidies/year-money?year=2026").get_data(as_text=True)
    assert "2,500.00" in page and "5,000.00" in page
    # the same form again (a double click) is refused, nothing more recorded
    response = client.post("/subsidies/advances", data=_advance_form(year=2026, amount="100.00"))
    assert response.status_code == 400 and "已登记预拨" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Advance.id))) == 1


def test_a_county_bureau_cannot_advance_the_city_share(world, login, db):
    response = login("county_finance").post("/subsidies/advances", data=_advance_form(level="city", amount="10"))
    assert response.status_code == 400
    assert db.session.scalar(sa.select(sa.func.count(Advance.id))) == 0


def test_close_confirm_by_both_sides_refund_and_statements(world, login, db):
    county_finance, city_finance, insurer = login("county_finance"), login("city_finance"), login("insurer")
    assert county_finance.post("/subsidies/advances", data=_advance_form(amount="8000.00")).status_code == 302
    make_claim(status="verified", premium="100000.00", year=2025, period="2025年全年")      # draws 5,000.00
    assert "进行2025年度清算" not in county_finance.get("/subsidies/year-money?year=2025").get_data(as_text=True)
    page = city_finance.post("/subsidies/years/2025/close", follow_redirects=True).get_data(as_text=True)
    assert "年度清算已完成" in page and "已清算关闭" in page
    settlement = db.session.scalar(sa.select(Settlement).where(Settlement.level == ShareLevel.COUNTY))
    url = f"/subsidies/settlements/{settlement.id}"
    assert "3,000.00" in county_finance.get(url).get_data(as_text=True)                     # refund due
    assert county_finance.post(f"{url}/confirm").status_code == 302
    page = insurer.post(f"{url}/confirm", follow_redirects=True).get_data(as_text=True)
    assert "已确认清算单" in page and "已确认待结算" in page
    response = county_finance.post(f"{url}/transfers", data={"amount": "3000.01", "paid_on": "2026-01-10",
                                                            "voucher_no": "TH-1"})
    assert response.status_code == 400 and "超出待结算余额" in response.get_data(as_text=True)
    page = county_finance.post(f"{url}/transfers", data={"amount": "3000.00", "paid_on": "2026-01-10",
                                                        "voucher_no": "TH-1"}, follow_redirects=True)
    assert "已结清" in page.get_data(as_text=True)
    assert db.session.scalar(sa.select(SettlementTransfer.amount)) == D("3000.00")

    for client in (insurer, county_finance):
        ws = load_workbook(io.BytesIO(client.get(f"{url}/statement.xlsx").data)).active
        values = {ws.cell(row=r, column=1).value: ws.cell(row=r, column=2).value for r in range(1, ws.max_row + 1)}
        assert values["已核验补贴（元）"] == 5000 and values["预拨（元）"] == 8000
        assert values["应退回（元）"] == 3000 and values["已退回（元）"] == 3000 and values["待结算（元）"] == 0
        assert values["付款方"] == "鄱阳县财政局"
        assert values["承保机构确认"] != "未确认"
    pdf = insurer.get(f"{url}/statement.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF") and pdf.mimetype == "application/pdf"
    # the closed year takes no advance
    response = city_finance.post("/subsidies/advances", data=_advance_form(level="city", amount="10.00",
                                                                            voucher_no="YB-9"))
    assert response.status_code == 400 and "已清算关闭" in response.get_data(as_text=True)


# --- issue 24: who is offered the transfer form, and what the statement lists --------------------------------------

def _offered(client, url) -> bool:
    """The settlement page answers, and offers this user the form recording a top-up or refund."""
    response = client.get(url)
    assert response.status_code == 200
    return 'id="record-transfer"' in response.get_data(as_text=True)


def _close_with_a_refund(county_finance, city_finance) -> str:
    """A county advance of 8,000.00, one claim whose county share (5,000.00) it pays: a refund of 3,000.00."""
    assert county_finance.post("/subsidies/advances", data=_advance_form(amount="8000.00")).status_code == 302
    make_claim(status="verified", premium="100000.00", year=2025, period="2025年全年")
    assert city_finance.post("/subsidies/years/2025/close").status_code == 302
    return f"/subsidies/settlements/{_settlement(ShareLevel.COUNTY).id}"


def _settlement(level) -> Settlement:
    return _db.session.scalar(sa.select(Settlement).where(Settlement.level == level))


def test_the_transfer_form_is_offered_to_the_paying_bureau_once_both_sides_confirmed_until_nothing_is_left(
        world, login, db):
    county_finance, city_finance, insurer = login("county_finance"), login("city_finance"), login("insurer")
    url = _close_with_a_refund(county_finance, city_finance)
    # nobody before the confirmations
    assert not any(_offered(client, url) for client in (county_finance, city_finance, insurer))
    # the bureau has confirmed, the underwriter not yet
    assert county_finance.post(f"{url}/confirm").status_code == 302
    assert not _offered(county_finance, url) and not _offered(insurer, url)
    # both have: the paying bureau only (not the underwriter, not the city's bureau, which pays no county share)
    assert insurer.post(f"{url}/confirm").status_code == 302
    assert _offered(county_finance, url)
    assert not _offered(insurer, url) and not _offered(city_finance, url)
    # a fen left is still something to record; nothing left is not
    assert county_finance.post(f"{url}/transfers", data={"amount": "2999.99", "paid_on": "2026-01-10",
                                                        "voucher_no": "TH-1"}).status_code == 302
    assert _settlement(ShareLevel.COUNTY).remaining == D("0.01")
    assert _offered(county_finance, url)
    assert county_finance.post(f"{url}/transfers", data={"amount": "0.01", "paid_on": "2026-01-10",
                                                        "voucher_no": "TH-2"}).status_code == 302
    assert not _offered(county_finance, url)


def test_the_underwriters_confirmation_alone_offers_no_transfer(world, login, db):
    county_finance, city_finance, insurer = login("county_finance"), login("city_finance"), login("insurer")
    _close_with_a_refund(county_finance, city_finance)
    url = f"/subsidies/settlements/{_settlement(ShareLevel.CITY).id}"             # a top-up of the city share
    assert insurer.post(f"{url}/confirm").status_code == 302
    assert not _offered(city_finance, url) and not _offered(insurer, url)
    assert city_finance.post(f"{url}/confirm").status_code == 302
    assert _offered(city_finance, url) and not _offered(insurer, url)


def _statement_rows(client, url) -> tuple[dict, list[tuple]]:
    """The statement's sums ({label: amount}) and its claims' rows (id, period, share, from the advance, paid,
    unpaid), read back from the xlsx."""
    ws = load_workbook(io.BytesIO(client.get(f"{url}/statement.xlsx").data)).active
    rows = [[cell.value for cell in row] for row in ws.iter_rows(min_row=1, max_row=ws.max_row)]
    header = next(i for i, row in enumerate(rows) if row[0] == "申请编号")
    summary = {row[0]: row[1] for row in rows[:header] if row[0] is not None}
    lines = []
    for row in rows[header + 1:]:
        if row[0] is None:
            break
        lines.append((row[0], row[2], D(str(row[4])), D(str(row[5])), D(str(row[6])), D(str(row[7]))))
    return summary, lines


def test_a_statement_lists_each_claim_with_its_share_what_the_advance_paid_and_what_payments_paid(world, login, db):
    """County: advance 3,000.00; claim A (100,000.00: county 5,000.00) draws it, 1,500.00 paid; claim B (20.00:
    county 1.00) is paid in full; claim C of camellia oil (a specialty product: no central share) is on the county
    statement but not on the central one. Top-up of the county share: 5,000.00 + 1.00 + 3,000.00 (C, 10,000.00 at
    30 %) = 8,001.00 verified - 3,000.00 advanced - 1,501.00 paid = 3,500.00."""
    assign(product_code="camellia_oil")
    db.session.commit()
    county_finance, city_finance = login("county_finance"), login("city_finance")
    assert county_finance.post("/subsidies/advances", data=_advance_form(amount="3000.00")).status_code == 302
    a = make_claim(status="verified", premium="100000.00", year=2025, period="2025年早稻季")
    b = make_claim(status="verified", premium="20.00", year=2025, period="2025年补充", households=1, quantity=D("10"))
    c = make_claim(status="verified", product_code="camellia_oil", premium="10000.00", year=2025, period="2025年油茶")
    assert (b.share(ShareLevel.COUNTY).amount, c.share(ShareLevel.CENTRAL).amount) == (D("1.00"), D("0.00"))
    for claim_, amount, voucher in ((a, "1500.00", "KF-1"), (b, "1.00", "KF-2")):
        service.confirm_payment(db.session.get(SubsidyClaim, claim_.id), ShareLevel.COUNTY, D(amount),
                                date(2025, 6, 1), voucher, user("county_finance"))
    db.session.commit()
    assert city_finance.post("/subsidies/years/2025/close").status_code == 302

    summary, lines = _statement_rows(county_finance, f"/subsidies/settlements/{_settlement(ShareLevel.COUNTY).id}")
    assert lines == [(a.id, "2025年早稻季", D("5000.00"), D("3000.00"), D("1500.00"), D("500.00")),
                     (b.id, "2025年补充", D("1.00"), D("0.00"), D("1.00"), D("0.00")),
                     (c.id, "2025年油茶", D("3000.00"), D("0.00"), D("0.00"), D("3000.00"))]
    assert [(label, summary[label]) for label in ("已核验补贴（元）", "预拨（元）", "清算前已拨付（元）", "应补拨（元）",
                                                  "已补拨（元）", "待结算（元）")] == [
        ("已核验补贴（元）", 8001), ("预拨（元）", 3000), ("清算前已拨付（元）", 1501), ("应补拨（元）", 3500),
        ("已补拨（元）", 0), ("待结算（元）", 3500)]
    assert "应退回（元）" not in summary and "已退回（元）" not in summary
    page = county_finance.get(f"/subsidies/settlements/{_settlement(ShareLevel.COUNTY).id}").get_data(as_text=True)
    assert "应补拨（元）" in page and "应退回（元）" not in page and "1,500.00" in page

    _summary, lines = _statement_rows(city_finance, f"/subsidies/settlements/{_settlement(ShareLevel.CENTRAL).id}")
    assert [line[0] for line in lines] == [a.id, b.id]              # camellia oil owes no central share


def _editable(client, year: int, advance_id: int) -> bool:
    response = client.get(f"/subsidies/year-money?year={year}")
    assert response.status_code == 200
    return f'action="/subsidies/advances/{advance_id}"' in response.get_data(as_text=True)


def _close_offered(client, year: int) -> bool:
    return 'id="close-year"' in client.get(f"/subsidies/year-money?year={year}").get_data(as_text=True)


def test_an_advance_is_editable_by_its_bureau_until_the_close_which_the_city_is_offered_once_the_year_is_over(
        world, login, db):
    import time_machine

    with time_machine.travel("2026-06-01 10:00 +0800", tick=False):
        county_finance, city_finance, insurer = login("county_finance"), login("city_finance"), login("insurer")
        assert county_finance.post("/subsidies/advances", data=_advance_form(amount="8000.00")).status_code == 302
        assert city_finance.post("/subsidies/advances", data=_advance_form(level="city", amount="500.00",
                                                                           voucher_no="YB-2")).status_code == 302
        county_advance = db.session.scalar(sa.select(Advance.id).where(Advance.level == ShareLevel.COUNTY))
        city_advance = db.session.scalar(sa.select(Advance.id).where(Advance.level == ShareLevel.CITY))
        # each bureau edits its own level's advance, nobody else's
        assert _editable(county_finance, 2025, county_advance) and not _editable(county_finance, 2025, city_advance)
        assert _editable(city_finance, 2025, city_advance) and not _editable(city_finance, 2025, county_advance)
        assert not _editable(insurer, 2025, county_advance) and not _editable(insurer, 2025, city_advance)
        # 2025 is over: the city's bureau is offered its close, not 2026's (still running), the county's neither
        assert _close_offered(city_finance, 2025) and not _close_offered(city_finance, 2026)
        assert not _close_offered(county_finance, 2025)
        assert city_finance.post("/subsidies/years/2025/close").status_code == 302
        assert db.session.scalar(sa.select(sa.func.count(Settlement.id))) == 2    # the county and city advances
        # closed: no close offered again, no advance editable
        assert not _close_offered(city_finance, 2025)
        assert not _editable(county_finance, 2025, county_advance) and not _editable(city_finance, 2025, city_advance)
