from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimization.lot_design import Cell, design_lots


def partitions(items, k):
    """Every partition of items into exactly k non-empty blocks (brute force)."""
    if not items:
        if k == 0:
            yield []
        return
    first, rest = items[0], items[1:]
    for part in partitions(rest, k - 1):
        yield [[first]] + part
    for part in partitions(rest, k):
        for n in range(len(part)):
            yield part[:n] + [[first] + part[n]] + part[n + 1:]


def score(blocks, k):
    total_p = sum(float(c.expected_premium) for c in sum(blocks, []))
    total_c = sum(float(c.expected_premium * c.loss_ratio) for c in sum(blocks, []))
    mean, lr = total_p / k, total_c / total_p
    worst = 0.0
    for b in blocks:
        p = sum(float(c.expected_premium) for c in b)
        c_ = sum(float(c.expected_premium * c.loss_ratio) for c in b)
        worst = max(worst, abs(p - mean) / mean, abs(c_ / p - lr) / lr)
    return worst


@st.composite
def cells(draw):
    n = draw(st.integers(2, 7))
    return [Cell(id=f"c{j}", product=draw(st.sampled_from(["rice", "sow", "citrus"])),
                 expected_premium=Decimal(draw(st.integers(1, 50)) * 10000),
                 loss_ratio=Decimal(draw(st.integers(20, 120))) / 100) for j in range(n)]


@settings(max_examples=60, deadline=None)
@given(cells(), st.integers(1, 4))
def test_design_is_the_exact_optimum(cs, k):
    if k > len(cs):
        with pytest.raises(ValueError):
            design_lots(cs, k)
        return
    design = design_lots(cs, k)
    best = min(score(p, k) for p in partitions(cs, k))
    assert design.max_deviation == pytest.approx(best, abs=1e-9)
    assert sorted(i for lot in design.lots for i in lot.cell_ids) == sorted(c.id for c in cs)
    assert all(lot.cell_ids for lot in design.lots) and len(design.lots) == k
    assert sum(lot.expected_premium for lot in design.lots) == sum(c.expected_premium for c in cs)
    reported = max(max(lot.premium_deviation, lot.loss_ratio_deviation) for lot in design.lots)
    assert reported == pytest.approx(design.max_deviation, abs=1e-6)


def test_balanced_example_and_determinism():
    cs = [Cell("rice-A", "rice", Decimal("400"), Decimal("0.5")), Cell("rice-B", "rice", Decimal("400"), Decimal("0.9")),
          Cell("sow", "sow", Decimal("300"), Decimal("0.7")), Cell("citrus", "citrus", Decimal("100"), Decimal("0.7")),
          Cell("forest", "forest", Decimal("400"), Decimal("0.7"))]
    d = design_lots(cs, 2)
    assert {lot.expected_premium for lot in d.lots} == {Decimal("800")}
    assert design_lots(list(reversed(cs)), 2) == d


def test_county_sized_instance_is_fast():
    import random
    rng = random.Random(5)
    cs = [Cell(f"c{j:02d}", "rice", Decimal(rng.randint(50, 900)) * 1000, Decimal(rng.randint(30, 110)) / 100)
          for j in range(14)]
    d = design_lots(cs, 4)
    assert d.max_deviation < 0.5 and len(d.lots) == 4
