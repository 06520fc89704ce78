import os
import random
import tempfile
import threading
import time
from decimal import Decimal

import numpy as np
import pytest
from opt_checker import brute_force, check_result
from opt_factory import scenario, two_county

from optimization import parse_scenario, solve_scenario
from optimization.decomposition import solve_decomposition
from optimization.highs import MS, classify
from optimization.problem import build_problem


def run(raw, **kw) -> dict:
    result = solve_scenario(parse_scenario(raw), **kw).to_dict()
    check_result(raw, result)
    return result


def test_two_county_matches_brute_force():
    raw = two_county()
    best, _ = brute_force(raw)
    result = run(raw)
    assert result["status"] == "optimal"
    assert Decimal(result["objective"]) == best
    assert result["gap"] == "0"
    assert Decimal(result["bound"]) == best
    # A: X must share with someone; giving A3 to Y (89 vs 90 on the smallest lot) is cheapest
    awards = {a["lot_id"]: a["insurer_id"] for a in result["awards"]}
    assert awards["A3"] == "Y" and awards["A1"] == awards["A2"] == "X"


@pytest.mark.parametrize("method", ["decomposition", "compact"])
def test_capacity_and_share_cap_match_brute_force(method):
    lots = {f"{c}{k}": (c, str(100 + 37 * k + 11 * (ord(c) - 80))) for c in "PQ" for k in range(3)}
    bids = {}
    rng = random.Random(7)
    for lot_id in lots:
        for ins in "WXYZ":
            if rng.random() < 0.8:
                bids[(lot_id, ins)] = rng.randint(60, 99)
    raw = scenario(lots, bids, insurers={"W": "250", "X": "300", "Y": None, "Z": None}, market_share_cap="0.4")
    best, _ = brute_force(raw)
    assert best is not None
    result = run(raw, method=method)
    assert result["status"] == "optimal"
    assert Decimal(result["objective"]) == best


def test_cbc_agrees_and_leaves_no_temporary_files(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    tempfile.tempdir = None  # re-read TMPDIR
    try:
        raw = two_county()
        result = run(raw, solver="cbc")
    finally:
        tempfile.tempdir = None
    assert result["status"] == "optimal"
    assert result["solver"].startswith("CBC")
    assert Decimal(result["objective"]) == brute_force(raw)[0]
    assert os.listdir(tmp_path) == []


def test_result_is_deterministic_and_independent_of_input_order():
    raw = two_county()
    shuffled = dict(raw)
    rng = random.Random(3)
    for key in ("lots", "bids", "insurers", "counties"):
        shuffled[key] = rng.sample(raw[key], len(raw[key]))
    a, b = run(raw), run(shuffled)
    for key in ("awards", "counties", "objective", "bound", "status", "baseline", "diagnostics"):
        assert a[key] == b[key]


def test_equal_scores_are_broken_by_id():
    lots = {"A1": ("A", "100"), "A2": ("A", "100")}
    bids = {(lot_id, ins): 80 for lot_id in lots for ins in ("K", "J", "L")}
    result = run(scenario(lots, bids, max_insurers_per_county=2))
    explanation = result["explanation"]["awards"]
    assert {e["runner_up"]["score"] for e in explanation} == {"80"}
    # same result every time
    assert run(scenario(lots, bids, max_insurers_per_county=2))["awards"] == result["awards"]


def knapsack_gap_scenario() -> dict:
    """X is better everywhere but its capacity fits one lot; the LP would split it: a real integrality gap."""
    lots = {"A1": ("A", "3"), "A2": ("A", "3"), "B1": ("B", "4"), "B2": ("B", "4")}
    bids = {(lot_id, ins): s for lot_id in lots for ins, s in (("X", 90), ("Y", 80))}
    return scenario(lots, bids, insurers={"X": "5", "Y": None}, min_insurers_per_county=1)


def test_bound_and_true_status_with_an_integrality_gap():
    raw = knapsack_gap_scenario()
    problem = build_problem(parse_scenario(raw))
    rough = solve_decomposition(problem, gap=0.0, exact=False)
    assert rough.status == "feasible" and rough.gap > 1e-3  # bound 50 above the best possible
    exact = solve_decomposition(problem, gap=0.0)
    assert exact.status == "optimal" and exact.proven and exact.gap == 0
    result = run(raw)
    assert Decimal(result["objective"]) == brute_force(raw)[0] == Decimal(80 * 14 + 10 * 4)


def test_requested_gap_decides_optimal_versus_feasible():
    problem = build_problem(parse_scenario(knapsack_gap_scenario()))
    loose = solve_decomposition(problem, gap=0.05, exact=False)
    assert loose.status == "optimal" and 0 < loose.gap <= 0.05


def test_classify_reports_time_limited_solve_as_feasible():
    assert classify(MS.kTimeLimit, True, 2e-4, 0.0) == "feasible"
    assert classify(MS.kOptimal, True, 2e-4, 0.0) == "feasible"  # HiGHS "optimal" at its own tolerance
    assert classify(MS.kTimeLimit, True, 0.0, 0.0) == "optimal"
    assert classify(MS.kInfeasible, False, None, 0.0) == "infeasible"
    assert classify(MS.kTimeLimit, False, None, 0.0) == "unknown"


def test_fixed_and_forbidden_pairs_are_respected():
    raw = two_county()
    raw["fixed"] = [{"lot_id": "B1", "insurer_id": "Z"}]
    raw["forbidden"] = [{"lot_id": "A2", "insurer_id": "X"}]
    result = run(raw)
    awards = {a["lot_id"]: a["insurer_id"] for a in result["awards"]}
    assert awards["B1"] == "Z" and awards["A2"] != "X"
    assert Decimal(result["objective"]) == brute_force(raw)[0]


def test_county_exception_allows_a_fourth_underwriter():
    lots = {f"A{k}": ("A", "100") for k in range(4)}
    bids = {(f"A{k}", ins): (95 if k == n else 60) for k in range(4) for n, ins in enumerate("WXYZ")}
    raw = scenario(lots, bids)
    assert Decimal(run(raw)["objective"]) == brute_force(raw)[0] == Decimal(100 * (3 * 95 + 60))
    raw["counties"][0].update(max_insurers=4, approval_ref="赣农险组〔2026〕3号")
    result = run(raw)
    assert Decimal(result["objective"]) == Decimal(100 * 4 * 95)
    assert len(result["counties"][0]["insurers"]) == 4


def test_explanation_gives_runner_up_and_county_underwriters():
    result = run(two_county())
    exp = result["explanation"]
    a3 = next(e for e in exp["awards"] if e["lot_id"] == "A3")
    assert a3["insurer_id"] == "Y" and a3["score"] == "89" and a3["runner_up"] == {"insurer_id": "X", "score": "90"}
    assert "低于" in a3["note"]
    assert {c["county_id"]: c["insurers"] for c in exp["counties"]} == {"A": ["X", "Y"], "B": ["X", "Y"]}
    assert exp["objective"] == result["objective"] and exp["gap"] == "0"
    assert result["baseline"]["feasible"] in (True, False)


def test_lot_without_bid_is_left_out_with_a_warning():
    raw = two_county()
    raw["lots"].append({"id": "B3", "county_id": "B", "expected_premium": "10"})
    result = run(raw)
    assert result["status"] == "optimal"
    assert [d["subject_id"] for d in result["diagnostics"]] == ["B3"]
    assert "B3" not in {a["lot_id"] for a in result["awards"]}


def test_compact_restricted_to_allowed_bids():
    """The decomposition's exact phase: bids outside ``allowed`` (and participations no allowed bid uses) are
    fixed to zero; with every bid allowed it is the plain compact model."""
    from optimization.compact import solve_compact_highs

    raw = two_county()
    p = build_problem(parse_scenario(raw))
    full, chosen, _ = solve_compact_highs(p, 10.0, 0.0)
    same, chosen_all, _ = solve_compact_highs(p, 10.0, 0.0, allowed=np.ones(p.n_bids, dtype=bool))
    assert full.status == same.status == "optimal"
    assert list(chosen_all) == list(chosen)
    allowed = np.ones(p.n_bids, dtype=bool)
    allowed[chosen[0]] = False  # forbid one winning bid: the restricted optimum avoids it and is no better
    out, restricted, _ = solve_compact_highs(p, 10.0, 0.0, allowed=allowed)
    if restricted is not None:
        assert chosen[0] not in set(restricted.tolist())
        assert p.weight[restricted].sum() <= p.weight[chosen].sum() + 1e-9
    else:
        assert out.status == "infeasible"


def test_cores_and_gap_pruning_never_claim_a_bound_below_the_optimum():
    """Generated scenarios where capacities bind, solved with a gap: the cores and the exact phase stop early,
    and the bound they report must still be at least the optimum the compact model proves independently."""
    from bench.allocation.generate import generate

    cores_ran = 0
    for seed in range(1, 9):
        raw = generate("city", seed, counties=24)
        truth = solve_scenario(parse_scenario(raw), method="compact", gap=0.0)
        assert truth.status == "optimal"
        result = solve_scenario(parse_scenario(raw), gap=5e-5)
        check_result(raw, result.to_dict())
        cores_ran += bool(result.timings["stats"].get("cores"))
        assert result.objective <= truth.objective <= result.bound, seed
        if result.status == "optimal":
            assert truth.objective - result.objective <= Decimal("5e-5") * result.bound, seed
    assert cores_ran >= 4  # the scenarios exercise the cores, not only the first look


def test_two_searches_side_by_side_prove_the_true_optimum(monkeypatch):
    """The second look and the second exact search start only on solves longer than a second, which the test
    scenarios are not; without the delay they always run. Sharing allocations and stopping each other, the
    two must still end in the optimum the compact model proves on its own, with an honest bound."""
    from bench.allocation.generate import generate

    monkeypatch.setattr("optimization.decomposition._SECOND_SEARCH_AFTER", 0.0)
    two_looks = two_searches = 0
    for seed in range(1, 9):
        raw = generate("city", seed, counties=24)
        truth = solve_scenario(parse_scenario(raw), method="compact", gap=0.0)
        result = solve_scenario(parse_scenario(raw), gap=0.0, race_compact=False)  # the race takes that core
        check_result(raw, result.to_dict())
        assert result.status == "optimal", seed
        assert result.objective == truth.objective == result.bound, seed
        two_looks += len(result.timings["stats"]["first_looks"]) == 2
        two_searches += len(result.timings["stats"].get("exact_mip_status", [])) == 2
    assert two_looks == 8 and two_searches >= 4, (two_looks, two_searches)


class _RecordingIncumbent:
    """Stands in for the decomposition's shared incumbent: hands one allocation over, records the others."""

    def __init__(self, handed):
        self.handed = handed
        self.offered = []
        self.asked = 0
        self.proven = threading.Event()

    def offer(self, bids):
        self.offered.append(np.sort(np.asarray(bids)))

    def better_than(self, value):
        self.asked += 1
        return self.handed


def test_compact_search_shares_allocations_both_ways():
    """Two searches side by side: every allocation HiGHS finds is offered to the other side (as bid indices
    that form a valid allocation), and an allocation handed over is taken as HiGHS's own incumbent."""
    from bench.allocation.generate import generate
    from optimization.baseline import is_feasible, rank_order_draft
    from optimization.compact import solve_compact_highs

    p = build_problem(parse_scenario(generate("city", 1)))  # capacities bind: HiGHS has to branch
    plain, optimum, _ = solve_compact_highs(p, 30.0, 0.0)
    assert plain.status == "optimal"
    draft = rank_order_draft(p)
    found = _RecordingIncumbent(None)
    out, chosen, _ = solve_compact_highs(p, 30.0, 0.0, draft.chosen if draft.feasible else None, shared=found)
    assert found.offered, "HiGHS's allocations were not offered to the other search"
    assert all(is_feasible(p, bids) for bids in found.offered)
    assert list(found.offered[-1]) == sorted(chosen.tolist())
    handed = _RecordingIncumbent(np.sort(optimum))
    out, chosen, _ = solve_compact_highs(p, 30.0, 0.0, shared=handed)
    assert handed.asked > 0
    assert float(p.weight[chosen].sum()) == float(p.weight[optimum].sum())


def test_second_search_runs_beside_a_slow_one_and_its_error_is_raised():
    from optimization.decomposition import _run_beside

    ran = []

    def quick(k):
        ran.append(k)

    _run_beside(quick, after=5.0)
    assert ran == [0]  # a search that ends at once runs alone: its result cannot depend on a race

    started = threading.Event()

    def slow(k):
        if k == 0:
            started.wait(5.0)  # the second search starts while the first is still busy
            return
        started.set()
        raise RuntimeError("second search failed")

    t0 = time.perf_counter()
    with pytest.raises(RuntimeError, match="second search failed"):
        _run_beside(slow, after=0.0)
    assert time.perf_counter() - t0 < 5.0


def test_a_copied_master_has_the_same_columns_and_optimum():
    """The second first look solves a copy of the restricted master with another random seed: same columns,
    same optimum."""
    from bench.allocation.generate import generate
    from optimization.decomposition import _Master, _near_patterns
    from optimization.oracle import CountyOracle

    p = build_problem(parse_scenario(generate("city", 2)))
    counties = np.array([c for c in range(p.n_counties) if p.county_lots[c]])
    cap_ins = np.flatnonzero(np.isfinite(p.cap))
    values = CountyOracle(p).values(p.weight)
    master = _Master(p, counties, cap_ins)
    master.add(_near_patterns(p, counties, np.zeros(p.n_insurers), values, 0.02 * float(values[counties].sum())))
    copy = master.copy(random_seed=1)
    assert [b.tolist() for b in copy.col_bids] == [b.tolist() for b in master.col_bids]
    _, cols, _ = master.mip(30.0, 1e-9, None)
    _, copy_cols, _ = copy.mip(30.0, 1e-9, None)
    assert cols is not None and copy_cols is not None
    assert abs(sum(master.col_profit[j] for j in cols) - sum(copy.col_profit[j] for j in copy_cols)) <= 1e-9


def test_shared_incumbent_keeps_the_best_valid_allocation():
    from optimization.baseline import rank_order_draft
    from optimization.decomposition import _Incumbent

    raw = two_county()
    p = build_problem(parse_scenario(raw))
    best = solve_decomposition(p, gap=0.0).chosen
    shared = _Incumbent(p)
    assert shared.better_than(float("-inf")) is None  # nothing to hand over yet
    worse = rank_order_draft(p).chosen
    shared.offer(worse)
    shared.offer(best)
    shared.offer(worse)  # a worse one later does not replace it
    value, bids = shared.get()
    assert list(bids) == sorted(best.tolist()) and value == float(p.weight[best].sum())
    extra = next(b for b in range(p.n_bids) if b not in set(best.tolist()))
    broken = np.array(sorted(best.tolist() + [extra]))  # worth more, but one lot has two underwriters
    assert p.weight[broken].sum() > value
    shared.offer(broken)
    assert list(shared.get()[1]) == sorted(best.tolist())
    assert shared.better_than(float("-inf")) is not None  # a search without an incumbent takes it
    assert shared.better_than(value) is None  # a search that has it already does not


def test_the_county_oracle_is_released_after_column_generation_and_the_result_is_the_same():
    """Issue 22 (memory): the oracle's tables are the largest arrays of a nation-scale solve and nothing after
    column generation prices, so the decomposition releases them before the master MIP and the exact phase
    build their models; the allocation and the proof are those of a solve with an oracle of its own."""
    from bench.allocation.generate import generate
    from optimization.oracle import CountyOracle

    p = build_problem(parse_scenario(generate("city", 1)))
    oracle = CountyOracle(p)
    given = solve_decomposition(p, gap=0.0, oracle=oracle)
    assert oracle.released and oracle.t_idx is None
    with pytest.raises(RuntimeError, match="released"):
        oracle.values(p.weight)
    own = solve_decomposition(p, gap=0.0)
    assert given.status == own.status == "optimal"
    assert given.chosen.tolist() == own.chosen.tolist() and given.bound == own.bound


def test_free_heap_memory_is_handed_back_on_glibc():
    """The exact phase hands the allocator's free heap pages back before it builds its models (glibc's
    malloc_trim); where the C library is not glibc the call does nothing and says so."""
    import platform

    from optimization.memory import release_free_memory

    assert release_free_memory() is (platform.libc_ver()[0] == "glibc")
