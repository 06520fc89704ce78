"""A claim's life at its edges (issue 24, mutation testing of subsidies/service.py's claims): what a draft stores and
its audit entries, each refusal's exact words and field, who may verify, return, delete or file again, the
verification's record, and which claims count as a duplicate or as filed again.

Rice in 鄱阳县 (the demo scheme): a premium of 100,000.00 gives central 45,000.00, provincial 25,000.00, city and
county 5,000.00 each, and the farmers pay 20,000.00.
"""

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest
import sqlalchemy as sa
import time_machine

from agri_insurance.audit.models import AuditEntry
from agri_insurance.auth.models import Role
from agri_insurance.reference.models import Region, RegionLevel
from agri_insurance.subsidies import service
from agri_insurance.subsidies.models import ClaimStatus, ShareLevel, SubsidyClaim, SubsidyYear
from tests.factories import audit_entries, county, make_insurer, make_user, refused
from tests.subsidies.factories import (
    OPINION,
    assign,
    attach_list,
    claim_data,
    demo_insurer,
    make_claim,
    product,
    user,
)

C = ClaimStatus
NOON = datetime(2026, 6, 10, 2, 0, tzinfo=UTC)          # 2026-06-10 10:00 in Shangrao
TITLE = "鄱阳县 水稻 2026 2026年第一季度"
RICE_SHARES = {ShareLevel.CENTRAL: D("45000.00"), ShareLevel.PROVINCIAL: D("25000.00"),
               ShareLevel.CITY: D("5000.00"), ShareLevel.COUNTY: D("5000.00"), ShareLevel.FARMER: D("20000.00")}


def save(claim=None, **kwargs):
    actor = user("insurer")
    return service.save_claim(claim, claim_data(**kwargs), actor.insurer, actor)


def entries(claim_id: int, action: str) -> list[AuditEntry]:
    return audit_entries(action, "SubsidyClaim", claim_id)


def shares(claim) -> dict:
    return {s.level: s.amount for s in claim.shares}


# --- a draft saved -------------------------------------------------------------------------------------------

def test_a_new_draft_stores_what_was_typed_for_its_insurer_and_is_audited(world, db):
    data = claim_data(premium="100000.00", period="  2026年第一季度  ")
    data.update(status=C.VERIFIED, insurer_id=make_insurer().id, gov_paid=D("1.00"))   # not claim fields: ignored
    actor = user("insurer")
    claim = service.save_claim(None, data, actor.insurer, actor)
    db.session.commit()
    scheme = service.applicable_scheme(product("rice").id, county().id, 2026)
    assert (claim.status, claim.insurer_id, claim.created_by_id, claim.corrects_id, claim.scheme_id) == (
        C.DRAFT, demo_insurer().id, actor.id, None, scheme.id)
    assert (claim.period, claim.total_premium, claim.farmer_premium, claim.households, claim.gov_paid) == (
        "2026年第一季度", D("100000.00"), D("20000.00"), 850, 0)
    assert shares(claim) == RICE_SHARES
    assert {s.level: (s.pct, s.paid) for s in claim.shares} == {
        ShareLevel.CENTRAL: (D(45), 0), ShareLevel.PROVINCIAL: (D(25), 0), ShareLevel.CITY: (D(5), 0),
        ShareLevel.COUNTY: (D(5), 0), ShareLevel.FARMER: (D(20), 0)}
    [entry] = entries(claim.id, "claim.created")
    assert (entry.actor_id, entry.summary, entry.details) == (
        actor.id, f"新建补贴申请：{TITLE}", {"premium": "100000.00"})


def test_an_edit_splits_the_shares_again_in_place_and_is_audited_with_its_changes(world, db):
    from agri_insurance.underwriting import service as underwriting

    claim = _with_list(save(premium="100000.00"))
    share_ids = {s.level: s.id for s in claim.shares}
    clerk = make_user("insurer_clerk", Role.INSURER, insurer=demo_insurer())
    notices = []
    edited = service.save_claim(claim, claim_data(premium="200000.00", notes="第二次"), demo_insurer(), clerk,
                                notices=notices)
    db.session.commit()
    assert edited is claim and notices == []               # the county, product and year stay: no list dropped
    assert underwriting.list_of(claim) is not None
    assert (claim.status, claim.created_by_id, claim.total_premium, claim.notes) == (
        C.DRAFT, user("insurer").id, D("200000.00"), "第二次")
    assert shares(claim) == {level: amount * 2 for level, amount in RICE_SHARES.items()}
    assert {s.level: s.id for s in claim.shares} == share_ids          # the same five shares, not five more
    [entry] = entries(claim.id, "claim.updated")
    assert (entry.actor_id, entry.summary) == (clerk.id, f"修改补贴申请：{TITLE}")
    assert entry.details == {"changes": {
        "sum_insured": ["2000000.00", "4000000.00"], "total_premium": ["100000.00", "200000.00"],
        "farmer_premium": ["20000.00", "40000.00"], "notes": [None, "第二次"]}}


def test_an_edit_moving_a_draft_with_a_list_to_another_product_says_its_list_was_dropped(world, db):
    assign(product_code="rapeseed")
    claim = attach_list(save())
    db.session.commit()
    notices = []
    service.save_claim(claim, claim_data(product_code="rapeseed"), demo_insurer(), user("insurer"), notices=notices)
    assert [str(n) for n in notices] == ["县（市、区）、险种或年度已修改，原承保清单已删除，请重新上传承保清单"]
    assert claim.product_id == product("rapeseed").id
    [removed] = entries(claim.id, "underwriting_list.removed")          # by the insurer who edited the draft
    assert (removed.actor_id, removed.details["reason"]) == (user("insurer").id, "claim_scope_changed")


def test_a_draft_filed_again_names_the_returned_claim_in_its_audit_entry(world, db):
    returned = make_claim(status="submitted")
    service.return_claim(returned, "户数不符", user("county_agri"))
    db.session.commit()
    actor = user("insurer")
    claim = service.save_claim(None, claim_data(period="2026年全年"), actor.insurer, actor, corrects=returned)
    db.session.commit()
    assert claim.corrects_id == returned.id
    [entry] = entries(claim.id, "claim.created")
    assert entry.details == {"premium": "1000000.00", "corrects": returned.id}
    service.save_claim(claim, claim_data(period="2026年全年", notes="改"), actor.insurer, actor)
    db.session.commit()
    [entry] = entries(claim.id, "claim.updated")
    assert entry.details == {"changes": {"notes": [None, "改"]}}                # the correction is not named again


def test_an_edit_of_a_claim_submitted_meanwhile_is_refused(world, db):
    claim = make_claim(status="submitted")
    error = refused(service.save_claim, claim, claim_data(), demo_insurer(), user("insurer"))
    assert (error.field, error.message) == (None, "只有草稿可以修改")


# --- a draft's figures refused -----------------------------------------------------------------------------

@pytest.mark.parametrize("overrides, field, message", [
    ({"period": "   "}, "period", "请填写申请期间"),
    ({"period": None}, "period", "请填写申请期间"),
    ({"region_id": None}, "region_id", "贵机构在所选县（市、区）没有承保安排，只能为承保安排中的县（市、区）申请补贴"),
    ({"product_id": None}, "product_id", "请选择险种"),
    ({"product_id": 999999}, "product_id", "请选择险种"),
    ({"quantity": None}, "quantity", "承保数量必须大于0"),
    ({"quantity": D(0)}, "quantity", "承保数量必须大于0"),
    ({"quantity": D("1e30")}, "quantity", "数值过大"),
    ({"premium_rate": D("NaN")}, "premium_rate", "应为数字"),
    ({"total_premium": None}, "total_premium", "保费必须大于0"),
    ({"total_premium": D("-1.00")}, "total_premium", "保费必须大于0"),
    ({"total_premium": D(0), "sum_insured": D(0)}, "total_premium", "保费必须大于0"),
    ({"sum_insured": None}, "sum_insured", "保险金额必须大于0"),
    ({"sum_insured": D(0)}, "sum_insured", "保险金额必须大于0"),
    ({"sum_insured": D("20000000.001")}, "sum_insured", "最多两位小数"),
    ({"farmer_premium": D("200000.001")}, "farmer_premium", "最多两位小数"),
    ({"farmer_premium": None}, "farmer_premium", "不能为负数"),
    ({"farmer_premium": D("-0.01")}, "farmer_premium", "不能为负数"),
    ({"farmer_premium": D("1000000.01")}, "farmer_premium", "农户自缴保费不能大于保费"),
    ({"sum_insured": D("20000000.40")}, "total_premium", "保费应等于保险金额×费率（1,000,000.02 元），相差不得超过1分"),
    ({"sum_insured": D("19999999.60")}, "total_premium", "保费应等于保险金额×费率（999,999.98 元），相差不得超过1分"),
    ({"farmer_premium": D("199999.98")}, "farmer_premium", "农户自缴保费应为 200,000.00 元（按补贴方案计算），相差不得超过1分"),
])
def test_a_drafts_figures_are_refused_in_words_naming_the_field(world, db, overrides, field, message):
    error = refused(save, **overrides)
    assert (error.field, error.message) == (field, message)
    assert db.session.scalar(sa.select(sa.func.count(SubsidyClaim.id))) == 0


def test_a_year_left_out_is_refused_on_the_year(world, db):
    error = refused(save, year=None)
    assert (error.field, error.message) == ("year", "请填写年度")   # not "…None年度不承保此险种" on the product


def test_the_largest_amount_a_column_holds_is_accepted_a_fen_more_is_not(world, db):
    from agri_insurance.db_types import MAX_MONEY

    error = refused(save, quantity=MAX_MONEY + D("0.01"))
    assert (error.field, error.message) == ("quantity", "数值过大")
    assert save(quantity=MAX_MONEY).quantity == MAX_MONEY


def test_the_smallest_figures_and_a_premium_a_fen_off_are_accepted(world, db):
    """Half a mu, a sum insured of 1.00 and a premium of 0.05 at 5 %: each is above 0; the premium may be a fen
    above or below the sum insured × the rate."""
    claim = save(premium="0.05", quantity=D("0.5"), farmer_premium=D("0.01"))
    assert (claim.quantity, claim.sum_insured, claim.total_premium) == (D("0.5"), D("1.00"), D("0.05"))
    assert sum(shares(claim).values()) == D("0.05")
    save(period="高一分", sum_insured=D("20000000.20"))            # 1,000,000.01 expected: a fen above
    save(period="低一分", sum_insured=D("19999999.80"))            # 999,999.99 expected: a fen below
    save(period="农户少一分", farmer_premium=D("199999.99"))


def test_a_farmer_premium_of_0_is_accepted_where_the_farmers_pay_nothing(world, db):
    from agri_insurance.reference import service as reference_service

    reference_service.save_scheme(None, {
        "product_id": product("rice").id, "region_id": county().id, "year": 2026, "central_pct": D(45),
        "provincial_pct": D(25), "city_pct": D(15), "county_pct": D(15), "farmer_pct": D(0),
        "deviation_reason": None, "notes": None}, None)
    claim = save(premium="100000.00", farmer_premium=D("0.00"))
    assert (claim.farmer_premium, shares(claim)[ShareLevel.FARMER], shares(claim)[ShareLevel.COUNTY]) == (
        0, 0, D("15000.00"))


# --- the county, product, year and period ------------------------------------------------------------------

def test_a_second_claim_for_the_period_names_the_first_whatever_its_status_but_returned(world, db):
    first = make_claim(status="verified")
    error = refused(save)
    assert (error.field, error.message) == (
        "period", f"该县、险种、期间已有补贴申请（编号 {first.id}），退回后才能重新申请")


def test_the_first_claim_of_a_database_is_a_duplicate_too(world, db):
    """Claim ids start at 1 (on SQLite a wiped table gives 1 again; on PostgreSQL the sequence is set back)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.text("SELECT setval('subsidy_claims_id_seq', 1, false)"))
    first = make_claim()
    assert first.id == 1
    error = refused(save)
    assert (error.field, error.message) == ("period", "该县、险种、期间已有补贴申请（编号 1），退回后才能重新申请")


def test_only_the_same_insurer_county_product_year_and_period_is_a_duplicate(world, db):
    assign(product_code="rapeseed")
    assign(county_code="361127")                               # 余干县 rice
    first = make_claim()
    others = [save(period="2026年第二季度"), save(product_code="rapeseed"), save(county_code="361127"),
              save(year=2025)]
    other_insurer = make_insurer()
    assign(insurer=other_insurer)                              # another insurer of rice in 鄱阳县 too
    make_user("other_clerk", Role.INSURER, insurer=other_insurer)
    theirs = service.save_claim(None, claim_data(), other_insurer, user("other_clerk"))
    assert theirs.insurer_id == other_insurer.id
    assert len({first.id, theirs.id, *(c.id for c in others)}) == 6
    # and a draft edited keeps its own period
    service.save_claim(first, claim_data(notes="改"), demo_insurer(), user("insurer"))
    assert first.notes == "改"


# --- submitted ---------------------------------------------------------------------------------------------

def _with_list(claim):
    attach_list(claim)
    service.db.session.commit()
    return claim


def test_a_submission_records_when_and_who_with_the_premium(world, db):
    claim = _with_list(save(premium="100000.00"))
    clerk = make_user("insurer_clerk", Role.INSURER, insurer=demo_insurer())
    with time_machine.travel(NOON, tick=False):
        service.submit_claim(claim, clerk)
    db.session.commit()
    assert (claim.status, claim.submitted_at) == (C.SUBMITTED, NOON.replace(tzinfo=None))
    [entry] = entries(claim.id, "claim.submitted")
    assert (entry.actor_id, entry.summary, entry.details) == (
        clerk.id, f"提交补贴申请：{TITLE}", {"premium": "100000.00"})
    error = refused(service.submit_claim, claim, clerk)
    assert (error.field, error.message) == (None, "只有草稿可以提交")


def test_a_submission_after_the_assignment_ended_or_in_a_closed_year_is_refused_in_words(world, db):
    from agri_insurance.subsidies.models import UnderwritingAssignment

    claim = _with_list(save())
    db.session.add(SubsidyYear(year=2026, closed_by_id=user("city_finance").id))
    db.session.commit()
    error = refused(service.submit_claim, claim, user("insurer"))
    assert (error.field, error.message) == (None, "2026年度已清算关闭")
    db.session.rollback()
    db.session.execute(sa.delete(SubsidyYear))
    db.session.execute(sa.update(UnderwritingAssignment).values(end_year=2025))
    db.session.commit()
    error = refused(service.submit_claim, claim, user("insurer"))
    assert (error.field, error.message) == (None, "贵机构在该县（市、区）2026年度不承保此险种，不能申请补贴")
    db.session.rollback()
    assert claim.status is C.DRAFT and claim.submitted_at is None


# --- verified ------------------------------------------------------------------------------------------------

def test_a_verification_records_who_when_the_opinion_and_the_due_days(world, db, app):
    claim = make_claim(status="submitted", premium="100000.00")
    verifier = user("county_agri")
    with time_machine.travel(NOON, tick=False):
        checks = service.verify_claim(claim, verifier, "  同意拨付。  ")
    db.session.commit()
    assert checks == []                                            # no budget set: nothing checked
    assert (claim.status, claim.verified_by_id, claim.verified_at, claim.due_days, claim.verification_opinion,
            claim.over_budget_confirmed) == (C.VERIFIED, verifier.id, NOON.replace(tzinfo=None),
                                             app.config["PAYMENT_DUE_DAYS"], "同意拨付。", False)
    assert {s.due_on for s in claim.shares} == {claim.due_date} != {None}
    [entry] = entries(claim.id, "claim.verified")
    assert (entry.actor_id, entry.summary) == (verifier.id, f"核验通过：{TITLE}")
    assert {k: entry.details[k] for k in ("due_days", "opinion", "flags_reviewed")} == {
        "due_days": 30, "opinion": "同意拨付。", "flags_reviewed": 0}
    assert "over_budget" not in entry.details


def test_the_due_days_are_the_configured_ones(world, db, app, monkeypatch):
    monkeypatch.setitem(app.config, "PAYMENT_DUE_DAYS", 15)
    with time_machine.travel(NOON, tick=False):
        claim = make_claim(status="verified")
    assert (claim.due_days, claim.due_date) == (15, datetime(2026, 6, 25).date())
    assert entries(claim.id, "claim.verified")[0].details["due_days"] == 15


def test_a_list_with_flagged_rows_is_verified_only_once_the_verifier_says_they_were_reviewed(world, db):
    from agri_insurance.underwriting import service as underwriting

    claim = make_claim(status="submitted")
    underwriting.list_of(claim).flag_count = 2          # two rows the cross-checks flagged (double insurance…)
    db.session.commit()
    for reviewed in ({}, {"flags_reviewed": False}):
        error = refused(service.verify_claim, claim, user("county_agri"), OPINION, **reviewed)
        assert (error.field, error.message) == (
            "flags_reviewed", "承保清单有 2 处核查标记，请查看后勾选“已核查标记的行”再核验")
        db.session.rollback()
    service.verify_claim(claim, user("county_agri"), OPINION, flags_reviewed=True)
    db.session.commit()
    assert claim.status is C.VERIFIED
    assert entries(claim.id, "claim.verified")[0].details["flags_reviewed"] == 2


def test_a_verification_draws_the_advance_in_the_verifiers_name(world, db):
    from datetime import date

    from agri_insurance.subsidies import yearend

    yearend.save_advance({"year": 2026, "insurer_id": demo_insurer().id, "region_id": county().id,
                          "level": ShareLevel.COUNTY, "amount": D("1000.00"), "paid_on": date(2026, 2, 1),
                          "voucher_no": "YB-1"}, user("county_finance"))
    claim = make_claim(status="submitted", premium="100000.00")
    verifier = user("county_agri")
    service.verify_claim(claim, verifier, OPINION)
    db.session.commit()
    assert (claim.share(ShareLevel.COUNTY).paid, claim.share(ShareLevel.COUNTY).from_advance) == (
        D("1000.00"), D("1000.00"))
    [entry] = entries(claim.id, "advance.drawn")
    assert (entry.actor_id, entry.details) == (verifier.id, {"county": "1000.00"})


@pytest.mark.parametrize("opinion", [None, "", "   "])
def test_a_verification_without_an_opinion_is_refused(world, db, opinion):
    claim = make_claim(status="submitted")
    error = refused(service.verify_claim, claim, user("county_agri"), opinion)
    assert (error.field, error.message) == ("opinion", "核验须填写核验意见")


def test_an_opinion_of_2000_characters_is_accepted_one_more_is_not(world, db):
    claim = make_claim(status="submitted")
    error = refused(service.verify_claim, claim, user("county_agri"), "意" * 2001)
    assert (error.field, error.message) == ("opinion", "核验意见不能超过2000个字")
    service.verify_claim(claim, user("county_agri"), " " + "意" * 2000 + " ")
    assert claim.verification_opinion == "意" * 2000


def test_only_a_submitted_claim_of_the_verifiers_county_in_an_open_year_is_verified(world, db):
    draft = make_claim(period="草稿")
    verified = make_claim(status="verified", period="已核验")
    for claim in (draft, verified):
        error = refused(service.verify_claim, claim, user("county_agri"), OPINION)
        assert (error.field, error.message) == (None, "只有已提交的申请可以核验")
    claim = make_claim(status="submitted")
    other = make_user("yugan_agri", Role.COUNTY_AGRI, region=county("361127"))
    error = refused(service.verify_claim, claim, other, OPINION)
    assert (error.field, error.message) == (None, "只能核验本县的申请")
    db.session.rollback()
    db.session.add(SubsidyYear(year=2026, closed_by_id=user("city_finance").id))
    db.session.commit()
    error = refused(service.verify_claim, claim, user("county_agri"), OPINION)
    assert (error.field, error.message) == (None, "2026年度已清算关闭")
    db.session.rollback()
    assert claim.status is C.SUBMITTED and entries(claim.id, "claim.verified") == []


def _city():
    return service.db.session.scalar(sa.select(Region).where(Region.level == RegionLevel.CITY))


def test_over_budget_names_each_budget_exceeded_and_the_confirmation_is_recorded(world, db):
    service.save_budget(2026, county(), D("60000.00"), user("county_finance"))
    service.save_budget(2026, _city(), D("70000.00"), user("city_finance"))
    make_claim(status="verified", premium="1000000.00")                       # county and city 50,000 each
    claim = make_claim(status="submitted", premium="400000.00", period="2026年第二季度")   # + 20,000 each
    with pytest.raises(service.OverBudget) as info:
        service.verify_claim(claim, user("county_agri"), OPINION)
    assert info.value.category == "warning"
    assert info.value.message == (
        "超出预算：鄱阳县补贴预算 60,000.00 元，已承诺 50,000.00 元，本申请 20,000.00 元，将超出 10,000.00 元。"
        "如确需核验，请勾选“已知悉超出预算”后再次核验。")       # the city's budget filled exactly: not named
    assert [(c.region.code, c.level) for c in info.value.checks] == [("361128", ShareLevel.COUNTY)]
    db.session.rollback()
    checks = service.verify_claim(claim, user("county_agri"), OPINION, confirm_over_budget=True)
    db.session.commit()
    assert {c.level: c.exceeds for c in checks} == {ShareLevel.COUNTY: True, ShareLevel.CITY: False}
    assert claim.status is C.VERIFIED and claim.over_budget_confirmed
    [entry] = entries(claim.id, "claim.verified")
    assert entry.details["over_budget"] == [{"region": "361128", "level": "county", "budget": "60000.00",
                                             "committed": "50000.00", "claim": "20000.00"}]


def test_a_confirmation_given_when_nothing_is_exceeded_is_not_recorded(world, db):
    service.save_budget(2026, county(), D("60000.00"), user("county_finance"))
    claim = make_claim(status="submitted", premium="100000.00")
    service.verify_claim(claim, user("county_agri"), OPINION, confirm_over_budget=True)
    db.session.commit()
    assert not claim.over_budget_confirmed
    assert "over_budget" not in entries(claim.id, "claim.verified")[0].details


def test_the_over_budget_warning_words_every_budget_exceeded(world, db):
    county_check = service.BudgetCheck(county(), ShareLevel.COUNTY, D("60000.00"), D("50000.00"), D("20000.00"))
    city_check = service.BudgetCheck(_city(), ShareLevel.CITY, D("1000.00"), D("0.00"), D("1000.01"))
    warning = service.OverBudget([county_check, city_check])
    assert warning.message == (
        "超出预算：鄱阳县补贴预算 60,000.00 元，已承诺 50,000.00 元，本申请 20,000.00 元，将超出 10,000.00 元；"
        "上饶市补贴预算 1,000.00 元，已承诺 0.00 元，本申请 1,000.01 元，将超出 0.01 元。"
        "如确需核验，请勾选“已知悉超出预算”后再次核验。")
    assert warning.checks == [county_check, city_check] and warning.category == "warning"


# --- returned ------------------------------------------------------------------------------------------------

def test_a_return_records_its_reason_and_who_returned_it(world, db):
    claim = make_claim(status="submitted")
    verifier = user("county_agri")
    service.return_claim(claim, "  清单户数与申请不符  ", verifier)
    db.session.commit()
    assert (claim.status, claim.returned_reason, claim.verified_at) == (C.RETURNED, "清单户数与申请不符", None)
    [entry] = entries(claim.id, "claim.returned")
    assert (entry.actor_id, entry.summary, entry.details) == (
        verifier.id, f"退回补贴申请：{TITLE}", {"reason": "清单户数与申请不符"})


@pytest.mark.parametrize("reason", [None, "", "  "])
def test_a_return_without_a_reason_is_refused(world, db, reason):
    claim = make_claim(status="submitted")
    error = refused(service.return_claim, claim, reason, user("county_agri"))
    assert (error.field, error.message) == ("reason", "退回须填写理由")


def test_only_a_submitted_claim_is_returned(world, db):
    for status in ("draft", "verified"):
        claim = make_claim(status=status, period=status)
        error = refused(service.return_claim, claim, "理由", user("county_agri"))
        assert (error.field, error.message) == (None, "只有已提交的申请可以退回")


def test_a_move_the_state_machine_does_not_allow_is_refused_naming_both_statuses(world, db):
    claim = make_claim()
    error = refused(service.transition, claim, C.VERIFIED, user("county_agri"), "claim.verified", "x")
    assert (error.field, error.message) == (None, "补贴申请当前状态为“草稿”，不能变更为“已核验待拨付”")
    assert claim.status is C.DRAFT and entries(claim.id, "claim.verified") == []


def test_a_move_without_an_action_writes_its_values_and_no_audit_entry(world, db):
    claim = make_claim()
    service.transition(claim, C.SUBMITTED, user("insurer"), values={"submitted_at": NOON.replace(tzinfo=None)})
    db.session.commit()
    assert (claim.status, claim.submitted_at) == (C.SUBMITTED, NOON.replace(tzinfo=None))
    assert entries(claim.id, "claim.submitted") == []


# --- filed again ---------------------------------------------------------------------------------------------

def _return(claim, reason="户数不符"):
    service.return_claim(claim, reason, user("county_agri"))
    service.db.session.commit()
    return claim


def test_filed_again_as_is_the_latest_claim_that_follows_and_returned_before_the_oldest_first(world, db):
    first = _return(make_claim(status="submitted"), "第一次")
    assert service.filed_again_as(first) is None and service.returned_before(first) == []
    second = make_claim(status="submitted")                        # typed afresh for the same period
    assert service.filed_again_as(first) == second
    _return(second, "第二次")
    third = service.save_claim(None, claim_data(period="2026年全年"), demo_insurer(), user("insurer"),
                               corrects=second)
    db.session.commit()
    assert service.filed_again_as(first) == second                 # the third names the second, not the first
    assert service.filed_again_as(second) == third
    assert service.returned_before(third) == [second]
    assert service.filed_again_as(third) is None                   # a draft, not returned


def test_filed_again_as_is_the_latest_of_two_claims_typed_afresh_and_returned_before_lists_the_oldest_first(
        world, db):
    first = _return(make_claim(status="submitted"), "第一次")
    second = _return(make_claim(status="submitted"), "第二次")      # both for the same period, typed afresh
    third = make_claim()
    # the first claim's row written again after the others (on PostgreSQL its new version is stored after theirs,
    # so a query without its ORDER BY would meet it last)
    db.session.execute(sa.update(SubsidyClaim).where(SubsidyClaim.id == first.id).values(notes="已重新申报"))
    db.session.commit()
    assert service.filed_again_as(first) == third and service.filed_again_as(second) == third
    assert service.returned_before(third) == [first, second]


def test_a_claim_typed_afresh_follows_only_its_own_insurer_county_product_year_and_period(world, db):
    assign(product_code="rapeseed")
    assign(county_code="361127")
    returned = _return(make_claim(status="submitted"))
    others = [save(period="2026年第二季度"), save(product_code="rapeseed"), save(county_code="361127"),
              save(year=2025)]
    other_insurer = make_insurer()
    assign(insurer=other_insurer)
    make_user("other_clerk", Role.INSURER, insurer=other_insurer)
    service.save_claim(None, claim_data(), other_insurer, user("other_clerk"))
    db.session.commit()
    assert service.filed_again_as(returned) is None
    assert all(service.returned_before(c) == [] for c in others)
    assert service.may_file_again(returned, user("insurer"))
    ours = save()
    assert service.filed_again_as(returned) == ours and service.returned_before(ours) == [returned]
    assert not service.may_file_again(returned, user("insurer"))


def test_a_returned_claim_filed_earlier_than_its_return_is_not_its_own_correction(world, db):
    """A claim follows only claims made before it: the returned one does not follow itself, nor a later returned
    claim an earlier one it replaced."""
    first = _return(make_claim(status="submitted"))
    second = _return(make_claim(status="submitted"))
    assert service.filed_again_as(second) is None
    assert service.returned_before(second) == [first] and service.returned_before(first) == []


def test_only_its_insurer_may_file_a_returned_claim_again(world, db):
    returned = _return(make_claim(status="submitted"))
    clerk = make_user("insurer_clerk", Role.INSURER, insurer=demo_insurer())
    other = make_user("other_clerk", Role.INSURER, insurer=make_insurer())
    assert service.may_file_again(returned, clerk)
    assert not service.may_file_again(returned, other)
    assert not service.may_file_again(returned, user("county_agri"))
    assert not service.may_file_again(make_claim(status="submitted", period="另一期"), clerk)


@pytest.mark.parametrize("which", ["missing", "another insurer's", "not returned", "filed again"])
def test_a_new_claim_may_correct_only_one_of_its_insurers_returned_claims_still_waiting(world, db, which):
    other = make_insurer()
    assign(insurer=other)
    make_user("other_clerk", Role.INSURER, insurer=other)
    if which == "missing":
        corrects = SubsidyClaim(id=999999)
    elif which == "another insurer's":
        corrects = service.save_claim(None, claim_data(), other, user("other_clerk"))
        attach_list(corrects, "other_clerk")
        service.submit_claim(corrects, user("other_clerk"))
        _return(corrects)
    elif which == "not returned":
        corrects = make_claim(status="submitted", period="已提交")
    else:
        corrects = _return(make_claim(status="submitted", period="已退回"))
        save(period="已退回")
    db.session.commit()
    error = refused(service.save_claim, None, claim_data(period="新一期"), demo_insurer(), user("insurer"),
                    corrects=corrects)
    assert (error.field, error.message) == (None, f"补贴申请 #{corrects.id} 不是本机构待重新申报的退回申请")


# --- deleted -------------------------------------------------------------------------------------------------

def test_a_deleted_draft_is_audited_and_only_a_draft_is_deleted(world, db):
    draft = _with_list(make_claim())
    claim_id = draft.id
    clerk = make_user("insurer_clerk", Role.INSURER, insurer=demo_insurer())
    service.delete_draft(draft, clerk)
    db.session.commit()
    assert db.session.get(SubsidyClaim, claim_id) is None
    [entry] = entries(claim_id, "claim.deleted")
    assert (entry.actor_id, entry.summary) == (clerk.id, f"删除补贴申请草稿：{TITLE}")
    [removed] = entries(claim_id, "underwriting_list.removed")
    assert (removed.actor_id, removed.details["reason"]) == (clerk.id, "claim_deleted")
    submitted = make_claim(status="submitted")
    error = refused(service.delete_draft, submitted, clerk)
    assert (error.field, error.message) == (None, "只有草稿可以删除")


# --- the year's money --------------------------------------------------------------------------------------

def test_a_closed_year_is_that_year_only_and_its_refusal_names_the_field_given(world, db):
    db.session.add(SubsidyYear(year=2025, closed_by_id=user("city_finance").id))
    db.session.commit()
    assert service.year_closed(2025) and not service.year_closed(2026) and not service.year_closed(2024)
    service.require_open_year(2026, "year")
    error = refused(service.require_open_year, 2025, "year")
    assert (error.field, error.message) == ("year", "2025年度已清算关闭")


def test_the_advance_for_a_scope_is_that_years_underwriters_countys_and_levels(world, db):
    from datetime import date

    from agri_insurance.subsidies import yearend

    other = make_insurer()
    assign(insurer=other)
    assign(county_code="361127")
    made = {}
    for year, insurer, code, level in [(2026, demo_insurer(), "361128", ShareLevel.COUNTY),
                                       (2025, demo_insurer(), "361128", ShareLevel.COUNTY),
                                       (2026, other, "361128", ShareLevel.COUNTY),
                                       (2026, demo_insurer(), "361127", ShareLevel.COUNTY),
                                       (2026, demo_insurer(), "361128", ShareLevel.CITY)]:
        finance = "county_finance" if level is ShareLevel.COUNTY else "city_finance"
        if code != "361128":
            finance_user = make_user("yugan_finance", Role.COUNTY_FINANCE, region=county(code))
        else:
            finance_user = user(finance)
        made[(year, insurer.id, code, level)] = yearend.save_advance(
            {"year": year, "insurer_id": insurer.id, "region_id": county(code).id, "level": level,
             "amount": D("100.00"), "paid_on": date(2025, 2, 1), "voucher_no": f"YB-{len(made)}"}, finance_user)
    db.session.commit()
    for (year, insurer_id, code, level), advance in made.items():
        assert service.advance_for(year, insurer_id, county(code).id, level) == advance
    assert service.advance_for(2027, demo_insurer().id, county().id, ShareLevel.COUNTY) is None
