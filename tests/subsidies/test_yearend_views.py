"""The pages of the year's money: an advance recorded with its default, the close, a statement confirmed by both
sides, a refund recorded, the statement as xlsx and PDF read back."""

import io
from decimal import Decimal as D

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from agri_insurance.subsidies.models import Advance, Settlement, SettlementTransfer, ShareLevel
from tests.factories import county
from tests.subsidies.factories import assign, demo_insurer, make_claim


@pytest.fixture
def world(demo, db):
    assign()
    db.session.commit()
    return db


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
