"""Property tests on random small scenarios, against brute-force enumeration."""

import time
from decimal import Decimal

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opt_checker import brute_force, check_result
from opt_factory import scenario

from optimization import parse_scenario, solve_scenario


@st.composite
def small_scenarios(draw):
    n_counties = draw(st.integers(1, 3))
    insurers = ["I1", "I2", "I3", "I4"][: draw(st.integers(2, 4))]
    lots = {}
    for c in range(n_counties):
        for k in range(draw(st.integers(1, 3))):
            lots[f"C{c}-{k}"] = (f"C{c}", str(draw(st.integers(1, 40)) * 10))
    if len(lots) > 6:
        lots = dict(list(lots.items())[:6])
    bids = {}
    for lot_id in lots:
        for ins in insurers:
            if draw(st.booleans()) or draw(st.booleans()):
                bids[(lot_id, ins)] = draw(st.sampled_from([60, 70, 75, 80, 85, 90, 99]))
    total = sum(int(p) for _, p in lots.values())
    caps = {ins: (None if draw(st.booleans()) else str(draw(st.integers(0, total)))) for ins in insurers}
    raw = scenario(lots, bids, insurers=caps,
                   min_insurers_per_county=draw(st.sampled_from([1, 2, 2])),
                   max_insurers_per_county=draw(st.sampled_from([2, 3])),
                   market_share_cap=draw(st.sampled_from([None, None, "0.5", "0.7"])))
    pairs = sorted(bids)
    if pairs and draw(st.booleans()):
        lot_id, ins = draw(st.sampled_from(pairs))
        raw["fixed"] = [{"lot_id": lot_id, "insurer_id": ins}]
    if pairs and draw(st.booleans()):
        lot_id, ins = draw(st.sampled_from(pairs))
        if not raw["fixed"] or raw["fixed"][0] != {"lot_id": lot_id, "insurer_id": ins}:
            raw["forbidden"] = [{"lot_id": lot_id, "insurer_id": ins}]
    return raw


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_scenarios())
def test_optimal_and_infeasible_exactly_as_enumeration_says(raw):
    best, _ = brute_force(raw)
    result = solve_scenario(parse_scenario(raw)).to_dict()
    check_result(raw, result)  # every rule, objective, counties, bound >= objective, >= baseline
    if best is None:
        assert result["status"] == "infeasible"
        assert any(d["severity"] == "error" for d in result["diagnostics"])
    else:
        assert result["status"] == "optimal"
        assert Decimal(result["objective"]) == best
        assert result["gap"] == "0"


@settings(max_examples=25, deadline=None)
@given(small_scenarios())
def test_compact_and_cbc_agree_with_enumeration(raw):
    best, _ = brute_force(raw)
    for kw in ({"method": "compact"}, {"solver": "cbc"}):
        result = solve_scenario(parse_scenario(raw), **kw).to_dict()
        check_result(raw, result)
        if best is None:
            assert result["status"] == "infeasible"
        else:
            assert result["status"] == "optimal", kw
            assert Decimal(result["objective"]) == best, kw


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_scenarios(), st.sampled_from([0.002, 0.01, 0.05]))
def test_a_requested_gap_is_honest(raw, gap):
    """With a gap the solver may stop early (cores, pruning within the gap): the bound it reports must still
    be at least the true optimum, and 'optimal' must mean within the gap of it."""
    best, _ = brute_force(raw)
    result = solve_scenario(parse_scenario(raw), gap=gap).to_dict()
    check_result(raw, result)
    if best is None:
        assert result["status"] == "infeasible"
        return
    objective, bound = Decimal(result["objective"]), Decimal(result["bound"])
    assert objective <= best <= bound
    if result["status"] == "optimal":
        assert (best - objective) <= Decimal(str(gap)) * bound + Decimal("0.01")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_scenarios(), st.lists(st.sampled_from([0.0, 5.0, 20.0, 60.0, 90.0]), min_size=4, max_size=4),
       st.sampled_from([0.001, 0.01, 0.1]))
def test_core_search_bound_holds_for_any_capacity_prices(raw, prices, gap):
    """The cores' bound max(core bound, UB - eps) is valid for any prices on the capacities (the Lagrangian
    bound is), so arbitrary prices, which put the optimum far outside the small cores, must not break it."""
    from optimization.decomposition import _core_search
    from optimization.oracle import CountyOracle
    from optimization.problem import build_problem

    best, _ = brute_force(raw)
    problem = build_problem(parse_scenario(raw))
    if best is None or not problem.assignable_lots():
        return
    pi = np.where(np.isfinite(problem.cap), np.array(prices[: problem.n_insurers]), 0.0)
    values = CountyOracle(problem).values(problem.weight - pi[problem.bid_ins] * problem.premium[problem.bid_lot])
    counties = np.array([c for c in range(problem.n_counties) if problem.county_lots[c]])
    ub = float(values[counties].sum() + pi @ np.where(np.isfinite(problem.cap), problem.cap, 0.0))
    outcome = _core_search(problem, counties, np.flatnonzero(np.isfinite(problem.cap)), pi, values, ub, gap,
                           None, time.perf_counter() + 10, time.perf_counter() + 30)
    true_best = float(best) / problem.scale
    assert outcome.bound >= true_best - 1e-9 * max(1.0, abs(true_best))
    if outcome.chosen is not None:
        assert float(problem.weight[outcome.chosen].sum()) <= true_best + 1e-9 * max(1.0, abs(true_best))
