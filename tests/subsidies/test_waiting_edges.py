"""What the home page's to-do lines count, at the service: the claims waiting for verification or submission and
since when, the returned claims still to correct, and the payments a finance bureau has to make (overdue ones
counted, the soonest due listed in due order). The pages' words are in tests/main/test_todo_claims.py; here the
figures the words are made of, to the claim and the minute."""

from datetime import date, datetime

import sqlalchemy as sa

from agri_insurance.access import scope_clause
from agri_insurance.auth.models import Role
from agri_insurance.extensions import db
from agri_insurance.subsidies import service
from agri_insurance.subsidies.models import ClaimShare, ClaimStatus, ShareLevel, SubsidyClaim
from tests.factories import make_insurer, make_user
from tests.subsidies.factories import OPINION, assign, at, attach_list, make_claim, user
from tests.test_query_counts import counting

COUNTY_LEVEL = (ShareLevel.COUNTY,)
EVERYWHERE = sa.true()


def _claim(period: str, status: str = "submitted") -> SubsidyClaim:
    return make_claim(status, period=period, premium="20000.00", households=5)


def _verify(claim: SubsidyClaim, day: date) -> None:
    """Verified at 10:00 that day: due 30 days later (PAYMENT_DUE_DAYS)."""
    with at(day):
        service.verify_claim(claim, user("county_agri"), OPINION, confirm_over_budget=True, flags_reviewed=True)
    db.session.commit()


def test_claims_waiting_counts_a_status_and_dates_it_from_the_oldest_submission_or_creation(world):
    with at(date(2026, 3, 1)):
        submitted_last = _claim("2026年第一季度", "draft")           # made first, submitted last
    with at(date(2026, 3, 2)):
        submitted_first = _claim("2026年第二季度", "draft")
    with at(date(2026, 3, 3)):
        service.submit_claim(attach_list(submitted_first), user("insurer"))
    with at(date(2026, 3, 4)):
        service.submit_claim(attach_list(submitted_last), user("insurer"))
    for day, period in ((date(2026, 3, 5), "2026年第三季度"), (date(2026, 3, 6), "2026年第四季度")):
        with at(day):
            _claim(period, "draft")
    db.session.commit()

    # the verifier's line: "2 份补贴申请待核验，最早一份于 3月3日 10:00 提交" (not when the claim was made)
    assert service.claims_waiting(EVERYWHERE, ClaimStatus.SUBMITTED) == service.Waiting(
        2, datetime(2026, 3, 3, 2))
    # the insurer's line: drafts were never submitted, so the oldest draft's creation
    assert service.claims_waiting(EVERYWHERE, ClaimStatus.DRAFT) == service.Waiting(2, datetime(2026, 3, 5, 2))
    assert service.claims_waiting(EVERYWHERE, ClaimStatus.VERIFIED) == service.Waiting(0, None)


def test_returned_claims_to_correct_are_the_readers_own_the_newest_claims_first(world):
    other = make_insurer()
    make_user("other_insurer", Role.INSURER, insurer=other)
    assign(insurer=other)
    db.session.commit()
    oldest, middle, newest = (_claim(period) for period in ("2026年第一季度", "2026年第二季度", "2026年第三季度"))
    others = make_claim("submitted", insurer_username="other_insurer", premium="20000.00", households=5)
    # returned in another order than made: the newest claim comes first, not the latest return (nor the row
    # PostgreSQL happens to meet first: each return writes its row again, after the others)
    for claim in (middle, newest, oldest, others):
        service.return_claim(claim, "数量与清单不符", user("county_agri"))
    db.session.commit()
    own = scope_clause(SubsidyClaim, user("insurer"))

    assert service.returned_to_correct(own, 1) == (3, [newest])      # the line names one, "另有 2 份" the rest
    assert service.returned_to_correct(own, 5) == (3, [newest, middle, oldest])
    assert service.returned_to_correct(scope_clause(SubsidyClaim, user("other_insurer")), 5) == (1, [others])


def test_nothing_returned_costs_the_home_page_one_query(world):
    own = scope_clause(SubsidyClaim, user("insurer"))
    with counting(db.engine) as statements:
        assert service.returned_to_correct(own, 5) == (0, [])
    assert len(statements) == 1


def _payments_world(world) -> dict[str, SubsidyClaim]:
    """Claims submitted on 20 December 2025, verified in January 2026 (due 30 days later). Listed by due date,
    the claim's number breaking ties: `made` holds them in the order they were made (so numbered)."""
    with at(date(2025, 12, 20)):
        made = {name: _claim(period) for name, period in (
            ("due_9_feb", "2026年一月上旬"), ("due_4_feb", "2026年一月中旬"), ("due_4_feb_too", "2026年一月下旬"),
            ("overdue", "2026年二月上旬"), ("paid", "2026年二月中旬"), ("no_due_date", "2026年二月下旬"))}
    _verify(made["overdue"], date(2026, 1, 1))                          # due 31 January
    _verify(made["due_4_feb_too"], date(2026, 1, 5))                    # verified before its elder twin
    _verify(made["due_4_feb"], date(2026, 1, 5))
    for name in ("due_9_feb", "paid", "no_due_date"):
        _verify(made[name], date(2026, 1, 10))
    county_share = made["paid"].share(ShareLevel.COUNTY)                # its city share is still owed
    service.confirm_payment(made["paid"], ShareLevel.COUNTY, county_share.outstanding, date(2026, 1, 20), "KF-1",
                            user("county_finance"))
    # a claim verified before the due days were kept (its shares have no due date): listed, last
    no_due = made["no_due_date"]
    db.session.execute(sa.update(SubsidyClaim).where(SubsidyClaim.id == no_due.id).values(due_days=None))
    db.session.execute(sa.update(ClaimShare).where(ClaimShare.claim_id == no_due.id).values(due_on=None))
    db.session.commit()
    db.session.expire_all()
    return made


def test_payments_waiting_counts_the_overdue_and_lists_the_rest_soonest_due_first(world):
    made = _payments_world(world)
    waiting = service.payments_waiting(EVERYWHERE, COUNTY_LEVEL, limit=5, today=date(2026, 2, 4))
    assert (waiting.overdue_claims, waiting.oldest_due, waiting.due_claims) == (1, date(2026, 1, 31), 4)
    assert waiting.days_overdue(date(2026, 2, 4)) == 4
    # due today is not yet overdue; the county's share of "paid" is paid (its city share is not this bureau's)
    assert [c.id for c in waiting.first_due] == [made[name].id for name in (
        "due_4_feb", "due_4_feb_too", "due_9_feb", "no_due_date")]
    assert [c.id for c in service.payments_waiting(EVERYWHERE, COUNTY_LEVEL, limit=2, today=date(2026, 2, 4)).first_due] \
        == [made["due_4_feb"].id, made["due_4_feb_too"].id]

    # the city's share of "paid" is still owed: the city bureau's list holds it
    city = service.payments_waiting(EVERYWHERE, (ShareLevel.CITY,), limit=5, today=date(2026, 2, 5))
    assert (city.overdue_claims, city.oldest_due, city.due_claims) == (3, date(2026, 1, 31), 3)
    assert [c.id for c in city.first_due] == [made[name].id for name in ("due_9_feb", "paid", "no_due_date")]
    # a day before the first due date: nothing overdue
    early = service.payments_waiting(EVERYWHERE, COUNTY_LEVEL, limit=5, today=date(2026, 1, 30))
    assert (early.overdue_claims, early.oldest_due, early.days_overdue(date(2026, 1, 30))) == (0, None, 0)
    assert early.due_claims == 5
    assert [c.id for c in early.first_due] == [made[name].id for name in (
        "overdue", "due_4_feb", "due_4_feb_too", "due_9_feb", "no_due_date")]


def test_payments_waiting_reads_no_claim_it_will_not_list(world):
    _payments_world(world)
    with counting(db.engine) as statements:
        counted = service.payments_waiting(EVERYWHERE, COUNTY_LEVEL, limit=0, today=date(2026, 2, 4))
    assert (counted.due_claims, counted.first_due, len(statements)) == (4, [], 1)
    with counting(db.engine) as statements:
        nothing = service.payments_waiting(SubsidyClaim.region_id == -1, COUNTY_LEVEL, limit=5, today=date(2026, 2, 4))
    assert (nothing.due_claims, nothing.first_due, len(statements)) == (0, [], 1)
