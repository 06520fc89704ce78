"""Reports upward, read back: next year's estimate (测算表) and the performance report (绩效)."""

import io
from datetime import UTC, date, datetime
from decimal import Decimal as D

import time_machine
from openpyxl import load_workbook

from agri_insurance.subsidies import reports, service
from agri_insurance.subsidies.models import ShareLevel
from tests.subsidies.factories import make_claim, user


def _rows(response) -> dict:
    ws = load_workbook(io.BytesIO(response.data)).active
    return {ws.cell(row=r, column=1).value: [ws.cell(row=r, column=c).value for c in range(2, ws.max_column + 1)]
            for r in range(1, ws.max_row + 1)}


def test_the_estimate_applies_the_scheme_to_this_years_premium(world, login):
    make_claim(status="verified", premium="100000.00", year=2026, period="2026年早稻季")
    make_claim(status="submitted", premium="33333.33", year=2026, period="2026年晚稻季")
    make_claim(status="draft", premium="50000.00", year=2026, period="2026年补充")       # not counted
    rows = _rows(login("city_finance").get("/subsidies/estimate.xlsx?year=2027"))
    rice = [D(str(v)).quantize(D("0.01")) for v in rows["水稻"]]
    # 133,333.33 × central 45 % (59,999.9985), provincial 25 % (33,333.3325), city and county 5 % (6,666.6665 each),
    # the farmers 20 % (26,666.666): each rounded half up, the fen too many taken back from the largest, central
    assert rice == [D("133333.33"), D("59999.99"), D("33333.33"), D("6666.67"), D("6666.67"), D("106666.66"),
                    D("26666.67")]
    assert any("2026-08-20" in str(key) for key in rows)


def test_the_estimate_is_on_the_city_finance_to_do_list_until_20_august(world, login):
    with time_machine.travel(datetime(2026, 8, 1, 2, 0, tzinfo=UTC), tick=False):
        assert reports.estimate_pending() == (2027, date(2026, 8, 20))
        assert "报送2027年度农业保险保费补贴测算表，期限 2026-08-20" in login("city_finance").get("/").get_data(as_text=True)
    with time_machine.travel(datetime(2026, 8, 21, 2, 0, tzinfo=UTC), tick=False):
        assert "测算表" not in login("city_finance").get("/").get_data(as_text=True)


def test_the_performance_report_counts_payout_and_timeliness(world, login):
    with time_machine.travel(datetime(2026, 3, 1, 2, 0, tzinfo=UTC), tick=False):
        claim = make_claim(status="verified", premium="100000.00", year=2026, period="2026年早稻季")   # due 31 Mar
    with time_machine.travel(datetime(2026, 3, 20, 2, 0, tzinfo=UTC), tick=False):
        service.confirm_payment(claim, ShareLevel.COUNTY, D("5000.00"), date(2026, 3, 20), "KF-1", user("county_finance"))
        world.session.commit()
    with time_machine.travel(datetime(2026, 5, 1, 2, 0, tzinfo=UTC), tick=False):
        service.confirm_payment(claim, ShareLevel.CITY, D("5000.00"), date(2026, 5, 1), "SF-1", user("city_finance"))
        world.session.commit()
    rows = _rows(login("city_finance").get("/subsidies/performance.xlsx?year=2026"))
    line = [D(str(v)) if v is not None else None for v in rows["鄱阳县"]]
    # households 850; premium 100,000; central 45,000, provincial 25,000, city 5,000, county 5,000 = 80,000;
    # paid 10,000 → 12.5 %; one of four shares paid in full on time → 25.0 %
    assert line == [D("850"), D("100000"), D("45000"), D("25000"), D("5000"), D("5000"), D("80000"), D("10000"),
                    D("12.5"), D("25.0")]
