"""Mutation testing of the rule modules, one module at a time, against that module's own tests only.

    python tools/mutation.py                      every module of TARGETS, smallest first
    python tools/mutation.py reference/codes.py   one module (a key of TARGETS)
    python tools/mutation.py --list               the modules, their functions and tests

`make mutation` runs it (niced, one worker). It is not part of `make test` nor of CI: a module takes minutes, the
whole list hours. The mutation scores are recorded by hand in docs/testing.md.

Why a driver around mutmut: mutmut 3 reads one configuration (pyproject.toml [tool.mutmut]) for the whole
project, and its first two passes (a clean run and a run collecting which test reaches which function) run every
test it is given. Run on the whole suite, that is the whole suite twice before the first mutant. This driver
starts one mutmut per module in a child process whose configuration mutates only that file (`only_mutate`),
optionally only the functions named (mutant name globs), and gives pytest only the module's test files
(`pytest_add_cli_args_test_selection`); mutmut then runs, for each mutant, only those of them that reach the
mutated function. The rest of the configuration (what to copy into mutants/, pytest options) is in pyproject.toml.

mutmut 3 mutates functions and methods, not module-level constants (tables such as ID_CHECK_CHARS): those are
covered by the hand-made mutants listed in docs/testing.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# module (under agri_insurance/) → (functions to mutate, or None for all; the test files that state its rules).
# Smallest first: `make mutation` stops at none of them, but a run cut short has done the quick ones.
TARGETS: dict[str, tuple[list[str] | None, list[str]]] = {
    "reference/codes.py": (None, ["tests/reference/test_codes.py", "tests/underwriting/test_ids.py"]),
    "awards/calendar.py": (None, ["tests/awards/test_awards.py"]),
    "tenders/service.py:county_limits": (["county_limits"], ["tests/allocation/test_county_limits.py",
                                                             "tests/tenders/test_exceptions_and_design.py"]),
    "allocation/service.py:adoption": (["adopt", "adoption_problem", "_chosen", "_check_against_round",
                                        "_capacities_kept", "_share_cap_kept", "_matches_round"],
                                       ["tests/allocation"]),
    "evaluation/scoring.py": (None, ["tests/evaluation/test_scoring_engine.py", "tests/evaluation/test_scoring_edges.py",
                                     "tests/evaluation/test_scoring.py", "tests/evaluation/test_ranking.py"]),
    "evaluation/service.py:gates": (["gate_failures", "_recent_penalties", "_control_key", "check_eligibility",
                                     "failure_text", "check_reasons"],
                                    # the county-level gate (annual evaluation) passes through gate_failures
                                    ["tests/evaluation/test_panel.py", "tests/evaluation/test_ranking.py",
                                     "tests/annual_review/test_next_round.py"]),
    "awards/service.py:objections": (["file_objection", "answer_objection", "bidders", "pending_objections"],
                                     ["tests/awards"]),
    "reference/service.py": (None, ["tests/reference"]),
    # the underwriting tests that state the list's reading (the others, pages, notices, flags, pass through it on
    # the way to what they test; given to mutmut, they are run for every surviving mutant of the reading)
    "underwriting/parsing.py": (None, ["tests/underwriting/test_import.py", "tests/underwriting/test_fast_path.py",
                                       "tests/underwriting/test_ids.py", "tests/underwriting/test_row_checks.py"]),
    "subsidies/service.py": (None, ["tests/subsidies"]),
    # The money rules of subsidies/service.py, in two parts: the whole module (its report queries, lists and
    # actions too) is some 3,200 mutants, days on the shared machine. Its pages' tests are left out (slow).
    "subsidies/service.py:shares": (["split_premium", "_scheme_and_shares", "BudgetCheck.exceeds",
                                     "BudgetCheck.remaining_after", "budget_checks", "committed_amount"],
                                    ["tests/subsidies/test_shares.py", "tests/subsidies/test_boundaries.py",
                                     "tests/subsidies/test_service.py", "tests/subsidies/test_concurrency.py"]),
    "subsidies/service.py:payments": (["confirm_payment", "draw_advances", "settle_if_paid"],
                                      ["tests/subsidies/test_service.py", "tests/subsidies/test_boundaries.py",
                                       "tests/subsidies/test_concurrency.py", "tests/subsidies/test_yearend.py",
                                       "tests/subsidies/test_payment_edges.py"]),
    # The rest of subsidies/service.py in parts a session can run (every function of the module in exactly one of
    # its parts: tests/test_mutation_targets.py), each against the test files that state its rules.
    "subsidies/service.py:claims": (["save_claim", "_checked_claim", "_require_scope", "_require_free_period",
                                     "require_amount", "submit_claim", "may_move", "is_editable", "transition",
                                     "verify_claim", "keep_due_date", "fill_due_dates", "return_claim", "follows",
                                     "filed_again_as", "returned_before", "_require_correctable", "may_file_again",
                                     "_lock_draft", "delete_draft", "OverBudget.__init__", "year_closed",
                                     "require_open_year", "advance_for"],
                                    ["tests/subsidies/test_service.py", "tests/subsidies/test_boundaries.py",
                                     "tests/subsidies/test_claim_scope.py", "tests/subsidies/test_file_again.py",
                                     "tests/subsidies/test_concurrency.py", "tests/subsidies/test_claim_totals.py",
                                     "tests/subsidies/test_signals.py", "tests/subsidies/test_claim_edges.py",
                                     # the assignments' lock of submit_claim (a termination racing a submission)
                                     "tests/awards/test_replacement_concurrency.py"]),
    "subsidies/service.py:funds": (["applicable_scheme", "scheme_pcts", "_assignments_for", "may_claim",
                                    "claim_refusal", "lock_assignments", "holds_assignment_in", "claim_scopes",
                                    "save_assignment", "delete_assignment", "budget_regions", "save_budget",
                                    "BudgetLine.remaining", "budget_lines"],
                                   ["tests/subsidies/test_service.py", "tests/subsidies/test_claim_scope.py",
                                    "tests/subsidies/test_funds.py", "tests/subsidies/test_boundaries.py",
                                    "tests/subsidies/test_views.py", "tests/subsidies/test_fund_edges.py"]),
    "subsidies/service.py:lists": (["check_claim_from_list", "start_claim_from_list", "complete_claim_from_list",
                                    "_set_shares"],
                                   ["tests/subsidies/test_claim_lists.py", "tests/underwriting/test_new_claim_from_list.py",
                                    "tests/subsidies/test_claim_list_edges.py"]),
    "subsidies/service.py:actions": (["payment_levels", "available_actions", "list_actions", "payable_levels",
                                      "finance_bureaus_for", "FinanceBureau.levels", "FinanceBureau.name"],
                                     ["tests/subsidies/test_actions.py", "tests/subsidies/test_file_again.py",
                                      "tests/subsidies/test_print.py", "tests/subsidies/test_action_edges.py"]),
    "subsidies/service.py:reports": (["_level_order", "_overdue_clauses", "overdue_statement", "overdue_shares",
                                      "overdue_items", "OverdueSummary.days_overdue", "overdue_summary",
                                      "overdue_summary_for", "_days_after_postgresql", "_days_after_sqlite",
                                      "due_order", "claims_waiting", "returned_to_correct",
                                      "PaymentsWaiting.days_overdue", "payments_waiting", "_payment_clauses",
                                      "payment_statement", "payment_lines", "stream_payment_lines",
                                      "PaymentTotals.outstanding", "PaymentTotals.add", "payment_totals",
                                      "claims_for_report", "stream_claims", "LedgerLine.outstanding",
                                      "ledger_summary", "disbursement_by_county", "premium_by_product",
                                      "premium_growth"],
                                     ["tests/subsidies/test_reports.py", "tests/subsidies/test_views.py",
                                      "tests/subsidies/test_print.py", "tests/main/test_todo_claims.py",
                                      "tests/subsidies/test_report_edges.py", "tests/subsidies/test_waiting_edges.py"]),
    # The modules of the new work (issue 24: "as they land").
    "subsidies/checkpoints.py": (None, ["tests/subsidies/test_checkpoints.py", "tests/subsidies/test_checkpoint_edges.py"]),
    "subsidies/yearend.py": (["handles", "verified_shares", "default_advance", "save_advance", "may_edit_advance",
                              "may_close", "close_year", "side_of", "confirm_settlement", "record_transfer",
                              "_pay_top_up", "may_record_transfer", "statement_lines", "summary_rows"],
                             # may_close, may_edit_advance, may_record_transfer and statement_lines are reached
                             # only through the pages: the year's money page (test_checkpoints.py shows it too)
                             # and the settlement's page and statement (test_yearend_views.py)
                             ["tests/subsidies/test_yearend.py", "tests/subsidies/test_yearend_concurrency.py",
                              "tests/subsidies/test_yearend_views.py", "tests/subsidies/test_checkpoints.py",
                              "tests/subsidies/test_advance_edges.py"]),
    "payouts/parsing.py": (None, ["tests/payouts/test_import.py", "tests/payouts/test_fast_path.py",
                                  "tests/payouts/test_row_checks.py"]),
    # the underwriting list's flags (issue 24: "underwriting/parsing.py and flags"): a farmer twice in a list, above
    # the household limit, insured in another list; the flag counts the claim's review waits on
    "underwriting/service.py:flags": (["reconcile", "cross_check", "_store_flags", "_rows_of_people", "_recount_flags",
                                       "flagged_rows"],
                                      ["tests/underwriting/test_household_limit.py", "tests/underwriting/test_import.py",
                                       "tests/underwriting/test_flag_edges.py"]),
    "payouts/service.py:flags": (["check_scope", "RowFlags.add", "RowFlags.paid_twice", "flag_paid_twice_across",
                                  "may_review", "accept_flag", "flags_waiting"],
                                 ["tests/payouts/test_import.py", "tests/payouts/test_service.py",
                                  "tests/payouts/test_matching_while_reading.py",
                                  "tests/payouts/test_parallel_reading.py", "tests/payouts/test_flag_edges.py"]),
    "payouts/service.py:measured": (["MeasuredService.loss_ratio", "MeasuredService.within_10_share",
                                     "MeasuredService.flagged_share", "_share", "measured", "_percentiles_in_python",
                                     "percentile_cont", "measured_for"],
                                    ["tests/payouts/test_service.py", "tests/payouts/test_measured_edges.py"]),
    # list_files.py's reading of a list's cells (what every list import's messages rest on), against the imports
    # and their row checks (the payout list's dates are read here), and the reading in blocks (DataRows.skip).
    "list_files.py:parsing": (["text", "quoted", "map_header", "RowValidator.string", "RowValidator.amount",
                               "RowValidator.id_number", "RowValidator.bank_account", "RowValidator.date",
                               "RowValidator.formulas_without_values", "_find_header", "_merge_header_rows",
                               "DataRows.__init__", "DataRows.__next__", "DataRows.skip", "_column_index", "_csv_encoding"],
                              ["tests/underwriting/test_import.py", "tests/payouts/test_import.py",
                               "tests/underwriting/test_row_checks.py", "tests/payouts/test_row_checks.py",
                               "tests/underwriting/test_fast_path.py", "tests/payouts/test_fast_path.py",
                               "tests/test_list_blocks.py", "tests/payouts/test_parallel_reading.py",
                               "tests/test_list_cells.py"]),
}

# A mutant a test failed on, or that made the tests hang past mutmut's timeout. "no tests" (no test of the
# module reaches the function) and "suspicious" count as survivors.
DETECTED = ("killed", "timeout", "caught by type check")


def _path(target: str) -> str:
    return "agri_insurance/" + target.split(":")[0]


def _globs(target: str, only: list[str] | None = None) -> list[str]:
    functions, _tests = TARGETS[target]
    if only:
        # The rest of a partial run: some of the target's functions (checked against it in main()).
        functions = only
    if not functions:
        return []
    dotted = _path(target)[:-3].replace("/", ".")
    # A method is named "Class.method" here; mutmut names its mutants xǁClassǁmethod__mutmut_N.
    return [f"{dotted}.xǁ{name.replace('.', 'ǁ')}__mutmut_*" if "." in name else f"{dotted}.x_{name}__mutmut_*"
            for name in functions]


def _child(target: str, max_children: int, names: list[str]) -> None:
    """Inside the child process: configure mutmut for one module and run it (only `names`, when given)."""
    import mutmut.__main__ as mutmut_main  # sets the fork start method once, as the `mutmut` command does
    from mutmut import configuration

    config = configuration.config()  # pyproject.toml's [tool.mutmut], then this module's part
    config.only_mutate = [_path(target)]
    config.pytest_add_cli_args_test_selection = list(TARGETS[target][1])
    mutmut_main.cli(["run", "--max-children", str(max_children), *(names or _globs(target))], standalone_mode=False)


def _drop_database() -> None:
    """A fresh schema for each module's run (a database left by another branch may have other migrations)."""
    if os.environ.get("TEST_DB", "postgres") == "sqlite":
        return
    import psycopg

    base = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    name = base.rsplit("/", 1)[1] + "_mutation"
    with psycopg.connect(base.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _results(target: str, only: list[str] | None = None) -> tuple[Counter, list[str]]:
    meta = ROOT / "mutants" / (_path(target) + ".meta")
    codes = json.loads(meta.read_text())["exit_code_by_key"]
    globs = _globs(target, only)
    if globs:
        from fnmatch import fnmatch

        codes = {k: v for k, v in codes.items() if any(fnmatch(k, g) for g in globs)}
    from mutmut.stats import status_by_exit_code

    # A mutant not run (a run stopped early, or a function left out by --functions) has no exit code yet.
    codes = {k: v for k, v in codes.items() if v is not None}
    counts = Counter(status_by_exit_code[code] for code in codes.values())
    survivors = sorted(k for k, v in codes.items() if status_by_exit_code[v] not in DETECTED)
    return counts, survivors


def _run(target: str, max_children: int, show: bool, recheck: bool = False, only: list[str] | None = None) -> dict:
    names: list[str] = _globs(target, only) if only else []
    if recheck:
        # Only the last run's survivors, against the tests as they are now (new tests in the same files: mutmut
        # keeps its results while the test selection is unchanged, and learns which mutants the new tests reach).
        names = _results(target, only)[1]
        if not names:
            print(f"== {target}: no survivors to re-check")
    else:
        shutil.rmtree(ROOT / "mutants", ignore_errors=True)  # a clean state: stats and results are per module
        _drop_database()
    started = time.monotonic()
    # pytest runs once per mutant: the database (its own, "<TEST_DATABASE_URL>_mutation", never an engineer's
    # "_main") is created and migrated by the first run and reused, emptied, by the others (tests/conftest.py).
    env = {**os.environ, "TEST_DB_WORKER": "mutation", "TEST_DB_REUSE": "1"}
    done = subprocess.run([sys.executable, __file__, "--child", target, "--max-children", str(max_children),
                           *names], cwd=ROOT, env=env)
    minutes = (time.monotonic() - started) / 60
    if done.returncode not in (0, None) and not (ROOT / "mutants" / (_path(target) + ".meta")).exists():
        print(f"!! {target}: mutmut failed (exit {done.returncode})")
        return {"target": target, "error": done.returncode}
    counts, survivors = _results(target, only)
    total = sum(counts.values())
    killed = sum(counts[status] for status in DETECTED)
    score = 100 * killed / total if total else 0.0
    print(f"\n== {target}: {killed}/{total} killed ({score:.1f} %), {dict(counts)}, {minutes:.1f} min")
    for name in survivors:
        print("   survived:", name)
        if show:
            subprocess.run([sys.executable, "-c", "from mutmut.__main__ import cli; cli()", "show", name], cwd=ROOT)
    return {"target": target, "killed": killed, "total": total, "score": round(score, 1),
            "counts": dict(counts), "survivors": survivors, "minutes": round(minutes, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("targets", nargs="*", help="keys of TARGETS (default: all, smallest first)")
    parser.add_argument("--list", action="store_true", help="list the modules and their tests")
    parser.add_argument("--max-children", type=int, default=1,
                        help="parallel mutants: 1 (the mutants' tests share one database, see main())")
    parser.add_argument("--show", action="store_true", help="print each survivor's diff")
    parser.add_argument("--recheck", action="store_true",
                        help="keep mutants/ and run the last run's survivors again (one module, after new tests)")
    parser.add_argument("--functions", help="only these of the target's functions, comma-separated (the rest of a "
                                               "partial run; the score then covers them only)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.chdir(ROOT)
    if args.child:
        _child(args.child, args.max_children, args.targets)
        return
    if args.list:
        for target, (functions, tests) in TARGETS.items():
            print(f"{target:40} {', '.join(functions) if functions else 'all functions'}\n{'':40} {' '.join(tests)}")
        return
    unknown = [t for t in args.targets if t not in TARGETS]
    if unknown:
        sys.exit(f"unknown module(s): {', '.join(unknown)}; see --list")
    if args.max_children != 1:
        # mutmut's children would run their tests at once in the one database (TEST_DB_WORKER=mutation), each
        # emptying it under the others: their failures would read as mutants killed (seen: 219 of 229 "killed"
        # in a minute). Two modules at once run from two checkouts, each with its own TEST_DATABASE_URL.
        sys.exit("--max-children must be 1: the mutants' tests share one database")
    if args.recheck and len(args.targets) != 1:
        sys.exit("--recheck needs the one module whose mutants/ directory is there")
    only = args.functions.split(",") if args.functions else None
    if only:
        if len(args.targets) != 1:
            sys.exit("--functions needs the one module they belong to")
        functions = TARGETS[args.targets[0]][0]
        strangers = [name for name in only if functions is not None and name not in functions]
        if strangers:
            sys.exit(f"not among {args.targets[0]}'s functions: {', '.join(strangers)}")
    summary = [_run(target, args.max_children, args.show, args.recheck, only) for target in (args.targets or TARGETS)]
    (ROOT / "instance").mkdir(exist_ok=True)
    (ROOT / "instance" / "mutation-summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2))
    print("\nsummary written to instance/mutation-summary.json")


if __name__ == "__main__":
    main()
