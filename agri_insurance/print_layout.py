"""How every xlsx export prints: the page a bureau signs, stamps and files (A4, one page wide).

`write_table` marks the table's header row on its sheet; `finish` (called by `workbook_bytes` and by the export
jobs before they save) turns every sheet into a printable page:
- A4, portrait, or landscape when the columns are wider than a portrait page (more than `PORTRAIT_WIDTH` character
  widths), fitted to one page wide and as many pages tall as it takes;
- the table's header row(s) repeated on every page, the print area ending at the last written row (so the signature
  lines written after a table print with it), gridlines printed as the bureau's forms have them;
- a footer with the issuing unit (setting `ISSUING_BODY`), "第 N 页 共 M 页" and the date it was printed.
Excel, WPS and LibreOffice all honour these settings (tested with LibreOffice in tests/test_print_layout.py).
"""

from __future__ import annotations

import unicodedata

from flask import current_app, has_app_context
from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.worksheet import Worksheet

# Column widths (in Excel's character units) a portrait A4 page holds at 100 % between 1.8 cm margins.
PORTRAIT_WIDTH = 95
TITLE_ROWS_KEY = "_print_title_rows"   # set on a worksheet by write_table: (first, last) header row


def display_width(value) -> int:
    """How many character widths a value takes in a cell: East Asian wide characters count two."""
    text = value if isinstance(value, str) else str(value)
    longest = max(text.split("\n"), key=len) if text else ""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in longest)


def mark_title_rows(ws, first: int, last: int | None = None) -> None:
    """Repeat rows first..last (a table's header) on every printed page of `ws`."""
    setattr(ws, TITLE_ROWS_KEY, (first, last or first))


def _issuing_body() -> str:
    if has_app_context():
        return str(current_app.config.get("ISSUING_BODY") or "")
    return ""


def _sheet_width(ws, write_only: bool) -> float:
    if write_only:  # no cells to count: the widths the export set before writing its rows
        return sum(d.width or 8.43 for d in ws.column_dimensions.values())
    total = 0.0
    for col in range(1, (ws.max_column or 1) + 1):
        dimension = ws.column_dimensions.get(get_column_letter(col))
        total += dimension.width if dimension is not None and dimension.width else 8.43
    return total


def finish_sheet(ws) -> None:
    """Page set-up of one worksheet (normal or write-only); see the module's docstring."""
    ws.page_setup.paperSize = Worksheet.PAPERSIZE_A4
    write_only = not hasattr(ws, "max_row")
    ws.page_setup.orientation = "landscape" if _sheet_width(ws, write_only) > PORTRAIT_WIDTH else "portrait"
    if not write_only:
        ws.print_area = f"A1:{get_column_letter(max(ws.max_column, 1))}{max(ws.max_row, 1)}"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_margins = PageMargins(left=0.7, right=0.7, top=0.75, bottom=0.9, header=0.3, footer=0.4)
    ws.print_options.gridLines = True
    ws.print_options.horizontalCentered = True
    title_rows = getattr(ws, TITLE_ROWS_KEY, None)
    if title_rows:
        ws.print_title_rows = f"{title_rows[0]}:{title_rows[1]}"
    ws.oddFooter.left.text = _issuing_body()
    ws.oddFooter.center.text = _("第 &P 页 共 &N 页")
    ws.oddFooter.right.text = _("打印日期：&D")
    for part in (ws.oddFooter.left, ws.oddFooter.center, ws.oddFooter.right):
        part.size = 9


def signing_lines(units: list[str]) -> list[list]:
    """The rows `sign_here` writes (a blank line, then for each signing unit its name and a line with 经办人 and
    负责人 to sign, the seal and the date), as rows to append to a write-only sheet."""
    lines: list[list] = [[]]
    for unit in units:
        lines.append([unit])
        lines.append([_("经办人（签字）：") + "____________", None, _("负责人（签字）：") + "____________", None,
                      _("（盖章）"), None, _("日期：") + "________"])
    return lines


def sign_here(ws, row: int, units: list[str]) -> int:
    """After a table (from `row` + 1, a blank line first): for each signing unit a line with 经办人 and 负责人 to
    sign, the place for its seal and the date, as a bureau's forms end. Returns the last row written (inside the
    print area, which ends at the last row)."""
    for line in signing_lines(units):
        row += 1
        for col, value in enumerate(line, start=1):
            if value is not None:
                ws.cell(row=row, column=col, value=value)
    return row


def finish(wb: Workbook) -> Workbook:
    for ws in wb.worksheets:
        finish_sheet(ws)
    return wb
