"""An advance's edges (yearend.save_advance): the voucher, what a new advance stores, who may change one and until when,
and what a change records."""

from datetime import date
from decimal import Decimal as D

import pytest

from agri_insurance.extensions import db as _db
from agri_insurance.subsidies import yearend
from agri_insurance.subsidies.models import Advance, ShareLevel
from tests.factories import audit_entries, county
from tests.subsidies.factories import demo_insurer, user
from tests.subsidies.test_yearend import _field_and_message, advance

pytestmark = pytest.mark.usefixtures("world")

COUNTY, CITY = ShareLevel.COUNTY, ShareLevel.CITY


def test_an_advance_without_a_voucher_is_refused_and_a_voucher_is_kept_without_its_spaces():
    assert _field_and_message(lambda: advance("10.00", voucher_no=None)) == ("voucher_no", "请填写凭证号")
    assert _field_and_message(lambda: advance("10.00", voucher_no="")) == ("voucher_no", "请填写凭证号")
    recorded = advance("3000.00", level=CITY, voucher_no="  YB-城-1 ")
    _db.session.commit()
    stored = _db.session.get(Advance, recorded.id)
    assert (stored.year, stored.insurer_id, stored.region_id, stored.level, stored.amount, stored.drawn,
            stored.paid_on, stored.voucher_no, stored.recorded_by_id) == (
        2025, demo_insurer().id, county().id, CITY, D("3000.00"), D("0.00"), date(2025, 2, 1), "YB-城-1",
        user("city_finance").id)
    [entry] = audit_entries("advance.recorded")
    assert entry.summary == "登记预拨：赣鄱财险 鄱阳县 市级财政 2025年度 3,000.00 元"
    assert (entry.details["amount"], entry.details["voucher_no"]) == ("3000.00", "YB-城-1")


def test_an_advance_is_changed_only_by_its_own_bureau_while_the_year_is_open():
    recorded = advance("1000.00")
    _db.session.commit()
    change = {"amount": D("1200.00"), "paid_on": date(2025, 2, 1), "voucher_no": "YB-county"}
    assert _field_and_message(lambda: yearend.save_advance(change, user("city_finance"),
                                                           _db.session.get(Advance, recorded.id))) == (
        "level", "您无权登记该级次的预拨")
    assert _field_and_message(lambda: yearend.save_advance({**change, "amount": D("1200.005")}, user("county_finance"),
                                                           _db.session.get(Advance, recorded.id))) == (
        "amount", "预拨金额最多两位小数")
    assert _field_and_message(lambda: yearend.save_advance({**change, "voucher_no": None}, user("county_finance"),
                                                           _db.session.get(Advance, recorded.id))) == (
        "voucher_no", "请填写凭证号")
    assert _db.session.get(Advance, recorded.id).amount == D("1000.00")
    yearend.close_year(2025, user("city_finance"))                 # the advance, without claims, is refunded
    _db.session.commit()
    assert _field_and_message(lambda: yearend.save_advance(change, user("county_finance"),
                                                           _db.session.get(Advance, recorded.id))) == (
        "year", "2025年度已清算关闭")


def test_a_change_of_the_voucher_alone_records_only_the_voucher():
    recorded = advance("1000.00")
    _db.session.commit()
    yearend.save_advance({"amount": D("1000.00"), "paid_on": date(2025, 2, 1), "voucher_no": " YB-2 "},
                         user("county_finance"), _db.session.get(Advance, recorded.id))
    _db.session.commit()
    changed = _db.session.get(Advance, recorded.id)
    assert (changed.amount, changed.paid_on, changed.voucher_no) == (D("1000.00"), date(2025, 2, 1), "YB-2")
    [entry] = audit_entries("advance.changed")
    assert (entry.actor_id, entry.summary, entry.details) == (
        user("county_finance").id, "修改预拨：赣鄱财险 鄱阳县 县级财政 2025年度",
        {"changes": {"voucher_no": ["YB-county", "YB-2"]}})
