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


# --- uploaded xlsx checked before reading (zip bombs, far cells) ------------------------------------------------

def _refused(data, **limits) -> str:
    import pytest

    from agri_insurance.errors import DomainError
    from agri_insurance.spreadsheets import check_xlsx_archive

    with pytest.raises(DomainError) as info:
        check_xlsx_archive(data, **limits)
    return info.value.message


def _sheet_xml(data: bytes) -> bytes:
    import zipfile

    return zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")


def test_an_archive_inflating_past_the_limit_is_refused_in_words(app):
    from tests.spreadsheet_bombs import inflating_to, small_workbook

    bomb = inflating_to(small_workbook(), 12)
    assert len(bomb) < 100_000  # a few dozen KB on disk
    with app.test_request_context():
        message = _refused(bomb, max_inflated_bytes=10 * 1024 * 1024)
    assert "解压后超过 10 MB" in message and "压缩炸弹" in message


def test_an_archive_understating_its_sizes_is_measured_not_believed(app):
    import zipfile

    from tests.spreadsheet_bombs import declaring_less, inflating_to, small_workbook

    liar = declaring_less(inflating_to(small_workbook(), 12))
    assert sum(i.file_size for i in zipfile.ZipFile(io.BytesIO(liar)).infolist()) < 1024 * 1024
    with app.test_request_context():
        assert "解压后超过 10 MB" in _refused(liar, max_inflated_bytes=10 * 1024 * 1024)


def test_a_far_cell_or_a_declared_dimension_past_the_limits_is_refused(app):
    from agri_insurance.spreadsheets import check_xlsx_archive
    from tests.spreadsheet_bombs import replacing, small_workbook, with_far_cell

    with app.test_request_context():
        assert "第 10,001 行" in _refused(with_far_cell(small_workbook(), None, 10_001, 1))
        assert "第 16,384 列" in _refused(with_far_cell(small_workbook(), None, 2, 16_384))
        # the <dimension> a sheet declares counts too (a reader may reserve room for it)
        data = replacing(small_workbook(), b'<dimension ref="A1:B1"/>', b'<dimension ref="A1:XFD1048576"/>')
        assert "第 1,048,576 行" in _refused(data)
        # XML lets any white space stand before an attribute, and a namespace prefix before an element
        far = replacing(with_far_cell(small_workbook(), None, 10_001, 1), b'<dimension ref="A1:B10001"/>',
                        b'<dimension ref="A1:B1"/>')
        tabbed = replacing(far, b' r="', b'\n\tr="')   # every row's and cell's reference
        assert b' r="' not in _sheet_xml(tabbed) and "第 10,001 行" in _refused(tabbed)
        prefixed = replacing(small_workbook(), b'<dimension ref="A1:B1"/>', b'<x:dimension ref="A1:XFD10"/>')
        assert "第 16,384 列" in _refused(prefixed)
        # a far reference in another attribute, or in a cell's text, is not where the sheet ends
        check_xlsx_archive(replacing(small_workbook(), b'<dimension ref="A1:B1"/>',
                                     b'<dimension ref="A1:B1" xr="XFD1048576"/>'))
        check_xlsx_archive(with_far_cell(small_workbook(), None, 10_000, 100))  # at the limits: read
        check_xlsx_archive(b"not a zip at all")  # the reader says what is wrong with it


def test_one_number_parser_reads_what_clerks_type():
    from agri_insurance.spreadsheets import parse_number

    for typed, number in (("５２０００００．５", "5200000.5"), ("１２．５", "12.5"), (" 1,234,567.50 ", "1234567.50"),
                          ("１，２３４．５", "1234.5"), ("－３", "-3"), (".5", "0.5"), ("0012", "12")):
        assert parse_number(typed) == Decimal(number), typed
    for typed in ("12.5亩", "1,2345", "1.2.3", "1e5", "", "一百", "12 5", "Infinity", "NaN", "٣"):
        assert parse_number(typed) is None, typed


def test_the_archive_check_names_the_sheets_without_a_formula(app):
    """What the check learns on its way through the sheets: an import looking for formulas without a saved value
    need not inflate a sheet of values again, and must look at one with a formula."""
    from openpyxl import Workbook

    from agri_insurance.spreadsheets import check_xlsx_archive

    wb = Workbook()
    wb.active.append(["a", 1, 2, "=B1+C1"])
    wb.create_sheet("说明").append(["只有文字", 3])
    buffer = io.BytesIO()
    wb.save(buffer)
    assert check_xlsx_archive(buffer.getvalue()) == {"xl/worksheets/sheet2.xml"}
    assert check_xlsx_archive(b"not a zip at all") == frozenset()
