import json
from decimal import Decimal

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from agri_insurance import storage
from agri_insurance.access import ALL_ROLES, roles_required, scoped_get_or_404
from agri_insurance.allocation import jobs as _jobs  # noqa: F401 - registers the job handler
from agri_insurance.allocation import service
from agri_insurance.allocation.forms import CapacityForm, DepartureForm, ImportForm, WhatIfForm
from agri_insurance.allocation.models import AllocationRun, RuleDeparture, RunStatus
from agri_insurance.evaluation import service as evaluation
from agri_insurance.forms_util import choices, commit_or_flash, flash_form_errors, int_arg
from agri_insurance.jobs import service as jobs
from agri_insurance.roles import Role
from agri_insurance.spreadsheets import download
from agri_insurance.tenders import service as tenders
from agri_insurance.tenders.models import RoundStatus, SelectionRound

bp = Blueprint("allocation", __name__, url_prefix="/allocation")
# the allocation is computed once the evaluation is under way: before it, the page says so
BEFORE_EVALUATION = (RoundStatus.DRAFT, RoundStatus.OPEN, RoundStatus.CLOSED, RoundStatus.OPENED)
BUREAU = (Role.ADMIN, Role.CITY_AGRI)
MANAGERS = (Role.CITY_AGRI,)


def _round(round_id: int) -> SelectionRound:
    return scoped_get_or_404(SelectionRound, round_id)


def _whatif_form(run: AllocationRun) -> WhatIfForm:
    form = WhatIfForm()
    form.pair_lot.choices = choices([("", "—")] + [(lot["id"], f"{lot['id']} {lot['name']}")
                                                    for lot in run.scenario["lots"]])
    form.pair_insurer.choices = choices([("", "—")] + [(i["id"], i["name"]) for i in run.scenario["insurers"]])
    form.pair_kind.choices = choices([("fixed", _l("指定给该机构")), ("forbidden", _l("不得给该机构"))])
    form.cap_mode.choices = choices([("keep", _l("不变")), ("set", _l("改为下列比例")), ("none", _l("取消上限"))])
    form.county.choices = choices([("", "—")] + [(c["id"], c["name"]) for c in run.scenario["counties"]])
    form.capacity_insurer.choices = form.pair_insurer.choices
    form.capacity_mode.choices = choices([("keep", _l("不变")), ("set", _l("改为下列金额")), ("none", _l("取消上限"))])
    form.departure.choices = choices([("", "—")] + [(str(d.id), service.departure_text(d))
                                                    for d in service.departures(run.round)])
    return form


def _capacity_form(rnd: SelectionRound) -> CapacityForm:
    form = CapacityForm()
    form.insurer.choices = choices([(i.id, i.name) for i in service.capacity_insurers(rnd)])
    return form


@bp.get("/rounds/<int:round_id>")
@roles_required(*BUREAU)
def round_runs(round_id: int):
    rnd = _round(round_id)
    final = evaluation.is_final(rnd)
    return render_template("allocation/round_runs.html", rnd=rnd, runs=service.runs_of(rnd),
                           adopted=service.adopted_run(rnd), actions=service.available_actions(rnd, current_user),
                           previous_term=tenders.previous_term(rnd),
                           before_evaluation=rnd.status in BEFORE_EVALUATION,
                           awaiting_final=rnd.status is RoundStatus.EVALUATION and not final,
                           import_form=ImportForm(), capacities=service.capacities(rnd),
                           capacity_form=_capacity_form(rnd), departures=service.departures(rnd),
                           departure_summary=service.departure_summary)


@bp.post("/rounds/<int:round_id>/capacities")
@roles_required(*MANAGERS)
def set_capacity(round_id: int):
    rnd = _round(round_id)
    form = _capacity_form(rnd)
    if not form.validate_on_submit():
        flash_form_errors(form)
    else:
        commit_or_flash(lambda: service.set_capacity(rnd, form.insurer.data, form.amount.data, form.basis.data,
                                                     current_user),
                        _("承保能力上限已保存") if form.amount.data is not None else _("承保能力上限已取消"))
    return redirect(url_for(".round_runs", round_id=round_id) + "#capacities")


# --- rule departures (规则偏离) -----------------------------------------------------------------------

def _departure_form(rnd: SelectionRound) -> DepartureForm:
    return DepartureForm(insurers=[c.insurer for c in service.capacities(rnd)])


@bp.route("/rounds/<int:round_id>/departures/new", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def new_departure(round_id: int):
    rnd = _round(round_id)
    form = _departure_form(rnd)
    if form.validate_on_submit():
        done = commit_or_flash(lambda: service.record_departure(
            rnd, cap_pct=form.approved_cap_pct.data, insurer_id=int(form.insurer.data) if form.insurer.data else None,
            capacity=form.approved_capacity.data, basis=form.basis.data, doc_no=form.doc_no.data,
            decided_on=form.decided_on.data, reason=form.reason.data,
            document=storage.save_pdf(form.document.data, current_user), actor=current_user),
            _("规则偏离已登记；可按它进行假设分析，采用时以批准的数值为限"), form)
        if done:
            return redirect(url_for(".round_runs", round_id=round_id) + "#departures")
    return render_template("allocation/departure_form.html", rnd=rnd, form=form,
                           capacities=service.capacities(rnd)), 400 if form.errors else 200


@bp.get("/departures/<int:departure_id>/document")
@roles_required(*ALL_ROLES)
def departure_document(departure_id: int):
    departure = scoped_get_or_404(RuleDeparture, departure_id)
    return storage.send_stored(departure.document)


@bp.post("/departures/<int:departure_id>/delete")
@roles_required(*MANAGERS)
def delete_departure(departure_id: int):
    departure = scoped_get_or_404(RuleDeparture, departure_id)
    round_id = departure.round_id
    commit_or_flash(lambda: service.delete_departure(departure, current_user), _("规则偏离已删除"))
    return redirect(url_for(".round_runs", round_id=round_id) + "#departures")


# --- runs -----------------------------------------------------------------------------------------------

@bp.post("/rounds/<int:round_id>/runs")
@roles_required(*MANAGERS)
def start_run(round_id: int):
    rnd = _round(round_id)
    done = commit_or_flash(lambda: service.start_run(rnd, current_user))
    if not done:
        return redirect(url_for(".round_runs", round_id=round_id))
    return redirect(url_for(".run_detail", run_id=done.value.id))


@bp.post("/rounds/<int:round_id>/import")
@roles_required(*MANAGERS)  # it starts a run, as the start button does: the bureau running the tender
def import_scenario(round_id: int):
    rnd = _round(round_id)
    form = ImportForm()
    if not form.validate_on_submit():
        flash(_("请选择方案文件（JSON）"), "danger")
        return redirect(url_for(".round_runs", round_id=round_id))
    data = form.scenario.data.read(service.SCENARIO_FILE_LIMIT)
    done = commit_or_flash(lambda: service.start_import(rnd, service.read_scenario_file(data), current_user))
    if not done:
        return redirect(url_for(".round_runs", round_id=round_id))
    return redirect(url_for(".run_detail", run_id=done.value.id))


@bp.get("/runs/<int:run_id>")
@roles_required(*BUREAU)
def run_detail(run_id: int):
    run = scoped_get_or_404(AllocationRun, run_id)
    state = jobs.snapshot(run.job_id) if run.job_id else None
    others = [r for r in service.runs_of(run.round) if r.id != run.id and r.status is RunStatus.DONE]
    actions = service.available_actions(run.round, current_user, run)
    return render_template("allocation/run_detail.html", run=run, rnd=run.round, state=state,
                           conditions=service.run_conditions(run),
                           view=service.result_view(run) if run.status is RunStatus.DONE else None,
                           adopted=service.adopted_run(run.round), others=others, actions=actions,
                           form=_whatif_form(run),
                           adoption_problem=service.adoption_problem(run) if "adopt" in actions else None)


@bp.post("/runs/<int:run_id>/whatif")
@roles_required(*MANAGERS)
def whatif(run_id: int):
    parent = scoped_get_or_404(AllocationRun, run_id)
    form = _whatif_form(parent)
    if not form.validate_on_submit():
        flash(_("请检查假设条件"), "danger")
        return redirect(url_for(".run_detail", run_id=run_id))
    # A half-filled change (a lot without an insurer, a county without its maximum) goes to the service, which
    # refuses it, rather than being dropped silently.
    changes: dict = {}
    if form.departure.data:
        changes["departure"] = int(form.departure.data)
    if form.pair_lot.data or form.pair_insurer.data:
        changes[form.pair_kind.data or "fixed"] = [[form.pair_lot.data, form.pair_insurer.data]]
    if form.cap_mode.data == "none":
        changes["cap"] = None
    elif form.cap_mode.data == "set":
        if form.cap_pct.data is None:
            flash(_("请填写新的市场份额上限（%）"), "danger")
            return redirect(url_for(".run_detail", run_id=run_id))
        changes["cap"] = str(Decimal(form.cap_pct.data) / 100)
    if form.county.data or form.county_max.data:
        changes["extra_max"] = {form.county.data or "": form.county_max.data or 0}
    if form.capacity_insurer.data or form.capacity_mode.data in ("set", "none"):
        if form.capacity_mode.data not in ("set", "none"):
            flash(_("请选择承保能力上限改为多少或取消"), "danger")
            return redirect(url_for(".run_detail", run_id=run_id))
        if form.capacity_mode.data == "set" and form.capacity_amount.data is None:
            flash(_("请填写新的承保能力上限（元）"), "danger")
            return redirect(url_for(".run_detail", run_id=run_id))
        changes["capacity"] = {form.capacity_insurer.data or "": None if form.capacity_mode.data == "none"
                               else str(form.capacity_amount.data)}
    done = commit_or_flash(lambda: service.start_whatif(parent, changes, current_user))
    return redirect(url_for(".run_detail", run_id=done.value.id if done else run_id))


@bp.get("/compare")
@roles_required(*BUREAU)
def compare():
    a = scoped_get_or_404(AllocationRun, request.args.get("a", type=int_arg) or 0)
    b = scoped_get_or_404(AllocationRun, request.args.get("b", type=int_arg) or 0)
    if a.round_id != b.round_id:
        abort(404)
    return render_template("allocation/compare.html", a=a, b=b, rnd=a.round, diff=service.compare(a, b))


@bp.get("/runs/<int:run_id>/scenario.json")
@roles_required(*BUREAU)
def scenario_json(run_id: int):
    run = scoped_get_or_404(AllocationRun, run_id)
    data = json.dumps(run.scenario, ensure_ascii=False, indent=2).encode()
    return download(data, f"scenario-{run.round_id}-{run.number}.json", "application/json")


@bp.get("/runs/<int:run_id>/result.json")
@roles_required(*BUREAU)
def result_json(run_id: int):
    run = scoped_get_or_404(AllocationRun, run_id)
    if run.result is None:
        abort(404)
    data = json.dumps(run.result, ensure_ascii=False, indent=2).encode()
    return download(data, f"result-{run.round_id}-{run.number}.json", "application/json")


@bp.post("/runs/<int:run_id>/adopt")
@roles_required(*MANAGERS)
def adopt(run_id: int):
    run = scoped_get_or_404(AllocationRun, run_id)
    if not commit_or_flash(lambda: service.adopt(run, current_user),
                           _("已采用分配方案 #%(n)s，可公示中标结果", n=run.number)):
        return redirect(url_for(".run_detail", run_id=run_id))
    return redirect(url_for("awards.round_awards", round_id=run.round_id))
