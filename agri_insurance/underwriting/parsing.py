"""Reading and validating underwriting list files, row by row, fast and without surprises.

The list's schema (its template's columns) and the checks of its rows' meaning (the claim's product and unit, the
farmer's own premium within the premium) on the importer every list kind shares (`agri_insurance/list_files.py`:
finding the data sheet by its header, formulas without saved values, ID numbers, amounts, units, control
characters); a fast path for clean rows in front of the full checks, which word every error.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from operator import itemgetter

from flask_babel import gettext as _

from agri_insurance import list_files
from agri_insurance.list_files import (  # noqa: F401 - the names this module has always offered
    BANK_ACCOUNT,
    CENT,
    PLAIN_NUMBER,
    ROW_AMOUNT_LIMIT,
    CellError,
    Findings,
    ListSchema,
    iter_rows,
    quoted,
)
from agri_insurance.masking import mask_id  # noqa: F401
from agri_insurance.reference.codes import is_valid_id_number

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
SCHEMA = ListSchema(COLUMNS, REQUIRED)
HEADER_TO_KEY = SCHEMA.header_to_key
MAX_REPORTED_ERRORS = list_files.MAX_REPORTED_ERRORS
_PLAIN_NUMBER = PLAIN_NUMBER
_BANK_ACCOUNT = BANK_ACCOUNT
_text = list_files.text


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


def header_text(key: str) -> str:
    return SCHEMA.header_text(key)


def map_header(cells: list, findings: Findings, header_row: int = 1) -> dict[str, int] | None:
    """Column index per key from the header row; errors name the missing or unknown headers."""
    return list_files.map_header(SCHEMA, cells, findings, header_row)


class RowValidator(list_files.RowValidator):
    """Validates one data row at a time against the claim's product and unit."""

    def __init__(self, positions: dict[str, int], product_names: set[str], unit: str, findings: Findings) -> None:
        super().__init__(SCHEMA, positions, findings)
        self.product_names = product_names
        self.unit = unit
        keys = ("name", "id_number", "township", "village", "product", "quantity", "unit", "sum_insured", "premium",
                "farmer_premium")
        # the row's cells in the template's order in one C call (a generator per row was a tenth of _fast)
        self.fast_cells = itemgetter(*(positions[k] for k in keys))
        self.bank_index = positions.get("bank_account")

    def _fast(self, row: int, cells) -> ValidRow | None:
        """The clean row in one pass with few calls; None sends the row through the full checks below,
        which re-validate from scratch and word the errors. Accepts only what the full checks accept as is."""
        name, id_number, township, village, product, quantity, unit, sum_insured, premium, farmer = self.fast_cells(cells)
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

    def check(self, row: int, cells: list) -> ValidRow | None:
        clean = self._fast(row, cells)
        if clean is not None:
            return clean
        if self.formulas_without_values(row, cells):
            return None
        errors_before = self.findings.error_count
        name = self.string(cells, "name", row, max_length=100)
        identity = self.id_number(cells, row)
        township = self.string(cells, "township", row)
        village = self.string(cells, "village", row)
        product = self.string(cells, "product", row)
        if product is not None and product not in self.product_names:
            self.findings.add(row, header_text("product"),
                              _("险种“%(p)s”与申请的险种不一致", p=quoted(product)))
        quantity = self.amount(cells, "quantity", row, positive=True)
        unit_raw = self.cell(cells, "unit")
        if isinstance(unit_raw, int | float) or _PLAIN_NUMBER.fullmatch(_text(unit_raw)):
            self.findings.add(row, header_text("unit"), _("单位列是数字“%(v)s”，可能与承保数量列错位",
                                                           v=quoted(_text(unit_raw))))
        else:
            unit = self.string(cells, "unit", row, max_length=10)
            if unit is not None and unit != self.unit:
                self.findings.add(row, header_text("unit"), _("单位应为“%(u)s”", u=self.unit))
        sum_insured = self.amount(cells, "sum_insured", row, positive=True)
        premium = self.amount(cells, "premium", row, positive=True)
        farmer = self.amount(cells, "farmer_premium", row, positive=False)
        if premium is not None and farmer is not None and farmer > premium:
            self.findings.add(row, header_text("farmer_premium"), _("农户自缴保费不能大于保费"))
        bank = self.bank_account(cells, row)
        if self.findings.error_count != errors_before:
            return None
        return ValidRow(row, name, identity[0], identity[1], township, village, quantity, sum_insured, premium,
                        farmer, bank)
