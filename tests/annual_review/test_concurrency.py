"""Two city officials finalise the same year at once: the second waits for the first one's lock and is refused in
words; the year is finalised once (PostgreSQL row lock; SQLite write lock)."""

from datetime import timedelta

import pytest
import sqlalchemy as sa
import time_machine

from agri_insurance.annual_review import service
from agri_insurance.annual_review.models import AnnualReview, ReviewStatus
from agri_insurance.audit.models import AuditEntry
from agri_insurance.clock import utcnow
from agri_insurance.extensions import db as _db
from tests.annual_review.factories import make_term, open_year, score
from tests.concurrency import second_waits_for_first
from tests.tenders.factories import user


def test_two_finalisations_at_once_one_wins_the_other_is_refused(app, demo, db):
    make_term(2024)
    with time_machine.travel(utcnow() - timedelta(days=20), tick=False):   # the reply periods are over by now
        review = open_year(2025)
        for result in service.results_of(review):
            score(result, 10)
    review_id = review.id
    db.session.remove()

    def finalise():
        service.finalise_review(_db.session.get(AnnualReview, review_id), user("city_agri"))

    outcome: dict[str, str] = {}
    second_waits_for_first(app, finalise, finalise, outcome)
    assert outcome["first"] == "done"
    assert outcome["second"] == "2025 年度考评已经定稿，无需再次定稿"
    assert db.session.get(AnnualReview, review_id).status is ReviewStatus.FINAL
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "annual_review.finalised")) == 1


def test_a_county_rescoring_while_the_city_finalises_is_finalised_with_its_new_total(app, demo, db):
    """The county bureau changes its points while the city finalises the year (a complaint upheld since the first
    scores changes a measured indicator, so finalisation computes a new total): finalisation waits for the
    rescoring and sums the points it saved, not the ones it read before."""
    from datetime import date
    from decimal import Decimal

    from agri_insurance.annual_review.models import Complaint, ComplaintStatus, ReviewResult
    from tests.annual_review.factories import county_user

    make_term(2024)
    with time_machine.travel(utcnow() - timedelta(days=20), tick=False):
        review = open_year(2025)
        results = service.results_of(review)
        for result in results:
            score(result, 10)
    review_id, result_id = review.id, results[0].id
    first = results[0]
    db.session.add(Complaint(insurer_id=first.insurer_id, region_id=first.region_id, year=2025, subject="拖延理赔",
                             body="查勘不及时", status=ComplaintStatus.UPHELD, defence_due=date(2025, 6, 1),
                             decision_note="成立", decided_at=utcnow(),
                             filed_by_id=county_user(first.region.code).id))
    db.session.commit()
    db.session.remove()

    def rescore():
        result = _db.session.get(ReviewResult, result_id)
        qualitative = [i for i in result.review.indicators if i.qualitative]
        service.score_result(result, {i.id: (Decimal("1"), "整改不到位") for i in qualitative},
                             county_user(result.region.code))

    def finalise():
        service.finalise_review(_db.session.get(AnnualReview, review_id), user("city_agri"))

    outcome: dict[str, str] = {}
    second_waits_for_first(app, rescore, finalise, outcome)
    assert outcome == {"first": "done", "second": "done"}
    result = db.session.get(ReviewResult, result_id)
    assert result.total == sum(s.points for s in result.scores)
    assert result.total == service.results_of(db.session.get(AnnualReview, review_id))[0].total


def test_a_complaint_decided_while_the_year_is_finalised_waits_and_is_refused(app, demo, db):
    """Finalisation counts the upheld complaints; a complaint of that year upheld at the same moment waits for it and
    is refused in words, so no complaint is upheld in a finalised year without counting."""
    from datetime import date

    from agri_insurance.annual_review.models import Complaint, ComplaintStatus
    from tests.annual_review.factories import county_user

    make_term(2024)
    with time_machine.travel(utcnow() - timedelta(days=20), tick=False):
        review = open_year(2025)
        results = service.results_of(review)
        for result in results:
            score(result, 10)
    first = results[0]
    complaint = Complaint(insurer_id=first.insurer_id, region_id=first.region_id, year=2025, subject="拖延理赔",
                          body="查勘不及时", defence_due=date(2025, 6, 1), filed_by_id=county_user(first.region.code).id)
    db.session.add(complaint)
    db.session.commit()
    review_id, complaint_id = review.id, complaint.id
    db.session.remove()

    def finalise():
        service.finalise_review(_db.session.get(AnnualReview, review_id), user("city_agri"))

    def decide():
        service.decide_complaint(_db.session.get(Complaint, complaint_id), True, "查实", user("city_agri"))

    outcome: dict[str, str] = {}
    second_waits_for_first(app, finalise, decide, outcome)
    assert outcome == {"first": "done", "second": "2025 年度考评已定稿，该投诉不能再决定"}
    assert db.session.get(Complaint, complaint_id).status is ComplaintStatus.FILED


def test_an_indicator_added_while_the_year_is_opened_waits_and_is_refused(app, demo, db):
    """Opening freezes the scheme: an indicator added (or the thresholds saved) at the same moment waits for the
    opening and is refused in words; the open year keeps the scheme it was opened with."""
    from decimal import Decimal

    from agri_insurance.annual_review.models import IndicatorKind

    make_term(2024)
    review = service.create_review(2025, user("city_agri"))
    db.session.commit()
    review_id = review.id
    db.session.remove()

    def open_it():
        service.open_review(_db.session.get(AnnualReview, review_id), user("city_agri"))

    def add():
        service.add_indicator(_db.session.get(AnnualReview, review_id), {
            "name": "宣传培训", "kind": IndicatorKind.QUALITATIVE.value, "weight": Decimal(10)}, user("city_agri"))

    def save_rules():
        service.save_rules(_db.session.get(AnnualReview, review_id), {
            "excellent_min": Decimal(95), "good_min": Decimal(85), "pass_min": Decimal(70),
            "reply_working_days": 3}, user("city_agri"))

    for edit in (add, save_rules):
        db.session.remove()
        if db.session.get(AnnualReview, review_id).status is ReviewStatus.OPEN:
            # the second edit: a fresh year to open
            review = service.create_review(2026, user("city_agri"))
            db.session.commit()
            review_id = review.id
            db.session.remove()
        outcome: dict[str, str] = {}
        second_waits_for_first(app, open_it, edit, outcome)
        assert outcome == {"first": "done", "second": "考评已开始，考评方案不能再修改"}, edit.__name__
        rev = db.session.get(AnnualReview, review_id)
        assert service.total_weight(rev) == 100 and rev.excellent_min == 90


@pytest.mark.postgres   # a unique insert waiting on another's: PostgreSQL's behaviour, not SQLite's file lock
def test_two_bureau_users_creating_one_year_at_once_the_second_is_told_in_words(app, demo, db):
    """Both find no 2025 scheme; the second's insert waits on the first's and is refused in words (no error page)."""
    def create():
        service.create_review(2025, user("city_agri"))

    outcome: dict[str, str] = {}
    second_waits_for_first(app, create, create, outcome)
    assert outcome == {"first": "done", "second": "2025 年度考评已存在"}
    assert db.session.scalar(sa.select(sa.func.count(AnnualReview.id)).where(AnnualReview.year == 2025)) == 1


@pytest.mark.postgres
def test_a_complaint_filed_while_the_year_is_finalised_waits_and_is_refused(app, demo, db):
    """Without the wait it would be filed into a final year, where it could never be decided nor counted."""
    from agri_insurance.annual_review.models import Complaint

    make_term(2024)
    with time_machine.travel(utcnow() - timedelta(days=20), tick=False):
        review = open_year(2025)
        results = service.results_of(review)
        for result in results:
            score(result, 10)
    own = next(r for r in results if r.region.code == "361128")
    review_id, insurer_id = review.id, own.insurer_id
    db.session.remove()

    def finalise():
        service.finalise_review(_db.session.get(AnnualReview, review_id), user("city_agri"))

    def file():
        service.file_complaint({"insurer_id": insurer_id, "year": 2025, "subject": "拖延理赔", "body": "查勘不及时"},
                               None, user("county_agri"))

    outcome: dict[str, str] = {}
    second_waits_for_first(app, finalise, file, outcome)
    assert outcome == {"first": "done", "second": "2025 年度考评已定稿，不能再登记该年度的投诉"}
    assert db.session.scalar(sa.select(sa.func.count(Complaint.id))) == 0
