"""Mid-term termination and replacement (终止 / 替补): on the demo's finalised round (term from next year; in each
of 婺源县 and 鄱阳县 two lots, two underwriters, the other eligible bidders as backups), through the services."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from agri_insurance import storage
from agri_insurance.allocation import service as allocation
from agri_insurance.audit.models import AuditEntry
from agri_insurance.awards import exports, ocds, replacement
from agri_insurance.awards.models import Award, AwardChange, BackupUnderwriter
from agri_insurance.clock import local_today
from agri_insurance.errors import DomainError
from agri_insurance.reference import service as reference_service
from agri_insurance.reference.models import Product, SubsidyScheme
from agri_insurance.subsidies.service import claim_refusal, may_claim
from tests.tenders.factories import PDF_BYTES, user

LOT = "PY-F1"  # 鄱阳县特色农业标段: camellia oil, medicinal herbs


@pytest.fixture
def finalised(demo, db):
    from agri_insurance.awards.demo import load_demo_finalised_round

    load_demo_finalised_round()
    db.session.commit()
    return award_of(LOT).round


def award_of(code: str) -> Award:
    from agri_insurance.tenders.models import Lot

    return db_session().scalar(sa.select(Award).join(Lot, Award.lot_id == Lot.id).where(Lot.code == code))


def db_session():
    from agri_insurance.extensions import db

    return db.session


def schemes_for(year: int) -> None:
    """City-wide subsidy schemes of `year` for every product (the demo has 2025 and 2026)."""
    for product in db_session().scalars(sa.select(Product)):
        if db_session().scalar(sa.select(SubsidyScheme.id).where(SubsidyScheme.product_id == product.id,
                                                                 SubsidyScheme.year == year)) is None:
            shares = reference_service.scheme_defaults(product)
            reference_service.save_scheme(None, {"product_id": product.id, "region_id": None, "year": year,
                                                 **{f"{k}_pct": v for k, v in shares.items()}}, None)


def terminate(award, method="backup", backup=None, **overrides):
    city = user("city_agri")
    data = {"reason": "严重违规经营，虚构承保标的", "doc_no": "饶农字〔2027〕8号",
            "document": storage.save_bytes(PDF_BYTES, "终止决定.pdf", city),
            "effective_on": local_today(), "method": method,
            "backup_insurer_id": backup if backup is not None else (
                replacement.backup_candidates(award)[0].insurer_id if method == "backup" else None),
            "actor": city, "now": True}
    data.update(overrides)
    return replacement.terminate(award, **data)


def test_the_backup_takes_the_lot_and_the_subsidy_assignments_move_on_the_effective_date(finalised, db):
    rnd = finalised
    award = award_of(LOT)
    old = award.insurer
    backup = replacement.backup_candidates(award)[0]
    region, products = award.lot.region_id, [p.id for p in award.lot.products]
    year = rnd.term_start_year
    effective = date(year, 7, 1)
    assert all(may_claim(old.id, region, p, year, on=date(year, 3, 1)) for p in products)
    notices = [(n.kind, n.insurer_name, n.number) for n in exports.notices(rnd)]
    with time_machine.travel(date(year, 3, 1), tick=False):
        change = terminate(award, backup=backup.insurer_id, effective_on=effective)
        db.session.commit()
    award = award_of(LOT)
    assert award.insurer_id == backup.insurer_id and change.new_insurer_id == backup.insurer_id
    assert not change.pending and change.method == "backup"
    for p in products:
        # the old underwriter until the day before, the backup from the day on, for every year of the term left
        assert may_claim(old.id, region, p, year, on=effective - timedelta(days=1))
        assert not may_claim(old.id, region, p, year, on=effective)
        assert not may_claim(backup.insurer_id, region, p, year, on=effective - timedelta(days=1))
        assert all(may_claim(backup.insurer_id, region, p, y, on=effective) for y in range(year, rnd.term_end_year + 1))
        assert not may_claim(backup.insurer_id, region, p, rnd.term_end_year + 1, on=effective)
    refusal = claim_refusal(old.id, region, products[0], year, on=effective)
    assert "中标已变更" in refusal and (effective - timedelta(days=1)).isoformat() in refusal
    assert f"自{effective.isoformat()}起生效" in claim_refusal(backup.insurer_id, region, products[0], year,
                                                              on=date(year, 6, 30))
    # the other lots keep their underwriters; the county still has two
    holders = {a.insurer_id for a in replacement.awards_of(rnd) if a.lot.region_id == region}
    assert len(holders) == 2 and old.id not in holders
    actions = [e.action for e in db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id))]
    assert actions[-2:] == ["award.terminated", "award.replaced"]
    assert replacement.changes_of(rnd) == [change]
    # the notices stay those of the result as finalised: the change is a decision of its own
    assert [(n.kind, n.insurer_name, n.number) for n in exports.notices(rnd)] == notices


def test_an_old_underwriter_keeps_the_years_before_the_change(finalised, db):
    """Effective in the term's second year: the first year stays the old underwriter's, whatever the day."""
    rnd = finalised
    award = award_of(LOT)
    old, product, region = award.insurer_id, award.lot.products[0].id, award.lot.region_id
    effective = date(rnd.term_start_year + 1, 4, 1)
    with time_machine.travel(date(rnd.term_start_year, 10, 1), tick=False):
        terminate(award, effective_on=effective)
        db.session.commit()
    assert may_claim(old, region, product, rnd.term_start_year, on=effective + timedelta(days=30))
    assert may_claim(old, region, product, rnd.term_start_year + 1, on=effective - timedelta(days=1))
    assert not may_claim(old, region, product, rnd.term_start_year + 1, on=effective)


def test_the_annual_evaluation_covers_the_old_underwriter_until_the_change_and_the_new_one_from_it(finalised, db):
    """An award ended in the term's second year: that year both underwriters held the lot and both are evaluated
    in the county; the first year only the old one, the third only the present holders."""
    from agri_insurance.annual_review.service import underwriters_of

    rnd = finalised
    award = award_of(LOT)
    old, region, year = award.insurer_id, award.lot.region_id, rnd.term_start_year
    others = {a.insurer_id for a in replacement.awards_of(rnd) if a.lot.region_id == region and a.id != award.id}
    backup = replacement.backup_candidates(award)[0].insurer_id
    with time_machine.travel(date(year, 10, 1), tick=False):
        terminate(award, backup=backup, effective_on=date(year + 1, 4, 1))
        db.session.commit()

    def evaluated(y):
        return {insurer for insurer, _ in underwriters_of(y, [region])}

    assert evaluated(year) == others | {old}
    assert evaluated(year + 1) == others | {old, backup}
    assert evaluated(year + 2) == others | {backup}


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"reason": "  "}, "reason", "请填写终止理由"),
    ({"doc_no": ""}, "doc_no", "请填写终止决定文号"),
    ({"effective_on": None}, "effective_on", "请填写终止生效日期"),
    ({"effective_on": "yesterday"}, "effective_on", "终止生效日期不能早于今天"),
    ({"effective_on": "after the term"}, "effective_on", "终止生效日期应在本轮服务期"),
    ({"method": "lottery"}, "method", "请选择替补方式"),
    ({"backup_insurer_id": -1}, "backup_insurer_id", "请选择该县的后备机构"),
])
def test_a_termination_is_refused_in_words_and_nothing_is_saved(finalised, db, overrides, field, message):
    rnd = finalised
    award = award_of(LOT)
    if overrides.get("effective_on") == "yesterday":
        overrides["effective_on"] = local_today() - timedelta(days=1)
    elif overrides.get("effective_on") == "after the term":
        overrides["effective_on"] = date(rnd.term_end_year + 1, 1, 1)
    with pytest.raises(DomainError) as e:
        terminate(award, **overrides)
    assert e.value.field == field and message in e.value.message
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(AwardChange.id))) == 0
    assert award_of(LOT).insurer_id == award.insurer_id


def test_without_a_backup_the_bureau_is_offered_a_new_run_with_every_other_award_fixed(finalised, db):
    rnd = finalised
    award = award_of(LOT)
    old, region = award.insurer_id, award.lot.region_id
    others = {a.lot.code: a.insurer_id for a in replacement.awards_of(rnd) if a.id != award.id}
    db.session.execute(sa.delete(BackupUnderwriter).where(BackupUnderwriter.round_id == rnd.id,
                                                          BackupUnderwriter.region_id == region))
    assert replacement.backup_candidates(award) == []
    with pytest.raises(DomainError) as e:
        terminate(award, backup=0)
    assert e.value.field == "method" and "重新分配" in e.value.message
    change = terminate(award, method="run")
    assert change.pending and change.run.ok
    assert {f["lot_id"] for f in change.run.scenario["fixed"]} == set(others)
    replacement.install_from_run(change, user("city_agri"))
    db.session.commit()
    new = award_of(LOT).insurer_id
    assert new != old and change.new_insurer_id == new and change.run_id == award_of(LOT).run_id
    assert {a.lot.code: a.insurer_id for a in replacement.awards_of(rnd) if a.lot.code != LOT} == others
    assert len({a.insurer_id for a in replacement.awards_of(rnd) if a.lot.region_id == region}) == 2


def test_a_replacement_leaving_the_county_with_one_underwriter_is_refused(finalised, db):
    """The run's result is changed by hand to give the lot to the county's other underwriter: adoption's check
    of 2–3 underwriters per county refuses it, and nothing changes."""
    rnd = finalised
    award = award_of(LOT)
    other = next(a for a in replacement.awards_of(rnd) if a.lot.region_id == award.lot.region_id and a.id != award.id)
    change = terminate(award, method="run")
    result = dict(change.run.result)
    result["awards"] = [dict(a, insurer_id=other.insurer.credit_code) if a["lot_id"] == LOT else a
                        for a in result["awards"]]
    allocation.finish_run(change.run, result)
    with pytest.raises(DomainError) as e:
        replacement.install_from_run(change, user("city_agri"))
    assert "有 1 家承保机构，本轮要求 2–3 家" in e.value.message
    assert change.pending and award_of(LOT).insurer_id == change.old_insurer_id


def test_the_ocds_export_carries_the_change_as_an_amendment_and_validates(finalised, db):
    rnd = finalised
    award = award_of(LOT)
    old = award.insurer
    change = terminate(award)
    db.session.commit()
    package = ocds.release_package(rnd)
    assert ocds.validation_errors(package) == []
    release = package["releases"][0]
    entry = next(a for a in release["awards"] if a["relatedLots"] == [LOT])
    assert entry["suppliers"][0]["name"] == change.new_insurer.name
    assert entry["amendments"][0]["id"] == f"change-{change.id}" and "饶农字〔2027〕8号" in entry["amendments"][0][
        "rationale"]
    terminated = next(c for c in release["contracts"] if c["status"] == "terminated")
    assert terminated["awardID"] == entry["id"] and old.name in terminated["title"]
    current = next(c for c in release["contracts"] if c["id"] == entry["id"])
    assert current["period"]["startDate"].startswith(change.effective_on.isoformat())


def test_the_round_page_and_the_public_notice_publish_the_change(finalised, db, login, client):
    rnd = finalised
    award = award_of(LOT)
    page = login("city_agri").get(f"/awards/rounds/{rnd.id}").get_data(as_text=True)
    assert f"/awards/awards/{award.id}/terminate" in page
    change = terminate(award)
    db.session.commit()
    public = client.get(f"/awards/public/{rnd.id}").get_data(as_text=True)
    assert "award-changes" in public and change.doc_no in public and change.new_insurer.name in public
    detail = login("city_agri").get(f"/awards/changes/{change.id}")
    assert detail.status_code == 200 and change.old_insurer.name in detail.get_data(as_text=True)


def test_the_change_notice_pdf_is_on_the_public_page_and_reads_back(finalised, db, client):
    """中标变更公告: the lot, the former and the new underwriter, the decision number, reason and effective date, the
    issuing unit; linked from the public notice page, no login; another round's change is not found."""
    import io

    from pypdf import PdfReader

    rnd = finalised
    year = rnd.term_start_year
    with time_machine.travel(date(year, 3, 2), tick=False):
        change = terminate(award_of(LOT), effective_on=date(year, 7, 1))
        db.session.commit()
    url = f"/awards/public/{rnd.id}/changes/{change.id}.pdf"
    assert url in client.get(f"/awards/public/{rnd.id}").get_data(as_text=True)
    response = client.get(url)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(response.data)).pages).replace("\n", "")
    for expected in ("中标变更公告", "饶农字〔2027〕8号", LOT, change.old_insurer.name, change.new_insurer.name,
                     f"自{year}年7月1日起终止", "严重违规经营，虚构承保标的", "由该县后备承保机构按顺序递补",
                     f"服务期至{rnd.term_end_year}年12月31日", exports.issuing_body(), f"{year}年3月2日"):
        assert expected in text, expected
    assert client.get(f"/awards/public/{rnd.id + 1000}/changes/{change.id}.pdf").status_code == 404


def test_through_the_pages_a_new_run_is_computed_as_a_job_and_installed(finalised, db, login):
    from agri_insurance.jobs import service as jobs

    award = award_of(LOT)
    old = award.insurer_id
    city = login("city_agri")
    refused = city.post(f"/awards/awards/{award.id}/terminate", data={
        "reason": "严重违规经营", "doc_no": "", "document": (io.BytesIO(PDF_BYTES), "终止决定.pdf"),
        "effective_on": local_today().isoformat(), "method": "run", "backup_insurer_id": "0", "insurer_id": str(old)},
        content_type="multipart/form-data")
    assert refused.status_code == 200 and db.session.scalar(sa.select(sa.func.count(AwardChange.id))) == 0
    response = city.post(f"/awards/awards/{award.id}/terminate", data={
        "reason": "严重违规经营", "doc_no": "饶农字〔2027〕9号", "document": (io.BytesIO(PDF_BYTES), "终止决定.pdf"),
        "effective_on": local_today().isoformat(), "method": "run", "backup_insurer_id": "0", "insurer_id": str(old)},
        content_type="multipart/form-data")
    assert response.status_code == 302
    change = db.session.scalar(sa.select(AwardChange))
    assert change.pending and change.method == "run"
    jobs.wait(change.run.job_id, timeout=60)
    db.session.expire_all()
    page = city.get(f"/awards/changes/{change.id}").get_data(as_text=True)
    assert "install-change" in page
    assert city.get(f"/awards/changes/{change.id}/document").data == PDF_BYTES
    assert city.post(f"/awards/changes/{change.id}/install").status_code == 302
    db.session.expire_all()
    assert award_of(LOT).insurer_id not in (None, old) and not db.session.get(AwardChange, change.id).pending


def test_a_second_termination_from_a_stale_page_is_refused_and_the_backup_stays(finalised, db, login):
    """Two bureau users open the termination page of one award; the first ends it and installs a backup. The
    second's form names the underwriter it saw: it is refused instead of ending the backup just installed."""
    award = award_of(LOT)
    old_id, award_id = award.insurer_id, award.id
    backups = [b.insurer_id for b in replacement.backup_candidates(award)]
    assert len(backups) >= 2
    client = login("city_agri")
    form = {"reason": "严重违规经营", "doc_no": "饶农字〔2027〕9号", "effective_on": local_today().isoformat(),
            "method": "backup", "insurer_id": str(old_id)}
    first = client.post(f"/awards/awards/{award_id}/terminate", data={
        **form, "backup_insurer_id": str(backups[0]), "document": (io.BytesIO(PDF_BYTES), "终止决定.pdf")})
    assert first.status_code == 302
    second = client.post(f"/awards/awards/{award_id}/terminate", data={
        **form, "backup_insurer_id": str(backups[1]), "document": (io.BytesIO(PDF_BYTES), "终止决定.pdf")})
    assert second.status_code == 200 and "该标段的中标已变更" in second.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Award, award_id).insurer_id == backups[0]
    assert db.session.scalar(sa.select(sa.func.count(AwardChange.id)).where(AwardChange.award_id == award_id)) == 1


def test_the_termination_page_punctuates_in_the_readers_language(finalised, db, login):
    award = award_of(LOT)
    city = login("city_agri")
    assert "现承保机构：" in city.get(f"/awards/awards/{award.id}/terminate").get_data(as_text=True)
    city.get("/lang/en")
    english = city.get(f"/awards/awards/{award.id}/terminate").get_data(as_text=True)
    assert "Current underwriter: " in english and "：" not in english.split("<main", 1)[-1].split("current-insurer")[0]
