"""Matching and flags happen while a payout list is read (the scope's underwriting rows looked up in Python): they
must give exactly what the set-based SQL gave before (kept below as the reference, as it stood at 561c313) — the
same underwriting row for every payout row, the same flags with the same words — and the same refusal of a
farmer not in the scope's lists, for any list hypothesis draws."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask_babel import gettext as _
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agri_insurance.clock import local_today
from agri_insurance.errors import DomainError
from agri_insurance.extensions import db as _db
from agri_insurance.masking import mask_name
from agri_insurance.payouts import service
from agri_insurance.payouts.models import PayoutFlag, PayoutFlagKind, PayoutList, PayoutRow
from agri_insurance.subsidies.models import ClaimStatus, SubsidyClaim
from agri_insurance.underwriting.models import UnderwritingList, UnderwritingRow
from tests.payouts.factories import REPORTED, import_file, insured, payout, scope, write_csv
from tests.subsidies.factories import user
from tests.underwriting.factories import rows as uw_rows

# --- the reference: matching and flags as SQL over the stored rows (561c313) -------------------------------------


def _underwriting_of(lst: PayoutList, *columns) -> sa.Select:
    p = PayoutRow.__table__
    u = UnderwritingRow.__table__
    mine = sa.alias(p, "mine")
    return (sa.select(*columns)
            .select_from(u.join(UnderwritingList, UnderwritingList.id == u.c.list_id)
                         .join(SubsidyClaim, SubsidyClaim.id == UnderwritingList.claim_id))
            .where(u.c.product_id == lst.product_id, u.c.year == lst.year, u.c.insurer_id == lst.insurer_id,
                   SubsidyClaim.region_id == lst.region_id, SubsidyClaim.status != ClaimStatus.RETURNED,
                   u.c.id_hash.in_(sa.select(mine.c.id_hash).where(mine.c.list_id == lst.id))))


def reference_matches(lst: PayoutList) -> dict[int, tuple[int | None, int | None]]:
    """{row number: (underwriting list, row)} as the UPDATE … FROM a window set them."""
    p = PayoutRow.__table__
    u = UnderwritingRow.__table__
    ranked = _underwriting_of(lst, u.c.id_hash, u.c.list_id, u.c.row_no, sa.func.row_number().over(
        partition_by=u.c.id_hash, order_by=(u.c.list_id, u.c.row_no)).label("rank")).subquery("ranked")
    return {r.row_no: (r.list_id, r.uw_row_no) for r in _db.session.execute(
        sa.select(p.c.row_no, ranked.c.list_id, ranked.c.row_no.label("uw_row_no"))
        .outerjoin(ranked, sa.and_(ranked.c.id_hash == p.c.id_hash, ranked.c.rank == 1))
        .where(p.c.list_id == lst.id))}


def _detail(template: str, *values) -> sa.ColumnElement:
    parts = template.split("{")
    expression = sa.literal(parts[0], sa.String)
    for part in parts[1:]:
        index, rest = part.split("}", 1)
        expression = expression + sa.cast(values[int(index)], sa.String) + sa.literal(rest, sa.String)
    return sa.func.substr(expression, 1, 200)


def reference_flags(lst: PayoutList) -> list[tuple[int, str, str]]:
    """(row, kind, detail) of every flag, as the grouped join, the Python wording and the two window INSERTs placed
    them (sorted: the order within a row is the reference's too, checked separately)."""
    p = PayoutRow.__table__
    u = UnderwritingRow.__table__
    covers = _underwriting_of(lst, u.c.id_hash, sa.func.sum(u.c.sum_insured).label("covered")
                              ).group_by(u.c.id_hash).subquery("covers")
    listed = sa.alias(u, "listed")
    today = local_today()
    slow = service.settlement_days_limit()
    found: list[tuple[int, str, str]] = []
    for r in _db.session.execute(
            sa.select(p.c.row_no, p.c.name, p.c.agreed_amount, p.c.agreed_date, p.c.paid_amount, p.c.paid_date,
                      p.c.reported_date, p.c.settle_days, p.c.pay_days, listed.c.name.label("listed_name"),
                      covers.c.covered)
            .join(listed, sa.and_(listed.c.list_id == p.c.uw_list_id, listed.c.row_no == p.c.uw_row_no))
            .outerjoin(covers, covers.c.id_hash == p.c.id_hash)
            .where(p.c.list_id == lst.id).order_by(p.c.row_no)):
        paid_or_agreed = max(r.agreed_amount, r.paid_amount or Decimal("0.00"))
        if r.covered is not None and paid_or_agreed > r.covered:
            found.append((r.row_no, "over_sum_insured", _("赔款 %(paid)s 元，保险金额 %(cover)s 元",
                                                         paid=f"{paid_or_agreed:,.2f}", cover=f"{r.covered:,.2f}")))
        if r.name != r.listed_name:
            found.append((r.row_no, "name_not_in_list",
                          _("承保清单中该证件号码的姓名为“%(name)s”", name=mask_name(r.listed_name))))
        if r.pay_days is not None and r.pay_days > service.PAYMENT_DAYS:
            found.append((r.row_no, "paid_late", _("协议后第 %(n)s 天支付", n=r.pay_days)))
        elif r.paid_date is None and (today - r.agreed_date).days > service.PAYMENT_DAYS:
            found.append((r.row_no, "paid_late", _("协议已 %(n)s 天，尚未支付", n=(today - r.agreed_date).days)))
        if r.settle_days is not None and r.settle_days > slow:
            found.append((r.row_no, "slow_settlement",
                          _("报案后第 %(n)s 天支付（超过 %(limit)s 天）", n=r.settle_days, limit=slow)))
        elif r.paid_date is None and (today - r.reported_date).days > slow:
            found.append((r.row_no, "slow_settlement", _("报案已 %(n)s 天，尚未支付（超过 %(limit)s 天）",
                                                        n=(today - r.reported_date).days, limit=slow)))
    ranked = sa.select(p.c.row_no, sa.func.min(p.c.row_no).over(partition_by=p.c.id_hash).label("first")
                       ).where(p.c.list_id == lst.id).subquery("ranked")
    found += [(row_no, "paid_twice", detail) for row_no, detail in _db.session.execute(
        sa.select(ranked.c.row_no, _detail(_("与第 %(row)s 行为同一农户、同一事故", row="{0}"), ranked.c.first))
        .where(ranked.c.row_no != ranked.c.first))]
    others = (sa.select(p.c.id_hash, p.c.loss_date, p.c.list_id, p.c.row_no,
                        sa.func.row_number().over(partition_by=(p.c.id_hash, p.c.loss_date),
                                                  order_by=(p.c.list_id, p.c.row_no)).label("rank"))
              .where(p.c.insurer_id == lst.insurer_id, p.c.region_id == lst.region_id,
                     p.c.product_id == lst.product_id, p.c.year == lst.year, p.c.list_id != lst.id)
              .subquery("others"))
    other_list = sa.alias(PayoutList.__table__, "other_list")
    found += [(row_no, "paid_twice", detail) for row_no, detail in _db.session.execute(
        sa.select(p.c.row_no, _detail(_("与理赔清单“%(event)s”第 %(row)s 行为同一农户、同一出险日期", event="{0}",
                                         row="{1}"), other_list.c.event, others.c.row_no))
        .select_from(p.join(others, sa.and_(others.c.id_hash == p.c.id_hash, others.c.loss_date == p.c.loss_date,
                                            others.c.rank == 1))
                     .join(other_list, other_list.c.id == others.c.list_id))
        .where(p.c.list_id == lst.id))]
    return sorted((row, kind, detail[:200]) for row, kind, detail in found)


# --- the world: a farmer insured in several of the scope's lists, other names, returned claims, other insurers ----

@pytest.fixture
def scope_world(world, db, tmp_path):
    """Farmers of the scope: in a submitted list (sum insured 1,000.00 each), some of them again in a draft list of
    the same scope under another name with 400.00 more cover, a returned claim's farmers (not matchable), another
    insurer's farmers (not matchable); an earlier list of another event with the same losses for a few of them."""
    from agri_insurance.auth.models import Role
    from tests.factories import make_insurer, make_user
    from tests.subsidies.factories import assign

    submitted = insured(tmp_path, count=8)
    again = uw_rows(3, start=0, premium="20.00", farmer="4.00")          # the same people, another list of the scope
    for row in again:
        row[0] = row[0] + "乙"
    from agri_insurance.underwriting import service as underwriting
    from tests.underwriting.conftest import claim_for
    from tests.underwriting.factories import write_csv as write_uw_csv

    claim = claim_for(again, period="第二批")
    underwriting.import_list(claim, write_uw_csv(tmp_path / "again.csv", again), "again.csv", user("insurer"))
    db.session.commit()
    returned = insured(tmp_path, count=2, start=400, status=ClaimStatus.RETURNED)
    rival = make_insurer()
    assign(insurer=rival)
    make_user("rival_ins", Role.INSURER, insurer=rival)
    others = insured(tmp_path, count=2, insurer_username="rival_ins", start=300)
    import_file(write_csv(tmp_path / "earlier.csv", [payout(submitted[i], 10, 1) for i in (0, 1)]),
                event="2026年5月冰雹")
    return {"farmers": submitted, "strangers": returned + others}


ROW = st.tuples(
    st.integers(0, 7),                          # which farmer
    st.booleans(),                              # under another name
    st.sampled_from(["50.00", "999.99", "1000.00", "1000.01", "1399.99", "1400.00", "1400.01", "3000.00"]),
    st.integers(1, 120),                        # report → payment (or → agreement, unpaid)
    st.one_of(st.none(), st.integers(0, 30)),   # agreement → payment; None: unpaid
    st.booleans(),                              # loss the day before the report (as the earlier list) or two
)


def _payout(farmer, other_name, amount, settle, pay, same_loss):
    if pay is not None:
        pay = min(pay, settle - 1)      # agreed after the survey, the day after the report
    row = payout(farmer, settle, pay, paid=None if pay is None else amount, agreed=amount,
                 name=farmer[0] + "丙" if other_name else None)
    if not same_loss:
        row[2] = REPORTED - timedelta(days=2)
    return row


def _imported(tmp_path, data):
    lst = service.import_payouts(scope(), write_csv(tmp_path / "p.csv", data), "p.csv", user("insurer"))
    _db.session.flush()
    return lst


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(ROW, min_size=1, max_size=14))
def test_matches_and_flags_are_those_the_sql_placed(scope_world, db, tmp_path, drawn):
    data = [_payout(scope_world["farmers"][i], *rest) for i, *rest in drawn]
    try:
        lst = _imported(tmp_path, data)
        stored = db.session.execute(sa.select(PayoutRow.row_no, PayoutRow.uw_list_id, PayoutRow.uw_row_no)
                                    .where(PayoutRow.list_id == lst.id)).all()
        assert {r.row_no: (r.uw_list_id, r.uw_row_no) for r in stored} == reference_matches(lst)
        flags = db.session.execute(sa.select(PayoutFlag.row_no, PayoutFlag.kind, PayoutFlag.detail)
                                   .where(PayoutFlag.list_id == lst.id).order_by(PayoutFlag.id)).all()
        assert sorted((r.row_no, r.kind.value, r.detail) for r in flags) == reference_flags(lst)
        assert lst.flag_count == len(flags)
        # within a row, the kinds come in the reference's order (the flags page lists them by row, then id)
        order = list(PayoutFlagKind)
        by_row: dict[int, list[str]] = {}
        for r in flags:
            by_row.setdefault(r.row_no, []).append(r.kind)
        assert all(kinds == sorted(kinds, key=order.index) for kinds in by_row.values())
    finally:
        db.session.rollback()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 7), st.integers(0, 3)), min_size=1, max_size=10),
       st.booleans())
def test_a_farmer_outside_the_scopes_lists_is_refused_by_row_as_before(scope_world, db, tmp_path, drawn, bad_cell):
    """Every payout row of a farmer of a returned claim or another insurer is an error naming its row, in file
    order; a row with a bad cell anywhere reports that alone (matching errors come only for an otherwise clean
    file)."""
    farmers, strangers = scope_world["farmers"], scope_world["strangers"]
    data = [payout(strangers[k] if outside else farmers[i], 10, 1) for outside, i, k in drawn]
    if bad_cell:
        data[-1][5] = "50元"
    expected = ([(len(data) + 1, "核定赔款（元）")] if bad_cell else
                [(n + 2, "证件号码") for n, (outside, _i, _k) in enumerate(drawn) if outside])
    try:
        if not expected:
            assert _imported(tmp_path, data).rows == len(data)
            return
        with pytest.raises(DomainError) as info:
            _imported(tmp_path, data)
        assert [(e.row, e.column) for e in info.value.findings.errors] == expected
    finally:
        db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PayoutRow)
                             .where(PayoutRow.list_id.not_in(sa.select(PayoutList.id).where(
                                 PayoutList.event == "2026年5月冰雹")))) == 0
