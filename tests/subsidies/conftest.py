import pytest

from tests.subsidies.factories import assign


@pytest.fixture
def world(demo, db):
    """The demo world with the demo insurer underwriting rice in the demo county for 2025–2027, committed."""
    assign()
    db.session.commit()
    return db
