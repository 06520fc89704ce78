from opt_checker import brute_force, check_result
from opt_factory import scenario, two_county

from optimization import parse_scenario, solve_scenario


def run(raw) -> dict:
    result = solve_scenario(parse_scenario(raw)).to_dict()
    check_result(raw, result)
    return result


def errors(result) -> list[dict]:
    return [d for d in result["diagnostics"] if d["severity"] == "error"]


def test_county_with_a_single_eligible_bidder_is_named():
    raw = two_county()
    raw["counties"][0]["name"] = "鄱阳县"
    raw["bids"] = [b for b in raw["bids"] if not (b["lot_id"].startswith("A") and b["insurer_id"] != "X")]
    result = run(raw)
    assert result["status"] == "infeasible" and brute_force(raw)[0] is None
    [d] = errors(result)
    assert d["subject"] == "county" and d["subject_id"] == "A"
    assert d["message"] == "鄱阳县：仅1家合格投标人，至少需要2家"
    # a user interface can say the same in another language: the template and what filled it travel along
    assert d["params"] == {"county": "鄱阳县", "bidders": 1, "min": 2}
    assert d["template"] % d["params"] == d["message"]


def test_county_with_one_lot_cannot_have_two_underwriters():
    raw = scenario({"A1": ("A", "10"), "B1": ("B", "10"), "B2": ("B", "10")},
                   {(lot, ins): 80 for lot in ("A1", "B1", "B2") for ins in "XY"})
    [d] = errors(run(raw))
    assert (d["code"], d["subject_id"]) == ("county_too_few_lots", "A")


def test_county_whose_bids_cannot_be_combined():
    # four lots, each with a single different bidder: four underwriters needed, at most three allowed
    lots = {f"A{k}": ("A", "10") for k in range(4)}
    raw = scenario(lots, {(f"A{k}", ins): 80 for k, ins in enumerate("WXYZ")})
    [d] = errors(run(raw))
    assert (d["code"], d["subject_id"]) == ("county_no_combination", "A")


def test_total_capacity_below_total_premium():
    raw = two_county()
    for ins in raw["insurers"]:
        ins["premium_capacity"] = "200"  # 600 for 770 of premium
    result = run(raw)
    codes = {d["code"] for d in errors(result)}
    assert "capacity_total" in codes
    assert any("缺口170.00元" in d["message"] for d in errors(result))


def test_share_cap_no_assignment_can_meet():
    raw = two_county()
    raw["settings"]["market_share_cap"] = "0.3"  # three insurers x 30% < 100%
    result = run(raw)
    assert [d["code"] for d in errors(result)][0] == "share_cap_impossible"


def test_lot_larger_than_every_bidders_capacity():
    raw = two_county()
    for ins in raw["insurers"]:
        ins["premium_capacity"] = "299"
    result = run(raw)
    assert any(d["code"] == "lot_over_capacity" and d["subject_id"] == "B1" for d in errors(result))


def test_after_solve_the_relaxation_names_the_county_and_the_shortfall():
    # every cheap check passes, yet county B cannot get a second underwriter: Y's capacity only fits A's lot,
    # and Y is B's only other bidder
    lots = {"A1": ("A", "100"), "A2": ("A", "100"), "B1": ("B", "100"), "B2": ("B", "100")}
    bids = {("A1", "X"): 90, ("A2", "X"): 90, ("A1", "Y"): 80, ("A2", "Y"): 80,
            ("B1", "X"): 90, ("B2", "X"): 90, ("B1", "Y"): 80, ("B2", "Y"): 80}
    raw = scenario(lots, bids, counties={"A": "万年县", "B": "余干县"}, insurers={"X": None, "Y": "100"})
    assert brute_force(raw)[0] is None
    result = run(raw)
    assert result["status"] == "infeasible"
    [d] = errors(result)
    assert d["code"] == "county_min_unmet" and d["subject"] == "county"
    assert d["subject_id"] in ("A", "B")
    assert "至少需要2家" in d["message"] and "缺1家" in d["message"]


def test_after_solve_capacity_shortfall_is_named_with_the_amount():
    # each county needs X and Y; X can hold at most one lot of 100, and there are two counties
    lots = {"A1": ("A", "100"), "A2": ("A", "100"), "B1": ("B", "100"), "B2": ("B", "100")}
    bids = {(lot, ins): 80 for lot in lots for ins in "XY"}
    raw = scenario(lots, bids, insurers={"X": "100", "Y": "500"}, min_insurers_per_county=2)
    result = run(raw)
    assert result["status"] == "infeasible"
    [d] = errors(result)
    # relaxing a county's minimum is the smallest change; the other county is then satisfiable
    assert (d["code"], d["subject"]) == ("county_min_unmet", "county") and d["subject_id"] in ("A", "B")


def test_a_published_share_cap_that_alone_makes_allocation_impossible_is_named():
    # two insurers, two lots in each county, each county needs both: whoever holds A1 (300 of 600) holds at least
    # 350 (58 %); a 50 % cap admits nothing, and without it an allocation exists
    lots = {"A1": ("A", "300"), "A2": ("A", "100"), "B1": ("B", "150"), "B2": ("B", "50")}
    bids = {(lot, ins): score for lot in lots for ins, score in (("X", 90), ("Y", 80))}
    raw = scenario(lots, bids, counties={"A": "鄱阳县", "B": "婺源县"}, insurers={"X": None, "Y": None})
    raw["settings"]["market_share_cap"] = "0.5"
    assert brute_force(raw)[0] is None
    result = run(raw)
    assert result["status"] == "infeasible"
    first = errors(result)[0]
    assert first["code"] == "share_cap_binding" and first["params"] == {"share": "50%"}
    assert first["message"].startswith("按本轮公布的市场份额上限50%，各县承保机构数量要求无法同时满足；不设该上限即可分配")
    raw["settings"]["market_share_cap"] = "0.6"
    assert run(raw)["status"] == "optimal"


def test_a_share_cap_is_not_blamed_when_the_counties_fail_without_it():
    raw = two_county()
    raw["bids"] = [b for b in raw["bids"] if not (b["lot_id"].startswith("A") and b["insurer_id"] != "X")]
    raw["settings"]["market_share_cap"] = "0.9"
    assert "share_cap_binding" not in {d["code"] for d in errors(run(raw))}
