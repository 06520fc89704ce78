"""Rule departures (规则偏离): a round whose published market-share cap or insurer capacities admit no allocation
gets an approved departure on file; a what-if runs under it; adoption accepts what it approves and nothing more;
it is audited, public with the result, in the notices and in the OCDS release.

The scored round has four lots (1,000,000 and 2,000,000 in each of two counties, 6,000,000 in all) and three
bidders, two insurers per county. A 30 % cap (1,800,000) leaves nobody able to take a 2,000,000 lot: no
allocation. At 40 % (2,400,000 each) the three insurers can share the lots; without a cap the best allocation
gives one insurer 4,000,000 (66.7 %)."""

import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from docx import Document
from pypdf import PdfReader

from agri_insurance import storage
from agri_insurance.allocation import service
from agri_insurance.allocation.models import AllocationRun, RuleDeparture
from agri_insurance.audit.models import AuditEntry
from agri_insurance.awards import exports, ocds
from agri_insurance.awards import service as awards
from agri_insurance.clock import local_today
from agri_insurance.errors import DomainError
from agri_insurance.extensions import db as _db
from agri_insurance.jobs import service as jobs
from agri_insurance.tenders.models import RoundStatus
from tests.allocation.factories import finished_run
from tests.factories import read_text
from tests.tenders.factories import PDF_BYTES, user

DOC_NO = "饶农局党组会〔2026〕7号"


@pytest.fixture
def capped_round(scored_round, db):
    """The scored round with a 30 % market-share cap (written directly: a round's rules are edited only before
    its bids are opened, and the factory's round is already in evaluation)."""
    scored_round.round.market_share_cap_pct = Decimal("30")
    db.session.commit()
    return scored_round


def _latest_run() -> AllocationRun:
    from agri_insurance.extensions import db

    run = db.session.scalars(sa.select(AllocationRun).order_by(AllocationRun.id.desc())).first()
    if run.job_id:
        jobs.wait(run.job_id, timeout=60)
    db.session.expire_all()
    return db.session.get(AllocationRun, run.id)


def _run(client, rnd) -> AllocationRun:
    assert client.post(f"/allocation/rounds/{rnd.id}/runs").status_code == 302
    return _latest_run()


def _whatif(client, run, **data) -> AllocationRun:
    response = client.post(f"/allocation/runs/{run.id}/whatif", data={"cap_mode": "keep", **data})
    assert response.status_code == 302
    return _latest_run()


def _record(client, rnd, **overrides):
    data = {"approved_cap_pct": "40", "basis": "collective", "doc_no": DOC_NO,
            "decided_on": (local_today() - timedelta(days=1)).isoformat(),
            "reason": "鄱阳县、婺源县第2标段预计保费均超过市场份额上限，按公布的规则无法分配。",
            "document": (io.BytesIO(PDF_BYTES), "局党组会议纪要.pdf"), **overrides}
    return client.post(f"/allocation/rounds/{rnd.id}/departures/new", data=data, content_type="multipart/form-data")


def _share(run, credit_code) -> Decimal:
    premium = {lot["id"]: Decimal(lot["expected_premium"]) for lot in run.scenario["lots"]}
    return sum((premium[a["lot_id"]] for a in run.result["awards"] if a["insurer_id"] == credit_code), Decimal(0))


def _actions():
    from agri_insurance.extensions import db

    return list(db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)))


def test_a_cap_no_allocation_meets_is_passed_only_as_far_as_the_approved_departure(capped_round, login, db):
    rnd = capped_round.round
    city = login("city_agri")
    infeasible = _run(city, rnd)
    assert infeasible.solver_status == "infeasible"
    page = read_text(city.get(f"/allocation/runs/{infeasible.id}"))
    assert 'id="departure-hint"' in page and f"/allocation/rounds/{rnd.id}/departures/new" in page

    # a what-if with a 40 % cap is optimal, but the published 30 % still binds adoption, and the page says why
    at_40 = _whatif(city, infeasible, cap_mode="set", cap_pct="40")
    assert at_40.solver_status == "optimal"
    page = read_text(city.get(f"/allocation/runs/{at_40.id}"))
    assert 'id="adoption-problem"' in page and "超过市场份额上限 30%" in page
    refused = read_text(city.post(f"/allocation/runs/{at_40.id}/adopt", follow_redirects=True))
    assert "超过市场份额上限 30%" in refused and "请先登记经集体决策或上级批准的规则偏离" in refused
    assert not db.session.get(AllocationRun, at_40.id).adopted

    # the bureau records the collective decision raising the cap to 40 %
    assert city.get(f"/allocation/rounds/{rnd.id}/departures/new").status_code == 200
    assert _record(city, rnd).status_code == 302
    departure = db.session.scalars(sa.select(RuleDeparture)).one()
    assert (departure.published_cap_pct, departure.approved_cap_pct) == (Decimal("30"), Decimal("40"))
    assert storage.read_bytes(departure.document) == PDF_BYTES
    page = read_text(city.get(f"/allocation/rounds/{rnd.id}"))
    assert DOC_NO in page and "市场份额上限 30% → 40%" in page and "集体决策" in page
    entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "allocation.departure_recorded")).one()
    assert entry.details["approved_cap_pct"] == "40.0000" and entry.details["doc_no"] == DOC_NO

    # the what-if form offers it; a run under it has the approved cap
    page = read_text(city.get(f"/allocation/runs/{infeasible.id}"))
    assert f'<option value="{departure.id}">' in page
    under = _whatif(city, infeasible, departure=str(departure.id))
    assert under.scenario["settings"]["market_share_cap"] == "0.4" and DOC_NO in under.label
    assert under.solver_status == "optimal"
    assert all(_share(under, i.credit_code) <= Decimal("2400000") for i in capped_round.insurers)

    # a run beyond the approved cap is still refused
    uncapped = _whatif(city, infeasible, cap_mode="none")
    assert uncapped.ok and max(_share(uncapped, i.credit_code) for i in capped_round.insurers) > Decimal("2400000")
    refused = read_text(city.post(f"/allocation/runs/{uncapped.id}/adopt", follow_redirects=True))
    assert f"超过规则偏离（{DOC_NO}）批准的市场份额上限 40%" in refused
    assert not db.session.get(AllocationRun, uncapped.id).adopted

    # deleting the departure before adoption: the run it allowed is refused again
    assert city.post(f"/allocation/departures/{departure.id}/delete").status_code == 302
    assert db.session.scalar(sa.select(sa.func.count(RuleDeparture.id))) == 0
    refused = read_text(city.post(f"/allocation/runs/{under.id}/adopt", follow_redirects=True))
    assert "超过市场份额上限 30%" in refused
    assert not db.session.get(AllocationRun, under.id).adopted

    # recorded again, the run under it is adopted; the departure is marked as used by it
    assert _record(city, rnd).status_code == 302
    departure = db.session.scalars(sa.select(RuleDeparture)).one()
    assert city.post(f"/allocation/runs/{under.id}/adopt").status_code == 302
    db.session.expire_all()
    assert db.session.get(AllocationRun, under.id).adopted
    departure = db.session.get(RuleDeparture, departure.id)
    assert departure.adopted_run_id == under.id
    assert [d.id for d in service.departures_used(rnd)] == [departure.id]
    actions = _actions()
    assert actions.count("allocation.departure_recorded") == 2 and "allocation.departure_deleted" in actions
    used = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "allocation.departure_used")).one()
    assert used.details["run_id"] == under.id and used.object_id == str(departure.id)

    # once a run is adopted, departures are neither recorded nor deleted
    assert "只有评审中的轮次可以登记或删除规则偏离" in read_text(
        city.post(f"/allocation/departures/{departure.id}/delete", follow_redirects=True))
    assert db.session.get(RuleDeparture, departure.id) is not None
    response = _record(city, rnd, approved_cap_pct="50", doc_no="另一文号")
    assert "只有评审中的轮次可以登记或删除规则偏离" in read_text(response)
    assert db.session.scalar(sa.select(sa.func.count(RuleDeparture.id))) == 1


def test_the_published_result_states_the_departure_on_the_page_notices_and_ocds(capped_round, login, db, app):
    rnd = capped_round.round
    city = login("city_agri")
    infeasible = _run(city, rnd)
    _record(city, rnd)
    departure = db.session.scalars(sa.select(RuleDeparture)).one()
    under = _whatif(city, infeasible, departure=str(departure.id))
    assert city.post(f"/allocation/runs/{under.id}/adopt").status_code == 302
    awards.publish(db.session.get(type(rnd), rnd.id), user("city_agri"))
    db.session.commit()
    rnd = db.session.get(type(rnd), rnd.id)

    public = read_text(app.test_client().get(f"/awards/public/{rnd.id}"))
    section = public.split('id="departures"')[1].split("</div>")[0]
    assert DOC_NO in section and "市场份额上限 30% → 40%" in section and "按公布的规则无法分配" in section
    # its decision is public with the result: any logged-in bidder reads the PDF
    assert login("insurer").get(f"/allocation/departures/{departure.id}/document").data == PDF_BYTES

    notice = exports.notice_for(rnd, capped_round.insurers[0].name)
    text = "\n".join(p.text for p in Document(io.BytesIO(exports.notice_docx(notice))).paragraphs)
    assert f"本次分配依据经批准的规则偏离：市场份额上限 30% → 40%（集体决策，{DOC_NO}" in text
    pdf_text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(exports.notice_pdf(notice))).pages)
    assert DOC_NO in pdf_text.replace("\n", "")

    package = ocds.release_package(rnd)
    assert ocds.validation_errors(package) == []
    release = package["releases"][0]
    documents = release["tender"]["documents"]
    assert [d["id"] for d in documents] == [f"departure-{departure.id}"] and DOC_NO in documents[0]["title"]
    assert DOC_NO in release["tender"]["awardCriteriaDetails"]
    assert all(DOC_NO in a["description"] and a["documents"] == documents for a in release["awards"])


def test_an_upheld_objection_frees_the_departure_again(capped_round, login, db):
    """The result withdrawn, the round is back in evaluation: the departure carries no result and may be
    deleted, and its use stays in the audit log."""
    from tests.awards.factories import file_objection

    rnd = capped_round.round
    city = login("city_agri")
    infeasible = _run(city, rnd)
    _record(city, rnd)
    departure = db.session.scalars(sa.select(RuleDeparture)).one()
    under = _whatif(city, infeasible, departure=str(departure.id))
    assert city.post(f"/allocation/runs/{under.id}/adopt").status_code == 302
    awards.publish(db.session.get(type(rnd), rnd.id), user("city_agri"))
    db.session.commit()
    rnd = db.session.get(type(rnd), rnd.id)
    awards.answer_objection(file_objection(rnd), True, "质疑成立，重新评审。", user("city_agri"))
    db.session.commit()
    assert rnd.status is RoundStatus.EVALUATION
    assert db.session.get(RuleDeparture, departure.id).adopted_run_id is None and not service.departures_used(rnd)
    departure_id = departure.id
    assert city.post(f"/allocation/departures/{departure_id}/delete").status_code == 302
    db.session.expire_all()
    assert db.session.get(RuleDeparture, departure_id) is None
    assert "allocation.departure_used" in _actions()


def test_an_insurer_capacity_no_allocation_meets_is_raised_by_a_departure(scored_round, login, db):
    """The best insurer may take 1,500,000, the others 2,500,000 each: each other insurer takes at most one
    2,000,000 lot, so the best one must take the two 1,000,000 lots (2,000,000): no allocation."""
    rnd = scored_round.round
    best, second, third = scored_round.insurers
    city_user = user("city_agri")
    for insurer, amount in ((best, "1500000"), (second, "2500000"), (third, "2500000")):
        service.set_capacity(rnd, insurer.id, Decimal(amount), "偿付能力", city_user)
    db.session.commit()
    city = login("city_agri")
    infeasible = _run(city, rnd)
    assert infeasible.solver_status == "infeasible"
    response = _record(city, rnd, approved_cap_pct="", insurer=str(best.id), approved_capacity="3000000",
                       basis="higher_approval", doc_no="赣农险发〔2026〕12号")
    assert response.status_code == 302
    departure = db.session.scalars(sa.select(RuleDeparture)).one()
    assert departure.insurer_id == best.id and departure.published_capacity == Decimal("1500000.00")
    assert departure.approved_capacity == Decimal("3000000.00") and departure.published_cap_pct is None
    page = read_text(city.get(f"/allocation/rounds/{rnd.id}"))
    assert "上级批准" in page and "承保能力上限 1,500,000.00 → 3,000,000.00 元" in page
    under = _whatif(city, infeasible, departure=str(departure.id))
    listed = {i["id"]: i for i in under.scenario["insurers"]}
    assert listed[best.credit_code]["premium_capacity"] == "3000000.00"
    assert under.solver_status == "optimal" and Decimal("1500000") < _share(under, best.credit_code) <= 3000000
    # a what-if that raised the capacity further gives the best insurer more than approved: refused
    beyond = _whatif(city, infeasible, capacity_insurer=best.credit_code, capacity_mode="set",
                     capacity_amount="6000000")
    assert beyond.ok and _share(beyond, best.credit_code) > Decimal("3000000")
    refused = read_text(city.post(f"/allocation/runs/{beyond.id}/adopt", follow_redirects=True))
    assert "超过规则偏离（赣农险发〔2026〕12号）批准的承保能力上限 3,000,000.00 元" in refused
    # as is one giving another insurer more than its own capacity, for which nothing was approved
    other = service.start_whatif(infeasible, {"departure": departure.id, "capacity": {second.credit_code: "3000000"},
                                              "fixed": [["361128-1", second.credit_code],
                                                        ["361130-2", second.credit_code]]}, city_user, now=True)
    db.session.commit()
    assert other.ok and _share(other, second.credit_code) == Decimal("3000000")
    refused = read_text(city.post(f"/allocation/runs/{other.id}/adopt", follow_redirects=True))
    assert "超过其承保能力上限 2,500,000.00 元；确需突破的" in refused
    assert city.post(f"/allocation/runs/{under.id}/adopt").status_code == 302
    db.session.expire_all()
    assert db.session.get(RuleDeparture, departure.id).adopted_run_id == under.id


@pytest.mark.parametrize("data, field_message", [
    ({"approved_cap_pct": ""}, "请填写批准的市场份额上限，或选择承保机构并填写批准的承保能力上限"),
    ({"approved_cap_pct": "30"}, "批准的市场份额上限应高于本轮规定的 30%"),
    ({"decided_on": (date.today() + timedelta(days=3)).isoformat()}, "批准日期不能晚于今天"),
    ({"document": (b"not a pdf", "x.pdf")}, "只接受PDF文件"),
    ({"doc_no": ""}, "该字段是必填字段"),
])
def test_a_departure_the_rules_do_not_allow_is_named_on_its_field(capped_round, login, db, data, field_message):
    if "document" in data:  # a file object of its own for each run (pytest may run the test again in one process)
        data = {**data, "document": (io.BytesIO(data["document"][0]), data["document"][1])}
    response = _record(login("city_agri"), capped_round.round, **data)
    assert response.status_code == 400
    page = read_text(response)
    assert "请更正下面标出的错误" in page and f'invalid-feedback">{field_message}' in page
    assert db.session.scalar(sa.select(sa.func.count(RuleDeparture.id))) == 0


def test_what_a_departure_may_depart_from(scored_round, login, db):
    rnd = scored_round.round
    city_user = user("city_agri")
    document = storage.save_bytes(PDF_BYTES, "纪要.pdf", city_user)
    common = {"basis": "collective", "doc_no": DOC_NO, "decided_on": local_today(), "reason": "无法分配",
              "document": document, "actor": city_user}
    with pytest.raises(DomainError, match="本轮未规定市场份额上限"):
        service.record_departure(rnd, cap_pct=Decimal("40"), insurer_id=None, capacity=None, **common)
    db.session.rollback()
    best = scored_round.insurers[0]
    with pytest.raises(DomainError, match="未设置承保能力上限，无需偏离"):
        service.record_departure(rnd, cap_pct=None, insurer_id=best.id, capacity=Decimal("5"), **common)
    db.session.rollback()
    service.set_capacity(rnd, best.id, Decimal("1000000"), "", city_user)
    with pytest.raises(DomainError, match="应高于为"):
        service.record_departure(rnd, cap_pct=None, insurer_id=best.id, capacity=Decimal("1000000"), **common)
    db.session.rollback()
    service.set_capacity(rnd, best.id, Decimal("1000000"), "", city_user)
    service.record_departure(rnd, cap_pct=None, insurer_id=best.id, capacity=Decimal("2000000"), **common)
    with pytest.raises(DomainError, match="已有规则偏离"):
        service.record_departure(rnd, cap_pct=None, insurer_id=best.id, capacity=Decimal("3000000"), **common)
    db.session.rollback()
    service.set_capacity(rnd, best.id, Decimal("1000000"), "", city_user)
    with pytest.raises(DomainError, match="请选择批准方式"):
        service.record_departure(rnd, cap_pct=None, insurer_id=best.id, capacity=Decimal("2000000"),
                                 **{**common, "basis": "whim"})


def test_a_departure_is_read_by_the_bureau_and_by_others_only_once_the_result_is_public(capped_round, login, db):
    rnd = capped_round.round
    city = login("city_agri")
    _record(city, rnd)
    departure = db.session.scalars(sa.select(RuleDeparture)).one()
    assert city.get(f"/allocation/departures/{departure.id}/document").data == PDF_BYTES
    assert login("admin").get(f"/allocation/departures/{departure.id}/document").status_code == 200
    assert login("insurer").get(f"/allocation/departures/{departure.id}/document").status_code == 404
    assert login("county_agri").post(f"/allocation/departures/{departure.id}/delete").status_code == 403


def _approve(rnd, doc_no: str, *, cap_pct: str | None = None, insurer=None, capacity: str | None = None):
    """A departure recorded through the service, approved yesterday by a collective decision."""
    city_user = user("city_agri")
    departure = service.record_departure(
        rnd, cap_pct=None if cap_pct is None else Decimal(cap_pct), insurer_id=getattr(insurer, "id", None),
        capacity=None if capacity is None else Decimal(capacity), basis="collective", doc_no=doc_no,
        decided_on=local_today() - timedelta(days=1), reason="按公布的规则无法分配",
        document=storage.save_bytes(PDF_BYTES, "纪要.pdf", city_user), actor=city_user)
    _db.session.commit()
    return departure


def _refusal(run) -> str:
    """The click's refusal, which the run's page states beforehand in the same words."""
    problem = service.adoption_problem(run)
    with pytest.raises(DomainError) as refused:
        service.adopt(run, user("city_agri"))
    _db.session.rollback()
    assert problem == refused.value.message
    return problem


def test_an_allocation_resting_on_two_departures_is_adopted_at_exactly_what_they_approve(capped_round, db):
    """A 30 % cap on 6,000,000 (1,800,000) and one insurer's capacity of 2,500,000; the run gives that insurer
    3,000,000 (50 %) and another 2,000,000 (33.33 %). Each departure is held to the fen and to the hundredth of a
    percent it approves; both are used by the adopted run, and audited."""
    rnd = capped_round.round
    low, mid, high = sorted(capped_round.insurers, key=lambda insurer: insurer.id)
    service.set_capacity(rnd, high.id, Decimal("2500000"), "偿付能力", user("city_agri"))
    db.session.commit()
    run = finished_run(rnd, {"361128-1": high, "361130-2": high, "361128-2": low, "361130-1": mid},
                       label="依规则偏离")
    cap = _approve(rnd, DOC_NO, cap_pct="49.99")
    capacity = _approve(rnd, "赣农险发〔2026〕12号", insurer=high, capacity="2999999.99")
    assert _refusal(run) == (f"{high.name} 分得保费 3,000,000.00 元，超过规则偏离（赣农险发〔2026〕12号）批准的"
                             "承保能力上限 2,999,999.99 元")

    service.delete_departure(capacity, user("city_agri"))
    capacity = _approve(rnd, "赣农险发〔2026〕12号", insurer=high, capacity="3000000")
    assert _refusal(run) == (f"{high.name} 分得保费 3,000,000.00 元，占本轮预计保费的 50.00%，超过规则偏离"
                             f"（{DOC_NO}）批准的市场份额上限 49.99%")

    service.delete_departure(cap, user("city_agri"))
    cap = _approve(rnd, DOC_NO, cap_pct="50")
    assert service.adoption_problem(run) is None
    service.adopt(run, user("city_agri"))
    db.session.commit()
    db.session.expire_all()
    assert [d.id for d in service.departures_used(rnd)] == [capacity.id, cap.id]
    adopted = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "allocation.adopted")).one()
    assert adopted.details["departures"] == [capacity.id, cap.id] and adopted.details["round_id"] == rnd.id
    used = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "allocation.departure_used")
                               .order_by(AuditEntry.id)).all()
    assert [(e.object_id, e.summary, e.details) for e in used] == [
        (str(d.id), f"采用分配方案 #{run.number}，依据规则偏离 {d.doc_no}",
         {"round_id": rnd.id, "run_id": run.id, "doc_no": d.doc_no}) for d in (capacity, cap)]
    assert {e.actor_name for e in used} == {"city_agri"}
