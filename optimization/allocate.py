"""Command line: ``python -m optimization.allocate SCENARIO.json [-o RESULT.json] [--solver highs|cbc]
[--time-limit S] [--gap G]``.

Writes the result JSON to RESULT.json (or, without ``-o``, to stdout: then stdout holds nothing else).
A one-line summary goes to stderr. Exit status: 0 optimal or feasible, 1 infeasible (or no allocation found
in time), 2 invalid input.
"""

from __future__ import annotations

import argparse
import sys

from .scenario import ScenarioError, load_scenario
from .solve import SOLVERS, invalid_result, solve_scenario

EXIT = {"optimal": 0, "feasible": 0, "infeasible": 1, "unknown": 1, "invalid": 2}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m optimization.allocate", description="分配标段（承保机构遴选）")
    ap.add_argument("scenario", help="scenario JSON (agri-insurance-allocation-scenario/1)")
    ap.add_argument("-o", "--output", help="write the result JSON here (default: stdout)")
    ap.add_argument("--solver", choices=SOLVERS, default="highs")
    ap.add_argument("--time-limit", type=float, default=None, help="seconds (default: the scenario's setting)")
    ap.add_argument("--gap", type=float, default=None, help="relative gap accepted as optimal (default: scenario)")
    args = ap.parse_args(argv)
    try:
        scenario = load_scenario(args.scenario)
    except ScenarioError as exc:
        result = invalid_result(exc)
    else:
        result = solve_scenario(scenario, solver=args.solver, time_limit=args.time_limit, gap=args.gap)
    if args.output:
        result.write(args.output)
    else:
        sys.stdout.write(result.to_json() + "\n")
    first = result.timings.get("first_allocation_s")
    print(f"{result.status}: objective {result.to_dict()['objective']}, gap {result.to_dict()['gap']}, "
          f"{len(result.awards)} awards, {len(result.diagnostics)} diagnostics, {result.solve_seconds:.2f} s"
          + (f"; allocation from phase {result.phase}" if result.phase else "")
          + (f"; first allocation after {first:.2f} s" if first is not None else ""), file=sys.stderr)
    for d in result.diagnostics:
        print(f"  [{d.severity}] {d.message}", file=sys.stderr)
    return EXIT.get(result.status, 1)


if __name__ == "__main__":
    sys.exit(main())
