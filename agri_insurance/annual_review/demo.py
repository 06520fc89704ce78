"""The demo's annual evaluations: the 2023–2025 term's first two years (2023 and 2024) evaluated and finalised, each
county bureau's points with comments, one reply of the demo insurer, and one complaint upheld in 2024 (it counts in
that year's evaluation). Composed into the demo by demo.py once the demo rounds exist."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa

from agri_insurance.annual_review import service
from agri_insurance.auth.models import User
from agri_insurance.clock import local_today
from agri_insurance.extensions import db
from agri_insurance.reference.models import Insurer
from agri_insurance.roles import Role

YEARS = (2023, 2024)
# the county bureau's points on 服务网络, 协作配合, 灾害应对 (of 10 each), by insurer short name and year
POINTS = {"赣鄱财险": ((10, 9, "9.5"), (10, 10, 9)), "信江农险": ((6, 7, 5), (5, 6, "4.5"))}
DEFAULT_POINTS = ((8, 8, 8), (9, 8, 8))
COMMENT = "乡镇服务站覆盖不全，灾后查勘时效有待提高"
COMPLAINT = ("灾后查勘不及时", "鄱阳县农户反映：2024年6月洪涝后五日无人到场查勘，定损拖延。")


def _user(username: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.username == username))


def _actor_for(region_id: int) -> User | None:
    """The county bureau's demo user, where the demo has one (the others score as the demo loader)."""
    return db.session.scalar(sa.select(User).where(User.role == Role.COUNTY_AGRI, User.region_id == region_id))


def load_demo_reviews() -> int:
    """Returns the number of evaluations created (0 when they exist, or without the demo rounds)."""
    if service.review_of(YEARS[0]) is not None or not service.underwriters_of(YEARS[0]):
        return 0
    city, county_agri, insurer_user = _user("city_agri"), _user("county_agri"), _user("insurer")
    shorts = dict(db.session.execute(sa.select(Insurer.id, Insurer.short_name)).all())
    created = 0
    for index, year in enumerate(YEARS):
        if year == 2024:
            target = next(i for i in service.underwriters_of(year, [county_agri.region_id])
                          if shorts[i[0]] == "信江农险")[0]
            complaint = service.file_complaint({"insurer_id": target, "year": year, "subject": COMPLAINT[0],
                                                "body": COMPLAINT[1], "on_behalf_of_farmers": True}, None,
                                               county_agri)
            complaint.defence_due = local_today() - timedelta(days=1)   # the demo's defence period is over
            service.decide_complaint(complaint, True, "经现场核实，查勘确有延误，投诉成立。", city)
        review = service.create_review(year, city)
        service.open_review(review, city)
        for result in service.results_of(review):
            values = POINTS.get(shorts[result.insurer_id], DEFAULT_POINTS)[index]
            qualitative = [i for i in review.indicators if i.qualitative]
            points = {i.id: (Decimal(str(v)), None if Decimal(str(v)) == i.weight else COMMENT)
                      for i, v in zip(qualitative, values, strict=True)}
            service.score_result(result, points, _actor_for(result.region_id))
            if result.insurer_id == insurer_user.insurer_id and result.region_id == county_agri.region_id:
                service.reply_to_result(result, "对评分无异议，将继续加强乡镇服务站建设。", insurer_user)
            result.reply_due = local_today() - timedelta(days=1)   # the demo's reply periods are over
        service.finalise_review(review, city)
        created += 1
    db.session.flush()
    return created
