from decimal import Decimal

import pytest

from agri_insurance.extensions import db as _db
from agri_insurance.subsidies import service as subsidy_service
from tests.subsidies.factories import assign, user
from tests.underwriting.factories import rows, totals


@pytest.fixture
def world(demo, db):
    assign()
    db.session.commit()
    return db


def claim_for(data: list[list], insurer_username: str = "insurer", period: str = "2026年第一季度",
              county_code: str = "361128"):
    """A draft rice claim whose figures equal the list's totals (rate 5 %, farmer share 20 %)."""
    from tests.factories import county
    from tests.subsidies.factories import product

    t = totals(data)
    actor = user(insurer_username)
    claim = subsidy_service.save_claim(None, {
        "region_id": county(county_code).id, "product_id": product("rice").id, "year": 2026, "period": period,
        "quantity": t["quantity"], "unit": "亩", "sum_insured": t["sum_insured"], "premium_rate": Decimal(5),
        "total_premium": t["premium"], "farmer_premium": t["farmer"], "households": t["households"],
        "list_rows": t["rows"], "notes": None}, actor.insurer, actor)
    _db.session.commit()
    return claim


@pytest.fixture
def small_list():
    return rows(40)
