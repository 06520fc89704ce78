from datetime import UTC, date, datetime
from decimal import Decimal as D

import pytest
import sqlalchemy as sa
import time_machine

from agri_insurance.audit.models import AuditEntry
from agri_insurance.errors import DomainError
from agri_insurance.extensions import db as _db
from agri_insurance.subsidies import service
from agri_insurance.subsidies.models import ClaimShare, ClaimStatus, Payment, ShareLevel, SubsidyClaim
from tests.factories import county, make_insurer
from tests.subsidies.factories import assign, claim_data, demo_insurer, ledger, make_claim, user


@pytest.fixture
def world(demo, db):
    assign()                                    # 赣鄱财险 underwrites rice in 鄱阳县 2025–2027
    assign(product_code="camellia_oil")
    db.session.commit()
    return db


def save(**kwargs):
    actor = user("insurer")
    return service.save_claim(None, claim_data(**kwargs), actor.insurer, actor)


def refused(**kwargs) -> DomainError:
    with pytest.raises(DomainError) as info:
        save(**kwargs)
    return info.value


def test_claim_gets_shares_from_the_scheme(world):
    claim = save(premium="1234567.89")
    assert claim.share(ShareLevel.CENTRAL).amount == D("555555.56")   # 555555.5505 + the fen left over
    assert sum(s.amount for s in claim.shares) == D("1234567.89")


def test_specialty_claim_uses_city_15_county_30(world):
    claim = save(product_code="camellia_oil", premium="86400.00")
    assert claim.share(ShareLevel.CITY).amount == D("12960.00")
    assert claim.share(ShareLevel.COUNTY).amount == D("25920.00")


def test_county_scheme_overrides_the_city_wide_one(world):
    from agri_insurance.reference import service as reference_service
    from tests.subsidies.factories import product

    reference_service.save_scheme(None, {
        "product_id": product("rice").id, "region_id": county().id, "year": 2026, "central_pct": D(45),
        "provincial_pct": D(25), "city_pct": D(5), "county_pct": D(10), "farmer_pct": D(15)}, None)
    claim = save(premium="100000.00")
    assert claim.share(ShareLevel.COUNTY).amount == D("10000.00")
    assert claim.share(ShareLevel.FARMER).amount == D("15000.00")


def test_a_scheme_changed_after_the_draft_is_applied_at_submission(world, db):
    """The finance bureaus are asked for the shares of the scheme in force when the claim is submitted."""
    from agri_insurance.reference import service as reference_service
    from agri_insurance.underwriting.demo import attach_matching_list
    from tests.subsidies.factories import product

    claim = save(premium="100000.00")                       # city-wide scheme: county 5 %, farmer 20 %
    claim.list_rows = claim.households
    attach_matching_list(claim, user("insurer"))
    db.session.commit()
    reference_service.save_scheme(None, {
        "product_id": product("rice").id, "region_id": county().id, "year": 2026, "central_pct": D(45),
        "provincial_pct": D(25), "city_pct": D(5), "county_pct": D(10), "farmer_pct": D(15)}, None)
    db.session.commit()
    # the farmers paid 20 % as the list shows; the county scheme now says 15 %: refused, nothing changes
    with pytest.raises(DomainError, match="农户自缴保费应为 15,000.00 元"):
        service.submit_claim(claim, user("insurer"))
    db.session.rollback()
    assert claim.status is ClaimStatus.DRAFT and claim.share(ShareLevel.COUNTY).amount == D("5000.00")


def test_a_county_scheme_added_after_the_draft_sets_the_submitted_shares(world, db):
    from agri_insurance.reference import service as reference_service
    from agri_insurance.underwriting.demo import attach_matching_list
    from tests.subsidies.factories import product

    claim = save(premium="100000.00")                       # city 5 %, county 5 %
    claim.list_rows = claim.households
    attach_matching_list(claim, user("insurer"))
    reference_service.save_scheme(None, {
        "product_id": product("rice").id, "region_id": county().id, "year": 2026, "central_pct": D(45),
        "provincial_pct": D(25), "city_pct": D(0), "county_pct": D(10), "farmer_pct": D(20)}, None)
    service.submit_claim(claim, user("insurer"))
    db.session.commit()
    assert claim.share(ShareLevel.COUNTY).amount == D("10000.00") and claim.share(ShareLevel.CITY).amount == 0
    assert sum(s.amount for s in claim.shares) == D("100000.00") and claim.scheme.region_id == county().id


@pytest.mark.parametrize("overrides, field", [
    ({"quantity": D(0)}, "quantity"),
    ({"quantity": D(-5)}, "quantity"),
    ({"total_premium": D(0), "sum_insured": D(0)}, "total_premium"),
])
def test_quantity_and_premium_must_be_positive(world, overrides, field):
    assert refused(**overrides).field == field


def test_premium_must_equal_sum_insured_times_rate_within_a_fen(world):
    data = claim_data()
    save(sum_insured=data["sum_insured"] + D("0.20"))  # 0.2 × 5 % = 0.01: still within a fen
    error = refused(period="另一期间", sum_insured=data["sum_insured"] + D("0.40"))
    assert error.field == "total_premium" and "保险金额×费率" in error.message


def test_farmer_paid_premium_must_equal_the_farmer_share(world):
    farmer = claim_data()["farmer_premium"]
    save(farmer_premium=farmer + D("0.01"))
    error = refused(period="另一期间", farmer_premium=farmer + D("0.02"))
    assert error.field == "farmer_premium" and "200,000.00" in error.message


def test_insurer_cannot_claim_for_a_county_it_does_not_underwrite(world):
    error = refused(county_code="361130")        # 婺源县: no assignment
    assert error.field == "region_id" and "没有承保安排" in error.message
    assign(county_code="361130", product_code="peanut")
    error = refused(county_code="361130")        # an assignment there, but not for rice
    assert error.field == "product_id" and "不承保" in error.message
    error = refused(year=2028)                   # outside the assignment's years
    assert "不承保" in error.message


def test_another_insurer_cannot_claim_on_this_assignment(world):
    other = make_insurer()
    from agri_insurance.auth.models import Role
    from tests.factories import make_user

    actor = make_user("other_ins", Role.INSURER, insurer=other)
    with pytest.raises(DomainError):
        service.save_claim(None, claim_data(), other, actor)


def test_no_second_claim_for_the_same_period_unless_returned(world, db):
    first = make_claim(status="submitted")
    error = refused()
    assert error.field == "period"
    service.return_claim(first, "清单户数与申请不符", user("county_agri"))
    db.session.commit()
    second = save()
    assert second.id != first.id


def test_workflow_submit_verify_pay_settle_with_audit_timeline(world, db, app):
    claim = make_claim(status="submitted", premium="100000.00")
    service.verify_claim(claim, user("county_agri"), "同意")
    assert claim.status is ClaimStatus.VERIFIED and claim.due_days == 30
    county_fin, city_fin = user("county_finance"), user("city_finance")
    service.confirm_payment(claim, ShareLevel.COUNTY, D("2000.00"), date(2026, 3, 1), "KF-001", county_fin)
    assert claim.status is ClaimStatus.PAYING
    service.confirm_payment(claim, ShareLevel.COUNTY, D("3000.00"), date(2026, 3, 2), "KF-002", county_fin)
    assert claim.status is ClaimStatus.PAYING    # the city share is still open
    service.confirm_payment(claim, ShareLevel.CITY, D("5000.00"), date(2026, 3, 3), "SF-001", city_fin)
    assert claim.status is ClaimStatus.SETTLED
    # Central and provincial money passed on after the local shares are paid is still recorded.
    service.confirm_payment(claim, ShareLevel.CENTRAL, D("45000.00"), date(2026, 4, 1), "ZY-001", city_fin)
    assert claim.status is ClaimStatus.SETTLED and claim.share(ShareLevel.CENTRAL).outstanding == 0
    db.session.commit()
    actions = db.session.scalars(sa.select(AuditEntry.action).where(
        AuditEntry.object_type == "SubsidyClaim", AuditEntry.object_id == str(claim.id)).order_by(AuditEntry.id)).all()
    assert actions == ["claim.created", "underwriting_list.imported", "claim.submitted", "claim.verified", "payment.confirmed",
                       "payment.confirmed", "payment.confirmed", "claim.settled", "payment.confirmed"]


def test_overpayment_is_refused(world, db):
    claim = make_claim(status="verified", premium="100000.00")   # county share 5,000.00
    county_fin = user("county_finance")
    service.confirm_payment(claim, ShareLevel.COUNTY, D("4999.99"), date(2026, 3, 1), "KF-1", county_fin)
    with pytest.raises(DomainError) as info:
        service.confirm_payment(claim, ShareLevel.COUNTY, D("0.02"), date(2026, 3, 1), "KF-2", county_fin)
    assert "0.01" in info.value.message
    service.confirm_payment(claim, ShareLevel.COUNTY, D("0.01"), date(2026, 3, 1), "KF-3", county_fin)


def test_same_voucher_twice_is_refused(world):
    claim = make_claim(status="verified")
    county_fin = user("county_finance")
    service.confirm_payment(claim, ShareLevel.COUNTY, D("1.00"), date(2026, 3, 1), "KF-9", county_fin)
    with pytest.raises(DomainError, match="已登记过"):
        service.confirm_payment(claim, ShareLevel.COUNTY, D("1.00"), date(2026, 3, 1), "KF-9", county_fin)


def test_each_finance_bureau_pays_only_its_levels_and_county(world, db):
    claim = make_claim(status="verified")
    with pytest.raises(DomainError):
        service.confirm_payment(claim, ShareLevel.CITY, D("1.00"), date(2026, 3, 1), "X", user("county_finance"))
    with pytest.raises(DomainError):
        service.confirm_payment(claim, ShareLevel.COUNTY, D("1.00"), date(2026, 3, 1), "X", user("city_finance"))
    from agri_insurance.auth.models import Role
    from tests.factories import make_user

    other = make_user("wuyuan_fin", Role.COUNTY_FINANCE, region=county("361130"))
    with pytest.raises(DomainError, match="本县"):
        service.confirm_payment(claim, ShareLevel.COUNTY, D("1.00"), date(2026, 3, 1), "X", other)
    # Central and provincial shares are received and passed on by the city finance bureau.
    service.confirm_payment(claim, ShareLevel.CENTRAL, D("1.00"), date(2026, 3, 1), "ZY-1", user("city_finance"))


def test_payment_needs_a_verified_claim(world):
    claim = make_claim(status="submitted")
    with pytest.raises(DomainError, match="已核验"):
        service.confirm_payment(claim, ShareLevel.COUNTY, D("1.00"), date(2026, 3, 1), "K", user("county_finance"))


def test_verifying_beyond_the_county_budget_warns_and_records_the_confirmation(world, db):
    service.save_budget(2026, county(), D("60000.00"), user("county_finance"))
    make_claim(status="verified", premium="1000000.00")                      # county share 50,000 committed
    claim = make_claim(status="submitted", premium="400000.00", period="2026年第二季度")   # +20,000 > 60,000
    with pytest.raises(service.OverBudget) as info:
        service.verify_claim(claim, user("county_agri"), "同意")
    assert "鄱阳县" in info.value.message and "10,000.00" in info.value.message
    assert claim.status is ClaimStatus.SUBMITTED
    service.verify_claim(claim, user("county_agri"), "同意", confirm_over_budget=True)
    db.session.commit()
    assert claim.over_budget_confirmed
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "claim.verified",
                                                          AuditEntry.object_id == str(claim.id)))
    assert entry.details["over_budget"][0]["budget"] == "60000.00"


def test_budget_lines_show_committed_paid_and_remaining(world, db):
    service.save_budget(2026, county(), D("100000.00"), user("county_finance"))
    claim = make_claim(status="verified", premium="1000000.00")             # county share 50,000
    service.confirm_payment(claim, ShareLevel.COUNTY, D("20000.00"), date(2026, 3, 1), "K1", user("county_finance"))
    [line] = service.budget_lines(2026, [county()])
    assert (line.budget, line.committed_unpaid, line.paid, line.remaining) == (
        D("100000.00"), D("30000.00"), D("20000.00"), D("50000.00"))


def test_overdue_list_with_a_controlled_clock(world, db):
    with time_machine.travel(datetime(2026, 4, 1, 2, 0, tzinfo=UTC), tick=False):   # 10:00 in Shangrao
        claim = make_claim(status="verified", premium="100000.00")
    assert claim.due_date == date(2026, 5, 1)
    scope = sa.true()
    with time_machine.travel(datetime(2026, 5, 1, 8, 0, tzinfo=UTC), tick=False):
        assert service.overdue_items(scope) == []                                  # due today: not late yet
    with time_machine.travel(datetime(2026, 5, 11, 8, 0, tzinfo=UTC), tick=False):
        items = service.overdue_items(scope)
        assert {(i.share.level, i.days_overdue, i.share.outstanding) for i in items} == {
            (ShareLevel.CENTRAL, 10, D("45000.00")), (ShareLevel.PROVINCIAL, 10, D("25000.00")),
            (ShareLevel.CITY, 10, D("5000.00")), (ShareLevel.COUNTY, 10, D("5000.00"))}
        service.confirm_payment(claim, ShareLevel.COUNTY, D("5000.00"), date(2026, 5, 11), "K", user("county_finance"))
        levels = {i.share.level for i in service.overdue_items(scope)}
        assert ShareLevel.COUNTY not in levels and ShareLevel.CITY in levels


def test_draft_can_be_deleted_but_not_a_submitted_claim(world, db):
    draft = make_claim()
    service.delete_draft(draft, user("insurer"))
    submitted = make_claim(status="submitted")
    with pytest.raises(DomainError):
        service.delete_draft(submitted, user("insurer"))


def test_assignment_with_overlapping_years_is_refused(world):
    with pytest.raises(DomainError, match="重叠"):
        assign(start=2027, end=2029)


def test_payments_total_is_kept_on_the_share(world, db):
    claim = make_claim(status="verified", premium="100000.00")
    service.confirm_payment(claim, ShareLevel.CITY, D("1.00"), date(2026, 3, 1), "S1", user("city_finance"))
    service.confirm_payment(claim, ShareLevel.CITY, D("2.00"), date(2026, 3, 1), "S2", user("city_finance"))
    db.session.commit()
    total = db.session.scalar(sa.select(sa.func.sum(Payment.amount)).where(Payment.claim_id == claim.id))
    assert claim.share(ShareLevel.CITY).paid == total == D("3.00")
    assert demo_insurer().id == claim.insurer_id


def test_ledger_lines_and_totals_count_government_shares_only(world, db):
    first = make_claim(status="verified", premium="1234567.89")
    make_claim(status="verified", premium="100000.00", period="2026年第二季度")
    service.confirm_payment(first, ShareLevel.COUNTY, D("1000.50"), date(2026, 3, 1), "K", user("county_finance"))
    lines, totals = ledger([SubsidyClaim.year == 2026, SubsidyClaim.status.in_(service.REPORTED)])
    assert [line.due for line in lines] == [D("987654.31"), D("80000.00")]   # premium less the farmer's share
    assert totals == {"premium": D("1334567.89"), "due": D("1067654.31"), "paid": D("1000.50"),
                      "outstanding": D("1066653.81")}


def _scheme_without_county_share():
    from agri_insurance.reference import service as reference_service
    from tests.subsidies.factories import product

    reference_service.save_scheme(None, {
        "product_id": product("rice").id, "region_id": county().id, "year": 2026, "central_pct": D(45),
        "provincial_pct": D(25), "city_pct": D(10), "county_pct": D(0), "farmer_pct": D(20),
        "deviation_reason": None, "notes": None}, None)


def test_a_county_with_no_share_owes_nothing_and_the_claim_settles(world, db):
    _scheme_without_county_share()
    claim = save(premium="1000.06")          # the county's "remainder" was −0.01: the database refused it
    assert claim.share(ShareLevel.COUNTY).amount == 0
    assert sum(s.amount for s in claim.shares) == D("1000.06")
    claim = make_claim(status="verified", premium="1000.01", period="2026年第二季度")
    assert claim.share(ShareLevel.COUNTY).amount == 0   # it owed 0.01 on a 0 % share
    service.confirm_payment(claim, ShareLevel.CITY, claim.share(ShareLevel.CITY).amount, date(2026, 3, 1), "S1",
                            user("city_finance"))
    assert claim.status is ClaimStatus.SETTLED


def test_farmer_premium_a_fen_off_the_scheme_and_the_shares_add_up_to_the_premium(world, db):
    farmer = claim_data(premium="1000.03")["farmer_premium"]          # 200.006 → 200.01
    claim = save(premium="1000.03", farmer_premium=farmer + D("0.01"))
    government = sum(s.amount for s in claim.shares if s.level is not ShareLevel.FARMER)
    assert claim.share(ShareLevel.FARMER).amount == claim.farmer_premium == D("200.02")
    assert government + claim.farmer_premium == D("1000.03")        # was 1000.04: a fen owed twice
    [line], _totals = ledger([SubsidyClaim.id == claim.id])
    assert line.due == D("800.01")


@pytest.mark.parametrize("field, value, message", [
    ("sum_insured", D("1e30"), "数值过大"),
    ("total_premium", D("Infinity"), "应为数字"),
    ("farmer_premium", D("NaN"), "应为数字"),
    ("total_premium", D("1000.005"), "最多两位小数"),
])
def test_amounts_no_column_can_hold_are_refused_naming_the_field(world, field, value, message):
    error = refused(**{field: value})
    assert (error.field, error.message) == (field, message)


def test_huge_or_non_finite_payment_and_budget_amounts_are_refused(world, db):
    claim = make_claim(status="verified")
    for amount in (D("Infinity"), D("NaN"), D("1e30"), D("12345678901234567890123456789")):
        with pytest.raises(DomainError) as info:
            service.confirm_payment(claim, ShareLevel.COUNTY, amount, date(2026, 3, 1), "K", user("county_finance"))
        assert info.value.field == "amount"
        with pytest.raises(DomainError) as info:
            service.save_budget(2026, county(), amount, user("county_finance"))
        assert info.value.field == "amount"


def test_deleting_a_draft_removes_its_underwriting_list_with_an_audit_entry(world, db):
    from agri_insurance.underwriting import service as underwriting
    from agri_insurance.underwriting.demo import attach_matching_list
    from agri_insurance.underwriting.models import UnderwritingList, UnderwritingRow

    draft = make_claim()
    draft.list_rows = draft.households
    attach_matching_list(draft, user("insurer"))
    db.session.commit()
    claim_id = draft.id
    service.delete_draft(draft, user("insurer"))
    db.session.commit()                       # was an IntegrityError: the list kept pointing at the claim
    assert db.session.scalar(sa.select(sa.func.count(UnderwritingList.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count(UnderwritingRow.row_no))) == 0
    actions = db.session.scalars(sa.select(AuditEntry.action).where(
        AuditEntry.object_id == str(claim_id)).order_by(AuditEntry.id)).all()
    assert actions[-2:] == ["underwriting_list.removed", "claim.deleted"]
    assert underwriting.import_pending(draft) is False


def test_changing_product_year_or_county_of_a_draft_drops_its_list(world, db):
    from agri_insurance.underwriting import service as underwriting
    from agri_insurance.underwriting.demo import attach_matching_list

    assign(product_code="rapeseed")
    draft = make_claim()
    draft.list_rows = draft.households
    attach_matching_list(draft, user("insurer"))
    db.session.commit()
    data = {k: getattr(draft, k) for k in service.CLAIM_FIELDS}
    service.save_claim(draft, {**data, "notes": "改备注"}, demo_insurer(), user("insurer"))
    assert underwriting.list_of(draft) is not None        # other edits keep the list
    rapeseed = claim_data(product_code="rapeseed")
    service.save_claim(draft, {**data, "product_id": rapeseed["product_id"],
                               "farmer_premium": rapeseed["farmer_premium"]}, demo_insurer(), user("insurer"))
    db.session.commit()
    assert underwriting.list_of(draft) is None            # a rice list must not go in as the rapeseed claim's
    with pytest.raises(DomainError, match="请先上传承保清单"):
        service.submit_claim(draft, user("insurer"))


def _draft_with_a_running_import(**job_fields):
    """A draft claim with a matching list, and an import job for it still running."""
    from agri_insurance.jobs.models import Job, JobStatus
    from agri_insurance.underwriting.demo import attach_matching_list
    from agri_insurance.underwriting.service import IMPORT_KIND

    draft = make_claim()
    draft.list_rows = draft.households
    attach_matching_list(draft, user("insurer"))
    job = Job(kind=IMPORT_KIND, status=JobStatus.RUNNING, progress=10, message="", params={}, subject_id=draft.id,
              created_by_id=user("insurer").id, **job_fields)
    _db.session.add(job)
    _db.session.commit()
    return draft, job


def test_no_submit_edit_or_delete_while_a_list_import_is_queued_or_running(world, db):
    from agri_insurance.jobs.models import JobStatus

    draft, job = _draft_with_a_running_import()
    for action in (lambda: service.submit_claim(draft, user("insurer")),
                   lambda: service.delete_draft(draft, user("insurer")),
                   lambda: service.save_claim(draft, {k: getattr(draft, k) for k in service.CLAIM_FIELDS},
                                              demo_insurer(), user("insurer"))):
        with pytest.raises(DomainError, match="正在导入"):
            action()
        db.session.rollback()
    job.status, job.progress, job.finished_at = JobStatus.DONE, 100, datetime(2026, 3, 1)
    db.session.commit()
    service.submit_claim(draft, user("insurer"))
    assert draft.status is ClaimStatus.SUBMITTED


def test_an_import_left_running_by_a_stopped_process_no_longer_blocks_the_claim(app, world, db):
    """No timeout: a job whose process is gone (here: started by the web process before this one) stops counting
    at once, and a live one blocks however long it runs (tests/underwriting/test_orphaned_imports.py)."""
    from datetime import timedelta

    started = app.extensions["agri_jobs"].started_at
    draft, job = _draft_with_a_running_import(created_at=started + timedelta(seconds=1))  # running, alive
    with pytest.raises(DomainError, match="正在导入"):
        service.submit_claim(draft, user("insurer"))
    db.session.rollback()
    job.created_at = started - timedelta(seconds=60)  # a minute old, but its process was stopped
    db.session.commit()
    service.submit_claim(draft, user("insurer"))
    assert draft.status is ClaimStatus.SUBMITTED


def test_verification_keeps_the_due_date_on_every_share_and_the_bulk_fill_agrees(world, db):
    """Verified at 2026-03-01 17:30 UTC = 03-02 01:30 in Shangrao: due 30 days after the local day, 2026-04-01
    (not 03-31, the UTC day + 30). The SQL fill (migration 0033, bulk inserts) writes the same date."""
    with time_machine.travel(datetime(2026, 3, 1, 17, 30, tzinfo=UTC), tick=False):
        claim = make_claim(status="verified")
    db.session.commit()
    assert {share.due_on for share in claim.shares} == {date(2026, 4, 1)} == {claim.due_date}
    submitted = make_claim(status="submitted", period="未核验批次")
    db.session.commit()
    _db.session.execute(sa.update(ClaimShare).values(due_on=None))
    service.fill_due_dates()
    db.session.commit()
    db.session.expire_all()
    assert {share.due_on for share in claim.shares} == {date(2026, 4, 1)}
    assert {share.due_on for share in submitted.shares} == {None}
