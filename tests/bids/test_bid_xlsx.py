"""The bid xlsx template: download, fill, upload; every bad cell reported; nothing saved unless all is valid."""

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from agri_insurance.bids import service
from agri_insurance.bids.models import Bid
from agri_insurance.clock import utcnow
from agri_insurance.extensions import db as _db
from tests.tenders.factories import make_bid, make_round, user


@pytest.fixture
def rnd(demo, db):
    return make_round(deadline=utcnow() + timedelta(days=3), publish=True)


def _upload(client, bid, data: bytes):
    return client.post(f"/bids/{bid.id}/import", data={"file": (io.BytesIO(data), "bid.xlsx")},
                       content_type="multipart/form-data")


def _save(wb) -> bytes:
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _fresh(bid) -> Bid:
    _db.session.expire_all()
    return _db.session.get(Bid, bid.id)


def test_round_trip_reproduces_the_same_content(rnd, login, db):
    bid = make_bid(rnd, submit=False)
    before = service.canonical_content(bid)
    client = login("insurer")
    downloaded = client.get(f"/bids/{bid.id}/template.xlsx")
    wb = load_workbook(io.BytesIO(downloaded.data))
    assert wb.sheetnames == ["投标信息", "投标标段", "机构设置", "创新产品", "行政处罚"]
    # Clear the bid, then upload the downloaded file: everything comes back.
    service.save_bid(bid, {"lot_ids": []}, user("insurer"))
    db.session.commit()
    assert service.canonical_content(_fresh(bid)) != before
    response = _upload(client, bid, downloaded.data)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert service.canonical_content(_fresh(bid)) == before


def test_filling_the_empty_template_in_a_spreadsheet(rnd, login, db):
    insurer = user("insurer")
    bid = service.start_bid(rnd, insurer)
    db.session.commit()
    client = login("insurer")
    wb = load_workbook(io.BytesIO(client.get(f"/bids/{bid.id}/template.xlsx").data))
    info = wb["投标信息"]
    values = {"avg_settlement_days": 20, "on_time_settlement_pct": 96.5, "complaints_per_10k": 0.4,
              "premium_income_y1": 1000000, "premium_income_y2": 1100000, "premium_income_y3": 1200000.55,
              "service_rating": "AA", "reinsurance_arrangement": "成数分保30%", "catastrophe_reserve": 5000000,
              "comprehensive_solvency_pct": 210, "core_solvency_pct": 150, "risk_rating": "B",
              "control_declaration": "无关联关系"}
    for row in info.iter_rows(min_row=2):
        if row[0].value in values:
            row[2].value = values[row[0].value]
    lots = wb["投标标段"]
    for row in lots.iter_rows(min_row=2):
        row[3].value = "是" if row[0].value.startswith("361128") else "否"
    setup = wb["机构设置"]
    setup["B2"], setup["C2"], setup["D2"] = "是", 8, 21
    wb["创新产品"].append(["油茶价格指数保险", "2024-06-30"])
    response = _upload(client, bid, _save(wb))
    assert response.status_code == 302, response.get_data(as_text=True)
    bid = _fresh(bid)
    assert [lot.code for lot in bid.lots] == ["361128-1", "361128-2"]
    assert str(bid.premium_income_y3) == "1200000.55" and bid.risk_rating.value == "B"
    assert [(s.region.code, s.has_county_branch, s.township_stations, s.agri_staff) for s in bid.county_setups] \
        == [("361128", True, 8, 21)]
    assert service.missing_for_submission(bid) == []
    assert client.post(f"/bids/{bid.id}/submit").status_code == 302
    assert _fresh(bid).status.value == "submitted"


def test_every_bad_cell_is_reported_and_nothing_saved(rnd, login, db):
    bid = make_bid(rnd, submit=False)
    before = service.canonical_content(bid)
    client = login("insurer")
    wb = load_workbook(io.BytesIO(client.get(f"/bids/{bid.id}/template.xlsx").data))
    info = wb["投标信息"]
    for row in info.iter_rows(min_row=2):
        if row[0].value == "complaints_per_10k":
            row[2].value = "很少"                          # text in a number cell
        if row[0].value == "catastrophe_reserve":
            row[2].value = -100                            # negative amount
        if row[0].value == "risk_rating":
            row[2].value = "E"                             # not an option
    wb["投标标段"].append(["NO-SUCH", None, None, "是"])
    wb["机构设置"]["A3"] = "火星县"                         # unknown county
    wb["行政处罚"].append(["昨天", 100, "某局", "x"])         # not a date
    response = _upload(client, bid, _save(wb))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    rows = {r[0].value: r[0].row for r in info.iter_rows(min_row=2)}
    for expected in (
            f"工作表“投标信息”第{rows['complaints_per_10k']}行C列（填写内容）：应为数字，实际为“很少”",
            f"工作表“投标信息”第{rows['catastrophe_reserve']}行C列（填写内容）：不能小于0",
            f"工作表“投标信息”第{rows['risk_rating']}行C列（填写内容）：“E”不是可选的值",
            f"工作表“投标标段”第{wb['投标标段'].max_row}行A列（标段编号）：本轮没有编号为 NO-SUCH 的标段",
            "工作表“机构设置”第3行A列（县（市、区））：“火星县”不是可选的值",
            "工作表“行政处罚”第3行A列（处罚日期）：应为日期"):
        assert expected in page, expected
    assert service.canonical_content(_fresh(bid)) == before


def test_wrong_sheets_and_missing_columns(rnd, login, db):
    bid = make_bid(rnd, submit=False)
    before = service.canonical_content(bid)
    client = login("insurer")
    wb = load_workbook(io.BytesIO(client.get(f"/bids/{bid.id}/template.xlsx").data))
    wb["投标信息"].title = "Sheet1"
    wb["行政处罚"].delete_cols(2)
    page = _upload(client, bid, _save(wb)).get_data(as_text=True)
    assert "缺少工作表“投标信息”" in page
    assert "工作表“行政处罚”：缺少列“处罚金额（元）”" in page
    assert service.canonical_content(_fresh(bid)) == before


def test_a_submitted_bid_cannot_be_changed_by_upload(rnd, login, db):
    bid = make_bid(rnd)
    client = login("insurer")
    data = client.get(f"/bids/{bid.id}/template.xlsx").data
    page = _upload(client, bid, data).get_data(as_text=True)
    assert "请先撤回" in page


def test_a_zip_bomb_or_a_far_cell_is_refused_in_words_before_reading(rnd, login, db):
    from tests.spreadsheet_bombs import inflating_to, with_far_cell

    bid = make_bid(rnd, submit=False)
    before = service.canonical_content(bid)
    client = login("insurer")
    template = client.get(f"/bids/{bid.id}/template.xlsx").data
    page = _upload(client, bid, inflating_to(template, 60)).get_data(as_text=True)
    assert "文件解压后超过 50 MB" in page
    page = _upload(client, bid, with_far_cell(template, "行政处罚", 3, 16_384)).get_data(as_text=True)
    assert "工作表用到了第 16,384 列" in page
    assert service.canonical_content(_fresh(bid)) == before


def _template(client, bid):
    return load_workbook(io.BytesIO(client.get(f"/bids/{bid.id}/template.xlsx").data))


def _info_rows(wb) -> dict:
    return {r[0].value: r[0].row for r in wb["投标信息"].iter_rows(min_row=2)}


def test_full_width_numbers_typed_with_a_chinese_input_method_are_read(rnd, login, db):
    bid = make_bid(rnd, submit=False)
    client = login("insurer")
    wb = _template(client, bid)
    info = wb["投标信息"]
    info.cell(row=_info_rows(wb)["on_time_settlement_pct"], column=3, value="９８．５")
    info.cell(row=_info_rows(wb)["catastrophe_reserve"], column=3, value="５，２００，０００．５")
    response = _upload(client, bid, _save(wb))
    assert response.status_code == 302, response.get_data(as_text=True)
    bid = _fresh(bid)
    assert bid.on_time_settlement_pct == Decimal("98.5") and bid.catastrophe_reserve == Decimal("5200000.50")


def test_a_formula_without_its_saved_result_is_named_not_read_as_blank(rnd, login, db):
    bid = make_bid(rnd, submit=False)
    before = service.canonical_content(bid)
    client = login("insurer")
    wb = _template(client, bid)
    row = _info_rows(wb)["on_time_settlement_pct"]
    wb["投标信息"].cell(row=row, column=3, value="=95+1")
    wb["机构设置"]["C2"] = "=2*4"  # the station count would be stored as 0
    page = _upload(client, bid, _save(wb)).get_data(as_text=True)
    assert f"工作表“投标信息”第{row}行C列（填写内容）：单元格是公式“=95+1”，但文件中没有保存它的计算结果" in page
    assert "工作表“机构设置”第2行C列" in page and "单元格是公式“=2*4”" in page
    assert service.canonical_content(_fresh(bid)) == before


def test_an_item_filled_twice_in_the_information_sheet_is_refused_naming_both_rows(rnd, login, db):
    bid = make_bid(rnd, submit=False)
    before = service.canonical_content(bid)
    client = login("insurer")
    wb = _template(client, bid)
    first = _info_rows(wb)["on_time_settlement_pct"]
    wb["投标信息"].append(["on_time_settlement_pct", "理赔及时率（%）", 99])
    page = _upload(client, bid, _save(wb)).get_data(as_text=True)
    last = wb["投标信息"].max_row
    assert f"工作表“投标信息”第{last}行A列（字段代码）：项目“on_time_settlement_pct”在第{first}行和第{last}行重复填写" \
        in page
    assert service.canonical_content(_fresh(bid)) == before
