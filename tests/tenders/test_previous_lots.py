"""The next round from the last: a new round offered the previous term's lots (the demo's finalised round), with
the loss ratio measured from stored payout and underwriting data where there is some (hand-computed here), and the
old term's allocation beside the new round's."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from agri_insurance.audit.models import AuditEntry
from agri_insurance.awards import compare
from agri_insurance.errors import DomainError
from agri_insurance.payouts.service import MeasuredService
from agri_insurance.reference.models import Product
from agri_insurance.tenders import service
from tests.factories import county
from tests.tenders.factories import make_round, user


@pytest.fixture
def previous(demo, db):
    from agri_insurance.awards.demo import load_demo_finalised_round

    load_demo_finalised_round()
    db.session.commit()
    from agri_insurance.awards.demo import FINALISED_ROUND_NAME
    from agri_insurance.tenders.models import SelectionRound

    return db.session.scalar(sa.select(SelectionRound).where(SelectionRound.name == FINALISED_ROUND_NAME))


def _product(code: str) -> int:
    from agri_insurance.extensions import db

    return db.session.scalar(sa.select(Product.id).where(Product.code == code))


@pytest.fixture
def measured(monkeypatch, previous):
    """Stored figures for 鄱阳县: camellia oil 600 paid of 1,000 premium (the term's first year), medicinal herbs
    150 of 500 (the year before the term), by two underwriters, and a year after the term (not counted); nothing
    for the other counties and products."""
    py = county("361128").id
    figures = [MeasuredService(1, py, _product("camellia_oil"), previous.term_start_year,
                               claims_paid=Decimal("600"), premium=Decimal("1000")),
               MeasuredService(2, py, _product("medicinal_herbs"), previous.term_start_year - 1,
                               claims_paid=Decimal("150"), premium=Decimal("500")),
               MeasuredService(2, py, _product("medicinal_herbs"), previous.term_end_year + 1,
                               claims_paid=Decimal("9000"), premium=Decimal("500"))]
    seen = {}

    def fake(insurer_ids=None, region_ids=None, years=None):
        seen.update(region_ids=set(region_ids), years=years)
        return figures

    from agri_insurance.payouts import listeners

    monkeypatch.setattr(listeners.service, "measured", fake)
    return seen


def _new_round(previous):
    return make_round(counties=(), name="下一服务期遴选", term_start_year=previous.term_end_year + 1,
                      actor=user("city_agri"))


def test_the_previous_terms_lots_are_offered_with_their_measured_loss_ratio(previous, measured, db):
    rnd = _new_round(previous)
    found, rows = service.previous_lots(rnd)
    assert found.id == previous.id
    assert measured["region_ids"] == {county("361128").id, county("361130").id}
    by_code = {row.lot.code: row for row in rows}
    assert set(by_code) == {"WY-F1", "WY-F2", "PY-F1", "PY-F2"}
    # (600 + 150) / (1,000 + 500) = 50.00 %
    assert by_code["PY-F1"].measured_pct == Decimal("50.00") and by_code["PY-F1"].years == [
        previous.term_start_year - 1, previous.term_start_year]
    assert by_code["WY-F1"].measured_pct is None and by_code["WY-F1"].loss_ratio_pct == Decimal("62.4")

    created = service.copy_previous_lots(rnd, user("city_agri"))
    db.session.commit()
    assert sorted(lot.code for lot in created) == ["PY-F1", "PY-F2", "WY-F1", "WY-F2"]
    new = {lot.code: lot for lot in rnd.lots}
    old = {lot.code: lot for lot in previous.lots}
    for code, lot in new.items():
        assert (lot.region_id, lot.name, lot.expected_premium, sorted(p.code for p in lot.products)) == (
            old[code].region_id, old[code].name, old[code].expected_premium, sorted(p.code for p in old[code].products))
    assert new["PY-F1"].loss_ratio_pct == Decimal("50.00") and new["WY-F2"].loss_ratio_pct == Decimal("78.9")
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "lot.copied"))
    assert entry.details["previous_round_id"] == previous.id and entry.details["measured"]["PY-F1"] == "50.00"

    with pytest.raises(DomainError, match="都已在本轮中"):
        service.copy_previous_lots(rnd, user("city_agri"))


def test_without_a_previous_term_nothing_is_offered(demo, db):
    rnd = make_round(counties=(), actor=user("city_agri"))
    assert service.previous_lots(rnd) == (None, [])
    with pytest.raises(DomainError, match="没有上一服务期"):
        service.copy_previous_lots(rnd, user("city_agri"))


def test_the_pages_offer_the_copy_and_set_the_old_allocation_beside_the_new(previous, measured, db, login):
    rnd = _new_round(previous)
    client = login("city_agri")
    assert f"/tenders/{rnd.id}/previous-lots" in client.get(f"/tenders/{rnd.id}").get_data(as_text=True)
    page = client.get(f"/tenders/{rnd.id}/previous-lots").get_data(as_text=True)
    assert "50%" in page and "PY-F1" in page
    assert "45.6%" in page and "45.6000%" not in page      # percentages as on the round's page (|pct)
    response = client.post(f"/tenders/{rnd.id}/previous-lots")
    assert response.status_code == 302 and len(rnd.lots) == 4
    comparison = compare.compare_with_previous(rnd)
    assert comparison.previous.id == previous.id and comparison.source == "none"
    py = next(c for c in comparison.counties if c.region.code == "361128")
    assert {s.code for s in py.old} == {s.code for s in py.new} == {"PY-F1", "PY-F2"}
    assert all(s.insurer for s in py.old) and not py.allocated
    assert py.left == py.joined == []      # before any run nobody has left: the page says "not allocated yet"
    page = client.get(f"/awards/rounds/{rnd.id}/compare-previous").get_data(as_text=True)
    assert previous.name in page and "PY-F1" in page and "本轮尚未分配" in page and "退出：" not in page
    client.get("/lang/en")
    english = client.get(f"/awards/rounds/{rnd.id}/compare-previous").get_data(as_text=True)
    assert "Previous term: " in english and "Not allocated yet" in english and "、" not in english
