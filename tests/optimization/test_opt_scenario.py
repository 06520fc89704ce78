from decimal import Decimal

import pytest
from opt_factory import two_county

from optimization import ScenarioError, load_scenario, parse_scenario, scenario_to_dict


def errors_of(raw) -> list:
    with pytest.raises(ScenarioError) as exc:
        parse_scenario(raw)
    return exc.value.diagnostics


def test_valid_scenario_reads_money_as_decimal():
    sc = parse_scenario(two_county())
    assert sc.lot_by_id["A1"].expected_premium == Decimal("100")
    assert isinstance(sc.bids[0].score, Decimal)
    assert sc.county_max("A") == 3 and sc.county_min("A") == 2


def test_json_numbers_are_read_as_decimal_without_float_noise(tmp_path):
    raw = two_county()
    raw["lots"][0]["expected_premium"] = 0.1
    path = tmp_path / "s.json"
    import json
    path.write_text(json.dumps(raw), encoding="utf-8")
    sc = load_scenario(path)
    assert sc.lot_by_id["A1"].expected_premium == Decimal("0.1")


def test_unknown_keys_are_errors_naming_the_entry():
    raw = two_county()
    raw["lots"][1]["colour"] = "red"
    raw["extra"] = 1
    diags = errors_of(raw)
    messages = [d.message for d in diags]
    assert any("lots[A2]" in m and "colour" in m for m in messages)
    assert any("scenario" in m and "extra" in m for m in messages)


def test_every_violation_is_reported_with_its_entry():
    raw = two_county()
    raw["lots"][0]["county_id"] = "NOPE"
    raw["bids"][0]["score"] = "abc"
    raw["bids"][1]["score"] = 120
    raw["insurers"].append({"id": "X", "name": "dup"})
    raw["bids"].append({"lot_id": "A9", "insurer_id": "X", "score": 50})
    diags = errors_of(raw)
    ids = {d.subject_id for d in diags}
    assert {"lots[A1]", "bids[A1/X]", "bids[A1/Y]", "insurers[X]", "bids[A9/X]"} <= ids
    # each carries the template and values it was written from, so the web pages can show it in English
    for d in diags:
        assert d.template % d.params == d.message and d.params["entry"] == d.subject_id
    [bad_score] = [d for d in diags if d.subject_id == "bids[A1/Y]"]
    assert bad_score.to_dict()["params"] == {"entry": "bids[A1/Y]", "key": "score", "high": "100", "value": "120"}


def test_missing_required_and_wrong_format():
    raw = two_county()
    del raw["insurers"][0]["name"]
    raw["format"] = "something/2"
    messages = [d.message for d in errors_of(raw)]
    assert any("insurers[X]" in m and "name" in m for m in messages)
    assert any("format" in m for m in messages)


def test_county_exception_needs_approval_ref():
    raw = two_county()
    raw["counties"][0]["max_insurers"] = 4
    diags = errors_of(raw)
    assert [d.code for d in diags] == ["approval_missing"]
    raw["counties"][0]["approval_ref"] = "赣农险组〔2026〕3号"
    assert parse_scenario(raw).county_max("A") == 4


def test_fixed_pair_rules():
    raw = two_county()
    raw["fixed"] = [{"lot_id": "A1", "insurer_id": "X"}, {"lot_id": "A1", "insurer_id": "Y"}]
    raw["forbidden"] = [{"lot_id": "A1", "insurer_id": "X"}]
    codes = sorted(d.code for d in errors_of(raw))
    assert codes == ["fixed_conflict", "fixed_conflict"]


def test_duplicate_bid_and_bad_settings():
    raw = two_county()
    raw["bids"].append(dict(raw["bids"][0]))
    raw["settings"]["min_insurers_per_county"] = 4
    raw["settings"]["market_share_cap"] = "1.5"
    diags = errors_of(raw)
    assert any(d.code == "duplicate" for d in diags)
    assert sum(d.subject_id == "settings" for d in diags) == 2


def test_not_json(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ScenarioError) as exc:
        load_scenario(path)
    assert exc.value.diagnostics[0].code == "json"


def test_round_trip():
    sc = parse_scenario(two_county())
    again = parse_scenario(scenario_to_dict(sc))
    assert again == sc
