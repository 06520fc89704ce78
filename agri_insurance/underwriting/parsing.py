"""Reading and validating underwriting list files, row by row, fast and without surprises.

Every problem becomes a `CellError(row, column, message)`; a file with any error is stored nowhere. The
breakage real spreadsheets bring gets a clear message rather than a silent wrong import:
- ID numbers a spreadsheet turned into numbers (3.61128E+17: the last digits are lost) are refused;
- full-width characters (１２３, ＡＢＣ) and stray spaces are normalised (NFKC, strip) and counted;
- thousand separators in amounts (1,234.50) are accepted only in the standard grouping;
- a unit inside a number cell (12.5亩) or a number in the unit column (columns shifted) is refused;
- control characters inside a text cell (a line break, tab or vertical tab pasted from Word) are refused: the
  stored list must be exactly what the insurer sent, and spreadsheets cannot hold most of them.
"""

from __future__ import annotations

import codecs
import csv
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from flask_babel import gettext as _

from agri_insurance.masking import mask_id
from agri_insurance.reference.codes import is_valid_credit_code, is_valid_id_number
from agri_insurance.spreadsheets import CONTROL_CHARACTERS, CONTROL_CHARACTERS_REFUSED, check_xlsx_archive

# Column keys in file order, with the exact header text of the template.
COLUMNS = (
    ("name", "姓名/名称"),
    ("id_number", "证件号码"),
    ("township", "乡镇"),
    ("village", "村"),
    ("product", "险种"),
    ("quantity", "承保数量"),
    ("unit", "单位"),
    ("sum_insured", "保险金额（元）"),
    ("premium", "保费（元）"),
    ("farmer_premium", "农户自缴保费（元）"),
    ("bank_account", "银行账号"),
)
REQUIRED = tuple(key for key, _header in COLUMNS if key != "bank_account")
# Headers are compared after the same NFKC normalisation as cells (（元） and (元) are the same header).
HEADER_TO_KEY = {unicodedata.normalize("NFKC", header): key for key, header in COLUMNS}
MAX_REPORTED_ERRORS = 100_000

_PLAIN_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_GROUPED_NUMBER = re.compile(r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_SCIENTIFIC = re.compile(r"\d(?:\.\d+)?[eE][+-]?\d+")
_UNIT_SUFFIX = re.compile(r"[\d.,]+\s*[^\d.,\s]+$")
_BANK_ACCOUNT = re.compile(r"\d{12,30}")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class CellError:
    row: int        # 1-based row number in the file, as the user sees it (header is row 1)
    column: str     # header text
    message: str


@dataclass
class ValidRow:
    row_no: int
    name: str
    id_kind: str
    id_number: str
    township: str
    village: str
    quantity: Decimal
    sum_insured: Decimal
    premium: Decimal
    farmer_premium: Decimal
    bank_account: str | None


@dataclass
class Findings:
    errors: list[CellError] = field(default_factory=list)
    error_count: int = 0
    normalised_cells: int = 0  # full-width characters or stray spaces fixed

    def add(self, row: int, column: str, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(CellError(row, column, message))


def header_text(key: str) -> str:
    return dict(COLUMNS)[key]


def map_header(cells: list, findings: Findings) -> dict[str, int] | None:
    """Column index per key from the header row; errors name the missing or unknown headers."""
    positions: dict[str, int] = {}
    for index, cell in enumerate(cells):
        text = _text(cell)
        if not text:
            continue
        key = HEADER_TO_KEY.get(text)
        if key is None:
            findings.add(1, text, _("未知的列名“%(name)s”，请使用下载的模板", name=text))
        elif key in positions:
            findings.add(1, text, _("列“%(name)s”重复", name=text))
        else:
            positions[key] = index
    for key in REQUIRED:
        if key not in positions:
            findings.add(1, header_text(key), _("缺少列“%(name)s”", name=header_text(key)))
    return positions if findings.error_count == 0 else None


def _text(value) -> str:
    if value is None:
        return ""
    if type(value) is str:
        text = value.strip()
        # is_normalized is much cheaper than normalize for the common case of clean Chinese text.
        if not text.isascii() and not unicodedata.is_normalized("NFKC", text):
            text = unicodedata.normalize("NFKC", text).strip()
        return text
    return str(value)


class RowValidator:
    """Validates one data row at a time against the claim's product and unit."""

    def __init__(self, positions: dict[str, int], product_names: set[str], unit: str, findings: Findings) -> None:
        self.positions = positions
        self.product_names = product_names
        self.unit = unit
        self.findings = findings
        self.width = max(positions.values()) + 1
        keys = ("name", "id_number", "township", "village", "product", "quantity", "unit", "sum_insured", "premium",
                "farmer_premium")
        self.fast_indexes = tuple(positions[k] for k in keys)
        self.bank_index = positions.get("bank_account")

    def _fast(self, row: int, cells) -> ValidRow | None:
        """The clean row in one pass with few calls; None sends the row through the full checks below,
        which re-validate from scratch and word the errors. Accepts only what the full checks accept as is."""
        name, id_number, township, village, product, quantity, unit, sum_insured, premium, farmer = (
            cells[i] for i in self.fast_indexes)
        for text, limit in ((name, 100), (township, 50), (village, 50), (product, 50)):
            if (type(text) is not str or not text or len(text) > limit or text != text.strip()
                    or not text.isprintable()  # control characters (and rarer ones: the full checks decide)
                    or not (text.isascii() or unicodedata.is_normalized("NFKC", text))):
                return None
        if product not in self.product_names or unit != self.unit:
            return None
        if (type(id_number) is not str or len(id_number) != 18 or not id_number.isascii()
                or not is_valid_id_number(id_number)):
            return None
        amounts = []
        for value in (quantity, sum_insured, premium, farmer):
            if type(value) is float:
                cents = round(value * 100)
                if abs(value * 100 - cents) >= 1e-6:
                    return None
                amount = Decimal(cents).scaleb(-2)
            elif type(value) is str and value.isascii() and _PLAIN_NUMBER.fullmatch(value):
                try:
                    amount = Decimal(value).quantize(CENT)
                except InvalidOperation:
                    return None
                if amount != Decimal(value):
                    return None
            else:
                return None
            if amount >= ROW_AMOUNT_LIMIT:
                return None
            amounts.append(amount)
        quantity, sum_insured, premium, farmer = amounts
        if quantity <= 0 or sum_insured <= 0 or premium <= 0 or farmer < 0 or farmer > premium:
            return None
        bank = None
        if self.bank_index is not None:
            bank = cells[self.bank_index]
            if bank in (None, ""):
                bank = None
            elif type(bank) is not str or not _BANK_ACCOUNT.fullmatch(bank):
                return None
        return ValidRow(row, name, "P", id_number, township, village, quantity, sum_insured, premium, farmer, bank)

    def _cell(self, cells: list, key: str):
        index = self.positions.get(key)
        return None if index is None else cells[index]

    def _string(self, cells, key: str, row: int, required: bool = True, max_length: int = 50) -> str | None:
        raw = self._cell(cells, key)
        text = _text(raw)
        if isinstance(raw, str) and text != raw:
            self.findings.normalised_cells += 1
        if not text:
            if required:
                self.findings.add(row, header_text(key), _("不能为空"))
            return None
        if len(text) > max_length:
            self.findings.add(row, header_text(key), _("超过%(n)s个字符", n=max_length))
            return None
        if CONTROL_CHARACTERS.search(text):
            self.findings.add(row, header_text(key), str(CONTROL_CHARACTERS_REFUSED))
            return None
        return text

    def _amount(self, cells, key: str, row: int, positive: bool) -> Decimal | None:
        raw = self._cell(cells, key)
        column = header_text(key)
        if raw is None or raw == "":
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
            text = _text(raw)
            if text != raw:
                self.findings.normalised_cells += 1
            if _PLAIN_NUMBER.fullmatch(text):
                value = Decimal(text)
            elif _GROUPED_NUMBER.fullmatch(text):
                value = Decimal(text.replace(",", ""))
            elif _UNIT_SUFFIX.fullmatch(text):
                self.findings.add(row, column, _("“%(text)s”含有单位，请只填数字，单位填在“单位”列", text=quoted(text)))
                return None
            else:
                self.findings.add(row, column, _("“%(text)s”不是数字", text=quoted(text)))
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

    def _id_number(self, cells, row: int) -> tuple[str, str] | None:
        raw = self._cell(cells, "id_number")
        column = header_text("id_number")
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            self.findings.add(row, column, _("证件号码被表格软件存成了数字（末几位可能已丢失），请把该列设为“文本”后重新填写"))
            return None
        text = _text(raw)
        if text != raw and isinstance(raw, str):
            self.findings.normalised_cells += 1
        if not text:
            self.findings.add(row, column, _("不能为空"))
            return None
        if _SCIENTIFIC.fullmatch(text):
            self.findings.add(row, column, _("证件号码被表格软件存成了数字（末几位可能已丢失），请把该列设为“文本”后重新填写"))
            return None
        text = text.replace(" ", "").upper()
        if len(text) != 18:
            self.findings.add(row, column, _("证件号码应为18位，实为%(n)s位", n=len(text)))
            return None
        if text[:17].isdigit():
            if is_valid_id_number(text):
                return "P", text
            self.findings.add(row, column, _("身份证号码“%(id)s”校验位或出生日期不正确", id=mask_id(text)))
            return None
        if is_valid_credit_code(text):
            return "O", text
        self.findings.add(row, column, _("统一社会信用代码“%(id)s”校验位不正确", id=mask_id(text)))
        return None

    def validate(self, row: int, cells: list) -> ValidRow | None:
        if len(cells) < self.width:
            cells = list(cells) + [None] * (self.width - len(cells))
        clean = self._fast(row, cells)
        if clean is not None:
            return clean
        errors_before = self.findings.error_count
        name = self._string(cells, "name", row, max_length=100)
        identity = self._id_number(cells, row)
        township = self._string(cells, "township", row)
        village = self._string(cells, "village", row)
        product = self._string(cells, "product", row)
        if product is not None and product not in self.product_names:
            self.findings.add(row, header_text("product"),
                              _("险种“%(p)s”与申请的险种不一致", p=quoted(product)))
        quantity = self._amount(cells, "quantity", row, positive=True)
        unit_raw = self._cell(cells, "unit")
        if isinstance(unit_raw, int | float) or _PLAIN_NUMBER.fullmatch(_text(unit_raw)):
            self.findings.add(row, header_text("unit"), _("单位列是数字“%(v)s”，可能与承保数量列错位",
                                                           v=quoted(_text(unit_raw))))
        else:
            unit = self._string(cells, "unit", row, max_length=10)
            if unit is not None and unit != self.unit:
                self.findings.add(row, header_text("unit"), _("单位应为“%(u)s”", u=self.unit))
        sum_insured = self._amount(cells, "sum_insured", row, positive=True)
        premium = self._amount(cells, "premium", row, positive=True)
        farmer = self._amount(cells, "farmer_premium", row, positive=False)
        if premium is not None and farmer is not None and farmer > premium:
            self.findings.add(row, header_text("farmer_premium"), _("农户自缴保费不能大于保费"))
        bank = None
        if "bank_account" in self.positions:
            raw = self._cell(cells, "bank_account")
            if isinstance(raw, float):
                self.findings.add(row, header_text("bank_account"), _("银行账号被存成了数字，请把该列设为“文本”"))
            else:
                bank = _text(raw).replace(" ", "") or None
                if bank is not None and not _BANK_ACCOUNT.fullmatch(bank):
                    self.findings.add(row, header_text("bank_account"), _("银行账号应为12至30位数字"))
        if self.findings.error_count != errors_before:
            return None
        return ValidRow(row, name, identity[0], identity[1], township, village, quantity, sum_insured, premium,
                        farmer, bank)


ROW_AMOUNT_LIMIT = Decimal("1e12")  # Numeric(14, 2): the smallest of a row's money and quantity columns
_LONG_NUMBER = re.compile(r"\d{12,}[\dXx]*")


def quoted(text: str) -> str:
    """A cell's text for an error message: an ID number or bank account that landed in another column (columns
    shifted) is masked, since the message is shown and stored where the list itself would be masked."""
    return _LONG_NUMBER.sub(lambda m: mask_id(m.group(0)), text)


# --- readers ----------------------------------------------------------------------------------------

# What a list file may inflate to: a million rows as openpyxl writes them (inline strings) is about 600 MB of
# sheet XML, and calamine holds the whole sheet (about 1 GB for a million rows, docs/benchmarks.md).
LIST_MAX_INFLATED_BYTES = 800 * 1024 * 1024
LIST_MAX_ROWS = 1_048_576  # a sheet's own limit
LIST_MAX_COLUMNS = 50      # the template has 11

def iter_rows(path: Path, filename: str) -> Iterator[list]:
    """Rows of the first sheet (xlsx, via calamine) or of a UTF-8/GBK csv file, header first."""
    suffix = Path(filename).suffix.lower()
    if suffix == ".xlsx":
        from python_calamine import CalamineWorkbook

        check_xlsx_archive(path, max_inflated_bytes=LIST_MAX_INFLATED_BYTES, max_rows=LIST_MAX_ROWS,
                           max_columns=LIST_MAX_COLUMNS)
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
