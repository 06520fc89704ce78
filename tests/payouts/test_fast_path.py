"""The payout list's fast path for clean rows must accept exactly what the full checks accept, with the same values."""

from datetime import date, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from agri_insurance.list_files import Findings
from agri_insurance.payouts.parsing import COLUMNS, PayoutRowValidator
from tests.payouts.factories import payout
from tests.underwriting.factories import rows

POSITIONS = {key: i for i, (key, _header) in enumerate(COLUMNS)}
TODAY = date(2026, 12, 5)
BASE = [payout(farmer, settle, pay) for farmer, (settle, pay) in zip(
    rows(12), [(10, 2), (20, 5), (30, 10), (5, None), (40, 11), (60, 1)] * 2, strict=True)]
BREAKAGES = [
    lambda r: r.__setitem__(1, r[1].lower()),
    lambda r: r.__setitem__(1, r[1][:17] + "0"),
    lambda r: r.__setitem__(1, " " + r[1]),
    lambda r: r.__setitem__(1, float(r[1][:17])),
    lambda r: r.__setitem__(0, "  "),
    lambda r: r.__setitem__(0, "王\u3000小明"),
    lambda r: r.__setitem__(0, "王\x0b小明"),
    lambda r: r.__setitem__(0, "x" * 101),
    lambda r: r.__setitem__(2, r[2].replace(year=2025)),
    lambda r: r.__setitem__(2, datetime(r[2].year, r[2].month, r[2].day, 8, 30)),
    lambda r: r.__setitem__(3, r[3].isoformat()),
    lambda r: r.__setitem__(4, r[2]),
    lambda r: r.__setitem__(4, date(2027, 1, 1)),
    lambda r: r.__setitem__(6, None),
    lambda r: r.__setitem__(8, date(2027, 1, 1)),
    lambda r: r.__setitem__(8, None),
    lambda r: r.__setitem__(7, None),
    lambda r: r.__setitem__(8, r[2]),
    lambda r: r.__setitem__(5, 50.0),
    lambda r: r.__setitem__(5, 50.005),
    lambda r: r.__setitem__(5, "50元"),
    lambda r: r.__setitem__(5, "0"),
    lambda r: r.__setitem__(5, 0),
    lambda r: r.__setitem__(5, "1,000.00"),
    lambda r: r.__setitem__(5, "1e3"),
    lambda r: r.__setitem__(5, 1e13),
    lambda r: r.__setitem__(7, "60.00"),
    lambda r: r.__setitem__(7, 0.0),
    lambda r: r.__setitem__(7, -1.0),
    lambda r: r.__setitem__(7, True),
    lambda r: r.__setitem__(9, "6222 0212 3456 7890"),
    lambda r: r.__setitem__(9, 6.2e18),
    lambda r: r.__setitem__(9, ""),
    lambda r: r.__setitem__(9, None),
]


def run(row, fast: bool):
    findings = Findings()
    validator = PayoutRowValidator(POSITIONS, 2026, TODAY, findings)
    if not fast:
        validator._fast = lambda *_args: None
    return validator.validate(7, list(row)), findings.errors, findings.normalised_cells


def test_clean_rows_take_the_fast_path():
    validator = PayoutRowValidator(POSITIONS, 2026, TODAY, Findings())
    assert all(validator._fast(7, list(row)) is not None for row in BASE)


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
