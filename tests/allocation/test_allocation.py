"""Allocation: the scenario from the database, runs as jobs, result page, what-if and comparison, JSON export
and import, adoption in one transaction and only once (also concurrently, on PostgreSQL)."""

import io
import json
import threading
from decimal import Decimal

import pytest
import sqlalchemy as sa

from agri_insurance.allocation import service
from agri_insurance.allocation.models import AllocationRun, RunSource, RunStatus
from agri_insurance.awards.models import Award, BackupUnderwriter
from agri_insurance.errors import DomainError
from agri_insurance.extensions import db as _db
from agri_insurance.jobs import service as jobs
from agri_insurance.tenders.models import RoundStatus
from tests.allocation.factories import finished_run
from tests.awards.factories import bidder_usernames
from tests.factories import read_text
from tests.tenders.factories import user


def test_scenario_from_the_database_equals_the_hand_written_one(scored_round_with_exception):
    rnd = scored_round_with_exception.round
    a, b, c = (i.credit_code for i in scored_round_with_exception.insurers)
    names = {i.credit_code: i.name for i in scored_round_with_exception.insurers}
    expected = {
        "format": "agri-insurance-allocation-scenario/1",
        "round": {"id": f"SR-{rnd.id}", "name": "2029–2031年度遴选（中标测试）", "term_start_year": 2029},
        "settings": {"min_insurers_per_county": 2, "max_insurers_per_county": 3, "market_share_cap": None,
                     "time_limit_s": 60, "mip_gap": "0"},
        "counties": [{"id": "361128", "name": "鄱阳县"},
                     {"id": "361130", "name": "婺源县", "max_insurers": 4, "approval_ref": "赣农险组〔2025〕3号"}],
        "lots": [
            {"id": "361128-1", "county_id": "361128", "name": "鄱阳县第1标段", "products": ["rapeseed", "rice"],
             "expected_premium": "1000000.00", "loss_ratio": "0.655"},
            {"id": "361128-2", "county_id": "361128", "name": "鄱阳县第2标段", "products": ["citrus"],
             "expected_premium": "2000000.00", "loss_ratio": "0.655"},
            {"id": "361130-1", "county_id": "361130", "name": "婺源县第1标段", "products": ["rapeseed", "rice"],
             "expected_premium": "1000000.00", "loss_ratio": "0.655"},
            {"id": "361130-2", "county_id": "361130", "name": "婺源县第2标段", "products": ["citrus"],
             "expected_premium": "2000000.00", "loss_ratio": "0.655"},
        ],
        "insurers": sorted([{"id": x, "name": names[x]} for x in (a, b, c)],
                           key=lambda i: [ins.credit_code for ins in scored_round_with_exception.insurers]
                           .index(i["id"])),
        "bids": sorted([{"insurer_id": x, "lot_id": f"{county}-{n}", "score": s}
                        for county in ("361128", "361130")
                        for x, scores in ((a, ("91.5", "90")), (b, ("85", "88.25")), (c, ("80", "79")))
                        for n, s in ((1, scores[0]), (2, scores[1]))],
                       key=lambda d: (d["lot_id"], d["insurer_id"])),
        "fixed": [], "forbidden": [],
    }
    built = service.build_scenario(rnd)
    built["insurers"].sort(key=lambda i: [ins.credit_code for ins in scored_round_with_exception.insurers]
                           .index(i["id"]))
    assert built == expected
    assert service.check_scenario(built)["lots"][0]["id"] == "361128-1"


def _run(client, rnd) -> AllocationRun:
    response = client.post(f"/allocation/rounds/{rnd.id}/runs")
    assert response.status_code == 302, read_text(response)
    return _finished_latest_run()


def _finished_latest_run() -> AllocationRun:
    """The newest run, once its job has finished."""
    run = _db.session.scalars(sa.select(AllocationRun).order_by(AllocationRun.id.desc())).first()
    jobs.wait(run.job_id, timeout=60)
    _db.session.expire_all()
    return _db.session.get(AllocationRun, run.id)


def test_run_whatif_compare_export_import_and_adopt(scored_round, login, db):
    rnd = scored_round.round
    city = login("city_agri")
    run = _run(city, rnd)
    assert run.status is RunStatus.DONE and run.solver_status == "optimal"
    page = read_text(city.get(f"/allocation/runs/{run.id}"))
    assert "鄱阳县" in page and "最优解" in page and scored_round.insurers[0].name in page
    # what-if: forbid the best insurer a lot
    a = scored_round.insurers[0].credit_code
    response = city.post(f"/allocation/runs/{run.id}/whatif", data={
        "pair_lot": "361128-1", "pair_insurer": a, "pair_kind": "forbidden", "cap_mode": "keep"})
    assert response.status_code == 302
    whatif = _finished_latest_run()
    assert {"lot_id": "361128-1", "insurer_id": a} in whatif.scenario["forbidden"]
    assert whatif.result["awards"][0]["insurer_id"] != a
    diff = read_text(city.get(f"/allocation/compare?a={run.id}&b={whatif.id}"))
    assert "361128-1" in diff
    # export the scenario and import it again as a run
    exported = city.get(f"/allocation/runs/{run.id}/scenario.json").data
    assert json.loads(exported)["format"] == "agri-insurance-allocation-scenario/1"
    assert json.loads(city.get(f"/allocation/runs/{run.id}/result.json").data)["status"] == "optimal"
    response = city.post(f"/allocation/rounds/{rnd.id}/import",
                         data={"scenario": (io.BytesIO(exported), "scenario.json")}, content_type="multipart/form-data")
    assert response.status_code == 302
    bad = city.post(f"/allocation/rounds/{rnd.id}/import", data={"scenario": (io.BytesIO(b"{\"lots\": 1}"), "x.json")},
                    content_type="multipart/form-data", follow_redirects=True)
    assert "方案文件有误" in read_text(bad)
    city.get("/lang/en")
    bad = city.post(f"/allocation/rounds/{rnd.id}/import", data={"scenario": (io.BytesIO(b"{\"lots\": 1}"), "x.json")},
                    content_type="multipart/form-data", follow_redirects=True)
    assert "The scenario file has errors" in read_text(bad) and "lots: should be a JSON array" in read_text(bad)
    city.get("/lang/zh_CN")
    # adopt: awards, backups, round allocated; a second adoption is refused
    assert city.post(f"/allocation/runs/{run.id}/adopt").status_code == 302
    db.session.expire_all()
    assert db.session.get(AllocationRun, run.id).adopted
    assert db.session.scalar(sa.select(sa.func.count(Award.id))) == 4
    assert db.session.scalar(sa.select(sa.func.count(BackupUnderwriter.id))) >= 1
    assert rnd.status is RoundStatus.ALLOCATED or db.session.get(type(rnd), rnd.id).status is RoundStatus.ALLOCATED
    second = read_text(city.post(f"/allocation/runs/{whatif.id}/adopt", follow_redirects=True))
    assert "不能再采用其他方案" in second
    whatif = db.session.get(AllocationRun, whatif.id)
    assert service.adoption_problem(whatif) is None  # the round has moved on: nothing to warn of before a click
    with pytest.raises(DomainError) as refused:
        service.adopt(whatif, user("city_agri"))
    assert refused.value.message == "本轮已确定分配方案（或不在评审阶段），不能再采用其他方案"
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Award.id))) == 4


def test_an_infeasible_run_explains_itself_and_cannot_be_adopted(scored_round, login, db):
    rnd = scored_round.round
    run = _run(login("city_agri"), rnd)
    changes = {"extra_max": {}, "cap": "0.1"}  # three insurers × 10 % cannot cover the round
    whatif = service.start_whatif(run, changes, user("city_agri"))
    db.session.commit()
    jobs.wait(whatif.job_id, timeout=60)
    db.session.expire_all()
    whatif = db.session.get(AllocationRun, whatif.id)
    assert whatif.solver_status == "infeasible" and whatif.result["diagnostics"]
    assert service.adoption_problem(whatif) is None  # the page offers no adoption to say anything about
    with pytest.raises(DomainError) as refused:
        service.adopt(whatif, user("city_agri"))
    assert refused.value.message == "只有求得可行解的分配方案可以采用"
    db.session.rollback()  # as the page does: the refused adoption's lock goes with it
    # the findings read in the user's language
    city = login("city_agri")
    chinese = read_text(city.get(f"/allocation/runs/{whatif.id}"))
    assert "任何分配都无法满足该上限" in chinese
    city.get("/lang/en")
    english = read_text(city.get(f"/allocation/runs/{whatif.id}"))
    assert "no allocation can meet the cap" in english and "任何分配都无法满足该上限" not in english


def test_a_failing_adoption_leaves_nothing_behind(scored_round, login, db, monkeypatch):
    rnd = scored_round.round
    run = _run(login("city_agri"), rnd)
    from agri_insurance.awards import service as awards

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(awards.tenders, "mark_allocated", broken)  # after the awards and backups are added
    with pytest.raises(RuntimeError):
        service.adopt(db.session.get(AllocationRun, run.id), user("city_agri"))
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Award.id))) == 0
    assert not db.session.get(AllocationRun, run.id).adopted


def test_concurrent_adoptions_only_one_wins(scored_round, login, db, app):
    rnd = scored_round.round
    client = login("city_agri")
    first, second = _run(client, rnd), _run(client, rnd)
    run_ids = [first.id, second.id]
    db.session.remove()
    outcome: dict[int, str] = {}
    barrier = threading.Barrier(2)

    def adopt(run_id: int) -> None:
        with app.app_context():
            try:
                run = _db.session.get(AllocationRun, run_id)
                barrier.wait(timeout=10)
                service.adopt(run, user("city_agri"))
                _db.session.commit()
                outcome[run_id] = "adopted"
            except Exception as e:  # DomainError, or the unique index refusing a second adoption
                _db.session.rollback()
                outcome[run_id] = f"refused: {e}"
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=adopt, args=(rid,)) for rid in run_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(v.split(":")[0] for v in outcome.values()) == ["adopted", "refused"], outcome
    assert _db.session.scalar(sa.select(sa.func.count(Award.id))) == 4
    assert _db.session.scalar(sa.select(sa.func.count(AllocationRun.id)).where(
        AllocationRun.adopted_at.is_not(None))) == 1


@pytest.mark.parametrize("data, message", [
    ({"pair_lot": "361128-1", "pair_kind": "forbidden", "cap_mode": "keep"}, "请选择标段和承保机构"),
    ({"cap_mode": "set"}, "请填写新的市场份额上限（%）"),
    ({"county": "361128", "cap_mode": "keep"}, "请填写该县承保机构上限"),
    ({"county_max": "4", "cap_mode": "keep"}, "请选择县（市、区）"),
    ({"capacity_mode": "set", "cap_mode": "keep"}, "请填写新的承保能力上限（元）"),
    ({"capacity_mode": "set", "capacity_amount": "100", "cap_mode": "keep"}, "请选择承保机构"),
    ({"capacity_mode": "none", "cap_mode": "keep"}, "请选择承保机构"),
])
def test_half_filled_whatif_is_refused_not_dropped(scored_round, login, db, data, message):
    """A change the user began but did not finish is named back to the user; no run is started without it."""
    city = login("city_agri")
    run = _run(city, scored_round.round)
    page = read_text(city.post(f"/allocation/runs/{run.id}/whatif", data=data, follow_redirects=True))
    assert message in page
    assert _db.session.scalar(sa.select(sa.func.count(AllocationRun.id))) == 1


def test_insurer_capacity_from_the_database_binds_later_runs(scored_round, login, db):
    """承保能力上限: set by the city bureau for the round, carried into the scenario of every later run, kept by
    the optimiser, audited; removed again with an empty amount. Runs made before keep their scenario."""
    from agri_insurance.audit.models import AuditEntry

    rnd = scored_round.round
    best = scored_round.insurers[0]  # best everywhere: unconstrained it wins 2,000,000 of expected premium
    city = login("city_agri")
    before = _run(city, rnd)
    premium = {lot["id"]: Decimal(lot["expected_premium"]) for lot in before.scenario["lots"]}

    def won(run):
        return sum(premium[a["lot_id"]] for a in run.result["awards"] if a["insurer_id"] == best.credit_code)

    assert won(before) == Decimal("2000000")
    page = read_text(city.post(f"/allocation/rounds/{rnd.id}/capacities",
                               data={"insurer": best.id, "amount": "1500000", "basis": "偿付能力充足率 150%"},
                               follow_redirects=True))
    assert "承保能力上限已保存" in page and "1,500,000.00" in page and "偿付能力充足率 150%" in page
    entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "allocation.capacity_set")).one()
    assert entry.details["premium_capacity"] == "1500000.00"
    after = _run(city, rnd)
    listed = {i["id"]: i for i in after.scenario["insurers"]}
    assert listed[best.credit_code]["premium_capacity"] == "1500000.00"
    assert after.solver_status == "optimal" and won(after) <= Decimal("1500000")
    db.session.expire_all()
    assert "premium_capacity" not in {k for i in db.session.get(AllocationRun, before.id).scenario["insurers"]
                                      for k in i}
    # bad input is named and saves nothing; an empty amount removes the capacity
    page = read_text(city.post(f"/allocation/rounds/{rnd.id}/capacities", data={"insurer": best.id, "amount": "0"},
                               follow_redirects=True))
    assert "承保能力上限（元，留空为取消）" in page
    assert service.capacities(rnd)[0].premium_capacity == Decimal("1500000.00")
    page = read_text(city.post(f"/allocation/rounds/{rnd.id}/capacities", data={"insurer": best.id, "amount": ""},
                               follow_redirects=True))
    assert "承保能力上限已取消" in page and service.capacities(rnd) == []
    with pytest.raises(DomainError, match="未设置承保能力上限"):
        service.set_capacity(rnd, best.id, None, "", user("city_agri"))


def test_insurer_capacity_is_refused_once_a_run_is_adopted(scored_round, login, db):
    rnd = scored_round.round
    city = login("city_agri")
    run = _run(city, rnd)
    assert city.post(f"/allocation/runs/{run.id}/adopt").status_code == 302
    db.session.expire_all()
    rnd = db.session.get(type(rnd), rnd.id)
    with pytest.raises(DomainError):
        service.set_capacity(rnd, scored_round.insurers[0].id, Decimal("1000000"), "", user("city_agri"))


def test_whatif_changes_an_insurers_capacity(scored_round, login, db):
    """A what-if run with a premium capacity for one insurer: the new run keeps to it; dropping a capacity the
    scenario does not have, or naming an insurer without saying what to do, is refused."""
    rnd = scored_round.round
    best = scored_round.insurers[0].credit_code
    city = login("city_agri")
    run = _run(city, rnd)
    premium = {lot["id"]: Decimal(lot["expected_premium"]) for lot in run.scenario["lots"]}
    response = city.post(f"/allocation/runs/{run.id}/whatif", data={
        "cap_mode": "set", "cap_pct": "35", "capacity_insurer": best, "capacity_mode": "set",
        "capacity_amount": "1500000"})
    assert response.status_code == 302
    whatif = _finished_latest_run()
    assert {i["id"]: i for i in whatif.scenario["insurers"]}[best]["premium_capacity"] == "1500000.00"
    assert "1,500,000.00" in whatif.label
    conditions = read_text(city.get(f"/allocation/runs/{whatif.id}")).split('id="run-conditions"')[1].split("</p>")[0]
    assert scored_round.insurers[0].name in conditions and "1,500,000.00" in conditions and "35%" in conditions
    assert "承保能力上限：无" in read_text(city.get(f"/allocation/runs/{run.id}")).replace(" ", "").replace("\n", "")
    assert sum(premium[a["lot_id"]] for a in whatif.result["awards"] if a["insurer_id"] == best) <= 1500000
    for data, message in (({"capacity_insurer": best, "capacity_mode": "none"}, "未设置承保能力上限"),
                          ({"capacity_insurer": best, "capacity_mode": "keep"}, "请选择承保能力上限改为多少或取消")):
        page = read_text(city.post(f"/allocation/runs/{run.id}/whatif", data={"cap_mode": "keep", **data},
                                   follow_redirects=True))
        assert message in page
    assert _db.session.scalar(sa.select(sa.func.count(AllocationRun.id))) == 2


def test_an_imported_run_that_breaks_the_rounds_rules_cannot_be_adopted(scored_round, login, db):
    # A scenario file edited by hand: one insurer per county allowed, and a best insurer with score 100 everywhere.
    rnd = scored_round.round
    city = login("city_agri")
    run = _run(city, rnd)
    scenario = json.loads(city.get(f"/allocation/runs/{run.id}/scenario.json").data)
    favourite = scored_round.insurers[-1].credit_code
    scenario["settings"]["min_insurers_per_county"] = 1
    scenario["bids"] = [{**bid, "score": "100"} for bid in scenario["bids"] if bid["insurer_id"] == favourite]
    response = city.post(f"/allocation/rounds/{rnd.id}/import", content_type="multipart/form-data",
                         data={"scenario": (io.BytesIO(json.dumps(scenario).encode()), "scenario.json")})
    assert response.status_code == 302
    tampered = _finished_latest_run()
    assert tampered.ok and {a["insurer_id"] for a in tampered.result["awards"]} == {favourite}
    page = read_text(city.post(f"/allocation/runs/{tampered.id}/adopt", follow_redirects=True))
    assert "本轮要求 2–3 家" in page
    db.session.expire_all()
    assert not db.session.get(AllocationRun, tampered.id).adopted
    assert db.session.scalar(sa.select(sa.func.count(Award.id))) == 0
    # the run computed from the round itself is still adopted as before, with the lot scores of the evaluation
    assert city.post(f"/allocation/runs/{run.id}/adopt").status_code == 302
    assert db.session.scalar(sa.select(sa.func.count(Award.id))) == 4


@pytest.mark.parametrize("amount", ["Infinity", "NaN", "1e30", "12345678901234567890123456789"])
def test_a_capacity_no_column_can_hold_is_refused_on_the_page(scored_round, login, db, amount):
    rnd = scored_round.round
    city = login("city_agri")
    run = _run(city, rnd)
    best = scored_round.insurers[0]
    response = city.post(f"/allocation/rounds/{rnd.id}/capacities", data={"insurer": best.id, "amount": amount},
                         follow_redirects=True)
    assert response.status_code == 200 and "承保能力上限" in read_text(response)
    assert service.capacities(rnd) == []
    response = city.post(f"/allocation/runs/{run.id}/whatif", follow_redirects=True, data={
        "cap_mode": "keep", "capacity_insurer": best.credit_code, "capacity_mode": "set", "capacity_amount": amount})
    assert response.status_code == 200
    assert db.session.scalar(sa.select(sa.func.count(AllocationRun.id))) == 1


@pytest.mark.parametrize("content", [b"[" * 100_000 + b"]" * 100_000, b'{"lots": ' + b"9" * 5000 + b"}"])
def test_a_hostile_scenario_file_is_named_as_invalid_not_a_server_error(scored_round, login, db, content):
    rnd = scored_round.round
    response = login("city_agri").post(f"/allocation/rounds/{rnd.id}/import", content_type="multipart/form-data",
                                       data={"scenario": (io.BytesIO(content), "x.json")}, follow_redirects=True)
    assert response.status_code == 200 and "方案文件" in read_text(response)


# --- adoption: each check of a run against the round, named in the words the user reads ---------------------------

def _problem_and_refusal(run) -> tuple[str | None, str]:
    """What the run's page says before the click (`adoption_problem`) and the click's refusal; the refused
    adoption leaves the run unadopted and no award behind."""
    problem = service.adoption_problem(run)
    with pytest.raises(DomainError) as refused:
        service.adopt(run, user("city_agri"))
    _db.session.rollback()
    assert not _db.session.get(AllocationRun, run.id).adopted
    assert _db.session.scalar(sa.select(sa.func.count(Award.id))) == 0
    return problem, refused.value.message


def _by_id(scored_round):
    """The round's three bidders by insurer id: adoption checks capacities and shares in that order, so the one
    breaking a rule comes after one that keeps it."""
    return sorted(scored_round.insurers, key=lambda insurer: insurer.id)


def test_a_run_naming_a_lot_or_an_insurer_the_round_does_not_have_is_refused(scored_round, db):
    rnd = scored_round.round
    a, b, _c = scored_round.insurers
    ordinary = {"361128-1": a, "361128-2": b, "361130-1": a, "361130-2": b}
    message = "分配方案中的标段或承保机构在本轮不存在"
    unknown_lot = finished_run(rnd, {**ordinary, "361128-9": a}, source=RunSource.WHATIF)
    assert _problem_and_refusal(unknown_lot) == (message, message)
    outsider = user(bidder_usernames(4)[3]).insurer  # a demo insurer that did not bid: not among the run's insurers
    unknown_insurer = finished_run(rnd, {**ordinary, "361130-2": outsider}, source=RunSource.WHATIF)
    assert _problem_and_refusal(unknown_insurer) == (message, message)


def test_an_imported_run_with_a_lot_the_round_does_not_have_is_refused(scored_round, db):
    rnd = scored_round.round
    a, b, _c = scored_round.insurers
    scenario = service.build_scenario(rnd)
    scenario["lots"].append({**scenario["lots"][0], "id": "361128-9", "name": "鄱阳县第9标段"})
    run = finished_run(rnd, {"361128-1": a, "361128-2": b, "361130-1": a, "361130-2": b}, scenario=scenario)
    with pytest.raises(DomainError) as refused:
        service.adopt(run, user("city_agri"))
    assert refused.value.message == "导入的方案文件与本轮的标段或承保机构不一致，不能采用"
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Award.id))) == 0


def test_a_run_leaving_lots_unawarded_names_the_first_of_them(scored_round, db):
    a, b, _c = scored_round.insurers
    run = finished_run(scored_round.round, {"361128-1": a, "361130-1": b})
    assert _problem_and_refusal(run) == ("分配方案没有分配标段 361128-2",) * 2


def test_a_lot_given_to_an_insurer_without_an_eligible_bid_on_it_is_refused(scored_round, db):
    rnd = scored_round.round
    a, b, _c = scored_round.insurers
    outsider = user(bidder_usernames(4)[3]).insurer
    scenario = service.build_scenario(rnd)  # an imported file may list any insurer
    scenario["insurers"].append({"id": outsider.credit_code, "name": outsider.name})
    run = finished_run(rnd, {"361128-1": outsider, "361128-2": b, "361130-1": a, "361130-2": b}, scenario=scenario)
    message = f"{outsider.name} 不是标段 361128-1 的合格投标人，不能中标"
    assert _problem_and_refusal(run) == (message, message)


def test_the_page_warns_of_nothing_before_the_evaluation_is_final(scored_round, db, monkeypatch):
    from agri_insurance.evaluation import service as evaluation

    a, _b, _c = scored_round.insurers
    one_insurer = finished_run(scored_round.round, {code: a for code in ("361128-1", "361128-2", "361130-1",
                                                                         "361130-2")})
    assert service.adoption_problem(one_insurer) == "鄱阳县 有 1 家承保机构，本轮要求 2–3 家"
    monkeypatch.setattr(evaluation, "is_final", lambda r: False)
    assert service.adoption_problem(one_insurer) is None


def test_a_round_in_evaluation_with_a_run_still_adopted_refuses_another(scored_round, db):
    """The round's status is re-read under its lock; should a round be back in evaluation with its adopted run
    not revoked (a database edited by hand), the adopted run itself still refuses a second."""
    from agri_insurance.tenders.models import RoundStatus

    rnd = scored_round.round
    a, b, c = scored_round.insurers
    first = finished_run(rnd, {"361128-1": a, "361128-2": b, "361130-1": a, "361130-2": b})
    service.adopt(first, user("city_agri"))
    db.session.commit()
    rnd = db.session.get(type(rnd), rnd.id)
    assert rnd.status is RoundStatus.ALLOCATED
    rnd.status = RoundStatus.EVALUATION
    db.session.commit()
    second = finished_run(rnd, {"361128-1": a, "361128-2": c, "361130-1": a, "361130-2": c})
    with pytest.raises(DomainError) as refused:
        service.adopt(second, user("city_agri"))
    assert refused.value.message == "本轮已采用其他分配方案"
    db.session.rollback()


def test_an_insurer_taking_exactly_its_capacity_is_adopted_and_a_fen_less_is_refused(scored_round, db):
    """Each insurer's premium against its capacity, whichever comes first: the first in the round's order keeps
    to its capacity exactly, the second wins nothing, the last is held to it as well."""
    from agri_insurance.audit.models import AuditEntry
    from agri_insurance.evaluation import service as evaluation

    rnd = scored_round.round
    low, mid, high = _by_id(scored_round)
    city = user("city_agri")
    run = finished_run(rnd, {"361128-1": low, "361130-1": low, "361128-2": high, "361130-2": high})
    service.set_capacity(rnd, low.id, Decimal("2000000"), "", city)       # wins 1,000,000 + 1,000,000
    service.set_capacity(rnd, mid.id, Decimal("0.01"), "", city)          # wins nothing: within any capacity
    service.set_capacity(rnd, high.id, Decimal("3999999.99"), "", city)   # wins 2,000,000 + 2,000,000
    db.session.commit()
    message = (f"{high.name} 分得保费 4,000,000.00 元，超过其承保能力上限 3,999,999.99 元；确需突破的，"
               "请先登记经集体决策或上级批准的规则偏离")
    assert _problem_and_refusal(run) == (message, message)

    service.set_capacity(rnd, high.id, Decimal("4000000"), "", city)
    db.session.commit()
    run = db.session.get(AllocationRun, run.id)
    assert service.adoption_problem(run) is None
    created = service.adopt(run, city)
    db.session.commit()
    score = {(s.lot_id, s.insurer_id): s.score for s in evaluation.lot_scores(rnd)}
    awards = db.session.scalars(sa.select(Award).order_by(Award.lot_id)).all()
    assert sorted(a.id for a in created) == [a.id for a in awards]
    assert {a.lot.code: a.insurer_id for a in awards} == {"361128-1": low.id, "361128-2": high.id,
                                                        "361130-1": low.id, "361130-2": high.id}
    assert all(a.score == score[(a.lot_id, a.insurer_id)] for a in awards)
    run = db.session.get(AllocationRun, run.id)
    assert run.adopted and run.adopted_by_id == city.id
    entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "allocation.adopted")).one()
    assert (entry.actor_name, entry.object_type, entry.object_id) == ("city_agri", "AllocationRun", str(run.id))
    assert entry.summary == f"采用分配方案 #{run.number}：{rnd.name}"
    created_entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "awards.created")).one()
    assert created_entry.actor_name == "city_agri"  # the awards are made by whoever adopted the run
    assert entry.details == {"round_id": rnd.id, "objective": entry.details["objective"], "departures": []}
    assert Decimal(entry.details["objective"]) == run.objective == 0


def test_a_market_share_exactly_at_the_cap_is_adopted_and_a_fen_over_is_refused(scored_round, db):
    """With a 50 % cap on 6,000,000 of expected premium an insurer may win 3,000,000; a lot's premium a fen
    higher puts its winner a fen over half of the round. The insurer checked first keeps to the cap."""
    rnd = scored_round.round
    rnd.market_share_cap_pct = Decimal("50")  # written directly: the factory's round is already in evaluation
    db.session.commit()
    low, mid, high = _by_id(scored_round)
    run = finished_run(rnd, {"361128-1": high, "361130-2": high, "361128-2": low, "361130-1": mid})
    assert service.adoption_problem(run) is None

    lot = next(lot for lot in rnd.lots if lot.code == "361128-1")
    lot.expected_premium = Decimal("1000000.01")
    db.session.commit()
    message = (f"{high.name} 分得保费 3,000,000.01 元，占本轮预计保费的 50.00%，超过市场份额上限 50%；确需突破的，"
               "请先登记经集体决策或上级批准的规则偏离")
    assert _problem_and_refusal(db.session.get(AllocationRun, run.id)) == (message, message)
