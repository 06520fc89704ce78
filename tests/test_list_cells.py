"""The cell reading every list import shares (list_files), below the imports: a date cell in each form a clerk's
spreadsheet gives it and its refusals' words, the data rows passed over by a reading process (`DataRows.skip`: in
forked processes in the imports, where nothing measures it), a formula's column beyond Z, a csv file's encoding and
where its header may be."""

import warnings
from datetime import date, datetime
from decimal import Decimal as D
from pathlib import Path

import pytest

from agri_insurance.errors import DomainError
from agri_insurance.list_files import (
    DataRows,
    Findings,
    FormulaWithoutValue,
    ListSchema,
    RowValidator,
    _column_index,
    _csv_encoding,
    _merge_header_rows,
    map_header,
    open_list,
    text,
)


def _errors(findings: Findings) -> list[tuple[int, str, str]]:
    """The findings as (row, column, words)."""
    return [(e.row, e.column, e.message) for e in findings.errors]


SCHEMA = ListSchema(columns=(("name", "姓名"), ("loss_date", "出险日期")), required=("name", "loss_date"))


def read_date(raw, required: bool = True):
    """The date read from a cell of the loss-date column on row 7, and the findings as (row, column, words)."""
    findings = Findings()
    value = RowValidator(SCHEMA, {"name": 0, "loss_date": 1}, findings).date(["农户", raw], "loss_date", 7, required)
    return value, _errors(findings)


@pytest.mark.parametrize("raw, expected", [
    (datetime(2025, 7, 1, 9, 30), date(2025, 7, 1)),
    (date(2025, 7, 1), date(2025, 7, 1)),
    ("2025-07-01", date(2025, 7, 1)),
    ("2025/7/1", date(2025, 7, 1)),
    ("2025年7月1日", date(2025, 7, 1)),
    ("20250701", date(2025, 7, 1)),
    (20250701, date(2025, 7, 1)),          # typed as a number
    (20250701.0, date(2025, 7, 1)),        # a number the spreadsheet keeps as a float
])
def test_a_date_is_read_from_every_form_a_spreadsheet_gives_it(raw, expected):
    assert read_date(raw) == (expected, [])


@pytest.mark.parametrize("raw, shown", [
    (20250701.5, "20250701.5"),            # not a whole number: its text, not a date cut from it
    (True, "True"),                        # a tick box is not the number 1
    ("2025-13-01", "2025-13-01"),
    ("7月1日", "7月1日"),
    ("36112819900101123X", "361128********123X"),   # an ID number in the wrong column is masked in the words
])
def test_a_cell_that_is_not_a_date_is_refused_quoting_it(raw, shown):
    assert read_date(raw) == (None, [(7, "出险日期", f"“{shown}”不是日期，请填写如 2025-07-01")])


@pytest.mark.parametrize("raw", [None, ""])
def test_an_empty_date_is_refused_when_required_and_none_otherwise(raw):
    assert read_date(raw) == (None, [(7, "出险日期", "不能为空")])
    assert read_date(raw, required=False) == (None, [])


def _rows(raw: bool) -> DataRows:
    """Rows 5 to 11: two buffered while the header was looked for, five to come; `raw`: from the reader's own
    iterator (calamine's), which `skip` advances instead of making the rows."""
    source = iter([(n,) for n in range(7, 12)])
    rest = (list(cells) for cells in source)
    return DataRows([[5], [6]], rest, first_row=5, formulas={}, on_close=None, raw=source if raw else None)


@pytest.mark.parametrize("raw", [False, True])
def test_rows_passed_over_keep_the_row_numbers_of_those_read_after(raw):
    rows = _rows(raw)
    assert next(rows) == (5, [5])
    rows.skip(2)                           # the last buffered one and the first to come
    assert next(rows) == (8, [8])
    rows.skip(0)
    assert next(rows) == (9, [9])
    rows.skip(5)                           # fewer are left
    with pytest.raises(StopIteration):
        next(rows)


def test_rows_passed_over_from_the_buffer_alone():
    rows = _rows(False)
    rows.skip(1)
    assert list(rows) == [(6, [6]), (7, [7]), (8, [8]), (9, [9]), (10, [10]), (11, [11])]


@pytest.mark.parametrize("letters, index", [("A", 0), ("Z", 25), ("AA", 26), ("AZ", 51), ("BA", 52), ("XFD", 16383)])
def test_a_cells_column_letters_give_its_index(letters, index):
    assert _column_index(letters) == index


def _csv(tmp_path: Path, content: bytes) -> Path:
    path = tmp_path / "list.csv"
    path.write_bytes(content)
    return path


@pytest.mark.parametrize("content, encoding", [
    ("姓名,出险日期\r\n农户,2025-07-01\r\n".encode(), "utf-8-sig"),
    ("\ufeff姓名,出险日期\r\n".encode(), "utf-8-sig"),
    ("姓名,出险日期\r\n".encode("gb18030"), "gb18030"),
    # a file of ASCII ending in "刖" saved by WPS (GB18030 EB BE): the start of a three-byte UTF-8 character cut
    # short at the end of the file, which only the decoder's final call finds
    (b"name,date\r\nA,2025-07-01\r\n" + "刖".encode("gb18030"), "gb18030"),
    # a UTF-8 character across the first megabyte's boundary (the file is read a megabyte at a time)
    (b"a" * ((1 << 20) - 1) + "中".encode(), "utf-8-sig"),
])
def test_a_csv_files_encoding_is_utf8_when_the_whole_file_decodes_so_else_gb18030(tmp_path, content, encoding):
    assert _csv_encoding(_csv(tmp_path, content)) == encoding


def _header_found(tmp_path: Path, content: bytes, schema: ListSchema = SCHEMA) -> tuple[int, list]:
    """The header row and header open_list finds in a csv file (the file closed again, its rows unread)."""
    found = open_list(_csv(tmp_path, content), "list.csv", schema)
    found.rows.close()
    return found.header_row, found.header


@pytest.mark.parametrize("titles, header_row", [(19, 20), (20, 1)])
def test_a_header_is_looked_for_in_the_first_20_rows(tmp_path, titles, header_row):
    """Below row 20 it is not found: the first row is taken as the header, whose missing columns are then reported
    on it (not "the file is empty")."""
    lines = [f"说明第{n}行" for n in range(1, titles + 1)] + ["姓名,出险日期", "农户,2025-07-01"]
    assert _header_found(tmp_path, "\r\n".join(lines).encode()) == (
        header_row, ["姓名", "出险日期"] if header_row == 20 else ["说明第1行"])


def test_a_csv_header_naming_too_few_known_columns_is_still_its_first_row(tmp_path):
    found = open_list(_csv(tmp_path, "姓名,备注\r\n农户,x\r\n".encode()), "list.csv", SCHEMA)
    assert (found.header_row, found.header, list(found.rows)) == (1, ["姓名", "备注"], [(2, ["农户", "x"])])


SIX = ListSchema(columns=tuple((f"c{n}", f"列{n}") for n in range(1, 7)), required=tuple(f"c{n}" for n in range(1, 7)))


@pytest.mark.parametrize("known, header_row", [(3, 2), (2, 1)])
def test_a_header_names_at_least_half_of_the_required_columns(tmp_path, known, header_row):
    """Six required columns: a row naming three of them under a title row is the header; naming two, it is not,
    and the first row is taken (its missing columns then reported on it)."""
    header = ",".join([f"列{n}" for n in range(1, known + 1)] + ["备注"] * (6 - known))
    assert _header_found(tmp_path, f"2026年承保清单\r\n{header}\r\n".encode(), SIX)[0] == header_row


def test_a_csv_of_empty_cells_only_is_empty_and_closed_again(tmp_path):
    """Closed by the reader, not left to the garbage collector (which warns, and on another Python may wait)."""
    with warnings.catch_warnings(record=True) as caught, pytest.raises(DomainError) as refused:
        warnings.simplefilter("always")
        open_list(_csv(tmp_path, b",,\r\n,,\r\n"), "list.csv", SCHEMA)
    assert (refused.value.message, refused.value.field) == ("文件是空的", "file")
    assert [w.message for w in caught if issubclass(w.category, ResourceWarning)] == []


def test_without_a_header_the_first_row_with_text_is_taken_past_a_row_of_empty_cells(tmp_path):
    assert _header_found(tmp_path, ",,\r\n2026年承保清单\r\n姓名,备注\r\n".encode()) == (2, ["2026年承保清单"])


MONEY = ListSchema(columns=(("name", "姓名"), ("premium", "保费（元）")), required=("name", "premium"))


def read_amount(raw, **options):
    """The amount read from a premium cell on row 7 (positive unless said), the findings as (row, column, words)
    and how many cells were tidied (spaces, full-width digits)."""
    findings = Findings()
    validator = RowValidator(MONEY, {"name": 0, "premium": 1}, findings)
    value = validator.amount(["农户", raw], "premium", 7, options.pop("positive", True), **options)
    return value, _errors(findings), findings.normalised_cells


@pytest.mark.parametrize("raw, expected, tidied", [
    (12.3, D("12.30"), 0),
    (0.1 + 0.2, D("0.30"), 0),             # 0.30000000000000004: a sheet's float noise, not a third decimal
    (1.1 + 2.2, D("3.30"), 0),             # 3.3000000000000003
    (5, D("5.00"), 0),
    (999999999999.99, D("999999999999.99"), 0),
    (" 12.30 ", D("12.30"), 1),
    ("１２．３０", D("12.30"), 1),          # full-width digits, as a Chinese input method types them
])
def test_an_amount_is_read_to_the_fen_and_tidied_cells_are_counted(raw, expected, tidied):
    assert read_amount(raw) == (expected, [], tidied)


@pytest.mark.parametrize("raw, options, message", [
    (None, {}, "不能为空"),
    ("", {}, "不能为空"),
    (True, {}, "应为数字"),
    ("abc", {}, "“abc”不是数字"),
    ("12.3元", {}, "“12.3元”含有单位，请只填数字，单位填在“单位”列"),
    ("12.3元", {"unit_hint": False}, "“12.3元”含有单位，请只填数字"),
    (1.234, {}, "最多两位小数"),
    (1e30, {}, "数值过大"),                 # past what a Decimal of 28 digits holds to the fen
    (1e12, {}, "数值过大"),                 # past the row's 12 digits before the point
    (0, {}, "必须大于0"),
    (-1, {"positive": False}, "不能为负数"),
])
def test_an_amount_refused_names_its_row_and_column(raw, options, message):
    assert read_amount(raw, **options)[:2] == (None, [(7, "保费（元）", message)])


def test_an_empty_amount_not_required_and_a_0_not_required_positive_are_accepted():
    assert read_amount(None, required=False) == (None, [], 0)
    assert read_amount(0, positive=False) == (D("0.00"), [], 0)


def test_a_cell_tidied_is_counted_once_per_cell():
    findings = Findings()
    validator = RowValidator(MONEY, {"name": 0, "premium": 1}, findings)
    for row in (2, 3):
        assert validator.string([" 农户 ", " 12.30 "], "name", row) == "农户"
        assert validator.amount([" 农户 ", " 12.30 "], "premium", row, positive=True) == D("12.30")
    assert validator.string(["农户", "12.30"], "name", 4) == "农户"
    assert (findings.normalised_cells, findings.errors) == (4, [])


PEOPLE = ListSchema(columns=(("name", "姓名"), ("id_number", "证件号码"), ("bank_account", "银行账号")),
                    required=("name", "id_number"))


def read_id(raw):
    findings = Findings()
    value = RowValidator(PEOPLE, {"name": 0, "id_number": 1}, findings).id_number(["农户", raw], 7)
    return value, _errors(findings), findings.normalised_cells


STORED_AS_A_NUMBER = "证件号码被表格软件存成了数字（末几位可能已丢失），请把该列设为“文本”后重新填写"


@pytest.mark.parametrize("raw, expected, tidied", [
    ("36112819800101000X", ("P", "36112819800101000X"), 0),
    ("36112819800101000x", ("P", "36112819800101000X"), 0),           # a lower-case check character
    (" 361128 19800101 000X", ("P", "36112819800101000X"), 1),        # spaces typed in: the cell is tidied
    ("9144030071526726XG", ("O", "9144030071526726XG"), 0),           # a company's unified credit code
])
def test_an_id_number_is_read_upper_case_without_spaces(raw, expected, tidied):
    assert read_id(raw) == (expected, [], tidied)


@pytest.mark.parametrize("raw, message", [
    (361128198001010181, STORED_AS_A_NUMBER),
    (3.61128198001010e17, STORED_AS_A_NUMBER),
    ("3.61128E+17", STORED_AS_A_NUMBER),
    (None, "不能为空"),
    (True, "证件号码应为18位，实为4位"),                                  # a tick box is not an ID stored as a number
    ("3611281980010100", "证件号码应为18位，实为16位"),
    ("361128198001010182", "身份证号码“361128********0182”校验位或出生日期不正确"),
    ("9144030071526726XH", "统一社会信用代码“914403********26XH”校验位不正确"),
])
def test_an_id_number_refused_names_its_row_and_column_and_is_masked(raw, message):
    assert read_id(raw)[:2] == (None, [(7, "证件号码", message)])


def test_a_bank_account_is_read_without_its_spaces():
    findings = Findings()
    validator = RowValidator(PEOPLE, {"name": 0, "id_number": 1, "bank_account": 2}, findings)
    assert validator.bank_account(["农户", None, " 6222 0212 3456 7890 123 "], 7) == "6222021234567890123"
    assert findings.errors == []


def _header(cells, **row):
    findings = Findings()
    positions = map_header(SCHEMA, cells, findings, **row)
    return positions, _errors(findings)


def test_a_header_maps_each_known_column_past_empty_cells():
    assert _header(["姓名", None, "", "出险日期"]) == ({"name": 0, "loss_date": 3}, [])


def test_a_headers_problems_name_its_row_and_each_column():
    assert _header(["姓名"]) == (None, [(1, "出险日期", "缺少列“出险日期”")])
    assert _header(["姓名", "姓名", "备注"], header_row=3) == (None, [
        (3, "姓名", "列“姓名”重复"), (3, "备注", "未知的列名“备注”，请使用下载的模板"), (3, "出险日期", "缺少列“出险日期”")])


def test_a_formula_without_its_result_is_quoted_to_60_characters():
    findings = Findings()
    formula = "SUM(" + "A1," * 30 + "A1)"
    validator = RowValidator(SCHEMA, {"name": 0, "loss_date": 1}, findings)
    assert validator.formulas_without_values(7, ["农户", FormulaWithoutValue(formula)]) is True
    assert [(e.row, e.column) for e in findings.errors] == [(7, "出险日期")]
    assert f"“={formula[:60]}”" in findings.errors[0].message and formula[:61] not in findings.errors[0].message


def test_id_numbers_tidied_are_counted_once_per_cell():
    findings = Findings()
    validator = RowValidator(PEOPLE, {"name": 0, "id_number": 1}, findings)
    for row in (2, 3):
        assert validator.id_number(["农户", " 36112819800101000X "], row) == ("P", "36112819800101000X")
    assert (findings.normalised_cells, findings.errors) == (2, [])


def _open_files(path: Path) -> int:
    """How many of this process's file descriptors hold `path` open (Linux: /proc/self/fd)."""
    fds = Path("/proc/self/fd")
    return sum(1 for fd in fds.iterdir() if fd.exists() and fd.resolve() == path.resolve())


def test_a_csv_file_is_closed_once_its_rows_are_read(tmp_path):
    path = _csv(tmp_path, "姓名,出险日期\r\n农户,2025-07-01\r\n".encode())
    found = open_list(path, "list.csv", SCHEMA)
    assert _open_files(path) == 1                       # open while its rows are read (a worker reads millions)
    assert list(found.rows) == [(2, ["农户", "2025-07-01"])]
    assert _open_files(path) == 0


def test_a_formula_without_its_result_reads_as_an_empty_cell():
    """Its text is '' (the row's checks then report the formula once, not a value made up from it)."""
    assert text(FormulaWithoutValue("A1+B1")) == "" and text(None) == "" and text(" ａ１ ") == "a1"


@pytest.mark.parametrize("upper, lower, merged", [
    # a cell merged down over both header rows keeps its text in the upper one, even past the lower row's end
    (["姓名", None, "出险日期"], ["", "备注"], ["姓名", "备注", "出险日期"]),
    (["标题", "说明"], ["姓名", "备注"], ["姓名", "备注"]),                 # an unknown upper cell replaces nothing
    (["姓名", "出险日期"], ["出险日期", "姓名"], ["出险日期", "姓名"]),     # nor a known one a known lower one
])
def test_a_two_row_headers_lower_row_takes_the_known_headers_above_its_empty_or_unknown_cells(upper, lower, merged):
    assert _merge_header_rows(upper, lower, SCHEMA.header_to_key) == merged
