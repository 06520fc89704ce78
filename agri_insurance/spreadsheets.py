"""xlsx helpers shared by every module's exports and templates (openpyxl).

Exports users open in WPS/Excel: a bold frozen header row, sensible column widths, money as numbers with a
'#,##0.00' format (never text), dates as dates.
"""

from __future__ import annotations

import io
import re
import struct
import unicodedata
import zipfile
import zlib
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from urllib.parse import quote

from flask import Response
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import column_index_from_string, get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from agri_insurance.errors import DomainError
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


# A number typed as text, after NFKC (full-width digits, point, comma and sign become ASCII): plain, or grouped by
# thousands in the standard way (1,234,567.5; never 1,2345).
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d+)?|\.\d+)", re.ASCII)
_GROUPED_NUMBER = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?", re.ASCII)


def parse_number(text: str) -> Decimal | None:
    """The number a clerk typed into a text cell, or None when it is not one: the one number parser of every
    import. Full-width characters typed with a Chinese input method (５２０００００．５, １２．５, －３) and spaces
    around are accepted, and thousands separators (half- or full-width) in the standard grouping; a unit, a
    second point, scientific notation or any other text is not a number."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    text = text.strip()
    if _PLAIN_NUMBER.fullmatch(text):
        return Decimal(text)
    if _GROUPED_NUMBER.fullmatch(text):
        return Decimal(text.replace(",", ""))
    return None


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


def header_cell(ws, title: str) -> WriteOnlyCell:
    """A table header cell for a write-only sheet, as `write_table` draws its header row."""
    cell = WriteOnlyCell(ws, value=str(title))
    cell.font = Font(bold=True)
    cell.fill = HEADER_FILL
    cell.alignment = Alignment(vertical="center", wrap_text=True)
    return cell


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


# --- reading an uploaded xlsx safely ------------------------------------------------------------------------

# An xlsx is a zip archive of XML: a few MB uploaded may inflate to gigabytes (a "zip bomb"), and one cell far down
# or far right makes a reader build the whole rectangle in memory. Each import states what it can take; the file
# is checked before any reader opens it.
FORM_MAX_INFLATED_BYTES = 50 * 1024 * 1024     # a lot list or a bid: forms of a few hundred rows
FORM_MAX_ROWS = 10_000
FORM_MAX_COLUMNS = 100
_INFLATE_CHUNK = 1 << 20


def check_xlsx_archive(source: bytes | str | io.IOBase, *, max_inflated_bytes: int = FORM_MAX_INFLATED_BYTES,
                       max_rows: int = FORM_MAX_ROWS, max_columns: int = FORM_MAX_COLUMNS,
                       field: str | None = "file") -> frozenset[str]:
    """Refuse (DomainError naming `field`) an xlsx whose parts inflate to more than `max_inflated_bytes`, or whose
    sheets declare (dimension) or hold a cell beyond `max_rows` rows or `max_columns` columns. Call it where the
    workbook is opened, before reading it (bytes, a path or a binary file). Returns what the pass over the sheets
    learnt on the way: the names of the sheet parts with no formula in them (a reader looking for formulas without
    a saved value need not inflate those again).

    The sizes an archive declares are not trusted: every part is inflated here, in chunks, counting what comes
    out, and stops at the limit (memory stays at a chunk). A file that is not a zip at all passes: the reader
    reports it in its own words."""
    if isinstance(source, bytes):
        fh = io.BytesIO(source)
    elif isinstance(source, io.IOBase):
        fh = source
    else:
        fh = open(source, "rb")  # noqa: SIM115 - closed below
    try:
        try:
            members = zipfile.ZipFile(fh).infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
            return frozenset()
        limit_mb = max_inflated_bytes // (1024 * 1024)
        too_big = DomainError(_("文件解压后超过 %(mb)s MB（可能是“压缩炸弹”或含有大量空白格式），未读取。"
                                "请只保留需要的数据，另存为新的 xlsx 文件后重新上传。", mb=limit_mb), field)
        if sum(m.file_size for m in members) > max_inflated_bytes:
            raise too_big
        scan = _SheetExtent(max_rows, max_columns)
        inflated = 0
        without_formulas = set()
        for member in members:
            is_sheet = member.filename.startswith("xl/worksheets/") and member.filename.endswith(".xml")
            scan.formula = False
            inflated = _inflate(fh, member, inflated, max_inflated_bytes, too_big, scan if is_sheet else None)
            if is_sheet and not scan.formula:
                without_formulas.add(member.filename)
            if scan.rows > max_rows:
                raise DomainError(_("工作表用到了第 %(rows)s 行（含空白的格式），超过可导入的 %(max)s 行，未读取。"
                                    "请删除多余的行后重新上传。", rows=f"{scan.rows:,}", max=f"{max_rows:,}"), field)
            if scan.columns > max_columns:
                raise DomainError(_("工作表用到了第 %(columns)s 列（含空白的格式），超过可导入的 %(max)s 列，未读取。"
                                    "请删除多余的列后重新上传。", columns=f"{scan.columns:,}", max=max_columns), field)
        return frozenset(without_formulas)
    finally:
        if not isinstance(source, io.IOBase):
            fh.close()


def _inflate(fh, member: zipfile.ZipInfo, inflated: int, limit: int, too_big: DomainError, scan) -> int:
    """`inflated` plus the bytes `member` really inflates to (its compressed bytes as a reader finds them through
    the local header, whatever sizes the archive declares); `too_big` past `limit`."""
    fh.seek(member.header_offset)
    header = fh.read(30)
    if len(header) < 30 or header[:4] != b"PK\x03\x04":
        return inflated  # damaged: the reader refuses it
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    fh.seek(member.header_offset + 30 + name_length + extra_length)
    if member.compress_type == zipfile.ZIP_STORED:
        decompressor = None
    elif member.compress_type == zipfile.ZIP_DEFLATED:
        decompressor = zlib.decompressobj(-15)
    else:
        return inflated  # a method xlsx readers do not support: they refuse the file
    left = member.compress_size
    while left > 0:
        chunk = fh.read(min(left, _INFLATE_CHUNK))
        if not chunk:
            break
        left -= len(chunk)
        while chunk:
            if decompressor is None:
                out, chunk = chunk, b""
            else:
                try:
                    out = decompressor.decompress(chunk, _INFLATE_CHUNK)
                except zlib.error:
                    return inflated  # damaged: the reader refuses it
                chunk = decompressor.unconsumed_tail
            inflated += len(out)
            if inflated > limit:
                raise too_big
            if scan is not None:
                scan.feed(out)
            if decompressor is not None and decompressor.eof:
                return inflated
    return inflated


# a formula cell's tag, <f…> or <x:f…>
FORMULA_TAG = re.compile(rb"<(?:\w+:)?f[ >/]")
# what opens a <dimension> element just before its name: "<", or "<" and a namespace prefix
_DIMENSION_OPENS = re.compile(rb"<(?:\w+:)?\Z")


class _SheetExtent:
    """The largest row and column a sheet's XML declares (<dimension ref="A1:K100">) or uses (r="XFD1048576").

    Only references that may be out of bounds are looked at (a column of as many letters as the last allowed
    one, a row of as many digits), so a list of a million ordinary rows is scanned quickly. Each pattern begins
    with a literal (`r="`, `dimension`), which the regular-expression engine finds by a fast search instead of
    trying an alternation at every byte (0.74 s → 0.17 s for a 100,000-row sheet of 50 MB); what must come before
    it (a space before `r`, `<` or `<prefix:` before `dimension`) is then checked on the rare match."""

    def __init__(self, max_rows: int, max_columns: int) -> None:
        letters = len(get_column_letter(max_columns))
        digits = len(str(max_rows))
        reference = rb'="(?:[A-Z]{1,3}\d+:)?(?:([A-Z]{%d,3})(\d+)|([A-Z]{0,3})(\d{%d,}))"' % (letters, digits)
        self.cell = re.compile(rb"r" + reference)
        self.dimension = re.compile(rb"dimension\s+ref" + reference)
        self.rows = 0
        self.columns = 0
        self.formula = False  # whether a formula tag was seen (since the caller last set it False)
        self._tail = b""

    def feed(self, data: bytes) -> None:
        text = self._tail + data
        self._tail = data[-64:]  # a reference cut in two by the chunk boundary is seen whole next time
        # the byte searches spare the regular expression on a sheet of values
        if not self.formula and (b"<f" in text or b":f" in text) and FORMULA_TAG.search(text):
            self.formula = True
        matches = [m for m in self.cell.finditer(text) if m.start() > 0 and text[m.start() - 1:m.start()].isspace()]
        matches += [m for m in self.dimension.finditer(text)
                    if _DIMENSION_OPENS.search(text, max(0, m.start() - 256), m.start())]
        for match in matches:
            letters = match.group(1) or match.group(3)
            number = match.group(2) or match.group(4)
            if letters:
                self.columns = max(self.columns, column_index_from_string(letters.decode()))
            self.rows = max(self.rows, int(number))
