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


def fast_only(changes: dict, product_names=("水稻", "rice")):
    row = list(BASE)
    for key, value in changes.items():
        row[INDEX[key]] = value
    return RowValidator(POSITIONS, set(product_names), "亩", Findings())._fast(7, row)


@pytest.mark.parametrize("changes", [
    {},
    {"bank_account": "6222021234567890"},
    {"name": "王" * 100, "township": "镇" * 50, "village": "村" * 50},
    {"name": "Wang Xiaoming", "township": "Raofeng", "village": "No. 1"},
    {"quantity": 10.5, "sum_insured": 1000.0, "premium": 49.99, "farmer_premium": 0.1},
    {"quantity": 10.0, "premium": 50.0, "farmer_premium": 0.0},
    {"premium": "999999999999.99", "sum_insured": "999999999999.99", "farmer_premium": "999999999999.99"},
    {"farmer_premium": "50.00"},
    {"product": "rice"},
    {"quantity": "0.01", "sum_insured": "0.01", "premium": "0.01", "farmer_premium": "0.01"},
    {"quantity": "1.00", "sum_insured": "1.00", "premium": "1.00", "farmer_premium": "0.99"},
    {"bank_account": ""},
])
def test_the_fast_path_takes_a_clean_row_as_the_full_checks_read_it(changes):
    """The fast path is what makes a list of 100,000 farmers quick to read: it must take the clean rows (a row it
    passes on is read again by the full checks), with the values the full checks give."""
    assert fast_only(changes) == accepted(changes)


def test_cells_that_are_numbers_in_the_text_columns_are_read_as_the_full_checks_read_them():
    for key in ("name", "township", "village"):
        for value in (3, 3.0, 0):
            assert check({key: value}) == check({key: value}, fast=False), (key, value)


def test_an_id_number_with_full_width_digits_is_stored_in_ascii():
    full_width = str.maketrans("0123456789", "０１２３４５６７８９")
    number = BASE[1][:17].translate(full_width) + BASE[1][17]      # the check character as typed, in ASCII
    assert fast_only({"id_number": number}) is None
    assert accepted({"id_number": number}).id_number == BASE[1]


def test_a_product_name_of_more_than_50_characters_is_refused_even_when_it_is_the_claims():
    long_name = "Insurance of a very particular local crop, indexedx"
    assert len(long_name) == 51
    row = list(BASE)
    row[INDEX["product"]] = long_name
    for fast in (True, False):
        findings = Findings()
        validator = RowValidator(POSITIONS, {"水稻", long_name}, "亩", findings)
        if not fast:
            validator._fast = lambda *_args: None
        assert validator.validate(7, row) is None
        assert [(e.row, e.column, e.message) for e in findings.errors] == [(7, "险种", "超过50个字符")]


def test_the_header_rows_errors_name_the_row_the_header_is_on():
    from agri_insurance.underwriting.parsing import map_header

    findings = Findings()
    headers = [header for key, header in COLUMNS if key != "premium"] + ["备注"]
    assert map_header(headers, findings, 3) is None
    assert [(e.row, e.column, e.message) for e in findings.errors] == [
        (3, "备注", "未知的列名“备注”，请使用下载的模板"), (3, "保费（元）", "缺少列“保费（元）”")]
    findings = Findings()
    assert map_header([header for _key, header in COLUMNS], findings, 3) == POSITIONS
    assert findings.errors == []


def test_a_clean_row_is_read_by_the_fast_path_alone():
    findings = Findings()
    validator = RowValidator(POSITIONS, {"水稻", "rice"}, "亩", findings)

    def full_check(*_args, **_kwargs):
        raise AssertionError("a clean row went through the full checks")

    validator.string = validator.amount = validator.id_number = validator.bank_account = full_check
    assert validator.validate(7, list(BASE)) == accepted({})


def test_a_sheet_number_a_hair_off_the_fen_is_refused():
    """1e-8 is 1e-6 fen off 0: past the float noise a number typed with two decimals carries."""
    assert refusal({"farmer_premium": 1e-8}) == [(7, "农户自缴保费（元）", "最多两位小数")]


def test_a_formula_without_its_value_is_reported_on_its_row_and_column_alone():
    from agri_insurance.list_files import FormulaWithoutValue

    assert refusal({"premium": FormulaWithoutValue("SUM(H2:H9)"), "name": ""}) == [(
        7, "保费（元）", "单元格是公式“=SUM(H2:H9)”，但文件中没有保存它的计算结果（文件可能由程序生成、未用 Excel 或 WPS "
                     "打开保存过）。请在 Excel 或 WPS 中打开并保存后再上传，或把公式改为数值")]
