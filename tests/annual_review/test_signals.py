"""Who answers the evaluation's and the allocation's collected announcements (docs/architecture.md)."""

from agri_insurance.allocation.signals import capacity_factors
from agri_insurance.evaluation.signals import bid_gates, service_levels


def test_the_annual_evaluation_answers_the_gates_the_scoring_and_the_capacities(app):
    assert bid_gates.listeners() == ["agri_insurance.annual_review.listeners._consecutive_fails_exclude"]
    assert service_levels.listeners() == ["agri_insurance.annual_review.listeners._evaluated_service_level"]
    assert capacity_factors.listeners() == ["agri_insurance.annual_review.listeners._capacity_by_grade"]
