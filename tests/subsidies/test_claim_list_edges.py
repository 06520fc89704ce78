"""A claim started from its underwriting list, at the service: the choices checked before the list is read (each
refusal's words and field), the draft that holds the place of the list's figures, and the claim completed with
the list's totals (its figures, shares, audit entry; a refusal wrapped naming the same field)."""

from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from agri_insurance.audit.models import AuditEntry
from agri_insurance.errors import DomainError
from agri_insurance.reference import service as reference_service
from agri_insurance.reference.models import SubsidyScheme
from agri_insurance.subsidies import service
from agri_insurance.subsidies.models import ClaimShare, ClaimStatus, ShareLevel, SubsidyClaim
from tests.factories import audit_entries, county
from tests.subsidies.factories import assign, demo_insurer, make_claim, product, user


def choices(**overrides) -> dict:
    data = {"region_id": county().id, "product_id": product("rice").id, "year": 2026, "period": "2026年全年",
            "premium_rate": D("5"), "notes": "按清单", "corrects_id": None}
    data.update(overrides)
    return data


# rice, 5 %: 20,000.00 insured, 1,000.00 premium; the farmers pay the scheme's 20 %
FIGURES = {"quantity": D("400"), "sum_insured": D("20000.00"), "total_premium": D("1000.00"),
           "farmer_premium": D("200.00"), "households": 12, "list_rows": 13}


def refused(**overrides) -> DomainError:
    with pytest.raises(DomainError) as info:
        service.check_claim_from_list(choices(**overrides), demo_insurer())
    return info.value


def start(**overrides) -> SubsidyClaim:
    return service.start_claim_from_list(choices(**overrides), demo_insurer(), user("insurer"))


def claims(db) -> int:
    return db.session.scalar(sa.select(sa.func.count(SubsidyClaim.id)))


# --- the choices ---------------------------------------------------------------------------------------------

def test_the_checked_choices_are_the_forms_own_with_the_period_trimmed(world):
    data = service.check_claim_from_list({**choices(period="  2026年全年 "), "total_premium": D("9.99"),
                                          "insurer_id": 999}, demo_insurer())
    assert data == choices()


@pytest.mark.parametrize("period", [None, "", "   "])
def test_a_claim_without_a_period_is_refused_naming_it(world, period):
    error = refused(period=period)
    assert (error.message, error.field) == ("请填写申请期间", "period")


def test_a_county_or_year_the_insurer_does_not_underwrite_is_refused_before_the_list(world):
    error = refused(region_id=county("361130").id)
    assert (error.message, error.field) == (
        "贵机构在所选县（市、区）没有承保安排，只能为承保安排中的县（市、区）申请补贴", "region_id")
    error = refused(year=2028)
    assert (error.message, error.field) == ("贵机构在该县（市、区）2028年度不承保此险种，不能申请补贴", "product_id")


@pytest.mark.parametrize("rate", [None, D("0"), D("-1"), D("100.01")])
def test_a_rate_not_above_0_or_above_100_is_refused_naming_it(world, rate):
    error = refused(premium_rate=rate)
    assert (error.message, error.field) == ("费率应大于0且不超过100", "premium_rate")


@pytest.mark.parametrize(("rate", "message"), [(D("NaN"), "应为数字"), (D("Infinity"), "应为数字"),
                                               (D("1e30"), "数值过大")])
def test_a_rate_no_column_holds_is_refused_naming_it(world, rate, message):
    error = refused(premium_rate=rate)
    assert (error.message, error.field) == (message, "premium_rate")


@pytest.mark.parametrize("rate", [D("100"), D("0.01")])
def test_a_rate_of_100_or_of_a_hundredth_is_accepted(world, rate):
    assert service.check_claim_from_list(choices(premium_rate=rate), demo_insurer())["premium_rate"] == rate


def test_a_year_without_a_scheme_is_refused_naming_the_year(world):
    error = refused(year=2027)                                   # underwritten, but no scheme for 2027
    assert (error.message, error.field) == ("2027年度尚无该险种的补贴方案", "year")


def test_a_county_scheme_alone_is_a_scheme_in_force(world):
    assign(product_code="peanut")
    peanut = product("peanut").id
    world.session.delete(world.session.scalar(sa.select(SubsidyScheme).where(
        SubsidyScheme.product_id == peanut, SubsidyScheme.year == 2026, SubsidyScheme.region_id.is_(None))))
    world.session.flush()
    assert refused(product_id=peanut).field == "year"
    reference_service.save_scheme(None, {
        "product_id": peanut, "region_id": county().id, "year": 2026, "central_pct": D(40),
        "provincial_pct": D(25), "city_pct": D(5), "county_pct": D(10), "farmer_pct": D(20)}, None)
    assert service.check_claim_from_list(choices(product_id=peanut), demo_insurer())["product_id"] == peanut


def test_a_period_already_claimed_is_refused_unless_that_claim_was_returned(world):
    first = make_claim(status="submitted", period="2026年全年")
    error = refused()
    assert (error.message, error.field) == (
        f"该县、险种、期间已有补贴申请（编号 {first.id}），退回后才能重新申请", "period")
    assert service.check_claim_from_list(choices(period="2026年下半年"), demo_insurer())["period"] == "2026年下半年"
    service.return_claim(first, "清单户数与申请不符", user("county_agri"))
    assert service.check_claim_from_list(choices(corrects_id=first.id), demo_insurer())["corrects_id"] == first.id


def test_only_a_returned_claim_of_the_insurer_can_be_filed_again(world):
    submitted = make_claim(status="submitted", period="一季度")
    error = refused(corrects_id=submitted.id)
    assert (error.message, error.field) == (f"补贴申请 #{submitted.id} 不是本机构待重新申报的退回申请", None)
    assert claims(world) == 1


# --- the draft, then the list's totals -----------------------------------------------------------------------

def test_the_draft_holds_the_choices_and_a_placeholder_and_is_not_audited(world):
    claim = start(period=" 2026年全年")
    world.session.expire_all()
    claim = world.session.get(SubsidyClaim, claim.id)
    assert (claim.insurer_id, claim.created_by_id, claim.status, claim.unit) == (
        demo_insurer().id, user("insurer").id, ClaimStatus.DRAFT, product("rice").unit)
    assert (claim.region_id, claim.product_id, claim.year, claim.period, claim.premium_rate, claim.notes,
            claim.corrects_id) == (county().id, product("rice").id, 2026, "2026年全年", D("5"), "按清单", None)
    assert (claim.total_premium, claim.households, claim.list_rows) == (D("1.00"), 0, 0)
    assert world.session.scalar(sa.select(sa.func.count(AuditEntry.id)).where(
        AuditEntry.object_type == "SubsidyClaim")) == 0


def test_a_draft_is_not_started_from_refused_choices(world):
    with pytest.raises(DomainError):
        start(year=2028)
    assert claims(world) == 0


def test_the_list_totals_complete_the_claim_with_its_shares_and_an_audit_entry(world):
    claim = start()
    service.complete_claim_from_list(claim, {**FIGURES, "period": "另一期间", "notes": "改"}, user("insurer"))
    world.session.commit()
    world.session.expire_all()
    claim = world.session.get(SubsidyClaim, claim.id)
    assert (claim.quantity, claim.sum_insured, claim.total_premium, claim.farmer_premium, claim.households,
            claim.list_rows) == tuple(FIGURES.values())
    assert (claim.period, claim.notes, claim.status) == ("2026年全年", "按清单", ClaimStatus.DRAFT)   # not the figures'
    scheme = service.applicable_scheme(product("rice").id, county().id, 2026)
    assert claim.scheme_id == scheme.id
    shares = {s.level: (s.pct, s.amount, s.paid) for s in world.session.scalars(
        sa.select(ClaimShare).where(ClaimShare.claim_id == claim.id))}
    pcts = service.scheme_pcts(scheme)
    assert shares == {level: (pcts[level], amount, D("0.00")) for level, amount in {
        ShareLevel.CENTRAL: D("450.00"), ShareLevel.PROVINCIAL: D("250.00"), ShareLevel.CITY: D("50.00"),
        ShareLevel.COUNTY: D("50.00"), ShareLevel.FARMER: D("200.00")}.items()}
    entry = world.session.scalar(sa.select(AuditEntry).where(AuditEntry.object_type == "SubsidyClaim"))
    assert (entry.action, entry.object_id, entry.actor_name) == ("claim.created", str(claim.id), "insurer")
    assert entry.summary == f"按承保清单新建补贴申请：{claim.title}"
    assert D(entry.details["premium"]) == D("1000.00") and entry.details["from_list"] is True
    assert "corrects" not in entry.details


def test_a_claim_filed_again_from_its_list_names_the_returned_claim(world):
    returned = make_claim(status="submitted", period="2026年全年")
    service.return_claim(returned, "清单户数与申请不符", user("county_agri"))
    claim = start(corrects_id=returned.id)
    assert claim.corrects_id == returned.id
    service.complete_claim_from_list(claim, FIGURES, user("insurer"))
    [entry] = audit_entries("claim.created", "SubsidyClaim", claim.id)
    assert entry.details["corrects"] == returned.id and entry.details["from_list"] is True


@pytest.mark.parametrize(("figures", "message", "field"), [
    ({"farmer_premium": D("0.00")}, "农户自缴保费应为 200.00 元（按补贴方案计算），相差不得超过1分", "farmer_premium"),
    ({"total_premium": D("1200.00"), "farmer_premium": D("240.00")},
     "保费应等于保险金额×费率（1,000.00 元），相差不得超过1分", "total_premium"),
])
def test_totals_that_break_a_rule_are_refused_as_from_the_list_naming_the_field(world, figures, message, field):
    claim = start()
    with pytest.raises(DomainError) as info:
        service.complete_claim_from_list(claim, {**FIGURES, **figures}, user("insurer"))
    assert info.value.message == f"按清单合计新建申请未成功，未保存任何数据：{message}"
    assert info.value.field == field


def test_a_draft_from_a_list_edited_keeps_one_share_per_level_split_again(world):
    claim = start()
    service.complete_claim_from_list(claim, FIGURES, user("insurer"))
    world.session.flush()
    data = {k: getattr(claim, k) for k in service.CLAIM_FIELDS}
    data.update(sum_insured=D("40000.00"), total_premium=D("2000.00"), farmer_premium=D("400.00"))
    service.save_claim(claim, data, demo_insurer(), user("insurer"))
    world.session.commit()
    shares = world.session.scalars(sa.select(ClaimShare).where(ClaimShare.claim_id == claim.id)).all()
    assert sorted((s.level.value, s.amount) for s in shares) == sorted([
        ("central", D("900.00")), ("provincial", D("500.00")), ("city", D("100.00")), ("county", D("100.00")),
        ("farmer", D("400.00"))])
