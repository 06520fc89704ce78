"""xlsx helpers shared by every module's exports and templates (openpyxl).

Exports users open in WPS/Excel: a bold frozen header row, sensible column widths, money as numbers with a
'#,##0.00' format (never text), dates as dates.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from urllib.parse import quote

from flask import Response
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from agri_insurance.print_layout import display_width, finish, mark_title_rows

MONEY_FORMAT = "#,##0.00"
PERCENT_FORMAT = "0.00%"
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADER_FILL = PatternFill("solid", fgColor="E2EFDA")
MAX_WIDTH = 50      # character widths; longer text wraps inside the column
HEADER_WIDTH = 10   # headers wrap onto two or three lines rather than widen a column of short values
WRAP = Alignment(vertical="top", wrap_text=True)
# Unicode category Cc: refused in imported text cells (a line break, tab or vertical tab pasted from Word)
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
CONTROL_CHARACTERS_REFUSED = _l("含有换行、制表符等控制字符（常见于从 Word 复制的内容），请删除")


def write_table(ws: Worksheet, headers: Sequence[str], rows: Iterable[Sequence], *,
                money_columns: Iterable[int] = (), widths: dict[int, int] | None = None,
                start_row: int = 1) -> int:
    """Write a header row and data rows; returns the last row written. Columns are 1-based.

    Columns are as wide as their longest value (wide characters count two, money with its separators), at least
    `widths[col]` where given and at most `MAX_WIDTH`; longer text wraps. The header row repeats on every printed
    page (print_layout)."""
    money = set(money_columns)
    longest = {col: min(display_width(title), HEADER_WIDTH) for col, title in enumerate(headers, start=1)}
    for col, title in enumerate(headers, start=1):
        cell = ws.cell(row=start_row, column=col, value=str(title))
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(vertical="center", wrap_text=True)
    row_no = start_row
    for row in rows:
        row_no += 1
        for col, value in enumerate(row, start=1):
            cell = ws.cell(row=row_no, column=col, value=_cell_value(value))
            _keep_as_text(cell)
            if value is None:
                continue
            if col in money:
                cell.number_format = MONEY_FORMAT
                shown = len(f"{value:,.2f}") if isinstance(value, Decimal | int | float) else display_width(value)
            elif isinstance(value, datetime):
                cell.number_format = DATETIME_FORMAT
                shown = 16
            elif isinstance(value, date):
                cell.number_format = DATE_FORMAT
                shown = 10
            else:
                shown = display_width(cell.value)
                if shown > MAX_WIDTH or (isinstance(cell.value, str) and "\n" in cell.value):
                    cell.alignment = WRAP
            longest[col] = max(longest.get(col, 0), shown)
    ws.freeze_panes = ws.cell(row=start_row + 1, column=1)
    header_lines = 1
    for col, shown in longest.items():
        wanted = (widths or {}).get(col, 0)
        width = max(wanted, min(MAX_WIDTH, shown + 2), 6)
        ws.column_dimensions[get_column_letter(col)].width = width
        title = str(headers[col - 1])
        header_lines = max(header_lines, sum(-(-display_width(part) // int(width - 1)) or 1
                                             for part in title.split("\n")))
    if header_lines > 1:  # a wrapped header shows whole: office suites do not grow a row that has no height
        ws.row_dimensions[start_row].height = 15 * header_lines
    mark_title_rows(ws, start_row)
    return row_no


def _cell_value(value):
    if isinstance(value, Decimal):
        return value  # openpyxl writes Decimal as a number
    if hasattr(value, "label") and hasattr(value, "value"):
        return cell_text(str(value.label))  # enums shown by their translated label
    if value is None:
        return None
    if isinstance(value, str):
        return cell_text(value)
    if isinstance(value, int | float | date | datetime):
        return value
    return cell_text(str(value))


def cell_text(text: str) -> str:
    """`text` with a visible replacement character (�) for each character a worksheet cannot hold (a vertical
    tab pasted from Word, say): openpyxl refuses to write them. Imports refuse them where they can, but error
    messages quote refused cells and older data may hold them."""
    return ILLEGAL_CHARACTERS_RE.sub("\ufffd", text) if text else text


def _keep_as_text(cell) -> None:
    # openpyxl stores a string beginning with "=" as a formula: text a user typed ("=HYPERLINK(...)" as a name)
    # must stay text, or the file carries a live formula (or one WPS/Excel cannot read)
    if isinstance(cell.value, str) and cell.value.startswith("="):
        cell.data_type = "s"


def _with_text(cell, text: str | None):
    """`cell` holding user text as text (see cell_text and _keep_as_text)."""
    cell.value = cell_text(text) if isinstance(text, str) else text
    _keep_as_text(cell)
    return cell


def put_text(ws: Worksheet, row: int, column: int, text: str | None):
    """User text (a round's name in a title, say) into a cell of a normal sheet, kept as text."""
    return _with_text(ws.cell(row=row, column=column), text)


def text_cell(ws, text: str | None, **kwargs) -> WriteOnlyCell:
    """A cell for a write-only sheet holding user text as text."""
    return _with_text(WriteOnlyCell(ws, **kwargs), text)


def money_cell(ws, amount: Decimal | None) -> WriteOnlyCell:
    """A money cell for a write-only sheet: a number with the '#,##0.00' format."""
    cell = WriteOnlyCell(ws, value=amount)
    cell.number_format = MONEY_FORMAT
    return cell


def workbook_bytes(wb: Workbook) -> bytes:
    """The file of `wb`, each sheet set up to print (print_layout.finish)."""
    finish(wb)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def download(data: bytes, filename: str, mimetype: str = XLSX_MIMETYPE) -> Response:
    """A file download with a UTF-8 filename that Chinese browsers and WPS keep intact."""
    ascii_fallback = filename.encode("ascii", "ignore").decode() or "download"
    disposition = f"attachment; filename=\"{ascii_fallback}\"; filename*=UTF-8''{quote(filename)}"
    return Response(data, mimetype=mimetype, headers={"Content-Disposition": disposition})


def xlsx_download(wb: Workbook, filename: str) -> Response:
    return download(workbook_bytes(wb), filename)
