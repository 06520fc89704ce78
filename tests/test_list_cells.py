"""The cell reading every list import shares (list_files), below the imports: a date cell in each form a clerk's
spreadsheet gives it and its refusals' words, the data rows passed over by a reading process (`DataRows.skip`: in
forked processes in the imports, where nothing measures it), and a formula's column beyond Z."""

from datetime import date, datetime

import pytest

from agri_insurance.list_files import DataRows, Findings, ListSchema, RowValidator, _column_index

SCHEMA = ListSchema(columns=(("name", "姓名"), ("loss_date", "出险日期")), required=("name", "loss_date"))


def read_date(raw, required: bool = True):
    """The date read from a cell of the loss-date column on row 7, and the findings as (row, column, words)."""
    findings = Findings()
    value = RowValidator(SCHEMA, {"name": 0, "loss_date": 1}, findings).date(["农户", raw], "loss_date", 7, required)
    return value, [(e.row, e.column, e.message) for e in findings.errors]


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
    return DataRows([[5], [6]], rest, 5, {}, None, source if raw else None)


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
