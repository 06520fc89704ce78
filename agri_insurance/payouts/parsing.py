"""The payout list's schema (理赔清单 template columns) and the checks of a row's meaning, on the importer every
list kind shares (agri_insurance/list_files.py)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from operator import itemgetter

from flask_babel import gettext as _

from agri_insurance import list_files
from agri_insurance.list_files import BANK_ACCOUNT, CENT, PLAIN_NUMBER, ROW_AMOUNT_LIMIT, Findings, ListSchema
from agri_insurance.reference.codes import is_valid_id_number

COLUMNS = (
    ("name", "姓名/名称"),
    ("id_number", "证件号码"),
    ("loss_date", "出险日期"),
    ("reported_date", "报案日期"),
    ("survey_date", "查勘日期"),
    ("agreed_amount", "核定赔款（元）"),
    ("agreed_date", "赔款协议日期"),
    ("paid_amount", "已付赔款（元）"),
    ("paid_date", "支付日期"),
    ("bank_account", "银行账号"),
)
# Every column of the template must be in the file (an unpaid row leaves its paid cells empty, the column stays).
SCHEMA = ListSchema(COLUMNS, tuple(key for key, _header in COLUMNS))


@dataclass
class PayoutValidRow:
    row_no: int
    name: str
    id_kind: str
    id_number: str
    loss_date: date
    reported_date: date
    survey_date: date
    agreed_amount: Decimal
    agreed_date: date
    paid_amount: Decimal | None
    paid_date: date | None
    bank_account: str | None

    @property
    def settle_days(self) -> int | None:
        return (self.paid_date - self.reported_date).days if self.paid_date else None

    @property
    def pay_days(self) -> int | None:
        return (self.paid_date - self.agreed_date).days if self.paid_date else None


class PayoutRowValidator(list_files.RowValidator):
    """One payout row: its farmer, dates in their order (loss ≤ report ≤ survey ≤ agreement ≤ payment, none after
    `today`, the loss in the list's year), amounts (paid at most what was agreed; a paid amount with its date)."""

    def __init__(self, positions: dict[str, int], year: int, today: date, findings: Findings) -> None:
        super().__init__(SCHEMA, positions, findings)
        self.year = year
        self.today = today
        # the row's cells in the template's order in one C call (a generator per row was a tenth of _fast)
        self.fast_cells = itemgetter(*(positions[key] for key, _header in COLUMNS))

    def _fast(self, row: int, cells) -> PayoutValidRow | None:
        """The clean row in one pass with few calls (dates as spreadsheet dates, amounts as numbers); None sends
        the row through the full checks below, which re-validate from scratch and word the errors. Accepts only
        what the full checks accept as is (tests/payouts/test_fast_path.py holds the two to the same answers)."""
        name, id_number, loss, reported, surveyed, agreed, agreed_on, paid, paid_on, bank = self.fast_cells(cells)
        if (type(name) is not str or not name or len(name) > 100 or name != name.strip() or not name.isprintable()
                or not (name.isascii() or unicodedata.is_normalized("NFKC", name))):
            return None
        if type(id_number) is not str or not id_number.isascii() or not is_valid_id_number(id_number):
            return None
        dates = []
        for value in (loss, reported, surveyed, agreed_on, paid_on):
            if type(value) is datetime:
                value = value.date()
            elif type(value) is not date:
                if value is None and len(dates) == 4:
                    break       # not paid yet
                return None
            dates.append(value)
        # in order (each on or after the one before), written out: a generator over the pairs was a tenth of _fast
        lost_on, reported_on, surveyed_on, agreed_date = dates[0], dates[1], dates[2], dates[3]
        if (lost_on.year != self.year or dates[-1] > self.today or reported_on < lost_on or surveyed_on < reported_on
                or agreed_date < surveyed_on or (len(dates) == 5 and dates[4] < agreed_date)):
            return None
        agreed = _fast_amount(agreed)
        if agreed is None or agreed <= 0:
            return None
        if len(dates) == 5:
            paid = _fast_amount(paid)
            if paid is None or paid > agreed:
                return None
        elif paid is not None:
            return None
        if bank is not None and (type(bank) is not str or not BANK_ACCOUNT.fullmatch(bank)):
            return None
        return PayoutValidRow(row, name, "P", id_number, dates[0], dates[1], dates[2], agreed, dates[3], paid,
                              dates[4] if len(dates) == 5 else None, bank)

    def check(self, row: int, cells: list) -> PayoutValidRow | None:
        clean = self._fast(row, cells)
        if clean is not None:
            return clean
        if self.formulas_without_values(row, cells):
            return None
        before = self.findings.error_count
        name = self.string(cells, "name", row, max_length=100)
        identity = self.id_number(cells, row)
        dates = {key: self.date(cells, key, row) for key in ("loss_date", "reported_date", "survey_date",
                                                               "agreed_date")}
        paid_date = self.date(cells, "paid_date", row, required=False)
        agreed = self.amount(cells, "agreed_amount", row, positive=True, unit_hint=False)
        paid = self.amount(cells, "paid_amount", row, positive=False, required=False, unit_hint=False)
        bank = self.bank_account(cells, row)
        if self.findings.error_count != before:
            return None
        if (paid is None) != (paid_date is None):
            missing = "paid_date" if paid_date is None else "paid_amount"
            self.findings.add(row, self.header_text(missing), _("已付赔款和支付日期须同时填写（未支付的两列都留空）"))
        if dates["loss_date"].year != self.year:
            self.findings.add(row, self.header_text("loss_date"),
                              _("出险日期不在清单年度 %(year)s 年内", year=self.year))
        order = [*dates.items(), *([("paid_date", paid_date)] if paid_date else [])]
        for (earlier_key, earlier), (later_key, later) in zip(order, order[1:], strict=False):
            if later < earlier:
                self.findings.add(row, self.header_text(later_key), _(
                    "%(later)s早于%(earlier)s", later=self.header_text(later_key),
                    earlier=self.header_text(earlier_key)))
        for key, value in order:
            if value > self.today:
                self.findings.add(row, self.header_text(key), _("日期晚于今天"))
        if paid is not None and paid > agreed:
            self.findings.add(row, self.header_text("paid_amount"), _("已付赔款不能大于核定赔款"))
        if self.findings.error_count != before:
            return None
        return PayoutValidRow(row, name, identity[0], identity[1], dates["loss_date"], dates["reported_date"],
                              dates["survey_date"], agreed, dates["agreed_date"], paid, paid_date, bank)


def _fast_amount(value) -> Decimal | None:
    """A clean amount cell (a number with at most two decimals, or such a plain text), not negative and within the
    row's limit; None for anything else (the full checks decide)."""
    if type(value) is float:
        cents = round(value * 100)
        if abs(value * 100 - cents) >= 1e-6:
            return None
        amount = Decimal(cents).scaleb(-2)
    elif type(value) is int:
        amount = Decimal(value)
    elif type(value) is str and value.isascii() and PLAIN_NUMBER.fullmatch(value):
        try:
            amount = Decimal(value).quantize(CENT)
        except InvalidOperation:
            return None
        if amount != Decimal(value):
            return None
    else:
        return None
    if amount < 0 or amount >= ROW_AMOUNT_LIMIT:
        return None
    return amount
