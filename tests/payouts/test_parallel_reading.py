"""A list read by two processes in blocks (an xlsx file on PostgreSQL, list_files.in_blocks) is stored exactly as
the same list read by one (a csv file): the same rows, matches, flags in the same order, totals and households;
and a bad file is refused with the same errors in the file's order, whichever process found them."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from agri_insurance import list_files
from agri_insurance.payouts import service as payouts
from agri_insurance.payouts.models import PayoutFlag, PayoutList, PayoutRow, PayoutVillage
from agri_insurance.underwriting import service as underwriting
from agri_insurance.underwriting.models import (
    UnderwritingFlag,
    UnderwritingList,
    UnderwritingRow,
    UnderwritingVillage,
)
from agri_insurance.underwriting.service import ListHasErrors
from tests.payouts.factories import insured, payout, scope
from tests.payouts.factories import write_csv as payout_csv
from tests.payouts.factories import write_xlsx as payout_xlsx
from tests.subsidies.factories import user
from tests.underwriting.conftest import claim_for
from tests.underwriting.factories import rows as uw_rows
from tests.underwriting.factories import write_csv as uw_csv
from tests.underwriting.factories import write_xlsx as uw_xlsx

pytestmark = pytest.mark.postgres   # COPY: the reading processes' lines go to the server as made


@pytest.fixture
def small_blocks(monkeypatch, app):
    """Blocks of 4 rows, so a list of 30 rows is 8 blocks, worked in turn by two processes."""
    monkeypatch.setattr(list_files, "BLOCK_ROWS", 4)
    assert app.config["LIST_IMPORT_PROCESSES"] == 2 and app.config["LIST_IMPORT_PARALLEL_ROWS"] == 0


def _payout_rows(farmers: list) -> list[list]:
    data = [payout(farmers[n % 10], settle=5 + n * 3, pay=n % 14) for n in range(30)]
    # farmer 0 is at rows 2, 12 and 22 (blocks 0, 2, 5) and, unpaid, at row 23 (block 5)
    data[21] = payout(farmers[0], settle=70, pay=None)
    data[6] = payout(farmers[6], settle=9, pay=2, paid="1500.00", agreed="1500.00", name="别人")  # row 8
    return data


def _stored_payouts(lst: PayoutList) -> tuple:
    rows = [(r.row_no, r.name, r.id_number, r.uw_list_id, r.uw_row_no, r.agreed_amount, r.paid_amount,
             r.paid_date, r.settle_days, r.pay_days, r.bank_account)
            for r in PayoutList.query.session.scalars(
                sa.select(PayoutRow).where(PayoutRow.list_id == lst.id).order_by(PayoutRow.row_no))]
    flags = PayoutList.query.session.execute(
        sa.select(PayoutFlag.row_no, PayoutFlag.kind, PayoutFlag.detail).where(PayoutFlag.list_id == lst.id)
        .order_by(PayoutFlag.row_no, PayoutFlag.id)).all()
    v = PayoutVillage
    villages = PayoutList.query.session.execute(
        sa.select(v.township, v.village, v.households, v.rows, v.agreed, v.paid).where(v.list_id == lst.id)
        .order_by(v.township, v.village)).all()
    return rows, [tuple(f) for f in flags], (lst.rows, lst.total_agreed, lst.total_paid, lst.flag_count), \
        [tuple(village) for village in villages]


def test_a_payout_list_read_in_parallel_is_stored_as_one_read_by_one_process(world, db, tmp_path, small_blocks,
                                                                             monkeypatch):
    # the flags sent with the rows every 3 or more, each time in a COPY after the rows handed over before them
    monkeypatch.setattr(payouts, "COPY_PART_ROWS", 3)
    farmers = insured(tmp_path, count=10)
    data = _payout_rows(farmers)
    one = payouts.import_payouts(scope(), payout_csv(tmp_path / "p.csv", data), "p.csv", user("insurer"))
    db.session.flush()
    expected = _stored_payouts(one)
    db.session.rollback()
    two = payouts.import_payouts(scope(), payout_xlsx(tmp_path / "p.xlsx", data), "p.xlsx", user("insurer"))
    db.session.flush()
    got = _stored_payouts(two)
    assert got == expected
    rows, flags, (count, _agreed, _paid, flag_count), villages = got
    assert count == 30 and len(rows) == 30 and flag_count == len(flags)
    # ten farmers in villages 第0村 … 第8村: farmers 0 (4 rows, one replacing farmer 1's third) and 9 (3 rows) in
    # 第0村, summed across the blocks of both processes
    assert [(village, households, n) for _town, village, households, n, _a, _p in villages][:2] == [
        ("第0村", 2, 7), ("第1村", 1, 2)]
    kinds = {(row, kind.value) for row, kind, _detail in flags}
    assert {(12, "paid_twice"), (22, "paid_twice"), (23, "paid_twice"), (8, "over_sum_insured"),
            (8, "name_not_in_list")} <= kinds
    twice = [detail for row, kind, detail in flags if row in (12, 22, 23) and kind.value == "paid_twice"]
    assert all("第 2 行" in detail for detail in twice)   # farmer 0's first row, in a block the other process read
    row_23 = [kind.value for row, kind, _detail in flags if row == 23]   # the flags page's order within a row
    assert row_23 == ["paid_late", "slow_settlement", "paid_twice"]


def test_a_bad_payout_list_read_in_parallel_gives_the_errors_in_the_files_order(world, db, tmp_path, small_blocks):
    farmers = insured(tmp_path, count=10)
    data = _payout_rows(farmers)
    data[2][5] = "五十元"                 # row 4, block 1
    data[13][0] = ""                     # row 15, block 4
    data[27][1] = data[27][1][:-1] + ("0" if data[27][1][-1] != "0" else "1")   # row 29, block 7: check character
    errors = {}
    for name, write in (("p.csv", payout_csv), ("p.xlsx", payout_xlsx)):
        with pytest.raises(ListHasErrors) as raised:
            payouts.import_payouts(scope(), write(tmp_path / name, data), name, user("insurer"))
        db.session.rollback()
        errors[name] = [(e.row, e.column, e.message) for e in raised.value.findings.errors]
    assert errors["p.xlsx"] == errors["p.csv"]
    assert [row for row, _column, _message in errors["p.xlsx"]] == [4, 15, 29]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PayoutRow)) == 0


def _stored_underwriting(lst: UnderwritingList) -> tuple:
    session = UnderwritingList.query.session
    rows = [(r.row_no, r.name, r.id_number, r.township, r.village, r.quantity, r.sum_insured, r.premium,
             r.farmer_premium, r.bank_account)
            for r in session.scalars(sa.select(UnderwritingRow).where(UnderwritingRow.list_id == lst.id)
                                     .order_by(UnderwritingRow.row_no))]
    flags = sorted((f.row_no, f.kind.value) for f in session.scalars(
        sa.select(UnderwritingFlag).where(UnderwritingFlag.list_id == lst.id)))
    v = UnderwritingVillage
    villages = session.execute(sa.select(v.township, v.village, v.households, v.rows, v.quantity, v.premium,
                                         v.farmer_premium).where(v.list_id == lst.id)
                               .order_by(v.township, v.village)).all()
    return rows, flags, (lst.rows, lst.households, lst.total_quantity, lst.total_sum_insured, lst.total_premium,
                         lst.total_farmer_premium, lst.flag_count), [tuple(village) for village in villages]


def test_an_underwriting_list_read_in_parallel_is_stored_as_one_read_by_one_process(world, db, tmp_path,
                                                                                       small_blocks):
    data = uw_rows(30)
    data[25][1] = data[1][1]       # the farmer of row 3 again at row 27, six blocks later
    data[26][1] = data[1][1]       # and at row 28
    claim = claim_for(data)
    underwriting.import_list(claim, uw_csv(tmp_path / "u.csv", data), "u.csv", user("insurer"))
    db.session.flush()
    expected = _stored_underwriting(underwriting.list_of(claim))
    db.session.rollback()
    underwriting.import_list(claim, uw_xlsx(tmp_path / "u.xlsx", data), "u.xlsx", user("insurer"))
    db.session.flush()
    got = _stored_underwriting(underwriting.list_of(claim))
    assert got == expected
    _rows, flags, (count, households, *_sums, flag_count), villages = got
    assert (count, households) == (30, 28)
    # the farmer of row 3 (第1村) listed again in 第7村 and 第8村 is a household of each: 28 people, 30 households
    assert sum(h for _t, _v, h, *_rest in villages) == 30 and sum(n for _t, _v, _h, n, *_rest in villages) == 30
    assert [(row, kind) for row, kind in flags if kind == "duplicate_in_list"] == [
        (3, "duplicate_in_list"), (27, "duplicate_in_list"), (28, "duplicate_in_list")]


def test_a_bad_underwriting_list_read_in_parallel_gives_the_errors_in_the_files_order(world, db, tmp_path,
                                                                                        small_blocks):
    data = uw_rows(30)
    claim = claim_for(data)
    data[1][8] = "abc"            # row 3, block 0
    data[17][0] = ""              # row 19, block 4
    data[29][5] = "12.5亩"        # row 31, block 7
    errors = {}
    for name, write in (("u.csv", uw_csv), ("u.xlsx", uw_xlsx)):
        with pytest.raises(ListHasErrors) as raised:
            underwriting.import_list(claim, write(tmp_path / name, data), name, user("insurer"))
        db.session.rollback()
        errors[name] = [(e.row, e.column, e.message) for e in raised.value.findings.errors]
    assert errors["u.xlsx"] == errors["u.csv"]
    assert [row for row, _column, _message in errors["u.xlsx"]] == [3, 19, 31]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(UnderwritingRow)) == 0
