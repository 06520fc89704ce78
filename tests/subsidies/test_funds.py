"""Funds by level and year: central and provincial money received from above (文号), passed on by the city to a
county, and what reached the underwriter; the path adds up to the fen, bad input is refused naming its field."""

import io
from datetime import date
from decimal import Decimal as D

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from agri_insurance.audit.models import AuditEntry
from agri_insurance.errors import DomainError
from agri_insurance.subsidies import funds, service, yearend
from agri_insurance.subsidies.models import FundAllocation, ShareLevel
from tests.concurrency import second_waits_for_first
from tests.factories import county
from tests.subsidies.factories import demo_insurer, make_claim, user


def _funds(actor="city_finance", **overrides):
    data = {"year": 2025, "level": "central", "product_id": None, "to_region_id": funds.city().id,
            "passed_on": False, "document_no": "财金〔2025〕10号", "issued_on": date(2025, 3, 1),
            "amount": D("100000.00"), "notes": None}
    return funds.record_allocation({**data, **overrides}, user(actor))


def _refused(field: str, **overrides) -> str:
    with pytest.raises(DomainError) as refusal:
        _funds(**overrides)
    assert refusal.value.field == field
    return refusal.value.message


def test_the_path_adds_up_from_above_to_the_underwriter(world):
    pyx = county().id
    _funds()                                                                              # central 100,000 to the city
    _funds(passed_on=True, to_region_id=pyx, document_no="饶财农〔2025〕3号", amount=D("30000.00"))
    _funds(actor="county_finance", level="provincial", to_region_id=pyx, document_no="赣财农〔2025〕7号",
           amount=D("20000.00"))                                                          # provincial, straight to it
    yearend.save_advance({"year": 2025, "insurer_id": demo_insurer().id, "region_id": pyx,
                          "level": ShareLevel.PROVINCIAL, "amount": D("1000.00"), "paid_on": date(2025, 2, 1),
                          "voucher_no": "YB-P"}, user("city_finance"))
    world.session.commit()
    claim = make_claim(status="verified", premium="100000.00", year=2025, period="2025年全年")  # central 45,000
    service.confirm_payment(claim, ShareLevel.CENTRAL, D("40000.01"), date(2025, 6, 1), "SF-1", user("city_finance"))
    world.session.commit()

    central, provincial = funds.path(2025)
    assert (central.city.from_above, central.city.from_city, central.city.received) == \
        (D("100000.00"), D("30000.00"), D("70000.00"))
    line = next(c for c in central.counties if c.region.id == pyx)
    assert (line.from_above, line.from_city, line.received, line.to_underwriters) == \
        (D("0.00"), D("30000.00"), D("30000.00"), D("40000.01"))
    assert (central.from_above, central.to_underwriters, central.held) == (D("100000.00"), D("40000.01"),
                                                                          D("59999.99"))
    # the provincial advance paid 1,000 ahead (drawn down by the claim: not counted twice)
    assert (provincial.from_above, provincial.to_underwriters, provincial.held) == \
        (D("20000.00"), D("1000.00"), D("19000.00"))
    # a county's users read their county's lines only
    only = funds.path_for(user("county_finance"), 2025)
    assert only[0].city is None and [c.region.id for c in only[0].counties] == [pyx]
    assert world.session.scalar(sa.select(sa.func.count(AuditEntry.id)).where(
        AuditEntry.action.in_(("funds.received", "funds.passed_on")))) == 3


def test_bad_input_is_refused_naming_the_field_and_nothing_is_saved(world):
    _funds()
    assert "已登记过" in _refused("document_no")                                             # the same document
    assert "超出" in _refused("amount", passed_on=True, to_region_id=county().id, document_no="X1",
                            amount=D("100000.01"))                                        # more than received
    assert "超出" in _refused("amount", passed_on=True, to_region_id=county().id, document_no="X1",
                            level="provincial", amount=D("1.00"))                          # none of that level
    _refused("to_region_id", passed_on=True, document_no="X1", amount=D("1.00"))           # the city to itself
    _refused("passed_on", actor="county_finance", passed_on=True, to_region_id=county().id, amount=D("1.00"))
    _refused("to_region_id", actor="county_finance", document_no="X2")                     # not its own county
    _refused("level", level="city", document_no="X3")
    _refused("amount", document_no="X4", amount=D("1.005"))
    _refused("amount", document_no="X4", amount=D("0"))
    _refused("document_no", document_no="  ")
    _refused("issued_on", document_no="X5", issued_on=date(2099, 1, 1))
    assert world.session.scalar(sa.select(sa.func.count(FundAllocation.id))) == 1


def test_two_pass_ons_at_once_cannot_both_take_what_the_city_holds(app, world):
    _funds(amount=D("50000.00"))
    world.session.commit()
    pyx = county().id
    world.session.remove()

    def pass_on(doc):
        return lambda: _funds(passed_on=True, to_region_id=pyx, document_no=doc, amount=D("30000.00"))

    outcome: dict[str, str] = {}
    second_waits_for_first(app, pass_on("Z1"), pass_on("Z2"), outcome)
    assert outcome["first"] == "done" and "超出" in outcome["second"]
    assert funds.passed_on_total(2025, ShareLevel.CENTRAL) == D("30000.00")


def test_the_funds_page_the_ledger_and_the_performance_report_show_the_path(world, login):
    city_finance = login("city_finance")
    assert 'href="/subsidies/funds"' in city_finance.get("/").get_data(as_text=True)
    form = {"passed_on": "0", "to_region_id": str(funds.city().id), "level": "central", "year": "2025",
            "product_id": "0", "document_no": "财金〔2025〕10号", "issued_on": "2025-03-01", "amount": "80000.00",
            "notes": ""}
    assert city_finance.post("/subsidies/funds", data=form).status_code == 302
    response = city_finance.post("/subsidies/funds", data={**form, "passed_on": "1", "document_no": "饶财农1",
                                                           "to_region_id": str(county().id), "amount": "90000"})
    assert response.status_code == 400 and "超出" in response.get_data(as_text=True)
    page = city_finance.get("/subsidies/funds?year=2025").get_data(as_text=True)
    assert "财金〔2025〕10号" in page and "80,000.00" in page
    ledger = city_finance.get("/subsidies/ledger?year=2025").get_data(as_text=True)
    assert 'id="funds-path"' in ledger and "80,000.00" in ledger
    assert 'href="/subsidies/funds?year=2025"' in ledger and 'href="/subsidies/funds?year=2025"' not in page
    assert "−0.00" not in page       # nothing passed on at a level: 0.00, not a negative zero
    # a county's finance bureau records only what reached its own county, from above
    county_page = login("county_finance").get("/subsidies/funds?year=2025").get_data(as_text=True)
    assert "财金〔2025〕10号" not in county_page and "市级转拨</option>" not in county_page
    wb = load_workbook(io.BytesIO(city_finance.get("/subsidies/performance.xlsx?year=2025").data))
    ws = wb["资金到位"]
    cells = [[ws.cell(row=r, column=c).value for c in range(1, 7)] for r in range(1, ws.max_row + 1)]
    assert any(row[1] == "上饶市财政局" and D(str(row[2])) == D("80000") for row in cells)
