"""Allocation rules: the scenario built from the database, runs (as jobs), what-if runs, imports, comparison,
approved departures from the round's rules, and adoption. Functions check, change and audit; none commits (the
caller does)."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from agri_insurance import clock
from agri_insurance.actions import Action, Actions
from agri_insurance.allocation.models import (
    DEPARTURE_BASIS_LABELS,
    AllocationRun,
    DepartureBasis,
    InsurerCapacity,
    RuleDeparture,
    RunSource,
    RunStatus,
)
from agri_insurance.allocation.signals import capacity_factors, run_adopted
from agri_insurance.audit import service as audit
from agri_insurance.bids import service as bids_service
from agri_insurance.clock import utcnow
from agri_insurance.db_types import to_fen
from agri_insurance.errors import DomainError, require
from agri_insurance.evaluation import service as evaluation
from agri_insurance.evaluation.scoring import LotScore
from agri_insurance.extensions import db, lock_for_update
from agri_insurance.i18n import join_sentences
from agri_insurance.jobs import service as jobs
from agri_insurance.reference.models import Insurer
from agri_insurance.roles import Role
from agri_insurance.tenders import service as tenders
from agri_insurance.tenders.models import RoundStatus, SelectionRound
from optimization import SCENARIO_FORMAT, ScenarioError, parse_scenario, scenario_to_dict, solve_scenario

JOB_KIND = "allocation.run"
S = RoundStatus


def _num(value: Decimal) -> str:
    return format(value.normalize(), "f")


# --- the scenario from the database -----------------------------------------------------------------

def _final_lot_scores(rnd: SelectionRound) -> list[LotScore]:
    """The evaluation's lot scores of the eligible bids (evaluation.service.lot_scores); only once it is final."""
    require(evaluation.is_final(rnd), _("评审尚未最终确定，不能分配"))
    return evaluation.lot_scores(rnd)


def _backup_order(rnd: SelectionRound, region_id: int) -> list[tuple[int, Decimal]]:
    """The county's eligible insurers, best first, as (insurer id, score): the order of its backup underwriters."""
    return [(r.insurer_id, r.score) for r in evaluation.county_ranking(rnd, region_id) if r.eligible]


def build_scenario(rnd: SelectionRound) -> dict[str, Any]:
    """The round as an allocation scenario (formats/allocation-scenario.md): ids are the county code, the lot
    code and the insurer's unified social credit code; only eligible bids of the final evaluation, with their
    lot scores; the round's county limits with the approved exceptions; the insurers' premium capacities; the
    market-share cap."""
    require(rnd.status is S.EVALUATION, _("只有评审中的轮次可以分配"))
    lot_scores = _final_lot_scores(rnd)
    lots = {lot.id: lot for lot in rnd.lots}
    insurer_ids = sorted({s.insurer_id for s in lot_scores})
    insurers = {i.id: i for i in db.session.scalars(sa.select(Insurer).where(Insurer.id.in_(insurer_ids)))}
    counties = []
    for limit in tenders.county_limits(rnd).values():
        county: dict[str, Any] = {"id": limit.region.code, "name": limit.region.name}
        if limit.exception is not None:
            county["max_insurers"] = limit.max_insurers
            county["approval_ref"] = limit.exception.approval_doc_no
        counties.append(county)
    cap = rnd.market_share_cap_pct
    capacity = {c.insurer_id: c.premium_capacity for c in capacities(rnd)}
    for insurer_id, factor in capacity_factors.collect(rnd, insurer_ids=insurer_ids):
        if insurer_id in capacity:   # a capacity the bureau set, scaled by the insurer's evaluation grade
            capacity[insurer_id] = to_fen(capacity[insurer_id] * Decimal(factor))
    return {
        "format": SCENARIO_FORMAT,
        "round": {"id": f"SR-{rnd.id}", "name": rnd.name, "term_start_year": rnd.term_start_year},
        "settings": {"min_insurers_per_county": rnd.min_insurers, "max_insurers_per_county": rnd.max_insurers,
                     "market_share_cap": None if cap is None else _num(cap / 100), "time_limit_s": 60,
                     "mip_gap": "0"},
        "counties": counties,
        "lots": [{"id": lot.code, "county_id": lot.region.code, "name": lot.name,
                  "products": [p.code for p in lot.products], "expected_premium": format(lot.expected_premium, "f"),
                  **({"loss_ratio": _num(lot.loss_ratio_pct / 100)} if lot.loss_ratio_pct is not None else {})}
                 for lot in rnd.lots],
        "insurers": [{"id": insurers[i].credit_code, "name": insurers[i].name,
                      **({"premium_capacity": format(capacity[i], "f")} if i in capacity else {})}
                     for i in insurer_ids],
        "bids": [{"insurer_id": insurers[s.insurer_id].credit_code, "lot_id": lots[s.lot_id].code,
                  "score": _num(s.score)}
                 for s in sorted(lot_scores, key=lambda s: (lots[s.lot_id].code, insurers[s.insurer_id].credit_code))],
        "fixed": [],
        "forbidden": [],
    }


# --- insurer premium capacities (承保能力上限) ------------------------------------------------------------

CAPACITY_LIMIT = Decimal("1e15")  # more than any premium a city could award; keeps the Numeric(18, 2) column


def _capacity_amount(amount, field: str | None = None) -> Decimal:
    """A premium capacity as entered (yuan), to the fen; DomainError (on `field`) unless it is above 0."""
    amount = Decimal(amount)
    # checked before rounding: Infinity, NaN and amounts beyond the column cannot be rounded to the fen
    require(amount.is_finite() and Decimal(0) < amount < CAPACITY_LIMIT, _("承保能力上限应为大于0的金额（元）"), field)
    amount = to_fen(amount)
    require(amount > 0, _("承保能力上限应为大于0的金额（元）"), field)
    return amount


def run_conditions(run: AllocationRun) -> dict[str, Any]:
    """What a run was computed under, from its own scenario: the market-share cap (percent) and the insurers'
    premium capacities (yuan)."""
    cap = run.scenario["settings"].get("market_share_cap")
    return {"cap_pct": None if cap is None else Decimal(cap) * 100,
            "capacities": [(i["name"], Decimal(i["premium_capacity"])) for i in run.scenario["insurers"]
                           if i.get("premium_capacity") is not None]}


def capacities(rnd: SelectionRound) -> list[InsurerCapacity]:
    return list(db.session.scalars(sa.select(InsurerCapacity).where(InsurerCapacity.round_id == rnd.id)
                                   .options(sa.orm.selectinload(InsurerCapacity.insurer))
                                   .order_by(InsurerCapacity.insurer_id)))


def capacity_insurers(rnd: SelectionRound) -> list[Insurer]:
    """The insurers a capacity can be set for: those whose bids were opened. None before the opening: who has
    bid is sealed until then, from the bureau too (a list of submitted bids, or a refusal that differs by
    insurer, would tell)."""
    return sorted((bid.insurer for bid in bids_service.opened_bids(rnd)), key=lambda insurer: insurer.name)


def set_capacity(rnd: SelectionRound, insurer_id: int, amount: Decimal | None, basis: str, actor) -> None:
    """Set (or, with no amount, remove) an insurer's premium capacity for the round; later runs built from the
    evaluation keep to it, runs already made keep the scenario they were made with."""
    require(rnd.status is S.EVALUATION, _("只有评审中的轮次可以设置承保能力上限"))
    require(adopted_run(rnd) is None, _("本轮已采用分配方案，不能再修改承保能力上限"))
    insurer = next((i for i in capacity_insurers(rnd) if i.id == insurer_id), None)
    require(insurer is not None, _("请选择在本轮投标的承保机构"))
    row = db.session.scalar(sa.select(InsurerCapacity).where(InsurerCapacity.round_id == rnd.id,
                                                              InsurerCapacity.insurer_id == insurer_id))
    if amount is None:
        require(row is not None, _("%(name)s 未设置承保能力上限", name=insurer.name))
        db.session.delete(row)
        db.session.flush()
        audit.record(actor, "allocation.capacity_removed", rnd, _l("取消 %(name)s 的承保能力上限", name=insurer.name),
                     insurer_id=insurer_id)
        return
    amount = _capacity_amount(amount)
    if row is None:
        row = InsurerCapacity(round_id=rnd.id, insurer_id=insurer_id, premium_capacity=amount)
        db.session.add(row)
    row.premium_capacity = amount
    row.basis = (basis or "").strip()[:200]
    row.set_at = utcnow()
    row.set_by_id = getattr(actor, "id", None)
    db.session.flush()
    audit.record(actor, "allocation.capacity_set", rnd,
                 _l("%(name)s 承保能力上限 %(amount)s 元", name=insurer.name, amount=format(amount, ",.2f")),
                 insurer_id=insurer_id, premium_capacity=format(amount, "f"), basis=row.basis)


def check_scenario(raw: dict[str, Any]) -> dict[str, Any]:
    """The scenario in canonical form; DomainError naming every offending entry when it breaks the format."""
    try:
        return scenario_to_dict(parse_scenario(raw))
    except ScenarioError as e:
        raise DomainError(_("方案文件有误：%(errors)s",
                            errors=join_sentences(diagnostic_text(d.to_dict()) for d in e.diagnostics[:10]))) from e


# --- runs -------------------------------------------------------------------------------------------

def _next_number(rnd: SelectionRound) -> int:
    return (db.session.scalar(sa.select(sa.func.max(AllocationRun.number)).where(
        AllocationRun.round_id == rnd.id)) or 0) + 1


def _start(rnd: SelectionRound, scenario: dict, source: RunSource, label: str, actor, parent=None,
           changes: dict | None = None, now: bool = False) -> AllocationRun:
    """A new run of `scenario`: solved by a job after the caller commits, or (`now`) here, in this process, for
    small rounds outside a request (the demo data)."""
    run = AllocationRun(round_id=rnd.id, number=_next_number(rnd), label=label[:200], source=source,
                        parent_id=getattr(parent, "id", None), changes=changes or {}, scenario=scenario,
                        status=RunStatus.QUEUED, created_by_id=getattr(actor, "id", None))
    db.session.add(run)
    db.session.flush()
    if not now:
        job = jobs.submit(JOB_KIND, {"run_id": run.id}, actor)
        run.job_id = job.id
        db.session.flush()
    audit.record(actor, "allocation.started", run, _l("分配方案 #%(n)s：%(label)s", n=run.number, label=run.label),
                 round_id=rnd.id, source=source.value, changes=changes or {})
    if now:
        finish_run(run, solve_scenario(parse_scenario(scenario)).to_dict())
    return run


def start_run(rnd: SelectionRound, actor) -> AllocationRun:
    """A run from the round's current evaluation; the solver runs as a job after the caller commits."""
    scenario = check_scenario(build_scenario(rnd))
    return _start(rnd, scenario, RunSource.DATABASE, _("按评审结果分配"), actor)


def run_now(rnd: SelectionRound, actor) -> AllocationRun:
    """A run from the round's current evaluation solved in this process, not as a job: for small rounds outside
    a request (the demo data). The caller commits."""
    scenario = check_scenario(build_scenario(rnd))
    return _start(rnd, scenario, RunSource.DATABASE, _("按评审结果分配"), actor, now=True)


SCENARIO_FILE_LIMIT = 5 * 1024 * 1024  # bytes read of an uploaded scenario file


def read_scenario_file(data: bytes) -> Any:
    """An uploaded scenario file as JSON; DomainError in words for bad UTF-8 or JSON, a 5,000-digit number or
    nesting too deep to parse."""
    try:
        return json.loads(data.decode("utf-8-sig"))
    except (ValueError, RecursionError) as e:
        raise DomainError(_("方案文件不是有效的 JSON：%(error)s", error=str(e)[:200])) from e


def start_import(rnd: SelectionRound, raw: Any, actor) -> AllocationRun:
    """A run of an uploaded scenario file (what-if studies made outside the system)."""
    require(rnd.status is S.EVALUATION, _("只有评审中的轮次可以分配"))
    require(isinstance(raw, dict), _("方案文件应为 JSON 对象"))
    scenario = check_scenario(raw)
    return _start(rnd, scenario, RunSource.IMPORT, _("导入的方案文件"), actor)


def start_whatif(parent: AllocationRun, changes: dict[str, Any], actor, now: bool = False) -> AllocationRun:
    """A run of the parent's scenario with changes: a recorded rule departure (its id: the cap and capacity it
    approves, applied first), fixed / forbidden (lot code, insurer credit code) pairs, the market-share cap (a
    fraction, or None to drop it), a county's maximum number of insurers and an insurer's premium capacity (an
    amount in yuan, or None to drop it). `now`: solved in this process (see `_start`)."""
    rnd = parent.round
    require(rnd.status is S.EVALUATION, _("只有评审中的轮次可以分配"))
    scenario = copy.deepcopy(parent.scenario)
    parts = []
    if changes.get("departure") is not None:
        parts += _apply_departure(scenario, _departure_of(rnd, changes["departure"]))
    lot_ids = {lot["id"] for lot in scenario["lots"]}
    insurer_ids = {i["id"]: i["name"] for i in scenario["insurers"]}
    for kind, label in (("fixed", _("指定")), ("forbidden", _("排除"))):
        for lot_id, insurer_id in changes.get(kind, []):
            require(lot_id in lot_ids and insurer_id in insurer_ids, _("请选择标段和承保机构"))
            pair = {"lot_id": lot_id, "insurer_id": insurer_id}
            if pair not in scenario[kind]:
                scenario[kind].append(pair)
            parts.append(f"{label} {lot_id}→{insurer_ids[insurer_id]}")
    if "cap" in changes:
        cap = changes["cap"]
        require(cap is None or Decimal(0) < Decimal(cap) <= 1, _("市场份额上限应在0到100%之间"))
        scenario["settings"]["market_share_cap"] = None if cap is None else str(cap)
        parts.append(_("市场份额上限 %(cap)s", cap="—" if cap is None else f"{Decimal(cap) * 100:.2f}%"))
    for county_id, n in (changes.get("extra_max") or {}).items():
        county = next((c for c in scenario["counties"] if c["id"] == county_id), None)
        require(county is not None, _("请选择县（市、区）"))
        require(int(n) >= 1, _("请填写该县承保机构上限"))
        county["max_insurers"] = int(n)
        county.setdefault("approval_ref", _("假设分析（待省级批准）"))
        parts.append(_("%(county)s 上限%(n)s家", county=county["name"], n=n))
    for insurer_id, amount in (changes.get("capacity") or {}).items():
        require(insurer_id in insurer_ids, _("请选择承保机构"))
        entry = next(i for i in scenario["insurers"] if i["id"] == insurer_id)
        if amount is None:
            require("premium_capacity" in entry, _("%(name)s 未设置承保能力上限", name=entry["name"]))
            del entry["premium_capacity"]
            parts.append(_("取消 %(name)s 的承保能力上限", name=entry["name"]))
        else:
            amount = _capacity_amount(amount)
            entry["premium_capacity"] = format(amount, "f")
            parts.append(_("%(name)s 承保能力上限 %(amount)s 元", name=entry["name"], amount=format(amount, ",.2f")))
    require(parts, _("请至少设置一项变化"))
    scenario = check_scenario(scenario)
    return _start(rnd, scenario, RunSource.WHATIF, _("假设分析（基于 #%(n)s）：", n=parent.number) + "；".join(parts),
                  actor, parent=parent, changes=changes, now=now)


# --- rule departures (规则偏离) -----------------------------------------------------------------------

def departures(rnd: SelectionRound) -> list[RuleDeparture]:
    """The departures recorded for the round, oldest first."""
    return list(db.session.scalars(sa.select(RuleDeparture).where(RuleDeparture.round_id == rnd.id)
                                   .order_by(RuleDeparture.id)))


def departures_used(rnd: SelectionRound) -> list[RuleDeparture]:
    """The departures the round's adopted allocation rests on (it goes beyond the published rule they relax)."""
    return list(db.session.scalars(
        sa.select(RuleDeparture).join(AllocationRun, RuleDeparture.adopted_run_id == AllocationRun.id)
        .where(RuleDeparture.round_id == rnd.id, AllocationRun.adopted_at.is_not(None),
               AllocationRun.revoked_at.is_(None))
        .order_by(RuleDeparture.id)))


def departure_changes(departure: RuleDeparture) -> list[str]:
    """What the departure changes, in the reader's language: 市场份额上限 35% → 45%; X 承保能力上限 … → … 元."""
    parts = []
    if departure.departs_from_cap:
        parts.append(_("市场份额上限 %(old)s%% → %(new)s%%", old=_num(departure.published_cap_pct),
                       new=_num(departure.approved_cap_pct)))
    if departure.departs_from_capacity:
        parts.append(_("%(name)s 承保能力上限 %(old)s → %(new)s 元", name=departure.insurer.name,
                       old=format(departure.published_capacity, ",.2f"),
                       new=format(departure.approved_capacity, ",.2f")))
    return parts


def departure_summary(departure: RuleDeparture) -> str:
    """What the departure changes, as one line."""
    return join_sentences(departure_changes(departure))


def departure_text(departure: RuleDeparture) -> str:
    """One line naming the departure: what it changes, its basis and document number."""
    return _("%(changes)s（%(basis)s，%(doc)s）", changes=departure_summary(departure), basis=departure.basis.label,
             doc=departure.doc_no)


def _departure_of(rnd: SelectionRound, departure_id) -> RuleDeparture:
    departure = db.session.get(RuleDeparture, departure_id) if isinstance(departure_id, int) else None
    require(departure is not None and departure.round_id == rnd.id, _("请选择本轮已登记的规则偏离"))
    return departure


def _apply_departure(scenario: dict[str, Any], departure: RuleDeparture) -> list[str]:
    """The scenario under the departure: its approved cap and capacity replace the published ones."""
    if departure.departs_from_cap:
        scenario["settings"]["market_share_cap"] = _num(departure.approved_cap_pct / 100)
    if departure.departs_from_capacity:
        entry = next((i for i in scenario["insurers"] if i["id"] == departure.insurer.credit_code), None)
        require(entry is not None, _("%(name)s 不在该方案的承保机构中", name=departure.insurer.name))
        entry["premium_capacity"] = format(departure.approved_capacity, "f")
    return [_("依规则偏离 %(text)s", text=departure_text(departure))]


def _require_before_adoption(rnd: SelectionRound) -> None:
    require(rnd.status is S.EVALUATION, _("只有评审中的轮次可以登记或删除规则偏离"))
    require(adopted_run(rnd) is None, _("本轮已采用分配方案，规则偏离不能再登记或删除"))


def record_departure(rnd: SelectionRound, *, cap_pct: Decimal | None, insurer_id: int | None,
                     capacity: Decimal | None, basis: str, doc_no: str, decided_on, reason: str, document,
                     actor) -> RuleDeparture:
    """Record an approved departure from the round's published allocation rules: a higher market-share cap
    (`cap_pct`, percent), a higher premium capacity for one insurer (`insurer_id`, `capacity` in yuan), or both;
    approved by a collective decision of the bureau or a higher authority (`basis`), with its document number,
    date, reasons and PDF. Only while the round is in evaluation and before a run is adopted; one departure per
    rule (the cap, each insurer's capacity). The round row is locked, as adoption locks it: a departure recorded
    while a run is being adopted waits and is then refused."""
    rnd = lock_for_update(rnd)
    _require_before_adoption(rnd)
    require(cap_pct is not None or insurer_id is not None or capacity is not None,
            _("请填写批准的市场份额上限，或选择承保机构并填写批准的承保能力上限"), "approved_cap_pct")
    departure = RuleDeparture(round_id=rnd.id)
    recorded = departures(rnd)
    if cap_pct is not None:
        cap_pct = Decimal(cap_pct)
        published = rnd.market_share_cap_pct
        require(published is not None, _("本轮未规定市场份额上限，无需偏离"), "approved_cap_pct")
        require(cap_pct.is_finite() and published < cap_pct <= 100,
                _("批准的市场份额上限应高于本轮规定的 %(cap)s%%，且不超过 100%%", cap=_num(published)),
                "approved_cap_pct")
        earlier = next((d for d in recorded if d.departs_from_cap), None)
        require(earlier is None, _("本轮已登记市场份额上限的规则偏离（%(doc)s），如需改变请先删除",
                                   doc=earlier.doc_no if earlier else ""), "approved_cap_pct")
        departure.published_cap_pct = published
        departure.approved_cap_pct = cap_pct.quantize(Decimal("0.0001"))
    if insurer_id is not None or capacity is not None:
        insurer = next((i for i in capacity_insurers(rnd) if i.id == insurer_id), None)
        require(insurer is not None, _("请选择在本轮投标的承保机构"), "insurer")
        row = db.session.scalar(sa.select(InsurerCapacity).where(InsurerCapacity.round_id == rnd.id,
                                                                  InsurerCapacity.insurer_id == insurer.id))
        require(row is not None, _("%(name)s 未设置承保能力上限，无需偏离", name=insurer.name), "insurer")
        require(capacity is not None, _("请填写批准的承保能力上限（元）"), "approved_capacity")
        amount = _capacity_amount(capacity, "approved_capacity")
        require(amount > row.premium_capacity,
                _("批准的承保能力上限应高于为 %(name)s 设置的 %(amount)s 元", name=insurer.name,
                  amount=format(row.premium_capacity, ",.2f")), "approved_capacity")
        earlier = next((d for d in recorded if d.insurer_id == insurer.id), None)
        require(earlier is None, _("%(name)s 的承保能力上限已有规则偏离（%(doc)s），如需改变请先删除",
                                   name=insurer.name, doc=earlier.doc_no if earlier else ""), "insurer")
        departure.insurer = insurer
        departure.insurer_id = insurer.id
        departure.published_capacity = row.premium_capacity
        departure.approved_capacity = amount
    require(basis in {b.value for b in DepartureBasis}, _("请选择批准方式"), "basis")
    doc_no, reason = (doc_no or "").strip(), (reason or "").strip()
    require(doc_no, _("请填写批准文号"), "doc_no")
    require(decided_on is not None and decided_on <= clock.local_today(), _("批准日期不能晚于今天"), "decided_on")
    require(reason, _("请填写偏离的理由"), "reason")
    require(document is not None, _("请上传批准文件（PDF）"), "document")
    departure.basis = DepartureBasis(basis)
    departure.doc_no = doc_no[:100]
    departure.decided_on = decided_on
    departure.reason = reason
    departure.document = document
    departure.recorded_by_id = getattr(actor, "id", None)
    db.session.add(departure)
    db.session.flush()
    audit.record(actor, "allocation.departure_recorded", departure,
                 _l("登记规则偏离：%(doc)s（%(basis)s）", doc=departure.doc_no,
                    basis=DEPARTURE_BASIS_LABELS[departure.basis]),
                 round_id=rnd.id, published_cap_pct=departure.published_cap_pct,
                 approved_cap_pct=departure.approved_cap_pct, insurer_id=departure.insurer_id,
                 published_capacity=departure.published_capacity, approved_capacity=departure.approved_capacity,
                 basis=departure.basis.value, doc_no=departure.doc_no, decided_on=departure.decided_on,
                 reason=departure.reason, document_sha256=document.sha256)
    return departure


def delete_departure(departure: RuleDeparture, actor) -> None:
    """Delete a departure recorded by mistake (or no longer approved), before adoption: from then on adoption
    holds runs to the published rule again."""
    rnd = lock_for_update(departure.round)
    _require_before_adoption(rnd)
    audit.record(actor, "allocation.departure_deleted", departure,
                 _l("删除规则偏离：%(doc)s", doc=departure.doc_no), round_id=rnd.id, doc_no=departure.doc_no,
                 approved_cap_pct=departure.approved_cap_pct, insurer_id=departure.insurer_id,
                 approved_capacity=departure.approved_capacity)
    db.session.delete(departure)
    db.session.flush()


# --- results ----------------------------------------------------------------------------------------

def finish_run(run: AllocationRun, result: dict[str, Any]) -> None:
    run.result = result
    run.status = RunStatus.DONE
    run.solver_status = result.get("status")
    run.objective = Decimal(result["objective"]) if result.get("objective") is not None else None
    run.finished_at = utcnow()
    db.session.flush()


def runs_of(rnd: SelectionRound) -> list[AllocationRun]:
    return list(db.session.scalars(sa.select(AllocationRun).where(AllocationRun.round_id == rnd.id)
                                   .order_by(AllocationRun.number.desc())))


def adopted_run(rnd: SelectionRound) -> AllocationRun | None:
    return db.session.scalar(sa.select(AllocationRun).where(
        AllocationRun.round_id == rnd.id, AllocationRun.adopted_at.is_not(None), AllocationRun.revoked_at.is_(None)))


OK_SOLVER_STATUSES = ("optimal", "feasible")  # as AllocationRun.ok


def allocation_steps(round_ids: list[int]) -> dict[int, str]:
    """For rounds in evaluation whose panel is closed, the bureau's next step on the allocation: "compute" (no run
    to adopt and none being computed), "computing" (a run is being computed: nothing to do yet) or "adopt" (a run
    found a feasible allocation). One query, whatever the number of rounds and runs."""
    if not round_ids:
        return {}
    ok = sa.and_(AllocationRun.status == RunStatus.DONE, AllocationRun.solver_status.in_(OK_SOLVER_STATUSES),
                 AllocationRun.revoked_at.is_(None))
    counts = {round_id: (usable, queued) for round_id, usable, queued in db.session.execute(
        sa.select(AllocationRun.round_id, sa.func.count(sa.case((ok, AllocationRun.id))),
                  sa.func.count(sa.case((AllocationRun.status == RunStatus.QUEUED, AllocationRun.id))))
        .where(AllocationRun.round_id.in_(round_ids)).group_by(AllocationRun.round_id))}
    steps = {}
    for round_id in round_ids:
        usable, queued = counts.get(round_id, (0, 0))
        steps[round_id] = "adopt" if usable else "computing" if queued else "compute"
    return steps

def _improvement(result: dict) -> dict:
    base = result.get("baseline") or {}
    objective = result.get("objective")
    if objective is None or not base.get("feasible") or base.get("objective") is None:
        return {"baseline": base.get("objective"), "feasible": bool(base.get("feasible")), "delta": None, "pct": None}
    delta = Decimal(objective) - Decimal(base["objective"])
    pct = (delta / Decimal(base["objective"]) * 100) if Decimal(base["objective"]) else None
    return {"baseline": base["objective"], "feasible": True, "delta": delta, "pct": pct}


def _points(score) -> str | None:
    """A lot score as shown on the page: always two decimals (87.80, 99.00)."""
    return None if score is None else f"{Decimal(str(score)).quantize(Decimal('0.01'))}"


def result_view(run: AllocationRun) -> dict[str, Any]:
    """What the result page shows: per county its lots with winner, score and runner-up; totals; diagnostics."""
    scenario, result = run.scenario, run.result or {}
    insurers = {i["id"]: i["name"] for i in scenario["insurers"]}
    lots = {lot["id"]: lot for lot in scenario["lots"]}
    explained = {a["lot_id"]: a for a in (result.get("explanation") or {}).get("awards", [])}
    award_map = {a["lot_id"]: a["insurer_id"] for a in result.get("awards", [])}
    bids_per_lot: dict[str, list] = {}
    for b in scenario["bids"]:
        bids_per_lot.setdefault(b["lot_id"], []).append(b)
    limits = {c["county_id"]: c for c in (result.get("explanation") or {}).get("counties", [])}
    counties = []
    for county in scenario["counties"]:
        rows = []
        for lot in (lot for lot in scenario["lots"] if lot["county_id"] == county["id"]):
            winner = award_map.get(lot["id"])
            info = explained.get(lot["id"], {})
            ranked = sorted(bids_per_lot.get(lot["id"], []), key=lambda b: -Decimal(str(b["score"])))
            runner = info.get("runner_up") or next(({"insurer_id": b["insurer_id"], "score": b["score"]}
                                                    for b in ranked if b["insurer_id"] != winner), None)
            rows.append({"lot": lot, "winner": winner, "winner_name": insurers.get(winner, "—") if winner else None,
                         "score": _points(info.get("score") or next((b["score"] for b in ranked
                                                                     if b["insurer_id"] == winner), None)),
                         "runner_up": runner and {"name": insurers.get(runner["insurer_id"], runner["insurer_id"]),
                                                  "score": _points(runner["score"])},
                         "bidders": len(ranked), "note": info.get("note")})
        chosen = sorted({r["winner_name"] for r in rows if r["winner"]})
        limit = limits.get(county["id"], {})
        counties.append({"id": county["id"], "name": county["name"], "rows": rows, "insurers": chosen,
                         "min": limit.get("min", scenario["settings"]["min_insurers_per_county"]),
                         "max": limit.get("max", county.get("max_insurers")
                                          or scenario["settings"]["max_insurers_per_county"]),
                         "approval_ref": county.get("approval_ref")})
    return {"counties": counties, "improvement": _improvement(result), "lots": lots,
            "diagnostics": [dict(d, text=diagnostic_text(d)) for d in result.get("diagnostics", [])]}


def diagnostic_text(diagnostic: dict) -> str:
    """A finding of the optimiser in the user's language: its template is in the catalogue (the optimiser
    marks them with ``N_``); results stored before templates existed keep their Chinese message."""
    if diagnostic.get("template"):
        return _(diagnostic["template"], **diagnostic.get("params", {}))
    return diagnostic["message"]


def compare(a: AllocationRun, b: AllocationRun) -> dict[str, Any]:
    """What changed between two runs: lots whose underwriter differs, counties' insurer sets, the objective."""
    names = {i["id"]: i["name"] for run in (a, b) for i in run.scenario["insurers"]}
    lot_names = {lot["id"]: lot for run in (a, b) for lot in run.scenario["lots"]}
    map_a = {x["lot_id"]: x["insurer_id"] for x in (a.result or {}).get("awards", [])}
    map_b = {x["lot_id"]: x["insurer_id"] for x in (b.result or {}).get("awards", [])}
    changed = [{"lot": lot_names[lot_id], "a": names.get(map_a.get(lot_id), "—"), "b": names.get(map_b.get(lot_id), "—")}
               for lot_id in sorted(set(map_a) | set(map_b)) if map_a.get(lot_id) != map_b.get(lot_id)]
    sets_a = {c["county_id"]: c["insurers"] for c in (a.result or {}).get("counties", [])}
    sets_b = {c["county_id"]: c["insurers"] for c in (b.result or {}).get("counties", [])}
    county_names = {c["id"]: c["name"] for run in (a, b) for c in run.scenario["counties"]}
    counties = [{"name": county_names.get(cid, cid), "a": [names.get(i, i) for i in sets_a.get(cid, [])],
                 "b": [names.get(i, i) for i in sets_b.get(cid, [])]}
                for cid in sorted(set(sets_a) | set(sets_b)) if sorted(sets_a.get(cid, [])) != sorted(sets_b.get(cid, []))]
    delta = None
    if a.objective is not None and b.objective is not None:
        delta = b.objective - a.objective
    return {"changed": changed, "counties": counties, "delta": delta,
            "pct": (delta / a.objective * 100) if delta is not None and a.objective else None}


# --- what a user may do now ------------------------------------------------------------------------------

MANAGERS = frozenset({Role.CITY_AGRI})


def available_actions(rnd: SelectionRound, user, run: AllocationRun | None = None) -> Actions:
    """What `user` may do on the round's allocation now (and on `run`, when given): runs are computed, imported,
    varied and adopted while the round is in evaluation and no run is adopted yet, by the bureau running it."""
    if user.role not in MANAGERS or rnd.status is not S.EVALUATION:
        return Actions()
    final = evaluation.is_final(rnd)
    adopted = adopted_run(rnd)
    actions = [Action("start_run", _l("按评审结果计算分配方案"), "allocation.start_run", {"round_id": rnd.id},
                      post=True, style="success", element_id="start-run", disabled=not final),
               Action("import", _l("导入并计算"), "allocation.import_scenario", {"round_id": rnd.id}, post=True)]
    if adopted is None:
        actions.append(Action("set_capacity", _l("保存"), "allocation.set_capacity", {"round_id": rnd.id}, post=True))
        actions.append(Action("record_departure", _l("登记规则偏离"), "allocation.new_departure", {"round_id": rnd.id},
                              style="outline-primary", element_id="record-departure"))
    if run is not None:
        actions.append(Action("whatif", _l("假设分析"), "allocation.whatif", {"run_id": run.id}, post=True))
        if run.ok and adopted is None:
            actions.append(Action("adopt", _l("采用此方案"), "allocation.adopt", {"run_id": run.id}, post=True,
                                  style="success", element_id="adopt-run"))
    return Actions(actions)


# --- adoption -------------------------------------------------------------------------------------------

def adopt(run: AllocationRun, actor) -> list:
    """Adopt `run`: announced as `run_adopted`, on which awards creates the awards and the backup underwriters
    and moves the round to allocated, in the caller's one transaction. Only one run per round is ever adopted: the round
    row is locked and its status re-read, and a partial unique index refuses a second adopted run. The departures
    from the round's rules the allocation needs are marked as used by the run, and audited."""
    rnd = lock_for_update(run.round)  # concurrent adoptions of one round queue here
    require(rnd.status is S.EVALUATION, _("本轮已确定分配方案（或不在评审阶段），不能再采用其他方案"))
    require(adopted_run(rnd) is None, _("本轮已采用其他分配方案"))
    require(run.ok, _("只有求得可行解的分配方案可以采用"))
    require(run.source is not RunSource.IMPORT or _matches_round(run, rnd),
            _("导入的方案文件与本轮的标段或承保机构不一致，不能采用"))
    winners, used = _check_against_round(rnd, _chosen(run, rnd))
    rankings = {region_id: _backup_order(rnd, region_id) for region_id in {lot.region_id for lot in rnd.lots}}
    run.adopted_at = utcnow()
    run.adopted_by_id = getattr(actor, "id", None)
    for departure in used:
        departure.adopted_run_id = run.id
    db.session.flush()  # the partial unique index refuses a second adopted run here
    created = run_adopted.collect(run, actor=actor, winners=winners, rankings=rankings)  # awards creates them
    audit.record(actor, "allocation.adopted", run, _l("采用分配方案 #%(n)s：%(name)s", n=run.number, name=rnd.name),
                 round_id=rnd.id, objective=run.objective, departures=[d.id for d in used])
    for departure in used:
        audit.record(actor, "allocation.departure_used", departure,
                     _l("采用分配方案 #%(n)s，依据规则偏离 %(doc)s", n=run.number, doc=departure.doc_no),
                     round_id=rnd.id, run_id=run.id, doc_no=departure.doc_no)
    return created


def adoption_problem(run: AllocationRun) -> str | None:
    """Why the round's rules as they stand now (with the recorded departures) would refuse to adopt this
    feasible run, or None: the run page says so before the click. Reads only."""
    rnd = run.round
    if not run.ok or rnd.status is not S.EVALUATION or not evaluation.is_final(rnd):
        return None
    try:
        _check_against_round(rnd, _chosen(run, rnd))
    except DomainError as e:
        return e.message
    return None


def _chosen(run: AllocationRun, rnd: SelectionRound) -> dict[int, int]:
    """The run's awards as {lot id: insurer id} of the round; DomainError for a lot or insurer it does not have."""
    lots = {lot.code: lot for lot in rnd.lots}
    credit = {i["id"] for i in run.scenario["insurers"]}
    insurers = {i.credit_code: i for i in db.session.scalars(sa.select(Insurer).where(Insurer.credit_code.in_(credit)))}
    chosen = {}
    for award in run.result["awards"]:
        lot, insurer = lots.get(award["lot_id"]), insurers.get(award["insurer_id"])
        require(lot is not None and insurer is not None, _("分配方案中的标段或承保机构在本轮不存在"))
        chosen[lot.id] = insurer.id
    return chosen


def _check_against_round(rnd: SelectionRound, chosen: dict[int, int]
                         ) -> tuple[dict[int, tuple[int, Decimal]], list[RuleDeparture]]:
    """The run's awards ({lot id: insurer id}) checked against the round as it is now, whatever the run was
    computed from (an imported file, a what-if with other limits or capacities, a county exception or a rule
    departure deleted since): every lot with an eligible bid is awarded, to an eligible bidder; each county has
    between the round's minimum and its maximum (or its approved exception's) underwriters; no insurer goes above
    its premium capacity or the market-share cap, each raised to no more than a recorded departure approves.
    Returns {lot id: (insurer id, the bid's lot score)} and the departures the allocation needs (it goes beyond
    the published rule they relax)."""
    eligible = {(s.lot_id, s.insurer_id): s.score for s in _final_lot_scores(rnd)}
    lots = {lot.id: lot for lot in rnd.lots}
    missing = sorted({lot_id for lot_id, _insurer in eligible} - set(chosen))
    require(not missing, _("分配方案没有分配标段 %(lot)s", lot=lots[missing[0]].code if missing else ""))
    names = {i.id: i.name for i in db.session.scalars(sa.select(Insurer).where(Insurer.id.in_(set(chosen.values()))))}
    for lot_id, insurer_id in chosen.items():
        require((lot_id, insurer_id) in eligible, _("%(insurer)s 不是标段 %(lot)s 的合格投标人，不能中标",
                                                    insurer=names.get(insurer_id, insurer_id), lot=lots[lot_id].code))
    per_county: dict[int, set[int]] = {}
    for lot_id, insurer_id in chosen.items():
        per_county.setdefault(lots[lot_id].region_id, set()).add(insurer_id)
    county_limits = tenders.county_limits(rnd)
    for region_id, insurers in per_county.items():
        limit, n = county_limits[region_id], len(insurers)
        require(limit.min_insurers <= n <= limit.max_insurers,
                _("%(county)s 有 %(n)s 家承保机构，本轮要求 %(lo)s–%(hi)s 家", county=limit.region.label, n=n,
                  lo=limit.min_insurers, hi=limit.max_insurers))
    premium: dict[int, Decimal] = {}
    for lot_id, insurer_id in chosen.items():
        premium[insurer_id] = premium.get(insurer_id, Decimal(0)) + lots[lot_id].expected_premium
    used = [*_capacities_kept(rnd, premium, names), *_share_cap_kept(rnd, premium, names, lots)]
    winners = {lot_id: (insurer_id, eligible[(lot_id, insurer_id)]) for lot_id, insurer_id in chosen.items()}
    return winners, sorted(set(used), key=lambda d: d.id)


def _capacities_kept(rnd: SelectionRound, premium: dict[int, Decimal], names: dict[int, str]) -> list[RuleDeparture]:
    """Each insurer's premium within its capacity, or within what a recorded departure approves for it (returned)."""
    approved = {d.insurer_id: d for d in departures(rnd) if d.departs_from_capacity}
    used = []
    for row in capacities(rnd):
        amount = premium.get(row.insurer_id, Decimal(0))
        if amount <= row.premium_capacity:
            continue
        departure = approved.get(row.insurer_id)
        require(departure is not None,
                _("%(insurer)s 分得保费 %(amount)s 元，超过其承保能力上限 %(capacity)s 元；确需突破的，"
                  "请先登记经集体决策或上级批准的规则偏离", insurer=names.get(row.insurer_id),
                  amount=f"{amount:,.2f}", capacity=f"{row.premium_capacity:,.2f}"))
        require(amount <= departure.approved_capacity,
                _("%(insurer)s 分得保费 %(amount)s 元，超过规则偏离（%(doc)s）批准的承保能力上限 %(capacity)s 元",
                  insurer=names.get(row.insurer_id), amount=f"{amount:,.2f}", doc=departure.doc_no,
                  capacity=f"{departure.approved_capacity:,.2f}"))
        used.append(departure)
    return used


def _share_cap_kept(rnd: SelectionRound, premium: dict[int, Decimal], names: dict[int, str],
                    lots: dict) -> list[RuleDeparture]:
    """Each insurer's share of the round's expected premium within the market-share cap, or within what a
    recorded departure approves (returned when needed)."""
    if rnd.market_share_cap_pct is None:
        return []
    total = sum((lot.expected_premium for lot in lots.values()), Decimal(0))
    departure = next((d for d in departures(rnd) if d.departs_from_cap), None)
    used = []
    for insurer_id, amount in sorted(premium.items()):
        if amount <= rnd.market_share_cap_pct / 100 * total:
            continue
        share = f"{amount / total * 100:.2f}%" if total else "—"
        require(departure is not None,
                _("%(insurer)s 分得保费 %(amount)s 元，占本轮预计保费的 %(share)s，超过市场份额上限 %(cap)s%%；"
                  "确需突破的，请先登记经集体决策或上级批准的规则偏离", insurer=names.get(insurer_id),
                  amount=f"{amount:,.2f}", share=share, cap=_num(rnd.market_share_cap_pct)))
        require(amount <= departure.approved_cap_pct / 100 * total,
                _("%(insurer)s 分得保费 %(amount)s 元，占本轮预计保费的 %(share)s，超过规则偏离（%(doc)s）批准的"
                  "市场份额上限 %(cap)s%%", insurer=names.get(insurer_id), amount=f"{amount:,.2f}", share=share,
                  doc=departure.doc_no, cap=_num(departure.approved_cap_pct)))
        used.append(departure)
    return used


def _matches_round(run: AllocationRun, rnd: SelectionRound) -> bool:
    codes = {lot.code for lot in rnd.lots}
    return {lot["id"] for lot in run.scenario["lots"]} <= codes


# --- a mid-term change of an award (awards: 终止 / 替补) -------------------------------------------------------

def check_change(rnd: SelectionRound, chosen: dict[int, int]
                 ) -> tuple[dict[int, tuple[int, Decimal]], list[RuleDeparture]]:
    """The round's awards after a mid-term change ({lot id: insurer id}, every awarded lot) checked as adoption
    checks a run (`_check_against_round`): eligible bidders only, each county between its minimum and maximum
    underwriters (an approved county exception still counts), capacities and the market-share cap raised by no
    more than a recorded departure approves. Returns {lot id: (insurer id, lot score)} and the departures used."""
    return _check_against_round(rnd, chosen)


def chosen_awards(run: AllocationRun) -> dict[int, int]:
    """A finished run's awards as {lot id: insurer id} of its round."""
    return _chosen(run, run.round)


def start_change_run(rnd: SelectionRound, fixed: dict[str, str], forbidden: list[tuple[str, str]], label: str,
                     actor, now: bool = False) -> AllocationRun:
    """A run for a lot whose award ended mid-term: the adopted run's scenario (computed under the departures it
    rests on) with every other lot fixed to its underwriter now (`fixed`: lot code → insurer credit code) and the
    `forbidden` (lot code, credit code) pairs; solved by a job after the caller commits, or here (`now`)."""
    parent = adopted_run(rnd)
    require(parent is not None, _("本轮没有已采用的分配方案，不能重新分配"))
    scenario = copy.deepcopy(parent.scenario)
    scenario["fixed"] = [{"lot_id": lot, "insurer_id": insurer} for lot, insurer in sorted(fixed.items())]
    kept = [pair for pair in scenario.get("forbidden", []) if pair["lot_id"] not in fixed]
    scenario["forbidden"] = kept + [{"lot_id": lot, "insurer_id": insurer} for lot, insurer in forbidden
                                    if {"lot_id": lot, "insurer_id": insurer} not in kept]
    scenario = check_scenario(scenario)
    return _start(rnd, scenario, RunSource.WHATIF, label, actor, parent=parent,
                  changes={"award_change": [lot for lot, _insurer in forbidden]}, now=now)
