import pytest

from tests.subsidies.factories import assign


@pytest.fixture
def world(demo, db):
    assign()
    db.session.commit()
    return db
