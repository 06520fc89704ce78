"""Each criterion kind with hand-computed examples, the aggregation of expert scores, the one rounding."""

from decimal import Decimal

import pytest

from agri_insurance.evaluation.models import Criterion, CriterionKind, Factor
from agri_insurance.evaluation.scoring import aggregate, objective_points, round_points

D = Decimal


def crit(kind, top, higher=True, bands=None, per=None):
    return Criterion(factor=Factor.CLAIMS, code="X", name="x", kind=kind, max_points=D(top), metric="m",
                     higher_is_better=higher, bands=bands, deduction_per_count=D(per) if per else None)


def pts(criterion, value, population):
    return round_points(objective_points(criterion, None if value is None else D(value),
                                         [None if v is None else D(v) for v in population]))


def test_linear_between_worst_and_best():
    c = crit(CriterionKind.LINEAR, "8")
    population = ["10", "20", "30"]
    assert [pts(c, v, population) for v in population] == [D("0.00"), D("4.00"), D("8.00")]
    # 8 × (1 − 0) / (3 − 0) = 2.666… → 2.67
    assert pts(c, "1", ["0", "1", "3"]) == D("2.67")


def test_linear_lower_is_better():
    c = crit(CriterionKind.LINEAR, "6", higher=False)
    population = ["15", "20", "25"]
    assert [pts(c, v, population) for v in population] == [D("6.00"), D("3.00"), D("0.00")]


def test_linear_ties_single_bidder_all_equal_and_missing():
    c = crit(CriterionKind.LINEAR, "8")
    assert [pts(c, v, ["10", "10", "30"]) for v in ("10", "10", "30")] == [D("0.00"), D("0.00"), D("8.00")]
    assert pts(c, "7", ["7"]) == D("8.00")                                       # a single bidder
    assert [pts(c, v, ["5", "5", "5"]) for v in ("5", "5", "5")] == [D("8.00")] * 3  # all equal
    assert pts(c, None, [None, "10", "20"]) == D("0.00")                        # missing data scores 0
    assert pts(c, "10", [None, "10", "20"]) == D("0.00")                        # … and is not the worst value
    assert pts(c, "20", [None, "10", "20"]) == D("8.00")


def test_banded_higher_and_lower_is_better():
    c = crit(CriterionKind.BANDED, "6", bands=[["98", "6"], ["95", "4"], ["90", "2"]])
    assert [pts(c, v, []) for v in ("99", "98", "96.5", "90", "89.99")] == \
        [D("6.00"), D("6.00"), D("4.00"), D("2.00"), D("0.00")]
    assert pts(c, None, []) == D("0.00")
    lower = crit(CriterionKind.BANDED, "6", higher=False, bands=[["15", "6"], ["20", "4"]])
    assert [pts(lower, v, []) for v in ("14", "15", "18", "25")] == [D("6.00"), D("6.00"), D("4.00"), D("0.00")]


def test_yes_no():
    c = crit(CriterionKind.YES_NO, "3")
    assert objective_points(c, True, []) == D(3)
    assert objective_points(c, False, []) == 0
    assert objective_points(c, None, []) == 0


def test_deduction_per_count_with_floor_zero():
    c = crit(CriterionKind.DEDUCTION, "6", per="2")
    assert [pts(c, n, []) for n in ("0", "1", "2", "3", "5")] == \
        [D("6.00"), D("4.00"), D("2.00"), D("0.00"), D("0.00")]


@pytest.mark.parametrize(("values", "drop_at", "expected"), [
    (["7", "8", "9"], 5, "8"),                 # 3 experts: plain mean
    (["1", "7", "8", "9", "10"], 5, "8"),      # 5 experts: 1 and 10 dropped → (7+8+9)/3
    (["1", "7", "8", "9", "10"], 0, "7"),      # never drop: 35/5
    (["1", "7", "8", "9", "10"], 6, "7"),      # fewer experts than the threshold
    (["2", "2", "2", "9", "9", "9"], 5, "5.5"),  # one highest and one lowest only: (2+2+9+9)/4
])
def test_aggregation_with_and_without_dropping_extremes(values, drop_at, expected):
    assert aggregate([D(v) for v in values], drop_at) == D(expected)


def test_aggregation_rounds_once_to_two_decimals():
    mean = aggregate([D("7"), D("8"), D("8")], 5)
    assert mean == D(23) / 3 and round_points(mean) == D("7.67")
    assert aggregate([], 5) is None
    assert round_points(D("2.675")) == D("2.68") and round_points(D("2.665")) == D("2.67")  # half up



@pytest.mark.parametrize("text", ["nan, 10", "100, nan", "inf, 5", "1e30, 5"])
def test_bands_refuse_numbers_no_ranking_can_use(text):
    from agri_insurance.errors import DomainError
    from agri_insurance.evaluation.service import parse_bands

    with pytest.raises(DomainError, match="分档第1行"):
        parse_bands(text, Decimal(10))
