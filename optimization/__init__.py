"""Allocation optimisation for the selection of agricultural insurance underwriters (pure Python).

Plain data in, plain data out; never imports Flask or SQLAlchemy::

    scenario = load_scenario(path_or_dict)        # or parse_scenario(dict); raises ScenarioError
    result = solve_scenario(scenario)             # Result; result.to_dict() is the JSON result format
"""

from .findings import Diagnostic
from .result import Award, Result
from .scenario import (
    RESULT_FORMAT,
    SCENARIO_FORMAT,
    Bid,
    County,
    Insurer,
    Lot,
    Pair,
    Round,
    Scenario,
    ScenarioError,
    Settings,
    load_scenario,
    parse_scenario,
    scenario_to_dict,
)
from .solve import invalid_result, solve_scenario

__all__ = [
    "RESULT_FORMAT", "SCENARIO_FORMAT", "Award", "Bid", "County", "Diagnostic", "Insurer", "Lot", "Pair",
    "Result", "Round", "Scenario", "ScenarioError", "Settings", "invalid_result", "load_scenario",
    "parse_scenario", "scenario_to_dict", "solve_scenario",
]
