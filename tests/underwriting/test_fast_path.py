"""The fast path for clean rows must accept exactly what the full checks accept, with the same values."""

from hypothesis import given, settings
from hypothesis import strategies as st

from agri_insurance.underwriting.parsing import COLUMNS, Findings, RowValidator
from tests.underwriting.factories import rows

POSITIONS = {key: i for i, (key, _header) in enumerate(COLUMNS)}
BASE = rows(30)
BREAKAGES = [
    lambda r: r.__setitem__(1, r[1].lower()),
    lambda r: r.__setitem__(1, r[1][:17] + "0"),
    lambda r: r.__setitem__(1, " " + r[1]),
    lambda r: r.__setitem__(1, float(r[1][:17])),
    lambda r: r.__setitem__(0, "  "),
    lambda r: r.__setitem__(0, "王\u3000小明"),
    lambda r: r.__setitem__(4, "油菜"),
    lambda r: r.__setitem__(5, "１０.００"),
    lambda r: r.__setitem__(5, 10.0),
    lambda r: r.__setitem__(5, 10.005),
    lambda r: r.__setitem__(5, "10.5亩"),
    lambda r: r.__setitem__(5, "0"),
    lambda r: r.__setitem__(6, "头"),
    lambda r: r.__setitem__(6, 10),
    lambda r: r.__setitem__(7, "1,000.00"),
    lambda r: r.__setitem__(8, "-1"),
    lambda r: r.__setitem__(9, "99999"),
    lambda r: r.__setitem__(9, 0.0),
    lambda r: r.__setitem__(10, "6222 0212 3456 7890"),
    lambda r: r.__setitem__(10, "62220212345678901234"),
    lambda r: r.__setitem__(10, 6.2e18),
    lambda r: r.__setitem__(2, "x" * 51),
    lambda r: r.__setitem__(8, "1e3"),
    lambda r: r.__setitem__(0, "王\x0b小明"),
    lambda r: r.__setitem__(3, "第1\n村"),
    lambda r: r.__setitem__(2, "饶丰\x7f镇"),
    lambda r: r.__setitem__(7, "1000000000000.00"),   # more than a row's columns hold
    lambda r: r.__setitem__(5, 1e13),
]


def run(row, fast: bool):
    findings = Findings()
    validator = RowValidator(POSITIONS, {"水稻", "rice"}, "亩", findings)
    if not fast:
        validator._fast = lambda *_args: None
    return validator.validate(7, list(row)), findings.errors, findings.normalised_cells


@settings(max_examples=300, deadline=None)
@given(index=st.integers(0, len(BASE) - 1), breaks=st.lists(st.sampled_from(range(len(BREAKAGES))), max_size=3))
def test_fast_and_full_checks_agree(index, breaks):
    row = list(BASE[index])
    for b in breaks:
        try:
            BREAKAGES[b](row)
        except (AttributeError, TypeError):
            pass  # a breakage that does not apply to what an earlier one left in the cell
    fast_result, fast_errors, _ = run(row, fast=True)
    full_result, full_errors, normalised = run(row, fast=False)
    assert fast_result == full_result
    assert fast_errors == full_errors
    if fast_result is not None and normalised:
        # Anything the full checks had to normalise must not have slipped through the fast path unnoticed.
        assert run(row, fast=True)[2] == normalised



def test_an_amount_no_row_column_holds_is_an_error_on_its_cell():
    row = list(BASE[0])
    row[8] = "1000000000000"
    valid, errors, _normalised = run(row, fast=True)
    assert valid is None and [(e.column, e.message) for e in errors] == [("保费（元）", "数值过大")]
