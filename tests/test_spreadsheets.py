"""What every xlsx export writes: user text stays text (never a formula, never a character the file cannot
hold), money is a number with two decimals. Files are written and read back with openpyxl."""

import io
from decimal import Decimal

from openpyxl import Workbook, load_workbook

from agri_insurance.spreadsheets import MONEY_FORMAT, money_cell, text_cell, workbook_bytes, write_table


def _read(wb: Workbook):
    return load_workbook(io.BytesIO(workbook_bytes(wb))).active


def test_text_typed_as_a_formula_or_with_control_characters_is_written_as_text():
    wb = Workbook()
    write_table(wb.active, ["名称", "保费"], [['=HYPERLINK("http://x","张三")', Decimal("1234.5")],
                                             ["王\x0b小明", Decimal("0.10")]], money_columns=[2])
    ws = _read(wb)
    assert ws["A2"].data_type == "s" and ws["A2"].value == '=HYPERLINK("http://x","张三")'
    assert ws["A3"].value == "王\ufffd小明"
    assert ws["B2"].value == 1234.5 and ws["B2"].number_format == MONEY_FORMAT


def test_write_only_cells_keep_text_as_text_and_money_formatted():
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("清单")
    ws.append([text_cell(ws, "=1+1"), text_cell(ws, "村\x0b组"), money_cell(ws, Decimal("1234.50"))])
    read = load_workbook(io.BytesIO(workbook_bytes(wb)))["清单"]
    assert read["A1"].data_type == "s" and read["A1"].value == "=1+1"
    assert read["B1"].value == "村\ufffd组"
    assert read["C1"].value == 1234.5 and read["C1"].number_format == MONEY_FORMAT
