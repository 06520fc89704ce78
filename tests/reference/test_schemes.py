from decimal import Decimal as D

import pytest

from agri_insurance.errors import DomainError
from agri_insurance.reference.models import ProductCategory
from agri_insurance.reference.service import validate_shares

CENTRAL, SPECIALTY = ProductCategory.CENTRAL, ProductCategory.SPECIALTY


def shares(central, provincial, city, county, farmer):
    return {"central": D(central), "provincial": D(provincial), "city": D(city), "county": D(county),
            "farmer": D(farmer)}


def refused(category, s, reason=None) -> DomainError:
    with pytest.raises(DomainError) as info:
        validate_shares(category, s, reason)
    return info.value


def test_rice_with_ten_percent_local_share_is_accepted(app):
    with app.test_request_context():
        validate_shares(CENTRAL, shares(45, 25, 5, 5, 20), None)


def test_shares_must_sum_to_exactly_100(app):
    with app.test_request_context():
        error = refused(CENTRAL, shares(45, 25, 5, 5, "19.9999"))
        assert error.field == "farmer_pct"
        assert "99.9999" in error.message


def test_four_decimal_shares_summing_to_100_are_accepted(app):
    with app.test_request_context():
        validate_shares(CENTRAL, shares("45", "25.3333", "3.3333", "3.3334", "23"), None)


def test_more_than_four_decimal_places_are_refused_before_the_sum(app):
    """Numeric(7, 4) would round 3.33335 on storing; the sum checked here would no longer be the one stored."""
    with app.test_request_context():
        error = refused(CENTRAL, shares("45", "25.33325", "3.33335", "3.3334", "23"))
        assert error.field == "provincial_pct"
        assert "最多保留4位小数" in error.message
        # Trailing zeros are not extra precision.
        validate_shares(CENTRAL, shares("45.00000", "25", "5", "5", "20.000000"), None)


@pytest.mark.parametrize("city, county, farmer", [("2", "2", "26"), ("20", "11", "-1")])
def test_central_local_share_outside_5_to_30_is_refused(app, city, county, farmer):
    with app.test_request_context():
        error = refused(CENTRAL, shares(45, 25, city, county, farmer))
        assert error.field in ("city_pct", "farmer_pct")


def test_central_local_share_at_the_bounds_is_accepted(app):
    with app.test_request_context():
        validate_shares(CENTRAL, shares(45, 25, 2, 3, 25), None)      # 5 %
        validate_shares(CENTRAL, shares(45, 25, 15, 15, 0), None)     # 30 %


def test_central_local_share_just_above_30_is_refused(app):
    with app.test_request_context():
        error = refused(CENTRAL, shares(45, 25, "15", "15.0001", "-0.0001"))
        assert error.field in ("city_pct", "farmer_pct")
        error = refused(CENTRAL, shares(40, "24.9999", "15", "15.0001", 5))
        assert error.field == "city_pct"


def test_central_provincial_share_below_25_is_refused(app):
    with app.test_request_context():
        assert refused(CENTRAL, shares(45, 20, 10, 5, 20)).field == "provincial_pct"


def test_specialty_default_15_30_needs_no_reason(app):
    with app.test_request_context():
        validate_shares(SPECIALTY, shares(0, 0, 15, 30, 55), None)


def test_specialty_deviation_without_reason_is_refused(app):
    with app.test_request_context():
        error = refused(SPECIALTY, shares(0, 0, 20, 30, 50), "  ")
        assert error.field == "deviation_reason"
        validate_shares(SPECIALTY, shares(0, 0, 20, 30, 50), "2026年市政府常务会议决定提高油茶补贴")


def test_specialty_has_no_central_share(app):
    with app.test_request_context():
        assert refused(SPECIALTY, shares(10, 0, 15, 30, 45)).field == "central_pct"
