"""The payout list's schema (理赔清单 template columns) and the checks of a row's meaning, on the importer every
list kind shares (agri_insurance/list_files.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from flask_babel import gettext as _

from agri_insurance import list_files
from agri_insurance.list_files import Findings, ListSchema

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

    def check(self, row: int, cells: list) -> PayoutValidRow | None:
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
