"""The household limit at its edge: a farmer at exactly the product's limit is not flagged, a hundredth above is."""

from decimal import Decimal as D

import sqlalchemy as sa

from agri_insurance.underwriting.models import FlagKind, UnderwritingFlag, UnderwritingRow
from tests.underwriting.conftest import claim_for
from tests.underwriting.factories import rows, write_csv
from tests.underwriting.test_import import run_import


def test_a_household_at_exactly_the_limit_is_not_flagged(world, db, tmp_path):
    """Limit 15 亩: a farmer with 15.00 (in one row, or 7.50 + 7.50 in two) is within it; 15.01 (one row, or
    7.50 + 7.51) is above it."""
    from tests.subsidies.factories import product

    product("rice").household_limit = D("15")
    db.session.commit()
    at_limit, above = rows(1, start=0, quantity="15.00"), rows(1, start=1, quantity="15.01")
    split_at_limit = rows(1, start=2, quantity="7.50") * 2
    split_above = rows(1, start=3, quantity="7.50") + rows(1, start=3, quantity="7.51")
    data = at_limit + above + split_at_limit + split_above
    run_import(db, claim_for(data), write_csv(tmp_path / "limit.csv", data))
    over = set(db.session.scalars(
        sa.select(UnderwritingRow.id_number).join(UnderwritingFlag, sa.and_(
            UnderwritingFlag.list_id == UnderwritingRow.list_id, UnderwritingFlag.row_no == UnderwritingRow.row_no))
        .where(UnderwritingFlag.kind == FlagKind.OVER_HOUSEHOLD_MAX)))
    assert over == {above[0][1], split_above[0][1]}
