"""Per-farmer list files (承保清单, 理赔清单): one importer, a schema per list kind.

What every list kind shares lives here; a list module states its columns (`ListSchema`), checks a row's
meaning in a `RowValidator` subclass and says where the rows go (`CopyWriter` / `BatchWriter`). Every problem
becomes a `CellError(row, column, message)` with the row number the user sees in the file; a file with any error is
stored nowhere. The breakage real spreadsheets bring gets a clear message rather than a silent wrong import:
- the data sheet is found by its header, wherever it is (an instructions sheet in front of it, a title row above
  the header, a two-row header whose upper cells are merged over the lower ones);
- a formula whose result was never saved (a file written by a program and never opened in Excel/WPS) is named as
  such, not read as an empty cell;
- ID numbers a spreadsheet turned into numbers (3.61128E+17: the last digits are lost) are refused;
- full-width characters (１２３, ＡＢＣ) and stray spaces are normalised (NFKC, strip) and counted;
- thousand separators in amounts (1,234.50) are accepted only in the standard grouping;
- a unit inside a number cell (12.5亩) is refused;
- control characters inside a text cell (a line break, tab or vertical tab pasted from Word) are refused.
"""

from __future__ import annotations

import codecs
import csv
import gc
import multiprocessing
import os
import pickle
import queue
import re
import signal
import threading
import traceback
import unicodedata
import zipfile
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from itertools import islice
from pathlib import Path, PurePosixPath
from typing import TypeVar
from xml.etree import ElementTree

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from agri_insurance.errors import DomainError
from agri_insurance.extensions import db
from agri_insurance.masking import mask_id
from agri_insurance.reference.codes import is_valid_credit_code, is_valid_id_number
from agri_insurance.spreadsheets import (
    CONTROL_CHARACTERS,
    CONTROL_CHARACTERS_REFUSED,
    FORMULA_TAG,
    check_xlsx_archive,
    parse_number,
)

MAX_REPORTED_ERRORS = 100_000
T = TypeVar("T")
HEADER_SEARCH_ROWS = 20      # how far down a sheet its header may start (title rows, notes above it)
ROW_AMOUNT_LIMIT = Decimal("1e12")  # Numeric(14, 2): the smallest of a row's money and quantity columns
CENT = Decimal("0.01")

PLAIN_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_SCIENTIFIC = re.compile(r"\d(?:\.\d+)?[eE][+-]?\d+")
_UNIT_SUFFIX = re.compile(r"[\d.,]+\s*[^\d.,\s]+$")
BANK_ACCOUNT = re.compile(r"\d{12,30}")
_LONG_NUMBER = re.compile(r"\d{12,}[\dXx]*")
_DATE_TEXT = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:\s+[\d:]+)?")
_DATE_DIGITS = re.compile(r"(\d{4})(\d{2})(\d{2})")


@dataclass(frozen=True)
class CellError:
    row: int        # 1-based row number in the file, as the user sees it
    column: str     # header text
    message: str


@dataclass
class Findings:
    errors: list[CellError] = field(default_factory=list)
    error_count: int = 0
    normalised_cells: int = 0  # full-width characters or stray spaces fixed

    def add(self, row: int, column: str, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(CellError(row, column, message))

    def absorb(self, later: Findings) -> None:
        """Add the findings of a later part of the file (a block read apart, `in_blocks`)."""
        self.error_count += later.error_count
        self.normalised_cells += later.normalised_cells
        self.errors.extend(later.errors[:MAX_REPORTED_ERRORS - len(self.errors)])


@dataclass(frozen=True)
class ListSchema:
    """The columns of a list kind in template order, with the exact header text of the template; `required` are
    the columns a file must have (a column the template has, removed from the file, is an error)."""

    columns: tuple[tuple[str, str], ...]
    required: tuple[str, ...]

    def header_text(self, key: str) -> str:
        return dict(self.columns)[key]

    @property
    def header_to_key(self) -> dict[str, str]:
        # Headers are compared after the same NFKC normalisation as cells (（元） and (元) are the same header).
        return {unicodedata.normalize("NFKC", header): key for key, header in self.columns}


class FormulaWithoutValue:
    """A cell holding a formula whose result the file does not contain (what the reader puts in its place)."""

    __slots__ = ("formula",)

    def __init__(self, formula: str) -> None:
        self.formula = formula

    def __repr__(self) -> str:
        return f"FormulaWithoutValue({self.formula!r})"


def text(value) -> str:
    """A cell as stripped NFKC text ('' for an empty cell)."""
    if value is None:
        return ""
    if type(value) is str:
        stripped = value.strip()
        # is_normalized is much cheaper than normalize for the common case of clean Chinese text.
        if not stripped.isascii() and not unicodedata.is_normalized("NFKC", stripped):
            stripped = unicodedata.normalize("NFKC", stripped).strip()
        return stripped
    if isinstance(value, FormulaWithoutValue):
        return ""
    return str(value)


def quoted(cell_text: str) -> str:
    """A cell's text for an error message: an ID number or bank account that landed in another column (columns
    shifted) is masked, since the message is shown and stored where the list itself would be masked."""
    return _LONG_NUMBER.sub(lambda m: mask_id(m.group(0)), cell_text)


def map_header(schema: ListSchema, cells: list, findings: Findings, header_row: int = 1) -> dict[str, int] | None:
    """Column index per key from the header row; errors name the missing or unknown headers."""
    positions: dict[str, int] = {}
    to_key = schema.header_to_key
    for index, cell in enumerate(cells):
        header = text(cell)
        if not header:
            continue
        key = to_key.get(header)
        if key is None:
            findings.add(header_row, header, _("未知的列名“%(name)s”，请使用下载的模板", name=header))
        elif key in positions:
            findings.add(header_row, header, _("列“%(name)s”重复", name=header))
        else:
            positions[key] = index
    for key in schema.required:
        if key not in positions:
            findings.add(header_row, schema.header_text(key), _("缺少列“%(name)s”", name=schema.header_text(key)))
    return positions if findings.error_count == 0 else None


# --- checking a row's cells ---------------------------------------------------------------------------------

class RowValidator:
    """The checks every list kind shares, each reporting to `findings` under the schema's header text; a list
    module subclasses it and writes `check(row, cells)` returning its valid row or None."""

    def __init__(self, schema: ListSchema, positions: dict[str, int], findings: Findings) -> None:
        self.schema = schema
        self.positions = positions
        self.findings = findings
        self.width = max(positions.values()) + 1

    def header_text(self, key: str) -> str:
        return self.schema.header_text(key)

    def validate(self, row: int, cells: list):
        if len(cells) < self.width:
            cells = list(cells) + [None] * (self.width - len(cells))
        return self.check(row, cells)

    def check(self, row: int, cells: list):  # pragma: no cover - every list kind writes its own
        raise NotImplementedError

    def formulas_without_values(self, row: int, cells: list) -> bool:
        """Report the row's formulas whose result the file lacks; True when there was one (the row's other checks
        would only repeat "empty")."""
        found = False
        for key, index in self.positions.items():
            cell = cells[index]
            if isinstance(cell, FormulaWithoutValue):
                found = True
                self.findings.add(row, self.header_text(key), _(
                    "单元格是公式“=%(f)s”，但文件中没有保存它的计算结果（文件可能由程序生成、未用 Excel 或 WPS 打开保存过）。"
                    "请在 Excel 或 WPS 中打开并保存后再上传，或把公式改为数值", f=quoted(cell.formula[:60])))
        return found

    def cell(self, cells: list, key: str):
        index = self.positions.get(key)
        return None if index is None else cells[index]

    def string(self, cells, key: str, row: int, required: bool = True, max_length: int = 50) -> str | None:
        raw = self.cell(cells, key)
        value = text(raw)
        if isinstance(raw, str) and value != raw:
            self.findings.normalised_cells += 1
        if not value:
            if required:
                self.findings.add(row, self.header_text(key), _("不能为空"))
            return None
        if len(value) > max_length:
            self.findings.add(row, self.header_text(key), _("超过%(n)s个字符", n=max_length))
            return None
        if CONTROL_CHARACTERS.search(value):
            self.findings.add(row, self.header_text(key), str(CONTROL_CHARACTERS_REFUSED))
            return None
        return value

    def amount(self, cells, key: str, row: int, positive: bool, required: bool = True,
               unit_hint: bool = True) -> Decimal | None:
        raw = self.cell(cells, key)
        column = self.header_text(key)
        if raw is None or raw == "":
            if required:
                self.findings.add(row, column, _("不能为空"))
            return None
        if isinstance(raw, bool):
            self.findings.add(row, column, _("应为数字"))
            return None
        if type(raw) is float:
            cents = round(raw * 100)
            # A number typed with at most two decimals comes back from the sheet within float noise of it.
            value = Decimal(cents).scaleb(-2) if abs(raw * 100 - cents) < 1e-6 else Decimal(repr(raw))
        elif isinstance(raw, int):
            value = Decimal(raw)
        else:
            cell_text = text(raw)
            if cell_text != raw:
                self.findings.normalised_cells += 1
            parsed = parse_number(cell_text)   # the one number parser of every import (spreadsheets)
            if parsed is not None:
                value = parsed
            elif _UNIT_SUFFIX.fullmatch(cell_text):
                self.findings.add(row, column, _("“%(text)s”含有单位，请只填数字，单位填在“单位”列", text=quoted(cell_text))
                                  if unit_hint else _("“%(text)s”含有单位，请只填数字", text=quoted(cell_text)))
                return None
            else:
                self.findings.add(row, column, _("“%(text)s”不是数字", text=quoted(cell_text)))
                return None
        try:
            rounded = value.quantize(CENT)
        except InvalidOperation:
            self.findings.add(row, column, _("数值过大"))
            return None
        if value != rounded:
            self.findings.add(row, column, _("最多两位小数"))
            return None
        if rounded >= ROW_AMOUNT_LIMIT:  # the row's columns hold 12 digits before the point
            self.findings.add(row, column, _("数值过大"))
            return None
        if value < 0 or (positive and value == 0):
            self.findings.add(row, column, _("必须大于0") if positive else _("不能为负数"))
            return None
        return rounded

    def id_number(self, cells, row: int, key: str = "id_number") -> tuple[str, str] | None:
        """(kind, number): P a resident ID (GB 11643 check character and birth date), O a credit code."""
        raw = self.cell(cells, key)
        column = self.header_text(key)
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            self.findings.add(row, column, _("证件号码被表格软件存成了数字（末几位可能已丢失），请把该列设为“文本”后重新填写"))
            return None
        value = text(raw)
        if value != raw and isinstance(raw, str):
            self.findings.normalised_cells += 1
        if not value:
            self.findings.add(row, column, _("不能为空"))
            return None
        if _SCIENTIFIC.fullmatch(value):
            self.findings.add(row, column, _("证件号码被表格软件存成了数字（末几位可能已丢失），请把该列设为“文本”后重新填写"))
            return None
        value = value.replace(" ", "").upper()
        if len(value) != 18:
            self.findings.add(row, column, _("证件号码应为18位，实为%(n)s位", n=len(value)))
            return None
        if value[:17].isdigit():
            if is_valid_id_number(value):
                return "P", value
            self.findings.add(row, column, _("身份证号码“%(id)s”校验位或出生日期不正确", id=mask_id(value)))
            return None
        if is_valid_credit_code(value):
            return "O", value
        self.findings.add(row, column, _("统一社会信用代码“%(id)s”校验位不正确", id=mask_id(value)))
        return None

    def bank_account(self, cells, row: int, key: str = "bank_account") -> str | None:
        if key not in self.positions:
            return None
        raw = self.cell(cells, key)
        if isinstance(raw, float):
            self.findings.add(row, self.header_text(key), _("银行账号被存成了数字，请把该列设为“文本”"))
            return None
        bank = text(raw).replace(" ", "") or None
        if bank is not None and not BANK_ACCOUNT.fullmatch(bank):
            self.findings.add(row, self.header_text(key), _("银行账号应为12至30位数字"))
            return None
        return bank

    def date(self, cells, key: str, row: int, required: bool = True) -> date | None:
        """A date cell (a spreadsheet date, or text such as 2025-07-01, 2025/7/1, 2025年7月1日, 20250701)."""
        raw = self.cell(cells, key)
        column = self.header_text(key)
        if isinstance(raw, datetime):
            return raw.date()
        if isinstance(raw, date):
            return raw
        if raw is None or raw == "":
            if required:
                self.findings.add(row, column, _("不能为空"))
            return None
        value = text(raw)
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            value = str(int(raw)) if float(raw).is_integer() else value
        match = _DATE_TEXT.fullmatch(value) or _DATE_DIGITS.fullmatch(value)
        if match:
            try:
                return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
            except ValueError:
                pass
        self.findings.add(row, column, _("“%(text)s”不是日期，请填写如 2025-07-01", text=quoted(value)))
        return None


# --- reading a file ---------------------------------------------------------------------------------------

@dataclass
class ListRows:
    """The data of a list file: where its header is and its data rows with the numbers the user sees."""

    header_row: int
    header: list
    rows: Iterator[tuple[int, list]]
    # an xlsx sheet is held whole in memory (calamine): forked processes can each read it (`in_blocks`); a csv
    # file is read from a file handle that processes would share, so it is read by one
    in_memory: bool = False
    size_hint: int | None = None  # the sheet's row count, when known before reading


def open_list(path: Path, filename: str, schema: ListSchema, _formula_free: frozenset[str] | None = None) -> ListRows:
    """The list's header and rows: of a csv file (UTF-8 or GBK), or of the xlsx sheet that holds its header (the
    first sheet whose first rows hold most of the schema's required headers; without one, the first sheet's first
    row, so the header's errors are reported there). DomainError (naming the field "file") for an empty or
    unreadable file."""
    try:
        found = _open(path, filename, schema, _formula_free)
    except DomainError:
        raise
    except Exception as e:  # a damaged or mislabelled file
        raise _unreadable() from e
    if found is None:
        raise DomainError(_("文件是空的"), "file")
    return found


def open_list_meanwhile(path: Path, filename: str, schema: ListSchema, work: Callable[[], T]) -> tuple[ListRows, T]:
    """`open_list`, and `work`'s result: `work` (say, a database query on this thread's session) runs here while an
    xlsx file is checked (its archive: `_check_archive`) and then opened in a thread. Both let go of the GIL for
    most of their time (inflating is zlib's; calamine reads the sheet in Rust without it), as does the wait for
    the database, so the three overlap. The file is refused as `open_list` refuses it, after `work` has run."""
    if Path(filename).suffix.lower() != ".xlsx":
        result = work()
        return open_list(path, filename, schema), result
    opened: list[ListRows] = []
    problem: list[BaseException] = []

    def check_and_open() -> None:
        try:
            opened.append(open_list(path, filename, schema, _formula_free=_check_archive(path)))
        except BaseException as e:  # noqa: BLE001 - raised on the caller's thread below
            problem.append(e)

    opening = threading.Thread(target=check_and_open, name="list-open", daemon=True)
    opening.start()
    try:
        result = work()
    finally:
        opening.join()
    if problem:
        if isinstance(problem[0], DomainError):
            raise problem[0]
        raise _unreadable() from problem[0]
    return opened[0], result


def _unreadable() -> DomainError:
    return DomainError(_("无法读取文件：文件已损坏，或不是 xlsx/csv 文件。请用模板填写后另存为 xlsx 再上传。"), "file")


# What a list file may inflate to: a million rows as openpyxl writes them (inline strings) is about 600 MB of
# sheet XML, and calamine holds the whole sheet (about 1 GB for a million rows, docs/benchmarks.md); checked
# before calamine opens the file, so a zip bomb is refused in words instead of exhausting the worker.
LIST_MAX_INFLATED_BYTES = 800 * 1024 * 1024
LIST_MAX_ROWS = 1_048_576  # a sheet's own limit
LIST_MAX_COLUMNS = 50      # the templates have about a dozen


def _check_archive(path: Path) -> frozenset[str]:
    """Refuses a zip bomb or a sheet past the limits; the sheet parts with no formula in them."""
    return check_xlsx_archive(path, max_inflated_bytes=LIST_MAX_INFLATED_BYTES, max_rows=LIST_MAX_ROWS,
                       max_columns=LIST_MAX_COLUMNS)


def _open(path: Path, filename: str, schema: ListSchema, formula_free: frozenset[str] | None = None) -> ListRows | None:
    suffix = Path(filename).suffix.lower()
    if suffix == ".csv":
        fh = path.open(encoding=_csv_encoding(path), newline="")
        try:
            found = _find_header(csv.reader(fh), schema, None, on_close=fh.close)
        except BaseException:
            fh.close()
            raise
        if found is None:  # an empty file: nothing will read (and so close) it
            fh.close()
        return found
    if suffix != ".xlsx":
        raise ValueError(suffix)
    from python_calamine import CalamineWorkbook

    if formula_free is None:
        formula_free = _check_archive(path)
    workbook = CalamineWorkbook.from_path(str(path))
    first = None
    for index in range(len(workbook.sheet_names)):
        sheet = workbook.get_sheet_by_index(index)
        raw = sheet.iter_rows()
        rows = ([None if cell == "" else cell for cell in row] for row in raw)
        found = _find_header(rows, schema, (path, index, formula_free), strict=True, raw=raw)
        if found is not None:
            found.in_memory, found.size_hint = True, sheet.total_height
            return found
        if first is None:
            first = index
    if first is None:
        return None
    sheet = workbook.get_sheet_by_index(first)
    raw = sheet.iter_rows()
    rows = ([None if cell == "" else cell for cell in row] for row in raw)
    found = _find_header(rows, schema, (path, first, formula_free), raw=raw)
    if found is not None:
        found.in_memory, found.size_hint = True, sheet.total_height
    return found


def _find_header(rows: Iterator[list], schema: ListSchema, xlsx: tuple[Path, int, frozenset[str]] | None,
                 strict: bool = False, on_close: Callable[[], None] | None = None,
                 raw: Iterator | None = None) -> ListRows | None:
    """The header among the first rows: the row (merged with the one above it, for a two-row header whose upper
    cells are merged over the lower ones) naming the most known columns. Not strict: the first non-empty row.
    `raw`: the iterator `rows` makes its rows from, one for one (calamine's), which `DataRows.skip` advances."""
    to_key = schema.header_to_key
    head: list[list] = []
    best, best_score = None, 0
    for row in rows:
        head.append(list(row))
        if len(head) >= HEADER_SEARCH_ROWS:
            break
    if not any(any(c not in (None, "") for c in row) for row in head):
        return None
    for index, row in enumerate(head):
        merged = _merge_header_rows(head[index - 1] if index else [], row, to_key)
        score = sum(1 for cell in merged if text(cell) in to_key and to_key[text(cell)] in schema.required)
        if score > best_score:
            best, best_score = (index, merged), score
    needed = max(2, (len(schema.required) + 1) // 2)
    if best is None or best_score < needed:
        if strict:
            return None
        index = next(i for i, row in enumerate(head) if any(c not in (None, "") for c in row))
        best = (index, head[index])
    index, header = best
    formulas = _formulas_without_values(*xlsx) if xlsx is not None else {}
    return ListRows(index + 1, header, DataRows(head[index + 1:], rows, index + 2, formulas, on_close, raw))


def _merge_header_rows(upper: list, lower: list, to_key: dict) -> list:
    """The lower row's headers, each empty or unknown one replaced by the known header above it (a cell merged
    down over both rows keeps its text in the upper one)."""
    merged = list(lower)
    for i, cell in enumerate(upper):
        above = text(cell)
        if above in to_key and (i >= len(merged) or text(merged[i]) not in to_key):
            if i >= len(merged):
                merged.extend([None] * (i + 1 - len(merged)))
            merged[i] = cell
    return merged


class DataRows:
    """The data rows of a list, each (row number, cells) with its formula cells without a saved value marked
    (`FormulaWithoutValue`); `on_close` runs when they are all read or `close` is called. `skip(n)` passes over n
    rows without making them: a reading process passes over the other processes' blocks (`in_blocks`), calamine's
    iterator advanced in C instead of each row's cells turned into a list for nothing (a tenth of a reading
    process's time)."""

    def __init__(self, buffered: list[list], rest: Iterator[list], first_row: int, formulas: dict,
                 on_close: Callable[[], None] | None, raw: Iterator | None = None) -> None:
        self.buffered = buffered
        self.taken = 0  # of the buffered rows
        self.rest = rest
        self.raw = raw
        self.row_no = first_row
        self.by_row: dict[int, list[tuple[int, str]]] = {}
        for (r, c), formula in formulas.items():
            self.by_row.setdefault(r, []).append((c, formula))
        self.on_close = on_close

    def __iter__(self) -> DataRows:
        return self

    def __next__(self) -> tuple[int, list]:
        if self.taken < len(self.buffered):
            cells = self.buffered[self.taken]
            self.taken += 1
        else:
            try:
                cells = next(self.rest)
            except StopIteration:
                self.close()
                raise
        row_no = self.row_no
        self.row_no += 1
        in_row = self.by_row.get(row_no) if self.by_row else None
        if in_row:
            cells = list(cells)
            for c, formula in in_row:
                if c >= len(cells):
                    cells.extend([None] * (c + 1 - len(cells)))
                if cells[c] in (None, ""):
                    cells[c] = FormulaWithoutValue(formula)
        return row_no, cells

    def skip(self, n: int) -> None:
        """Pass over the next `n` rows (fewer at the end)."""
        self.row_no += n
        from_buffer = min(n, len(self.buffered) - self.taken)
        self.taken += from_buffer
        deque(islice(self.raw if self.raw is not None else self.rest, n - from_buffer), maxlen=0)

    def close(self) -> None:
        on_close, self.on_close = self.on_close, None
        if on_close is not None:
            on_close()


_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_CELL_REF = re.compile(r"([A-Z]+)(\d+)")


def _formulas_without_values(path: Path, sheet_index: int,
                             formula_free: frozenset[str] = frozenset()) -> dict[tuple[int, int], str]:
    """{(row, column index): formula} of the sheet's formula cells that carry no saved result. A sheet the archive
    check found without a formula (`formula_free`, its part's name) is not read again; another is first scanned
    as bytes for a formula at all, so a sheet of plain values costs one quick pass."""
    with zipfile.ZipFile(path) as archive:
        member = _sheet_member(archive, sheet_index)
        if member is None or member in formula_free:
            return {}
        with archive.open(member) as fh:
            tail = b""
            while chunk := fh.read(1 << 20):
                text = tail + chunk
                # a formula tag is <f…> or <x:f…>: the byte searches skip the regular expression on a sheet of values
                if (b"<f" in text or b":f" in text) and FORMULA_TAG.search(text):
                    break
                tail = chunk[-16:]
            else:
                return {}
        found: dict[tuple[int, int], str] = {}
        with archive.open(member) as fh:
            for _event, element in ElementTree.iterparse(fh):
                if element.tag != f"{_MAIN}c":
                    continue
                formula = element.find(f"{_MAIN}f")
                value = element.find(f"{_MAIN}v")
                if formula is not None and (value is None or not (value.text or "")):
                    match = _CELL_REF.fullmatch(element.get("r", ""))
                    if match:
                        found[(int(match.group(2)), _column_index(match.group(1)))] = formula.text or ""
                element.clear()
        return found


def _column_index(letters: str) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - 64
    return index - 1


def _sheet_member(archive: zipfile.ZipFile, sheet_index: int) -> str | None:
    workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    sheets = workbook.findall(f"{_MAIN}sheets/{_MAIN}sheet")
    if sheet_index >= len(sheets):
        return None
    rel_id = sheets[sheet_index].get(f"{_REL}id")
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    for rel in rels:
        if rel.get("Id") == rel_id:
            target = rel.get("Target", "")
            return target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)
    return None


def iter_rows(path: Path, filename: str) -> Iterator[list]:
    """Rows of the first sheet (xlsx, via calamine) or of a UTF-8/GBK csv file, header first (no header search)."""
    suffix = Path(filename).suffix.lower()
    if suffix == ".xlsx":
        from python_calamine import CalamineWorkbook

        _check_archive(path)
        workbook = CalamineWorkbook.from_path(str(path))
        sheet = workbook.get_sheet_by_index(0)
        for row in sheet.iter_rows():
            yield [None if cell == "" else cell for cell in row]
    elif suffix == ".csv":
        with path.open(encoding=_csv_encoding(path), newline="") as fh:
            yield from csv.reader(fh)
    else:
        raise ValueError(suffix)


def _csv_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM) when the whole file decodes as such, else GB18030 (what WPS/Excel save)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as fh:
        try:
            while chunk := fh.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "gb18030"
    return "utf-8-sig"


# --- reading in blocks, in parallel -------------------------------------------------------------------------

BLOCK_ROWS = 5000


def is_blank(cells: list) -> bool:
    """A row with nothing in it (the blank lines at the end of a sheet or a csv file): not a row of the list. A row
    whose first cell is filled is not, known without looking at the others (most rows, at once)."""
    return (not cells or cells[0] is None or cells[0] == "") and not any(c not in (None, "") for c in cells)


def blocks(rows: Iterator[tuple[int, list]], size: int | None = None) -> Iterator[list[tuple[int, list]]]:
    size = size or BLOCK_ROWS
    block: list[tuple[int, list]] = []
    for item in rows:
        block.append(item)
        if len(block) >= size:
            yield block
            block = []
    if block:
        yield block


def reading_processes(found: ListRows) -> int:
    """How many processes read the list: LIST_IMPORT_PROCESSES (default: the machine's cores, at most 4) for a
    sheet held in memory of at least LIST_IMPORT_PARALLEL_ROWS rows; one otherwise (a small file is read before
    two processes would have started, and a csv file is read from one file handle)."""
    config = current_app.config
    processes = config.get("LIST_IMPORT_PROCESSES") or min(os.cpu_count() or 1, 4)
    at_least = config.get("LIST_IMPORT_PARALLEL_ROWS", 20_000)
    if (not found.in_memory or (found.size_hint or 0) < at_least
            or "fork" not in multiprocessing.get_all_start_methods()):
        return 1
    return processes


def in_blocks(found: ListRows, work: Callable[[list[tuple[int, list]]], T], processes: int = 1) -> Blocks:
    """`work(block)` of each block of `BLOCK_ROWS` data rows of the list, the results in the file's order (iterate
    the returned `Blocks`; `close` it in a `finally`).

    With `processes` > 1 the blocks are worked in that many forked processes, round robin (block i in process
    i mod n), each reading the whole sheet (calamine's, shared with this process page by page) and working its own
    blocks: checking and sealing a row is Python on one core, and the cores of the machine each take a share. The
    processes start here, before this returns: whatever the caller starts afterwards (a thread sending COPY) is
    not in them. `work` must not touch the database, and returns something picklable (its result crosses a pipe).
    A block's result is taken from its process only when it is next in order, so a process that runs ahead waits
    on its pipe instead of piling results up here. A process that fails or dies raises RuntimeError while
    iterating; `close` ends the processes that are still running (the caller stopped early: an error, a COPY
    that failed)."""
    if processes <= 1:
        return Blocks((work(block) for block in blocks(found.rows)), [], [])
    context = multiprocessing.get_context("fork")
    pipes, children = [], []
    # The objects of this process stay out of the children's garbage collections: a cycle freed there could hold a
    # database connection, whose end would be sent to the server on this process's behalf. Their pages stay shared.
    gc.freeze()
    # SIGTERM held back around the forks: a child must not be ended by its parent's handler (a gunicorn worker's
    # carries on) in the moment before it installs its own; it lets the signal through once it has
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    try:
        for k in range(processes):
            receiving, sending = context.Pipe(duplex=False)
            child = context.Process(target=_work_blocks, args=(found.rows, work, k, processes, sending),
                                    name=f"list-reader-{k}", daemon=True)
            child.start()
            sending.close()
            pipes.append(receiving)
            children.append(child)
    except BaseException:
        Blocks(iter(()), children, pipes).close()
        raise
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        gc.unfreeze()
    return Blocks(None, children, pipes)


class Blocks:
    """The results of `in_blocks`, in the file's order."""

    def __init__(self, results: Iterator | None, children: list, pipes: list) -> None:
        self.children = children
        self.pipes = pipes
        self.finished = False
        self.results = results if results is not None else self._received()

    def __iter__(self) -> Iterator:
        return self.results

    def _received(self) -> Iterator:
        index = 0
        while True:
            k = index % len(self.pipes)
            try:
                kind, payload = pickle.loads(self.pipes[k].recv_bytes())
            except EOFError:
                self.children[k].join(5)
                raise RuntimeError(f"list reading process {k} ended without finishing "
                                   f"(exit code {self.children[k].exitcode})") from None
            if kind == "failed":
                raise RuntimeError(f"list reading process {k} failed:\n{payload}")
            if kind == "end":  # the process of block `index` has no such block: there are `index` blocks
                self.finished = True
                return
            yield payload
            index += 1

    def close(self) -> None:
        """End the reading processes (at once, unless every block was received) and wait for them."""
        for child in self.children:
            if not self.finished and child.is_alive():
                child.terminate()
            child.join(5)
            if child.is_alive():  # pragma: no cover - a process that ignores SIGTERM
                child.kill()
                child.join()
        for pipe in self.pipes:
            pipe.close()
        self.children, self.pipes = [], []


def _work_blocks(rows: Iterator, work: Callable, k: int, processes: int, pipe) -> None:
    """A reading process: every block numbered k mod `processes`, its result sent down the pipe; then "end"."""
    # the handlers of the process it was forked from (a gunicorn worker's SIGTERM sets a flag and carries on) are not
    # its own: ended by `Blocks.close`, it ends
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})   # held back by in_blocks around the fork
    try:
        size = BLOCK_ROWS
        if not isinstance(rows, DataRows):
            for index, block in enumerate(blocks(rows)):
                if index % processes == k:
                    pipe.send_bytes(pickle.dumps(("block", work(block)), protocol=pickle.HIGHEST_PROTOCOL))
        else:
            rows.skip(k * size)   # the blocks before this process's first
            while block := list(islice(rows, size)):
                pipe.send_bytes(pickle.dumps(("block", work(block)), protocol=pickle.HIGHEST_PROTOCOL))
                rows.skip((processes - 1) * size)   # the other processes' blocks
        pipe.send_bytes(pickle.dumps(("end", None)))
    except BaseException:  # noqa: BLE001 - the parent raises it
        pipe.send_bytes(pickle.dumps(("failed", traceback.format_exc())))
    finally:
        pipe.close()


# --- storing rows ---------------------------------------------------------------------------------------------

BATCH = 5000


class BatchWriter:
    """Portable: executemany in batches (SQLite and anything else); `add` takes a row as a dict of columns."""

    def __init__(self, table: sa.Table) -> None:
        self.table = table
        self.batch: list[dict] = []

    def add(self, values: dict) -> None:
        self.batch.append(values)
        if len(self.batch) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if self.batch:
            db.session.execute(sa.insert(self.table), self.batch)
            self.batch = []

    def close(self) -> None:
        self.flush()

    def abort(self) -> None:
        self.batch = []


COPY_PART_ROWS = 20_000  # rows per COPY statement (see CopyWriter)
_QUEUED_BATCHES = 8      # batches of lines waiting for the sending thread (a few MB)


class CopyWriter:
    """PostgreSQL: COPY … FROM STDIN on the session's own connection, so it shares its transaction; `add_line`
    takes a row as one line of COPY's text format (`copy_line` makes one from values).

    The lines go to the server from a thread, as one COPY statement per `COPY_PART_ROWS` rows: the server checks a
    statement's foreign keys when it ends (every row's list, insurer, product…), and one part's checks now run
    while the next part's lines are made (the thread waits on the server without the GIL) instead of all at the
    end (a tenth of a payout import's time, profiled). An error of the server's is raised by the next `add_line`
    or by `close`. Nothing else may use the session's connection between the writer's creation and its `close` or
    `abort` (the list imports read the file meanwhile; a job's progress goes through a connection of its own).

    `then` names a second table (and its columns) whose rows refer to the first's (a payout row's flags): lines
    given with `add_lines(…, then=True)` go in COPY statements of their own, after every line handed over before
    them, so their foreign keys find the rows; they are stored while the file is still read instead of after it."""

    def __init__(self, table_name: str, columns: tuple[str, ...], part_rows: int = COPY_PART_ROWS,
                 then: tuple[str, tuple[str, ...]] | None = None) -> None:
        connection = db.session.connection().connection.driver_connection
        self.cursor = connection.cursor()
        self.statements = [f"COPY {table} ({', '.join(names)}) FROM STDIN"
                           for table, names in ((table_name, columns), *((then,) if then else ()))]
        self.part_rows = part_rows
        self.lines: list[str] = []
        self.failure: BaseException | None = None
        self.batches: queue.Queue = queue.Queue(maxsize=_QUEUED_BATCHES)
        self.thread = threading.Thread(target=self._send_all, name="list-copy", daemon=True)
        self.thread.start()

    def add_line(self, line: str) -> None:
        self.lines.append(line)
        if len(self.lines) >= BATCH:
            self._hand_over()

    def add_lines(self, rows: int, text: str, then: bool = False) -> None:
        """`rows` lines of COPY text at once (a block made in a reading process, `in_blocks`), of the second
        table if `then`."""
        self._hand_over()
        if rows:
            self.batches.put((rows, text, 1 if then else 0))

    def _hand_over(self) -> None:
        if self.failure is not None:
            raise self.failure
        if self.lines:
            self.batches.put((len(self.lines), "".join(self.lines), 0))
            self.lines = []

    def _send_all(self) -> None:
        """The sending thread: each batch into the open COPY (one opened as needed), a COPY ended every
        `part_rows` rows; on a failure, the batches still handed over are dropped until the end is asked for."""
        copy_cm, in_part, table = None, 0, 0
        while True:
            item = self.batches.get()
            if item is _ABORT or item is _END:
                break
            if self.failure is not None:
                continue
            try:
                rows, data, into = item
                if copy_cm is not None and into != table:
                    ending, copy_cm, in_part = copy_cm, None, 0
                    ending.__exit__(None, None, None)  # the other table's lines follow those sent
                if copy_cm is None:
                    copy_cm, table = self.cursor.copy(self.statements[into]), into
                    copy = copy_cm.__enter__()
                copy.write(data)
                in_part += rows
                if in_part >= self.part_rows:
                    ending, copy_cm, in_part = copy_cm, None, 0
                    ending.__exit__(None, None, None)  # the server checks the part's foreign keys here
            except BaseException as e:  # noqa: BLE001 - raised on the caller's thread
                self.failure = e
                if copy_cm is not None:  # leave the connection usable: the caller rolls back
                    try:
                        copy_cm.__exit__(type(e), e, e.__traceback__)
                    except Exception:  # noqa: BLE001, S110 - the server reports the failed COPY
                        pass
                    copy_cm = None
        if copy_cm is None:
            return
        if item is _END and self.failure is None:
            try:
                copy_cm.__exit__(None, None, None)
            except BaseException as e:  # noqa: BLE001 - raised on the caller's thread
                self.failure = e
            return
        error = RuntimeError("list import aborted")  # end the COPY with a failure; the caller rolls back
        try:
            copy_cm.__exit__(RuntimeError, error, None)
        except Exception:  # noqa: BLE001, S110 - the server reports the aborted COPY; the rollback follows
            pass

    def close(self) -> None:
        try:
            self._hand_over()
        except BaseException:
            self.abort()
            raise
        self.batches.put(_END)
        self.thread.join()
        self.cursor.close()
        if self.failure is not None:
            raise self.failure

    def abort(self) -> None:
        """End the COPY with a failure; the caller then rolls the transaction back."""
        self.lines = []
        self.batches.put(_ABORT)
        self.thread.join()
        self.cursor.close()


_END, _ABORT = object(), object()


def copy_escape(value: str) -> str:
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return value


def copy_line(values) -> str:
    """One row in COPY's text format: None is \\N, text escaped, dates ISO."""
    return "\t".join("\\N" if v is None else copy_escape(v) if isinstance(v, str) else
                     v.isoformat() if isinstance(v, date) else str(v) for v in values) + "\n"


def uses_copy() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"
