"""Runs of a round made directly, as a solver or an imported result file would leave them: adoption checks a run's
awards against the round as it stands, whatever they were computed from."""

from decimal import Decimal

from agri_insurance.allocation import service
from agri_insurance.allocation.models import AllocationRun, RunSource, RunStatus
from agri_insurance.extensions import db


def finished_run(rnd, awards: dict, *, source: RunSource = RunSource.IMPORT, scenario: dict | None = None,
                 label: str = "导入的方案") -> AllocationRun:
    """A finished, optimal run of `rnd` giving each lot code of `awards` to its insurer; its scenario is the
    round's own (`build_scenario`) unless one is given. Committed."""
    result = {"format": "agri-insurance-allocation-result/1", "status": "optimal", "solver": "test",
              "objective": "0", "bound": "0", "gap": "0", "solve_seconds": 0.01,
              "awards": [{"lot_id": code, "insurer_id": insurer.credit_code} for code, insurer in awards.items()],
              "counties": [], "diagnostics": [], "baseline": {"method": "rank_order_draft", "feasible": True}}
    run = AllocationRun(round_id=rnd.id, number=len(service.runs_of(rnd)) + 1, label=label, source=source,
                        changes={}, scenario=scenario if scenario is not None else service.build_scenario(rnd),
                        result=result, status=RunStatus.DONE, solver_status="optimal", objective=Decimal("0"))
    db.session.add(run)
    db.session.commit()
    return run
