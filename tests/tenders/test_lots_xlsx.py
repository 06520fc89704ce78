"""Lots as xlsx: the template's drop-downs, an all-or-nothing import with every bad cell named, the export."""

import io
from decimal import Decimal

import pytest
import sqlalchemy as sa
from openpyxl import Workbook, load_workbook

from agri_insurance.tenders.models import Lot
from tests.tenders.factories import make_round

HEADERS = ["县（市、区）", "标段编号", "标段名称", "险种1", "险种2", "险种3", "险种4", "险种5", "乡镇",
           "预计年保费（元）", "历史赔付率（%）", "备注"]


def _xlsx(rows, headers=HEADERS, sheet="标段") -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    ws.append(headers)
    for row in rows:
        ws.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _upload(client, rnd, data: bytes):
    return client.post(f"/tenders/{rnd.id}/lots/import", data={"file": (io.BytesIO(data), "lots.xlsx")},
                       content_type="multipart/form-data")


GOOD = [
    ["鄱阳县", "PY-1", "鄱阳县第一标段", "水稻", "油菜", None, None, None, "饶州街道、鄱阳镇", 3200000.5, 65, "圩区"],
    ["鄱阳县", "PY-2", "鄱阳县第二标段", "柑橘", None, None, None, None, None, "1,800,000", "88.5", None],
    ["361130", "WY-1", "婺源县第一标段", "油茶", "中药材", None, None, None, None, 900000, None, None],
]


@pytest.fixture
def draft(demo, db):
    return make_round(counties=())


def test_template_has_county_and_product_drop_downs(login, draft):
    response = login("city_agri").get("/tenders/lots/template.xlsx")
    wb = load_workbook(io.BytesIO(response.data))
    ws = wb["标段"]
    assert [c.value for c in ws[1]] == HEADERS
    validations = {str(dv.sqref): dv.formula1 for dv in ws.data_validations.dataValidation}
    assert validations["A2:A301"] == "'选项'!$A$2:$A$13"
    assert validations["D2:H301"].startswith("'选项'!$B$2:$B$")
    options = wb["选项"]
    assert options.sheet_state == "hidden"
    assert [options.cell(row=r, column=1).value for r in range(2, 14)][8] == "鄱阳县"
    assert "水稻" in [options.cell(row=r, column=2).value for r in range(2, 20)]


def test_good_file_imports_every_lot_and_exports_them_back(login, draft, db):
    client = login("city_agri")
    response = _upload(client, draft, _xlsx(GOOD))
    assert response.status_code == 302, response.get_data(as_text=True)
    lots = db.session.scalars(sa.select(Lot).where(Lot.round_id == draft.id).order_by(Lot.code)).all()
    assert [lot.code for lot in lots] == ["PY-1", "PY-2", "WY-1"]
    py1 = lots[0]
    assert py1.expected_premium == Decimal("3200000.50") and py1.loss_ratio_pct == Decimal("65")
    assert sorted(p.code for p in py1.products) == ["rapeseed", "rice"] and py1.townships == "饶州街道、鄱阳镇"
    assert lots[1].expected_premium == Decimal("1800000")
    # The export uses the template's layout, so it imports again into another round unchanged.
    exported = client.get(f"/tenders/{draft.id}/lots.xlsx")
    ws = load_workbook(io.BytesIO(exported.data))["标段"]
    rows = [[c.value for c in row] for row in ws.iter_rows(min_row=2)]
    assert rows[0][:3] == ["鄱阳县", "PY-1", "鄱阳县第一标段"] and set(rows[0][3:5]) == {"水稻", "油菜"}
    assert rows[0][9] == 3200000.5
    other = make_round(name="下一轮", counties=())
    assert _upload(client, other, exported.data).status_code == 302
    copied = db.session.scalars(sa.select(Lot).where(Lot.round_id == other.id).order_by(Lot.code)).all()
    assert [(lot.code, lot.region_id, lot.expected_premium, sorted(p.id for p in lot.products)) for lot in copied] \
        == [(lot.code, lot.region_id, lot.expected_premium, sorted(p.id for p in lot.products)) for lot in lots]


def test_bad_cells_are_all_reported_and_nothing_is_saved(login, draft, db):
    bad = [
        GOOD[0],
        ["火星县", "X-1", "未知县", "水稻", None, None, None, None, None, 100, None, None],          # row 3
        ["鄱阳县", "PY-1", "重复编号", "水稻", None, None, None, None, None, 100, None, None],        # row 4
        ["鄱阳县", "PY-3", "负保费", "水稻", None, None, None, None, None, -5, None, None],           # row 5
        ["鄱阳县", "PY-4", "文字保费", "小麦", None, None, None, None, None, "一百万", None, None],     # row 6
        ["鄱阳县", None, None, None, None, None, None, None, None, 100, None, None],                # row 7
    ]
    response = _upload(login("city_agri"), draft, _xlsx(bad))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    for expected in ("工作表“标段”第3行A列（县（市、区））：“火星县”不是可选的值",
                     "第4行B列（标段编号）：标段编号 PY-1 与第2行重复",
                     "第5行J列（预计年保费（元））：不能小于0",
                     "第6行J列（预计年保费（元））：应为数字，实际为“一百万”",
                     "第6行D列（险种1）：“小麦”不是可选的值",
                     "第7行B列（标段编号）：不能为空", "第7行C列（标段名称）：不能为空", "第7行D列（险种1）：不能为空"):
        assert expected in page, expected
    assert db.session.scalar(sa.select(sa.func.count(Lot.id))) == 0


def test_a_tab_or_line_break_in_a_one_line_cell_is_refused_but_notes_keep_their_lines(login, draft, db):
    pasted = [list(GOOD[0]), list(GOOD[1])]
    pasted[0][2] = "鄱阳县\t第一标段"          # a tab pasted from Word into the lot name
    pasted[1][1] = "PY-2\n"                      # trailing whitespace is trimmed, not refused
    pasted[1][11] = "圩区\r\n低洼易涝"            # a line break inside the notes is fine
    response = _upload(login("city_agri"), draft, _xlsx(pasted))
    assert response.status_code == 400
    assert "第2行C列（标段名称）：含有换行、制表符等控制字符" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Lot.id))) == 0
    pasted[0][2] = "鄱阳县第一标段"
    assert _upload(login("city_agri"), draft, _xlsx(pasted)).status_code == 302
    notes = db.session.scalar(sa.select(Lot.notes).where(Lot.code == "PY-2"))
    assert notes == "圩区\n低洼易涝"


def test_wrong_sheet_missing_column_and_not_an_xlsx(login, draft, db):
    client = login("city_agri")
    page = _upload(client, draft, _xlsx(GOOD, sheet="Sheet1")).get_data(as_text=True)
    assert "缺少工作表“标段”" in page
    page = _upload(client, draft, _xlsx([r[:9] + r[10:] for r in GOOD],
                                        headers=HEADERS[:9] + HEADERS[10:])).get_data(as_text=True)
    assert "工作表“标段”：缺少列“预计年保费（元）”" in page
    page = _upload(client, draft, b"this is not a spreadsheet").get_data(as_text=True)
    assert "无法读取文件" in page
    assert db.session.scalar(sa.select(sa.func.count(Lot.id))) == 0


def test_duplicate_of_an_existing_lot_code(login, db, demo):
    rnd = make_round(counties=("361128",))
    response = _upload(login("city_agri"), rnd, _xlsx([["鄱阳县", "361128-1", "重复", "水稻", None, None, None,
                                                         None, None, 1, None, None]]))
    assert "标段编号 361128-1 在本轮已存在" in response.get_data(as_text=True)


def test_errors_in_english_for_english_users(login, draft):
    client = login("city_agri")
    client.get("/lang/en")
    page = _upload(client, draft, _xlsx([["火星县", "X", "x", "水稻", None, None, None, None, None, -1, None,
                                          None]])).get_data(as_text=True)
    assert "Sheet “标段” row 2 column A (县（市、区）)" in page
    assert "must not be less than 0" in page


def test_a_zip_bomb_or_a_far_cell_is_refused_in_words_before_reading(login, draft, db):
    from tests.spreadsheet_bombs import inflating_to, with_far_cell

    client = login("city_agri")
    bomb = inflating_to(_xlsx(GOOD), 60)  # 60 MB unpacked, tens of KB uploaded
    response = _upload(client, draft, bomb)
    assert response.status_code == 400
    assert "文件解压后超过 50 MB" in response.get_data(as_text=True)
    # one blank cell 20,000 rows down: small on disk, but the reader would walk every row up to it
    response = _upload(client, draft, with_far_cell(_xlsx(GOOD), "标段", 20_000, 1))
    assert response.status_code == 400
    assert "工作表用到了第 20,000 行" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Lot.id)).where(Lot.round_id == draft.id)) == 0


def test_full_width_numbers_typed_with_a_chinese_input_method_are_read(login, draft, db):
    row = list(GOOD[0])
    row[9], row[10] = "５２０００００．５", "１２．５"
    assert _upload(login("city_agri"), draft, _xlsx([row])).status_code == 302
    lot = db.session.scalar(sa.select(Lot).where(Lot.round_id == draft.id))
    assert (lot.expected_premium, lot.loss_ratio_pct) == (Decimal("5200000.50"), Decimal("12.5"))


def test_a_deleted_template_column_is_refused_rather_than_its_data_dropped(login, draft, db):
    rows = [r[:11] for r in GOOD]  # 备注 deleted, with the notes it held
    page = _upload(login("city_agri"), draft, _xlsx(rows, headers=HEADERS[:11])).get_data(as_text=True)
    assert "工作表“标段”：缺少列“备注”：请使用系统下载的模板，不要删除列" in page
    assert db.session.scalar(sa.select(sa.func.count(Lot.id)).where(Lot.round_id == draft.id)) == 0


def test_a_formula_without_its_saved_result_is_named_not_read_as_blank(login, draft, db):
    # openpyxl, like any program, writes formulas without their results: only Excel/WPS compute and save them
    rows = [list(GOOD[0]), list(GOOD[1])]
    rows[0][10] = "=50+15"          # optional loss ratio: would be stored empty
    rows[1][9] = "=1800000*1"       # required premium: would say 不能为空
    response = _upload(login("city_agri"), draft, _xlsx(rows))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "第2行K列（历史赔付率（%））：单元格是公式“=50+15”，但文件中没有保存它的计算结果" in page
    assert "第3行J列（预计年保费（元））：单元格是公式“=1800000*1”" in page and "不能为空" not in page
    assert "请在 Excel 或 WPS 中打开文件、保存后重新上传" in page
    assert db.session.scalar(sa.select(sa.func.count(Lot.id)).where(Lot.round_id == draft.id)) == 0
