"""The villages of a payout list (what its notice to farmers and its page show per village: households paid, rows,
agreed and paid amounts) are summed once when the list is stored, go with it when a new upload replaces it, and
the list page reads them without grouping the list's rows, however many it has."""

from decimal import Decimal

import sqlalchemy as sa

from agri_insurance.payouts import notices
from agri_insurance.payouts.models import PayoutVillage
from tests.factories import read_text
from tests.payouts.factories import import_file, insured, payout, write_csv
from tests.test_query_counts import counting


def village_rows(db) -> list[tuple]:
    v = PayoutVillage
    return db.session.execute(sa.select(v.list_id, v.township, v.village).order_by(v.list_id, v.village)).all()


def test_a_payout_lists_villages_are_summed_when_it_is_stored(world, db, tmp_path):
    farmers = insured(tmp_path, count=3)   # 农户0, 农户1, 农户2 of 饶丰镇 第0村, 第1村, 第2村
    lst = import_file(write_csv(tmp_path / "p.csv", [
        payout(farmers[0], 10, 1, paid="120.50", agreed="120.50"),
        payout(farmers[0], 12, 2, paid="30.25", agreed="40.00"),    # the same farmer twice: one household
        payout(farmers[1], 5, None, agreed="80.00"),                 # agreed, not paid yet
        payout(farmers[2], 8, 3, paid="0.01", agreed="0.01"),
    ]))
    villages = {v.key: v for v in notices.villages_of(lst)}
    assert list(villages) == [("饶丰镇", "第0村"), ("饶丰镇", "第1村"), ("饶丰镇", "第2村")]
    first = villages[("饶丰镇", "第0村")]
    assert (first.households, first.rows) == (1, 2)
    assert first.totals == {"agreed": Decimal("160.50"), "paid": Decimal("150.75")}
    assert villages[("饶丰镇", "第1村")].totals == {"agreed": Decimal("80.00"), "paid": Decimal("0.00")}
    assert villages[("饶丰镇", "第2村")].totals["paid"] == Decimal("0.01")
    # the villages add up to the list's totals, to the fen
    assert sum(v.totals["agreed"] for v in villages.values()) == lst.total_agreed == Decimal("240.51")
    assert sum(v.totals["paid"] for v in villages.values()) == lst.total_paid == Decimal("150.76")


def test_the_villages_kept_are_the_stored_rows_grouped_by_their_underwriting_rows_village(world, db, tmp_path):
    """The sums made while the file is read are what grouping the stored payout rows by the village of the
    underwriting row each was matched to gives (the notice's definition), farmers paid twice and unpaid included."""
    from agri_insurance.payouts.models import PayoutRow
    from agri_insurance.underwriting.models import UnderwritingRow

    farmers = insured(tmp_path, count=30, townships=("饶丰镇", "油墩街镇"))
    data = [payout(farmers[n % 30], settle=5 + n % 20, pay=None if n % 7 == 0 else n % 4,
                   paid=f"{10 + n}.{n % 100:02d}", agreed=f"{20 + n}.{n % 100:02d}") for n in range(75)]
    lst = import_file(write_csv(tmp_path / "p.csv", data))
    u, p = UnderwritingRow.__table__, PayoutRow.__table__
    grouped = db.session.execute(
        sa.select(u.c.township, u.c.village, sa.func.count(sa.distinct(p.c.id_hash)), sa.func.count(),
                  sa.func.sum(p.c.agreed_amount), sa.func.coalesce(sa.func.sum(p.c.paid_amount), 0))
        .select_from(p.join(u, sa.and_(u.c.list_id == p.c.uw_list_id, u.c.row_no == p.c.uw_row_no)))
        .where(p.c.list_id == lst.id).group_by(u.c.township, u.c.village)).all()
    expected = sorted((t, v, h, r, Decimal(str(a)).quantize(Decimal("0.01")), Decimal(str(d)).quantize(Decimal("0.01")))
                      for t, v, h, r, a, d in grouped)
    kept = sorted((v.key[0], v.key[1], v.households, v.rows, v.totals["agreed"], v.totals["paid"])
                  for v in notices.villages_of(lst))
    assert len(kept) == 18 and kept == expected   # 2 townships x 9 villages


def test_a_new_upload_for_the_event_keeps_only_its_own_villages(world, db, tmp_path):
    farmers = insured(tmp_path, count=3)
    old = import_file(write_csv(tmp_path / "p.csv", [payout(f, 10, 1) for f in farmers]))
    other = import_file(write_csv(tmp_path / "q.csv", [payout(farmers[0], 10, 1)]), event="2026年8月干旱")
    old_id = old.id
    new = import_file(write_csv(tmp_path / "again.csv", [payout(farmers[2], 10, 1)]))
    assert [(v.key, v.households) for v in notices.villages_of(new)] == [(("饶丰镇", "第2村"), 1)]
    rows = village_rows(db)
    assert sorted(rows) == sorted([(new.id, "饶丰镇", "第2村"), (other.id, "饶丰镇", "第0村")])
    if new.id != old_id:   # (SQLite may give the new list the old one's id)
        assert all(list_id != old_id for list_id, _t, _v in rows)


def test_the_list_page_costs_the_same_queries_for_three_payouts_and_for_sixty(world, login, db, tmp_path):
    farmers = insured(tmp_path, count=60)
    small = import_file(write_csv(tmp_path / "small.csv", [payout(f, 10, 1) for f in farmers[:3]]))
    large = import_file(write_csv(tmp_path / "large.csv", [payout(f, 10, 1) for f in farmers]),
                        event="2026年8月干旱")
    client = login("insurer")
    url = "/payouts/lists/{}"
    client.get(url.format(small.id)), client.get(url.format(large.id))   # warm
    with counting(db.engine) as few:
        assert client.get(url.format(small.id)).status_code == 200
    with counting(db.engine) as many:
        page = read_text(client.get(url.format(large.id)))
    assert len(few) == len(many)
    assert "第8村" in page and "第0村" in page   # all nine villages of the sixty farmers are listed
    grouped = [s for s in many if "payout_rows" in s and "GROUP BY" in s.upper()]
    assert grouped == []


def test_an_underwriting_list_deleted_leaves_the_payouts_matched_to_it_unmatched(world, db, tmp_path):
    """The underwriting list announces its removal (no foreign key holds a payout row's match) and payouts
    unmatches the rows matched to it, in the same transaction; the payouts and their villages stay as stored."""
    from agri_insurance.payouts.models import PayoutRow
    from agri_insurance.underwriting import service as underwriting
    from agri_insurance.underwriting.models import UnderwritingList
    from agri_insurance.underwriting.signals import list_removing
    from tests.subsidies.factories import user

    assert list_removing.listeners() == ["agri_insurance.payouts.listeners._unmatch_payouts"]
    first = insured(tmp_path, count=2)
    other = insured(tmp_path, count=1, start=10)   # another claim's list, which stays
    lst = import_file(write_csv(tmp_path / "p.csv", [payout(f, 10, 1) for f in first + other]))
    matched = dict(db.session.execute(sa.select(PayoutRow.row_no, PayoutRow.uw_list_id)).all())
    first_list = matched[2]
    assert matched[3] == first_list and matched[4] != first_list
    claim = db.session.get(UnderwritingList, first_list).claim
    underwriting.remove_list(claim, user("insurer"), "test")
    db.session.commit()
    after = db.session.execute(sa.select(PayoutRow.row_no, PayoutRow.uw_list_id, PayoutRow.uw_row_no)
                               .order_by(PayoutRow.row_no)).all()
    assert [tuple(r) for r in after] == [(2, None, None), (3, None, None), (4, matched[4], 2)]
    assert sum(v.rows for v in notices.villages_of(lst)) == 3   # as noticed when the list was stored
