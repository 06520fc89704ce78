"""What the annual evaluation answers when the evaluation checks and scores a round's bids and when the allocation
builds its scenario (agri_insurance.announcements): evaluation and allocation import nothing of this module."""

from __future__ import annotations

from agri_insurance.allocation.signals import capacity_factors
from agri_insurance.annual_review import service
from agri_insurance.evaluation.signals import bid_gates, service_levels
from agri_insurance.extensions import db
from agri_insurance.reference.models import Region


@bid_gates.listen(order=10)
def _consecutive_fails_exclude(bid, scheme=None, **_):
    """R12: consecutive 不合格 years in a county → not eligible in that county in this round (the years named)."""
    counties = sorted({lot.region_id for lot in bid.lots})
    found = service.exclusions(bid.insurer_id, counties, bid.round.term_start_year)
    return [{"gate": "annual_review", "region_id": region_id,
             "params": {"county": db.session.get(Region, region_id).name, "years": "、".join(map(str, years))}}
            for region_id, years in sorted(found.items())]


@service_levels.listen(order=10)
def _evaluated_service_level(rnd, insurer_ids=(), **_):
    return sorted(service.service_levels(insurer_ids, rnd.term_start_year).items())


@capacity_factors.listen(order=10)
def _capacity_by_grade(rnd, insurer_ids=(), **_):
    return sorted(service.capacity_factors(insurer_ids, rnd.term_start_year).items())
