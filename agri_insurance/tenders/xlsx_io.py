"""Reading filled-in xlsx templates: every bad cell is reported by sheet, row and column, nothing is saved
until the whole file is valid. Shared by the lot import (tenders) and the bid import (bids).

Sheet names and column headers of the templates are fixed Chinese text (the official forms); the error
messages are in the user's language.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from agri_insurance.db_types import MAX_MONEY
from agri_insurance.errors import DomainError
from agri_insurance.spreadsheets import (
    CONTROL_CHARACTERS,
    CONTROL_CHARACTERS_REFUSED,
    check_xlsx_archive,
    parse_number,
)

_FORMULA = re.compile(rb"<(?:\w+:)?f[ >/]")
YES = ("是", "yes", "y", "true", "1", "有")
NO = ("否", "no", "n", "false", "0", "无")


@dataclass(frozen=True)
class ImportIssue:
    sheet: str
    row: int | None
    column: str | None   # letter, e.g. "F"
    header: str | None
    message: str

    def __str__(self) -> str:
        if self.row is None and self.header:
            return _("工作表“%(sheet)s”：缺少列“%(header)s”：%(message)s", sheet=self.sheet, header=self.header,
                     message=self.message) if self.message else _(
                "工作表“%(sheet)s”：缺少列“%(header)s”", sheet=self.sheet, header=self.header)
        if self.row is None:
            return _("工作表“%(sheet)s”：%(message)s", sheet=self.sheet, message=self.message)
        return _("工作表“%(sheet)s”第%(row)s行%(col)s列（%(header)s）：%(message)s", sheet=self.sheet, row=self.row,
                 col=self.column, header=self.header, message=self.message)


@dataclass
class Issues:
    items: list[ImportIssue] = field(default_factory=list)

    def add(self, sheet: str, row: int | None, column: str | None, header: str | None, message: str) -> None:
        self.items.append(ImportIssue(sheet, row, column, header, message))

    def __bool__(self) -> bool:
        return bool(self.items)

    def messages(self) -> list[str]:
        return [str(i) for i in self.items]


class BadWorkbook(Exception):
    pass


def open_workbook(data: bytes):
    try:
        check_xlsx_archive(data)  # a zip bomb or a sheet a million rows long is refused before openpyxl reads it
    except DomainError as e:
        raise BadWorkbook(e.message) from e
    try:
        wb = load_workbook(io.BytesIO(data), data_only=True)
        # The formulas too (a second, small read: these are forms): a formula whose result was never saved (a file
        # written by a program, not opened in Excel/WPS) reads as blank, and must be said as such (read_table).
        wb.formulas = load_workbook(io.BytesIO(data)) if _has_formulas(data) else None
        return wb
    except Exception as e:  # openpyxl raises many types for a file that is not xlsx
        raise BadWorkbook(_("无法读取文件，请上传用模板填写的 xlsx 文件")) from e


def _has_formulas(data: bytes) -> bool:
    """Whether a cell of any worksheet holds a formula (<f>…</f>; the XML is small: check_xlsx_archive passed)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return any(_FORMULA.search(archive.read(name)) for name in archive.namelist()
                   if name.startswith("xl/worksheets/") and name.endswith(".xml"))


@dataclass
class Cell:
    sheet: str
    row: int
    column: str
    header: str
    value: Any
    formula: str | None = None  # a formula whose result the file does not hold (value is None)

    @property
    def blank(self) -> bool:
        return self.formula is None and (
            self.value is None or (isinstance(self.value, str) and not self.value.strip()))


@dataclass
class Row:
    number: int
    cells: dict[str, Cell]

    def __getitem__(self, header: str) -> Cell:
        return self.cells[header]

    @property
    def blank(self) -> bool:
        return all(c.blank for c in self.cells.values())


def read_table(wb, sheet: str, headers: list[str], issues: Issues, optional: tuple[str, ...] = ()) -> list[Row]:
    """The non-blank data rows of `sheet` (header in row 1, matched by text, in any order).

    A missing sheet or a missing required column is an issue and yields no rows."""
    if sheet not in wb.sheetnames:
        issues.add(sheet, None, None, None, _("缺少工作表“%(sheet)s”，请使用系统下载的模板", sheet=sheet))
        return []
    ws = wb[sheet]
    found: dict[str, int] = {}
    for col in range(1, (ws.max_column or 0) + 1):
        text = ws.cell(row=1, column=col).value
        if isinstance(text, str) and text.strip() in headers and text.strip() not in found:
            found[text.strip()] = col
    missing = [h for h in headers if h not in found and h not in optional]
    for header in missing:
        # a column deleted from the template would lose what it held without a word
        issues.add(sheet, None, None, header, _("请使用系统下载的模板，不要删除列"))
    if missing:
        return []
    formulas = wb.formulas[sheet] if getattr(wb, "formulas", None) is not None else None
    rows = []
    for r in range(2, (ws.max_row or 1) + 1):
        cells = {h: _cell(ws, formulas, sheet, r, c, h) for h, c in found.items()}
        row = Row(r, cells)
        if not row.blank:
            rows.append(row)
    return rows


def _cell(ws, formulas, sheet: str, row: int, column: int, header: str) -> Cell:
    value = ws.cell(row=row, column=column).value
    formula = None
    if value is None and formulas is not None:
        written = formulas.cell(row=row, column=column).value
        text = getattr(written, "text", written)  # an array formula keeps its text apart
        if isinstance(text, str) and text.startswith("="):
            formula = text
    return Cell(sheet, row, get_column_letter(column), header, value, formula)


# --- cell converters: return the value, or None after recording an issue ------------------------------

def _formula_without_value(cell: Cell, issues: Issues) -> bool:
    """Refuse a formula whose result the file does not hold (read as blank it would be stored empty, or as 0)."""
    if cell.formula is None:
        return False
    _issue(issues, cell, _("单元格是公式“%(formula)s”，但文件中没有保存它的计算结果（文件由程序生成，未在 Excel 或 WPS "
                           "中打开保存过）。请在 Excel 或 WPS 中打开文件、保存后重新上传，或把公式换成数值。",
                           formula=cell.formula[:60]))
    return True


def _issue(issues: Issues, cell: Cell, message: str) -> None:
    issues.add(cell.sheet, cell.row, cell.column, cell.header, message)


def text(cell: Cell, issues: Issues, required: bool = False, max_length: int = 200,
         multiline: bool = False) -> str | None:
    """The cell as trimmed text. Control characters (a vertical tab or line break pasted from Word) are refused,
    except line breaks in a ``multiline`` field; they would be stored and end up in every page and file."""
    if _formula_without_value(cell, issues):
        return None
    if cell.blank:
        if required:
            _issue(issues, cell, _("不能为空"))
        return None
    value = cell.value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    result = str(value).strip()
    if multiline:
        result = result.replace("\r\n", "\n").replace("\r", "\n")
    if CONTROL_CHARACTERS.search(result.replace("\n", "") if multiline else result):
        _issue(issues, cell, str(CONTROL_CHARACTERS_REFUSED))
        return None
    if len(result) > max_length:
        _issue(issues, cell, _("不能超过%(n)s个字", n=max_length))
        return None
    return result


def decimal(cell: Cell, issues: Issues, required: bool = False, minimum: Decimal | None = Decimal(0),
            maximum: Decimal | None = None, places: int = 2) -> Decimal | None:
    if _formula_without_value(cell, issues):
        return None
    if cell.blank:
        if required:
            _issue(issues, cell, _("不能为空"))
        return None
    value = cell.value
    if isinstance(value, bool) or isinstance(value, datetime | date):
        _issue(issues, cell, _("应为数字"))
        return None
    if isinstance(value, int | float | Decimal):
        # str() of a float is its shortest round-trip form: 0.1 stays 0.1, never 0.1000000000000000055…
        number = Decimal(str(value))
    else:
        number = parse_number(str(value))  # as every import reads a number typed as text (１２．５, 1,234.5)
    if number is None:
        _issue(issues, cell, _("应为数字，实际为“%(value)s”", value=str(value)[:40]))
        return None
    if not number.is_finite():
        _issue(issues, cell, _("应为数字"))
        return None
    if minimum is not None and number < minimum:
        _issue(issues, cell, _("不能小于%(min)s", min=minimum))
        return None
    if maximum is None:
        maximum = MAX_MONEY  # what a Money column holds; a larger number cannot be stored
    if number > maximum:
        _issue(issues, cell, _("不能大于%(max)s", max=maximum))
        return None
    if -number.as_tuple().exponent > places:
        _issue(issues, cell, _("最多%(n)s位小数", n=places))
        return None
    return number


def integer(cell: Cell, issues: Issues, required: bool = False, minimum: int = 0,
            maximum: int = 2_147_483_647) -> int | None:
    """A whole number (at most an INTEGER column's largest, unless a smaller `maximum` is given)."""
    number = decimal(cell, issues, required, Decimal(minimum), Decimal(maximum), places=0)
    return int(number) if number is not None else None


def day(cell: Cell, issues: Issues, required: bool = False) -> date | None:
    if _formula_without_value(cell, issues):
        return None
    if cell.blank:
        if required:
            _issue(issues, cell, _("不能为空"))
        return None
    value = cell.value
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip().replace("/", "-"))
    except ValueError:
        _issue(issues, cell, _("应为日期（如 2025-03-01），实际为“%(value)s”", value=str(value)[:40]))
        return None


def yes_no(cell: Cell, issues: Issues, required: bool = False) -> bool | None:
    if _formula_without_value(cell, issues):
        return None
    if cell.blank:
        if required:
            _issue(issues, cell, _("不能为空"))
        return None
    value = str(cell.value).strip().lower()
    if value in YES:
        return True
    if value in NO:
        return False
    _issue(issues, cell, _("应填“是”或“否”"))
    return None


def choice(cell: Cell, issues: Issues, options: dict[str, Any], required: bool = False) -> Any:
    """`options` maps accepted spellings (case-insensitive) to values."""
    if _formula_without_value(cell, issues):
        return None
    if cell.blank:
        if required:
            _issue(issues, cell, _("不能为空"))
        return None
    key = str(cell.value).strip().lower()
    lowered = {str(k).lower(): v for k, v in options.items()}
    if key not in lowered:
        _issue(issues, cell, _("“%(value)s”不是可选的值", value=str(cell.value)[:40]))
        return None
    return lowered[key]


def report_duplicate(cell: Cell, issues: Issues, message: str) -> None:
    _issue(issues, cell, message)


# --- writing templates ------------------------------------------------------------------------------

def list_validation(ws, options_ref: str, cell_range: str) -> None:
    """A drop-down (data validation) on `cell_range` taking its values from `options_ref`."""
    dv = DataValidation(type="list", formula1=options_ref, allow_blank=True, showErrorMessage=True)
    dv.error = "请从下拉列表中选择"
    dv.errorTitle = "输入无效"
    ws.add_data_validation(dv)
    dv.add(cell_range)


def inline_list_validation(ws, values: list[str], cell_range: str) -> None:
    dv = DataValidation(type="list", formula1='"' + ",".join(values) + '"', allow_blank=True, showErrorMessage=True)
    ws.add_data_validation(dv)
    dv.add(cell_range)
