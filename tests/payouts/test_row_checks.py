"""A payout row's checks at their edges, through the fast path and the full checks alike: each refusal's exact words
on its column, the dates' order to the day, the list's year from its first to its last day, today and tomorrow, the
paid amount up to the agreed one, and the values a clean row is read with."""

from datetime import date, datetime
from decimal import Decimal as D

import pytest

from agri_insurance.list_files import Findings, FormulaWithoutValue
from agri_insurance.payouts.parsing import COLUMNS, PayoutRowValidator, PayoutValidRow
from tests.underwriting.factories import rows

POSITIONS = {key: i for i, (key, _header) in enumerate(COLUMNS)}
INDEX = POSITIONS
TODAY = date(2026, 12, 5)
FARMER = rows(1)[0]
# lost 2026-03-01, reported 03-02, surveyed 03-03, agreed 50.00 on 03-10, paid 50.00 on 03-12
BASE = [FARMER[0], FARMER[1], date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 3), 50.0, date(2026, 3, 10), 50.0,
        date(2026, 3, 12), "6222021234567890123"]


def check(changes: dict, fast: bool = True):
    row = list(BASE)
    for key, value in changes.items():
        row[INDEX[key]] = value
    findings = Findings()
    validator = PayoutRowValidator(POSITIONS, 2026, TODAY, findings)
    if not fast:
        validator._fast = lambda *_args: None
    return validator.validate(7, row), [(e.row, e.column, e.message) for e in findings.errors]


def fast_only(changes: dict):
    row = list(BASE)
    for key, value in changes.items():
        row[INDEX[key]] = value
    return PayoutRowValidator(POSITIONS, 2026, TODAY, Findings())._fast(7, row)


def accepted(changes: dict, fast_path: bool = True) -> PayoutValidRow:
    fast, fast_errors = check(changes)
    full, full_errors = check(changes, fast=False)
    assert fast_errors == full_errors == [] and fast == full and fast is not None
    if fast_path:
        assert fast_only(changes) == full   # the fast path takes it itself
    return fast


def refusal(changes: dict) -> list[tuple[int, str, str]]:
    assert fast_only(changes) is None
    fast, fast_errors = check(changes)
    full, full_errors = check(changes, fast=False)
    assert fast is None and full is None and fast_errors == full_errors
    return fast_errors


def test_a_clean_row_is_read_with_its_values_and_days():
    row = accepted({})
    assert row == PayoutValidRow(7, FARMER[0], "P", FARMER[1], date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 3),
                                 D("50.00"), date(2026, 3, 10), D("50.00"), date(2026, 3, 12), "6222021234567890123")
    assert (row.settle_days, row.pay_days) == (10, 2)
    unpaid = accepted({"paid_amount": None, "paid_date": None})
    assert (unpaid.paid_amount, unpaid.paid_date, unpaid.settle_days, unpaid.pay_days) == (None, None, None, None)


@pytest.mark.parametrize("changes", [
    {"agreed_amount": 50, "paid_amount": 50},
    {"agreed_amount": "50.00", "paid_amount": "49.99"},
    {"agreed_amount": "0.01", "paid_amount": "0.00"},
    {"agreed_amount": 999999999999.99, "paid_amount": 0.0},
    {"agreed_amount": 1.0, "paid_amount": 1},
    {"loss_date": datetime(2026, 3, 1, 8, 30), "paid_date": datetime(2026, 3, 12, 16, 0)},
    {"loss_date": date(2026, 1, 1)},
    {"reported_date": date(2026, 3, 1), "survey_date": date(2026, 3, 1), "agreed_date": date(2026, 3, 1),
     "paid_date": date(2026, 3, 1)},
    {"paid_date": TODAY},
    {"agreed_date": TODAY, "paid_date": TODAY},
    {"agreed_date": TODAY, "paid_amount": None, "paid_date": None},
    {"bank_account": None},
    {"name": "王" * 100},
    {"name": "Wang Xiaoming"},
])
def test_the_fast_path_takes_a_clean_row_as_the_full_checks_read_it(changes):
    accepted(changes)


def test_an_int_amount_is_read_to_the_fen():
    row = accepted({"agreed_amount": 50, "paid_amount": 7})
    assert (row.agreed_amount, row.paid_amount) == (D("50.00"), D("7.00"))


@pytest.mark.parametrize("paid, paid_on, column", [
    (50.0, None, "支付日期"), (None, date(2026, 3, 12), "已付赔款（元）"), ("", date(2026, 3, 12), "已付赔款（元）")])
def test_a_paid_amount_and_its_date_go_together(paid, paid_on, column):
    assert refusal({"paid_amount": paid, "paid_date": paid_on}) == [
        (7, column, "已付赔款和支付日期须同时填写（未支付的两列都留空）")]


def test_the_loss_is_in_the_lists_year():
    assert accepted({"loss_date": date(2026, 1, 1)}).loss_date == date(2026, 1, 1)
    assert refusal({"loss_date": date(2025, 12, 31)}) == [(7, "出险日期", "出险日期不在清单年度 2026 年内")]


@pytest.mark.parametrize("later, earlier, day", [
    ("reported_date", "loss_date", date(2026, 2, 28)),
    ("survey_date", "reported_date", date(2026, 3, 1)),
    ("agreed_date", "survey_date", date(2026, 3, 2)),
    ("paid_date", "agreed_date", date(2026, 3, 9)),
])
def test_each_date_on_or_after_the_one_before(later, earlier, day):
    headers = dict(COLUMNS)
    assert refusal({later: day}) == [(7, headers[later], f"{headers[later]}早于{headers[earlier]}")]


def test_a_date_after_today_is_refused_on_its_column():
    assert refusal({"paid_date": date(2026, 12, 6)}) == [(7, "支付日期", "日期晚于今天")]
    assert refusal({"agreed_date": date(2026, 12, 6), "paid_amount": None, "paid_date": None}) == [
        (7, "赔款协议日期", "日期晚于今天")]
    assert refusal({"agreed_date": date(2026, 12, 6), "paid_date": date(2026, 12, 7)}) == [
        (7, "赔款协议日期", "日期晚于今天"), (7, "支付日期", "日期晚于今天")]


def test_the_paid_amount_is_at_most_the_agreed_one():
    assert accepted({"paid_amount": "50.00"}).paid_amount == D("50.00")
    assert refusal({"paid_amount": "50.01"}) == [(7, "已付赔款（元）", "已付赔款不能大于核定赔款")]
    assert refusal({"paid_amount": 50.01}) == [(7, "已付赔款（元）", "已付赔款不能大于核定赔款")]
    assert refusal({"paid_amount": -0.01}) == [(7, "已付赔款（元）", "不能为负数")]
    # 1e-8 is 1e-6 fen off 0: past the float noise a number typed with two decimals carries
    assert refusal({"paid_amount": 1e-8}) == [(7, "已付赔款（元）", "最多两位小数")]


def test_the_agreed_amount_is_above_0_and_below_the_columns_limit():
    for zero in (0, 0.0, "0", "0.00"):
        assert refusal({"agreed_amount": zero, "paid_amount": None, "paid_date": None}) == [
            (7, "核定赔款（元）", "必须大于0")]
    assert refusal({"agreed_amount": "1000000000000.00"}) == [(7, "核定赔款（元）", "数值过大")]
    assert refusal({"agreed_amount": 10 ** 12}) == [(7, "核定赔款（元）", "数值过大")]
    assert refusal({"agreed_amount": "50.001"}) == [(7, "核定赔款（元）", "最多两位小数")]
    assert refusal({"agreed_amount": 50.001}) == [(7, "核定赔款（元）", "最多两位小数")]
    assert refusal({"agreed_amount": 1e-8}) == [(7, "核定赔款（元）", "最多两位小数")]


def test_a_name_past_100_characters_and_a_bad_bank_account_are_refused():
    assert refusal({"name": "王" * 101}) == [(7, "姓名/名称", "超过100个字符")]
    assert refusal({"bank_account": "1" * 11}) == [(7, "银行账号", "银行账号应为12至30位数字")]
    assert refusal({"bank_account": 6222021234567890.0}) == [(7, "银行账号", "银行账号被存成了数字，请把该列设为“文本”")]


def test_a_formula_without_its_value_is_reported_on_its_row_and_column_alone():
    assert refusal({"paid_amount": FormulaWithoutValue("B2*0.5"), "name": ""}) == [(
        7, "已付赔款（元）", "单元格是公式“=B2*0.5”，但文件中没有保存它的计算结果（文件可能由程序生成、未用 Excel 或 WPS "
                      "打开保存过）。请在 Excel 或 WPS 中打开并保存后再上传，或把公式改为数值")]



def test_a_clean_row_is_read_by_the_fast_path_alone():
    validator = PayoutRowValidator(POSITIONS, 2026, TODAY, Findings())

    def full_check(*_args, **_kwargs):
        raise AssertionError("a clean row went through the full checks")

    validator.string = validator.amount = validator.id_number = validator.date = full_check
    validator.bank_account = full_check
    assert validator.validate(7, list(BASE)) == accepted({})


@pytest.mark.parametrize("key, value, message", [
    ("id_number", FARMER[1][:17] + ("0" if FARMER[1][17] != "0" else "1"), None),
    ("loss_date", "昨天", "“昨天”不是日期，请填写如 2025-07-01"),
    ("reported_date", "2026-13-01", "“2026-13-01”不是日期，请填写如 2025-07-01"),
    ("survey_date", "x", "“x”不是日期，请填写如 2025-07-01"),
    ("agreed_date", "x", "“x”不是日期，请填写如 2025-07-01"),
    ("paid_date", "x", "“x”不是日期，请填写如 2025-07-01"),
    ("agreed_amount", "50元", "“50元”含有单位，请只填数字"),     # a payout list has no unit column to point to
    ("paid_amount", "50元", "“50元”含有单位，请只填数字"),
    ("agreed_amount", "abc", "“abc”不是数字"),
])
def test_a_cell_that_cannot_be_read_is_refused_in_words_on_its_row_and_column(key, value, message):
    from agri_insurance.masking import mask_id

    if key == "id_number":
        message = f"身份证号码“{mask_id(value)}”校验位或出生日期不正确"
    assert refusal({key: value}) == [(7, dict(COLUMNS)[key], message)]


def test_a_number_in_the_name_column_is_read_as_the_full_checks_read_it():
    for value in (3, 3.0, 0):
        assert check({"name": value}) == check({"name": value}, fast=False), value
