"""The flags of a payout list at their edges, worded as the county bureau reads them: paid on the 10th day after the
agreement (on time) and on the 11th (late), settled on the limit's day and the day after, unpaid rows waiting as
long, a payout of exactly the sum insured and a fen more; what the insurer must choose before its file is read;
the county's review of a flag (its refusals named exactly, its audit entry) and its to-do count."""

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from agri_insurance.audit.models import AuditEntry
from agri_insurance.auth.models import Role
from agri_insurance.errors import DomainError
from agri_insurance.payouts import service
from agri_insurance.payouts.models import PayoutFlag, PayoutList
from tests.factories import county, make_user
from tests.payouts.factories import REPORTED, import_file, insured, payout, scope, write_csv
from tests.subsidies.factories import product, user


def flags_of(db, lst) -> list[tuple[int, str, str]]:
    """(row, kind, detail) in the order they were stored (by row, and within a row as the page lists them)."""
    return [(r.row_no, r.kind.value, r.detail) for r in db.session.execute(
        sa.select(PayoutFlag.row_no, PayoutFlag.kind, PayoutFlag.detail).where(PayoutFlag.list_id == lst.id)
        .order_by(PayoutFlag.id))]


def at_noon(day):
    """Noon in Shangrao on `day` (04:00 UTC), so "today" is that day in local time."""
    return time_machine.travel(datetime(day.year, day.month, day.day, 4, tzinfo=UTC), tick=False)


def test_paid_on_the_tenth_day_after_the_agreement_is_on_time_the_eleventh_is_late(world, db, tmp_path):
    farmers = insured(tmp_path, count=3)
    lst = import_file(write_csv(tmp_path / "p.csv", [payout(farmers[0], 20, 10), payout(farmers[1], 20, 11),
                                                     payout(farmers[2], 20, 0)]))
    assert flags_of(db, lst) == [(3, "paid_late", "协议后第 11 天支付")]
    assert lst.flag_count == 1


def test_settled_on_the_limits_day_is_not_slow_the_day_after_is(world, db, tmp_path):
    assert service.settlement_days_limit() == 60
    farmers = insured(tmp_path, count=2)
    lst = import_file(write_csv(tmp_path / "p.csv", [payout(farmers[0], 60, 1), payout(farmers[1], 61, 1)]))
    assert flags_of(db, lst) == [(3, "slow_settlement", "报案后第 61 天支付（超过 60 天）")]


def test_an_unpaid_row_is_late_from_the_eleventh_day_and_slow_from_the_limits_next_day(world, db, tmp_path):
    farmers = insured(tmp_path, count=2)
    # today: 60 days after the report; agreed 10 and 11 days ago, not paid
    with at_noon(REPORTED + timedelta(days=60)):
        lst = import_file(write_csv(tmp_path / "p.csv", [payout(farmers[0], 50, None), payout(farmers[1], 49, None)]))
        assert flags_of(db, lst) == [(3, "paid_late", "协议已 11 天，尚未支付")]
    # a day later both wait one day more: the report is 61 days old
    with at_noon(REPORTED + timedelta(days=61)):
        lst = import_file(write_csv(tmp_path / "p.csv", [payout(farmers[0], 50, None), payout(farmers[1], 49, None)]))
        assert flags_of(db, lst) == [
            (2, "paid_late", "协议已 11 天，尚未支付"), (2, "slow_settlement", "报案已 61 天，尚未支付（超过 60 天）"),
            (3, "paid_late", "协议已 12 天，尚未支付"), (3, "slow_settlement", "报案已 61 天，尚未支付（超过 60 天）")]


def test_a_payout_of_exactly_the_sum_insured_is_not_over_it_a_fen_more_is(world, db, tmp_path):
    """The sum insured is 1,000.00; what counts is the agreed amount (a part paid so far, or nothing yet, does not
    make it smaller)."""
    farmers = insured(tmp_path, count=4)
    with at_noon(REPORTED + timedelta(days=15)):   # the unpaid row agreed 5 days ago: not late
        lst = import_file(write_csv(tmp_path / "p.csv", [
            payout(farmers[0], 10, 1, paid="1000.00", agreed="1000.00"),
            payout(farmers[1], 10, 1, paid="1000.01", agreed="1000.01"),
            payout(farmers[2], 10, 1, paid="900.00", agreed="1200.00"),
            payout(farmers[3], 10, None, agreed="1000.50")]))
    assert flags_of(db, lst) == [(3, "over_sum_insured", "赔款 1,000.01 元，保险金额 1,000.00 元"),
                                 (4, "over_sum_insured", "赔款 1,200.00 元，保险金额 1,000.00 元"),
                                 (5, "over_sum_insured", "赔款 1,000.50 元，保险金额 1,000.00 元")]


def test_a_rows_flags_come_in_the_pages_order_with_the_listed_name_masked(world, db, tmp_path):
    farmers = insured(tmp_path, count=1)
    lst = import_file(write_csv(tmp_path / "p.csv", [
        payout(farmers[0], 70, 20, paid="1500.00", agreed="1500.00", name="李四"),
        payout(farmers[0], 5, 1)]))
    assert farmers[0][0] == "农户0"
    assert flags_of(db, lst) == [
        (2, "over_sum_insured", "赔款 1,500.00 元，保险金额 1,000.00 元"),
        (2, "name_not_in_list", "承保清单中该证件号码的姓名为“农*0”"),
        (2, "paid_late", "协议后第 20 天支付"),
        (2, "slow_settlement", "报案后第 70 天支付（超过 60 天）"),
        (3, "paid_twice", "与第 2 行为同一农户、同一事故")]
    assert lst.flag_count == 5


# --- what the insurer chooses before its file is read ----------------------------------------------------------

def _scope_refusal(db, tmp_path, username="insurer", **changes):
    data = {**scope(), **changes}
    with pytest.raises(DomainError) as refused:
        service.check_scope(data, user(username))
    return refused.value.message, refused.value.field


@pytest.mark.parametrize("changes, refusal", [
    ({"region_id": None}, ("请选择县（市、区）", "region_id")),
    ({"region_id": 0}, ("请选择县（市、区）", "region_id")),
    ({"product_id": None}, ("请选择险种", "product_id")),
    ({"product_id": 987654}, ("请选择险种", "product_id")),
    ({"year": None}, ("年度不正确", "year")),
    ({"year": "2026"}, ("年度不正确", "year")),
    ({"year": 1999}, ("年度不正确", "year")),
    ({"event": None}, ("请填写灾害事故（如 2025年6月洪涝）", "event")),
    ({"event": "   "}, ("请填写灾害事故（如 2025年6月洪涝）", "event")),
    ({"event": "洪" * 101}, ("请填写灾害事故（如 2025年6月洪涝）", "event")),
])
def test_the_scope_refuses_each_missing_or_wrong_choice_on_its_field(world, db, tmp_path, changes, refusal):
    assert _scope_refusal(db, tmp_path, **changes) == refusal


def test_the_scope_takes_a_county_not_the_city_and_a_year_up_to_this_one(world, db, tmp_path):
    from agri_insurance.reference.models import Region, RegionLevel

    city = db.session.scalar(sa.select(Region).where(Region.level == RegionLevel.CITY))
    assert _scope_refusal(db, tmp_path, region_id=city.id) == ("请选择县（市、区）", "region_id")
    with at_noon(datetime(2026, 12, 31)):
        assert _scope_refusal(db, tmp_path, year=2027) == ("年度不正确", "year")
        for year, event in ((2000, "洪" * 100), (2026, "雹")):    # an event of 1 to 100 characters
            service.check_scope({**scope(), "year": year, "event": event}, user("insurer"))
    with at_noon(datetime(2027, 1, 1)):
        service.check_scope({**scope(), "year": 2027}, user("insurer"))


@pytest.mark.parametrize("username", ["county_agri", "city_agri"])
def test_only_an_insurer_uploads_a_payout_list(world, db, tmp_path, username):
    assert _scope_refusal(db, tmp_path, username=username) == ("只有承保机构可以上传理赔清单", None)


# --- the county's review -------------------------------------------------------------------------------------

@pytest.fixture
def flagged(world, db, tmp_path):
    """A list of the demo county with two flags (rows 2 and 3 paid 20 and 15 days after the agreement; row 2's is
    returned) and a bureau of another county."""
    from agri_insurance.reference.models import Region, RegionLevel

    farmers = insured(tmp_path, count=2)
    lst = import_file(write_csv(tmp_path / "p.csv", [payout(farmers[0], 30, 20), payout(farmers[1], 30, 15)]))
    other = db.session.scalar(sa.select(Region).where(Region.level == RegionLevel.COUNTY, Region.id != county().id)
                              .order_by(Region.code))
    make_user("other_county_agri", Role.COUNTY_AGRI, region=other)
    db.session.commit()
    return db.session.scalar(sa.select(PayoutFlag).where(PayoutFlag.list_id == lst.id, PayoutFlag.row_no == 2))


def _review_refusal(db, flag, username, comment):
    with pytest.raises(DomainError) as refused:
        service.accept_flag(flag, user(username), comment)
    db.session.rollback()
    return refused.value.message, refused.value.field


def test_only_the_lists_county_bureau_reviews_its_flags(flagged, db):
    assert service.may_review(flagged, user("county_agri"))
    for username in ("other_county_agri", "city_agri", "insurer"):
        assert not service.may_review(flagged, user(username)), username
        assert _review_refusal(db, flagged, username, "已核实") == ("只有本县农业农村局可以审核标记", None)
    assert (service.flags_waiting(user("county_agri")), service.flags_waiting(user("other_county_agri")),
            service.flags_waiting(user("city_agri"))) == (2, 0, 0)
    assert db.session.get(PayoutFlag, flagged.id).reviewed_at is None


@pytest.mark.parametrize("comment, refusal", [
    (None, ("请填写审核意见", "comment")),
    (" \n ", ("请填写审核意见", "comment")),
    ("核" * 501, ("审核意见最多500字", "comment")),
])
def test_a_review_needs_a_comment_of_at_most_500_characters(flagged, db, comment, refusal):
    assert _review_refusal(db, flagged, "county_agri", comment) == refusal
    assert db.session.get(PayoutFlag, flagged.id).reviewed_at is None


def test_a_review_is_stored_and_audited_once_and_leaves_the_to_do_list(flagged, db):
    county_agri = user("county_agri")
    comment = "已核实：农户外出，协议后联系不上"
    service.accept_flag(flagged, county_agri, f"  {comment}\n")
    db.session.commit()
    flag = db.session.get(PayoutFlag, flagged.id)
    assert (flag.comment, flag.reviewed_by_id, flag.reviewed) == (comment, county_agri.id, True)
    assert flag.reviewed_at is not None
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "payout_flag.accepted"))
    lst = db.session.scalar(sa.select(PayoutList))
    assert (entry.actor_name, entry.object_type, entry.object_id, entry.summary, entry.details) == (
        "county_agri", "PayoutList", str(lst.id), f"审核理赔清单标记（第2行，达成协议后超过10日支付）：{comment}",
        {"flag_id": flag.id, "row_no": 2, "kind": "paid_late"})
    assert not service.may_review(flag, county_agri)
    # the other flag of the list still waits for its own review
    other = db.session.scalar(sa.select(PayoutFlag).where(PayoutFlag.list_id == lst.id, PayoutFlag.row_no == 3))
    assert (other.reviewed_at, other.comment, other.reviewed_by_id) == (None, None, None)
    assert service.may_review(other, county_agri) and service.flags_waiting(county_agri) == 1
    assert _review_refusal(db, flag, "county_agri", "再次审核") == ("该标记已审核", None)
    assert db.session.get(PayoutFlag, flagged.id).comment == comment
    assert product("rice").id == lst.product_id


def test_a_comment_of_500_characters_is_kept_whole(flagged, db):
    service.accept_flag(flagged, user("county_agri"), "核" * 500)
    db.session.commit()
    assert db.session.get(PayoutFlag, flagged.id).comment == "核" * 500


def _other_insurer_id(db):
    from agri_insurance.reference.models import Insurer

    return db.session.scalar(sa.select(Insurer.id).where(Insurer.id != user("insurer").insurer_id).order_by(Insurer.id))


@pytest.mark.parametrize("moved", ["insurer_id", "region_id", "product_id", "year"])
def test_a_farmer_paid_for_the_same_loss_in_another_scope_is_not_paid_twice(world, db, tmp_path, moved):
    """Only the lists of the same insurer, county, product and year are compared: the same farmer and loss date
    in a list of another insurer, county, product or year is another policy's payout."""
    from agri_insurance.payouts.models import PayoutRow

    farmers = insured(tmp_path, count=2)
    earlier = import_file(write_csv(tmp_path / "a.csv", [payout(farmers[0], 10, 1)]), event="6月洪涝")
    rows = [payout(farmers[1], 10, 1), payout(farmers[0], 10, 1)]
    later = import_file(write_csv(tmp_path / "b.csv", rows), event="6月洪水")
    assert flags_of(db, later) == [(3, "paid_twice", "与理赔清单“6月洪涝”第 2 行为同一农户、同一出险日期")]
    # the earlier list again in a scope that differs by one of its four parts (its rows carry the scope too)
    other = {"insurer_id": _other_insurer_id(db), "region_id": county("361102").id,
             "product_id": product("rapeseed").id, "year": 2025}[moved]
    copy = PayoutList(**{**{key: getattr(earlier, key) for key in ("insurer_id", "region_id", "product_id", "year",
                                                                  "event", "filename", "sha256", "rows",
                                                                  "total_agreed", "total_paid", "uploaded_by_id")},
                         moved: other, "flag_count": 0})
    db.session.add(copy)
    db.session.flush()
    table = PayoutRow.__table__
    values = {column.name: column for column in table.c} | {"list_id": sa.literal(copy.id), moved: sa.literal(other)}
    db.session.execute(table.insert().from_select(list(values), sa.select(*values.values())
                                                  .where(table.c.list_id == earlier.id)))
    service.remove_list(earlier, user("insurer"), "moved")
    db.session.commit()
    later = import_file(write_csv(tmp_path / "b.csv", rows), event="6月洪水")
    assert flags_of(db, later) == []


def test_paid_twice_names_the_farmers_row_in_the_earliest_list_whatever_its_place(world, db, tmp_path):
    """The flag names the farmer's first row among the scope's other lists: the lowest list, then the lowest row,
    whether or not it is the list's first row, and even when a later list's row was stored ahead of it (in the
    space a deleted list left, once the table is vacuumed)."""
    farmers = insured(tmp_path, count=4)
    filler = import_file(write_csv(tmp_path / "x.csv", [payout(farmers[3], 10, 1)]), event="5月冰雹")
    first = import_file(write_csv(tmp_path / "a.csv", [payout(farmers[1], 10, 1), payout(farmers[0], 10, 1)]),
                        event="6月洪涝")
    service.remove_list(filler, user("insurer"), "replaced")
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM payout_rows"))
    later = import_file(write_csv(tmp_path / "b.csv", [payout(farmers[0], 10, 1), payout(farmers[2], 10, 1)]),
                        event="6月洪水")
    assert later.id > first.id
    assert flags_of(db, later) == [(2, "paid_twice", "与理赔清单“6月洪涝”第 3 行为同一农户、同一出险日期")]
    third = import_file(write_csv(tmp_path / "c.csv", [payout(farmers[0], 10, 1)]), event="7月洪涝")
    assert flags_of(db, third) == [(2, "paid_twice", "与理赔清单“6月洪涝”第 3 行为同一农户、同一出险日期")]
