"""Factories for the annual evaluation: a term with awards, a year's evaluation opened, scored and finalised
through the service, complaints."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa
import time_machine

from agri_insurance.annual_review import service
from agri_insurance.annual_review.models import ReviewResult
from agri_insurance.auth.models import Role, User
from agri_insurance.clock import utcnow
from agri_insurance.extensions import db
from tests.factories import county, make_user
from tests.tenders.factories import user

WUYUAN = "361130"


def make_term(term_start_year: int = 2024):
    """An awarded round for the term: in each county (鄱阳县, 婺源县) lot 1 → the demo insurer, lot 2 → a second
    insurer (awards made as an adopted run makes them; the round put where its finalisation and the clock would
    have brought it: awarded, in force or expired)."""
    from agri_insurance.clock import local_today
    from agri_insurance.tenders.models import RoundStatus
    from tests.awards.factories import make_awarded_round

    rnd = make_awarded_round(name=f"{term_start_year}年起遴选（考评测试）", term_start_year=term_start_year)
    year = local_today().year
    rnd.status = (RoundStatus.AWARDED if year < term_start_year else RoundStatus.IN_FORCE
                  if year <= rnd.term_end_year else RoundStatus.EXPIRED)
    db.session.commit()
    return rnd


def county_user(code: str) -> User:
    """The county bureau user of county `code` (the demo's for 鄱阳县, made for another)."""
    if code == "361128":
        return user("county_agri")
    username = f"county{code}"
    return user(username) or make_user(username, Role.COUNTY_AGRI, region=county(code))


def open_year(year: int, excellent="90", good="80", passing="60", reply_days=5, consequences=None):
    """`consequences`: changes to the year's consequence rules (service.save_consequences), else the defaults."""
    city = user("city_agri")
    review = service.create_review(year, city)
    service.save_rules(review, {"excellent_min": Decimal(excellent), "good_min": Decimal(good),
                                "pass_min": Decimal(passing), "reply_working_days": reply_days}, city)
    if consequences:
        service.save_consequences(review, {**service.default_consequences(), **consequences}, city)
    service.open_review(review, city)
    db.session.commit()
    return review


def result_of(review, insurer_id: int, code: str) -> ReviewResult:
    return db.session.scalar(sa.select(ReviewResult).where(
        ReviewResult.review_id == review.id, ReviewResult.insurer_id == insurer_id,
        ReviewResult.region_id == county(code).id))


def score(result: ReviewResult, points) -> None:
    """The county bureau scores every qualitative indicator: `points` one value for all, or a list in order."""
    qualitative = [i for i in result.review.indicators if i.qualitative]
    values = points if isinstance(points, list | tuple) else [points] * len(qualitative)
    service.score_result(result, {i.id: (Decimal(str(v)), "评语") for i, v in zip(qualitative, values, strict=True)},
                         county_user(result.region.code))
    db.session.commit()


def finalise(review, days_later: int = 14) -> None:
    """The city finalises once the reply periods are over."""
    with time_machine.travel(utcnow() + timedelta(days=days_later), tick=False):
        service.finalise_review(review, user("city_agri"))
        db.session.commit()


def evaluated_year(year: int, points: dict[tuple[int, str], object], default="10", consequences=None) -> object:
    """A year opened with pass mark 75 (a result with no data against it has 70 measured points: qualitative 30 →
    100 优秀, 20 → 90 良好, 10 → 80 合格, 0 → 70 不合格), every result scored (`points[(insurer id, county code)]`
    per qualitative indicator, else `default`) and finalised."""
    review = open_year(year, excellent="95", good="85", passing="75", consequences=consequences)
    for result in service.results_of(review):
        score(result, points.get((result.insurer_id, result.region.code), default))
    finalise(review)
    return review


def access_objects() -> dict:
    """For the access table (once per test): the 2025 evaluation open, the demo insurer's result in the demo county
    scored; a draft 2026 scheme; a complaint against the demo insurer in the demo county, with its document."""
    from agri_insurance import storage
    from agri_insurance.annual_review.models import Complaint
    from tests.tenders.factories import PDF_BYTES

    review = service.review_of(2025)
    if review is None:
        make_term(2024)
        review = open_year(2025)
        own = user("insurer").insurer_id
        score(result_of(review, own, "361128"), 10)
        service.create_review(2026, user("city_agri"))
        county_agri = user("county_agri")
        complaint = service.file_complaint({"insurer_id": own, "year": 2025, "subject": "理赔不及时",
                                            "body": "农户反映赔款迟迟未到"}, None, county_agri)
        complaint.document_id = storage.save_bytes(PDF_BYTES, "投诉材料.pdf", county_agri).id
        db.session.commit()
    own = user("insurer").insurer_id
    draft = service.review_of(2026)
    return {"review_year": 2025, "draft_year": 2026, "review_result": result_of(review, own, "361128").id,
            "indicator": draft.indicators[-1].id,
            "complaint": db.session.scalar(sa.select(Complaint.id).order_by(Complaint.id).limit(1))}
