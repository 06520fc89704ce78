"""An underwriting list row's checks at their edges, through the fast path and the full checks alike: each
refusal's exact words on its column, the lengths, the amounts' bounds, the farmer's own premium up to the premium,
and the values a clean row is stored with."""

from decimal import Decimal as D

import pytest

from agri_insurance.reference.codes import credit_code_check_char
from agri_insurance.underwriting.parsing import COLUMNS, Findings, RowValidator, ValidRow, header_text
from tests.underwriting.factories import rows

POSITIONS = {key: i for i, (key, _header) in enumerate(COLUMNS)}
INDEX = {key: i for i, (key, _header) in enumerate(COLUMNS)}
BASE = rows(1)[0]   # 农户0, its ID, 饶丰镇, 第0村, 水稻, 10.00 亩, 1000.00, 50.00, 10.00, no bank account


def check(changes: dict, fast: bool = True, positions=POSITIONS):
    row = list(BASE)
    for key, value in changes.items():
        row[INDEX[key]] = value
    findings = Findings()
    validator = RowValidator(positions, {"水稻", "rice"}, "亩", findings)
    if not fast:
        validator._fast = lambda *_args: None
    return validator.validate(7, row), [(e.row, e.column, e.message) for e in findings.errors]


def accepted(changes: dict) -> ValidRow:
    fast, fast_errors = check(changes)
    full, full_errors = check(changes, fast=False)
    assert fast_errors == full_errors == [] and fast == full and fast is not None
    return fast


def refusal(changes: dict) -> list[tuple[int, str, str]]:
    fast, fast_errors = check(changes)
    full, full_errors = check(changes, fast=False)
    assert fast is None and full is None and fast_errors == full_errors
    return fast_errors


def test_a_clean_row_is_read_with_its_values():
    assert accepted({"bank_account": "6222021234567890"}) == ValidRow(
        7, "农户0", "P", BASE[1], "饶丰镇", "第0村", D("10.00"), D("1000.00"), D("50.00"), D("10.00"),
        "6222021234567890")
    assert accepted({}).bank_account is None
    assert accepted({"bank_account": ""}).bank_account is None


def test_numbers_from_the_sheet_are_read_to_the_fen():
    row = accepted({"quantity": 10.5, "sum_insured": 1000.0, "premium": 49.99, "farmer_premium": 0.1})
    assert (row.quantity, row.sum_insured, row.premium, row.farmer_premium) == (
        D("10.50"), D("1000.00"), D("49.99"), D("0.10"))
    row = accepted({"quantity": "10.5", "premium": "49.990", "farmer_premium": "0"})
    assert (row.quantity, row.premium, row.farmer_premium) == (D("10.50"), D("49.99"), D("0.00"))


def test_a_cooperative_is_identified_by_its_credit_code():
    first17 = "93361128MA35XXXX0"
    code = first17 + credit_code_check_char(first17)
    row = accepted({"name": "鄱阳县某某种植专业合作社", "id_number": code})
    assert (row.id_kind, row.id_number) == ("O", code)


@pytest.mark.parametrize("key, longest", [("name", 100), ("township", 50), ("village", 50)])
def test_a_name_or_place_is_refused_one_character_past_its_length(key, longest):
    assert getattr(accepted({key: "王" * longest}), key) == "王" * longest
    assert refusal({key: "王" * (longest + 1)}) == [(7, header_text(key), f"超过{longest}个字符")]


def test_the_unit_is_refused_past_ten_characters_or_when_another():
    assert refusal({"unit": "亩" * 11}) == [(7, "单位", "超过10个字符")]
    assert refusal({"unit": "头"}) == [(7, "单位", "单位应为“亩”")]
    assert refusal({"unit": "10"}) == [(7, "单位", "单位列是数字“10”，可能与承保数量列错位")]
    assert refusal({"unit": 10}) == [(7, "单位", "单位列是数字“10”，可能与承保数量列错位")]
    assert refusal({"unit": 10.5}) == [(7, "单位", "单位列是数字“10.5”，可能与承保数量列错位")]


def test_another_product_is_refused_in_words():
    assert refusal({"product": "油菜"}) == [(7, "险种", "险种“油菜”与申请的险种不一致")]
    assert accepted({"product": "rice"}).name == "农户0"


@pytest.mark.parametrize("key", ["quantity", "sum_insured", "premium"])
def test_a_quantity_sum_insured_or_premium_must_be_above_0(key):
    column = header_text(key)
    changes = {"farmer_premium": "0"}
    for zero in ("0", "0.00", 0.0, 0):
        assert refusal({**changes, key: zero}) == [(7, column, "必须大于0")]
    assert refusal({**changes, key: "-0.01"}) == [(7, column, "必须大于0")]
    assert accepted({**changes, key: "0.01"}) is not None
    assert accepted({**changes, key: 0.01}) is not None


def test_every_amount_stays_below_the_columns_limit():
    for key in ("quantity", "sum_insured", "premium", "farmer_premium"):
        column = header_text(key)
        big = {"quantity": "999999999999.99", "sum_insured": "999999999999.99", "premium": "999999999999.99"}
        assert accepted({**big, key: "999999999999.99"}) is not None
        assert refusal({**big, key: "1000000000000.00"}) == [(7, column, "数值过大")]
        assert refusal({**big, key: 1e12}) == [(7, column, "数值过大")]


def test_the_farmers_own_premium_may_be_0_and_up_to_the_premium():
    assert accepted({"farmer_premium": "0.00"}).farmer_premium == D("0.00")
    assert accepted({"farmer_premium": "50.00"}).farmer_premium == D("50.00")
    assert accepted({"farmer_premium": 50.0}).farmer_premium == D("50.00")
    assert refusal({"farmer_premium": "50.01"}) == [(7, "农户自缴保费（元）", "农户自缴保费不能大于保费")]
    assert refusal({"farmer_premium": 50.01}) == [(7, "农户自缴保费（元）", "农户自缴保费不能大于保费")]
    assert refusal({"farmer_premium": "-0.01"}) == [(7, "农户自缴保费（元）", "不能为负数")]


def test_a_third_decimal_is_refused_on_its_column():
    assert refusal({"premium": "50.001"}) == [(7, "保费（元）", "最多两位小数")]
    assert refusal({"premium": 50.001}) == [(7, "保费（元）", "最多两位小数")]
    assert accepted({"premium": "50.000"}).premium == D("50.00")


def test_a_bank_account_is_12_to_30_digits():
    assert accepted({"bank_account": "1" * 12}).bank_account == "1" * 12
    assert accepted({"bank_account": "1" * 30}).bank_account == "1" * 30
    for bad in ("1" * 11, "1" * 31, "6222O21234567890"):
        assert refusal({"bank_account": bad}) == [(7, "银行账号", "银行账号应为12至30位数字")]


def test_a_list_without_the_bank_account_column_reads_none():
    positions = {key: i for key, i in POSITIONS.items() if key != "bank_account"}
    for fast in (True, False):
        valid, errors = check({"bank_account": "not read"}, fast=fast, positions=positions)
        assert errors == [] and valid.bank_account is None


def test_a_row_with_several_errors_reports_each_on_its_column():
    assert refusal({"name": "", "product": "油菜", "quantity": "0", "premium": "5", "farmer_premium": "6"}) == [
        (7, "姓名/名称", "不能为空"), (7, "险种", "险种“油菜”与申请的险种不一致"), (7, "承保数量", "必须大于0"),
        (7, "农户自缴保费（元）", "农户自缴保费不能大于保费")]
