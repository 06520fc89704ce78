"""Issue 22: an allocation whatever the time limit, which phase produced it, and honest bounds, on both
scenario families (the project's ``generate.py`` and the independently structured ``family2.py``)."""

from decimal import Decimal

import numpy as np
import pytest
from family2 import family2
from generate import generate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opt_checker import brute_force, check, check_result

from optimization import parse_scenario, solve_scenario
from optimization.compact import solve_compact_highs
from optimization.problem import build_problem
from optimization.quick import lagrangian_draft

PHASES = {"lagrangian_draft", "rank_order_draft", "master_mip", "cores", "exact_search", "compact", "compact_race"}

SCENARIOS = {
    "family1-small": lambda: generate("city", 4, counties=3, insurers=5),
    "family1-medium": lambda: generate("city", 3),
    "family2-small": lambda: family2(3, 5, 4),
    "family2-medium": lambda: family2(12, 10, 3),
    "family2-tight-few-bids": lambda: family2(20, 8, 4, cap_range=(0.4, 0.5), bids=(3, 4)),
    "family2-ties": lambda: family2(12, 10, 5, ties=True),
}


def _exact(raw: dict) -> Decimal:
    """The true optimum, by the compact model on HiGHS with no gap and no time limit."""
    problem = build_problem(parse_scenario(raw))
    out, chosen, _ = solve_compact_highs(problem, None, 0.0)
    assert out.status == "optimal" and chosen is not None
    awards = {problem.lot_ids[int(problem.bid_lot[b])]: problem.insurer_ids[int(problem.bid_ins[b])] for b in chosen}
    assert check(raw, awards) == []
    from opt_checker import objective
    return objective(raw, awards).quantize(Decimal("0.01"))  # money in the result is rounded to the fen


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_the_lagrangian_draft_alone_is_an_allocation(name):
    raw = SCENARIOS[name]()
    problem = build_problem(parse_scenario(raw))
    draft = lagrangian_draft(problem, rounds=1)  # the first round, nothing else
    assert draft.chosen is not None
    awards = {problem.lot_ids[int(problem.bid_lot[b])]: problem.insurer_ids[int(problem.bid_ins[b])]
              for b in draft.chosen}
    assert check(raw, awards) == []
    # its Lagrangian value is a bound for every allocation
    assert draft.bound >= float(problem.weight[draft.chosen].sum())


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_a_tiny_time_limit_still_returns_an_allocation_and_a_true_bound(name):
    raw = SCENARIOS[name]()
    result = solve_scenario(parse_scenario(raw), time_limit=0.001, gap=0.0)
    out = result.to_dict()
    check_result(raw, out)  # every rule, objective, bound >= objective, >= the rank-order draft
    assert out["status"] in ("optimal", "feasible")
    assert out["phase"] in PHASES
    assert result.timings["first_allocation_s"] <= result.solve_seconds
    best = _exact(raw)
    assert Decimal(out["objective"]) <= best <= Decimal(out["bound"])


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_the_reported_bound_is_a_true_bound_and_optimal_is_optimal(name):
    raw = SCENARIOS[name]()
    out = solve_scenario(parse_scenario(raw), time_limit=20, gap=0.0).to_dict()
    check_result(raw, out)
    best = _exact(raw)
    assert Decimal(out["objective"]) <= best <= Decimal(out["bound"])
    if out["status"] == "optimal":
        assert Decimal(out["objective"]) == best


def test_the_compact_race_reports_the_better_result_and_bound(monkeypatch):
    """The race starts at once here (it waits 1 s by default): its bound and allocation are merged honestly."""
    import optimization.solve as solve

    monkeypatch.setattr(solve, "_RACE_AFTER", 0.0)
    raw = SCENARIOS["family2-tight-few-bids"]()
    result = solve.solve_scenario(parse_scenario(raw), time_limit=20, gap=0.0)
    out = result.to_dict()
    check_result(raw, out)
    best = _exact(raw)
    assert Decimal(out["objective"]) == best == Decimal(out["bound"])
    assert "race" in result.timings["stats"]
    assert out["phase"] in PHASES
    sources = {entry[3] for entry in result.timings["trace"]}
    assert "compact" in sources and "decomposition" in sources


@st.composite
def tiny_family2(draw):
    seed = draw(st.integers(0, 10_000))
    counties = draw(st.integers(1, 2))
    return family2(counties, draw(st.integers(3, 5)), seed, lots=(2, 3), bids=(2, 3),
                   cap_range=draw(st.sampled_from([(0.3, 0.5), (0.55, 0.75)])), ties=draw(st.booleans()),
                   share_cap=draw(st.sampled_from([None, 0.35, 0.6])))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tiny_family2(), st.sampled_from([None, 0.001]))
def test_family2_optimal_as_enumeration_says(raw, time_limit):
    best, _ = brute_force(raw)
    assert best is not None  # the family guarantees a feasible allocation
    best = best.quantize(Decimal("0.01"))
    out = solve_scenario(parse_scenario(raw), time_limit=time_limit).to_dict()
    check_result(raw, out)
    assert out["phase"] in PHASES
    assert Decimal(out["objective"]) <= best <= Decimal(out["bound"])
    if time_limit is None:
        assert out["status"] == "optimal"
        assert Decimal(out["objective"]) == best


def test_family2_is_deterministic_and_feasible_by_construction():
    a, b = family2(12, 10, 7), family2(12, 10, 7)
    assert a == b
    assert not np.isnan(float(a["settings"]["market_share_cap"]))


@pytest.mark.parametrize("exact_first", [True, False])
def test_the_race_does_not_start_once_the_exact_phase_has_begun(monkeypatch, exact_first):
    """The compact race waits ``_RACE_AFTER``; when the decomposition's exact phase has begun by then, it does not
    start (on a busy machine it would only take half the exact search's CPU). A race that started first runs
    on as before."""
    import time

    import optimization.solve as solve

    monkeypatch.setattr(solve, "_RACE_AFTER", 0.1)
    problem = build_problem(parse_scenario(SCENARIOS["family2-tight-few-bids"]()))
    race = solve._CompactRace(problem, None, None, 0.0, 0.0)
    if exact_first:
        race.exact_phase.set()
        time.sleep(0.3)  # past the race's delay: it would have started by now
    else:
        waited = time.monotonic() + 30
        while not race.ran and time.monotonic() < waited:  # the race has started its search
            time.sleep(0.01)
        race.exact_phase.set()
    race.finish()
    assert race.ran is not exact_first


def test_a_solve_whose_exact_phase_begins_first_runs_no_race(monkeypatch):
    """The exact phase begins within the race's delay and is still searching when the delay ends (its search
    held back here): no race runs, and the solve still proves the optimum the compact model proves alone."""
    import threading
    import time

    import optimization.compact as compact
    import optimization.solve as solve

    search = compact.solve_compact_highs

    def slow_in_the_caller(*args, **kwargs):
        if threading.current_thread() is threading.main_thread():
            time.sleep(1.5)  # the decomposition's exact search, past the race's delay
        return search(*args, **kwargs)

    monkeypatch.setattr(solve, "_RACE_AFTER", 1.0)  # the exact phase begins within it, even on a busy machine
    monkeypatch.setattr(compact, "solve_compact_highs", slow_in_the_caller)
    raw = SCENARIOS["family2-medium"]()
    result = solve.solve_scenario(parse_scenario(raw), time_limit=20, gap=0.0)
    out = result.to_dict()
    check_result(raw, out)
    assert result.timings["stats"].get("exact_mip_status"), "the exact phase ran"
    assert "race" not in result.timings["stats"]
    assert Decimal(out["objective"]) == _exact(raw) == Decimal(out["bound"])
