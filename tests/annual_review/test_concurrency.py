"""Two city officials finalise the same year at once: the second waits for the first one's lock and is refused in
words; the year is finalised once (PostgreSQL row lock; SQLite write lock)."""

from datetime import timedelta

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
