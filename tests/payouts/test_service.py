"""Payout lists: the measured figures hand-computed from the stored rows, the flags, the county's review."""

from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from agri_insurance.audit.models import AuditEntry
from agri_insurance.errors import DomainError
from agri_insurance.payouts import service
from agri_insurance.payouts.models import PayoutFlag, PayoutFlagKind, PayoutRow
from agri_insurance.subsidies.models import ClaimStatus
from tests.factories import county
from tests.payouts.factories import import_file, insured, payout, write_csv, write_xlsx
from tests.subsidies.factories import product, user


def kinds(db, lst) -> dict[int, set[str]]:
    found: dict[int, set[str]] = {}
    for row_no, kind in db.session.execute(sa.select(PayoutFlag.row_no, PayoutFlag.kind)
                                           .where(PayoutFlag.list_id == lst.id)):
        found.setdefault(row_no, set()).add(kind.value)
    return found


def test_loss_ratio_and_settlement_days_are_the_hand_computed_figures(world, db, tmp_path):
    farmers = insured(tmp_path, count=10)          # premium 10 × 50.00 = 500.00
    # report → payment 10, 20, 30, 40, 100 days; agreement → payment 2, 5, 10, 11, 30 days; 50.00 each
    data = [payout(farmers[i], settle, pay) for i, (settle, pay) in enumerate(
        [(10, 2), (20, 5), (30, 10), (40, 11), (100, 30)])]
    data.append(payout(farmers[5], 5, None))       # agreed, not paid yet (and late by now)
    lst = import_file(write_xlsx(tmp_path / "p.xlsx", data))
    [m] = service.measured_service(lst.insurer_id, [county().id], [2026])
    assert (m.claims_paid, m.premium, m.premium_rows) == (D("250.00"), D("500.00"), 10)
    assert m.loss_ratio == D("0.5000")
    assert (m.settle_median, m.settle_p90) == (30.0, 76.0)   # 30; 40 + 0.6 × (100 − 40)
    assert (m.paid_rows, m.paid_within_10, m.within_10_share) == (5, 3, D("0.6000"))
    # rows 5, 6 paid late (11 and 30 days), row 6 also slow (100 > 60 days); row 7 agreed long ago, unpaid
    assert kinds(db, lst) == {5: {"paid_late"}, 6: {"paid_late", "slow_settlement"},
                              7: {"paid_late", "slow_settlement"}}
    assert (m.payout_rows, m.flagged_rows, m.flagged_share) == (6, 3, D("0.5000"))


def test_percentiles_of_an_even_number_of_rows_interpolate(world, db, tmp_path):
    farmers = insured(tmp_path, count=4)
    data = [payout(farmers[i], settle, 1) for i, settle in enumerate([3, 8, 9, 40])]
    lst = import_file(write_csv(tmp_path / "p.csv", data))
    [m] = service.measured_service(lst.insurer_id)
    assert (m.settle_median, m.settle_p90) == (8.5, 30.7)  # rounded to 0.01 day      # (8 + 9) / 2; 9 + 0.7 × 31
    assert service.percentile_cont([3, 8, 9, 40], 0.9) == pytest.approx(30.7)


def test_premium_counts_only_submitted_claims_and_figures_rest_on_their_rows(world, db, tmp_path):
    farmers = insured(tmp_path, count=4)
    insured(tmp_path, count=6, start=100, status=ClaimStatus.DRAFT)    # a draft's premium is not counted
    lst = import_file(write_csv(tmp_path / "p.csv", [payout(farmers[0], 10, 1, paid="20.00", agreed="20.00")]))
    [m] = service.measured_service(lst.insurer_id, years=[2026])
    assert (m.premium, m.premium_rows, m.claims_paid, m.loss_ratio) == (D("200.00"), 4, D("20.00"), D("0.1000"))
    assert service.measured_service(lst.insurer_id, years=[2025]) == []


def test_flags_over_sum_insured_other_name_and_paid_twice(world, db, tmp_path):
    farmers = insured(tmp_path, count=3)           # sum insured 1,000.00 each
    data = [payout(farmers[0], 10, 1, paid="1200.00", agreed="1200.00"),
            payout(farmers[1], 10, 1, name="别人"),
            payout(farmers[2], 10, 1), payout(farmers[2], 12, 1)]
    lst = import_file(write_csv(tmp_path / "p.csv", data))
    assert kinds(db, lst) == {2: {"over_sum_insured"}, 3: {"name_not_in_list"}, 5: {"paid_twice"}}
    assert lst.flag_count == 3


def test_a_farmer_not_in_the_underwriting_list_is_an_error_naming_the_row(world, db, tmp_path):
    from tests.underwriting.factories import rows

    farmers = insured(tmp_path, count=2)
    stranger = rows(1, start=500)[0]
    with pytest.raises(DomainError) as info:
        import_file(write_csv(tmp_path / "p.csv", [payout(farmers[0], 10, 1), payout(stranger, 10, 1)]))
    db.session.rollback()
    [error] = info.value.findings.errors
    assert (error.row, error.column) == (3, "证件号码") and "不在本机构本县本险种2026年度的承保清单中" in error.message
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PayoutRow)) == 0


def test_matching_is_per_insurer_county_product_and_year_and_skips_returned_claims(world, db, tmp_path):
    from agri_insurance.auth.models import Role
    from tests.factories import make_insurer, make_user
    from tests.subsidies.factories import assign

    rival = make_insurer()
    assign(insurer=rival)
    make_user("other_ins", Role.INSURER, insurer=rival)
    other = insured(tmp_path, count=2, insurer_username="other_ins", start=300)   # another insurer's farmers
    returned = insured(tmp_path, count=2, start=400, status=ClaimStatus.RETURNED)
    mine = insured(tmp_path, count=2)
    for farmer in (other[0], returned[0]):
        with pytest.raises(DomainError):
            import_file(write_csv(tmp_path / "p.csv", [payout(mine[0], 10, 1), payout(farmer, 10, 1)]))
        db.session.rollback()
    lst = import_file(write_csv(tmp_path / "p.csv", [payout(mine[0], 10, 1), payout(mine[1], 10, 1)]))
    matched = db.session.execute(sa.select(PayoutRow.row_no, PayoutRow.uw_list_id, PayoutRow.uw_row_no)
                                 .where(PayoutRow.list_id == lst.id).order_by(PayoutRow.row_no)).all()
    assert [(r.row_no, r.uw_row_no) for r in matched] == [(2, 2), (3, 3)] and all(r.uw_list_id for r in matched)
    with pytest.raises(DomainError):      # another year: not in 2025's lists
        import_file(write_csv(tmp_path / "p.csv", [payout(mine[0], 10, 1)]), year=2025)
    db.session.rollback()


def test_a_new_upload_for_the_same_event_replaces_the_list(world, db, tmp_path):
    farmers = insured(tmp_path, count=3)
    first = import_file(write_csv(tmp_path / "p.csv", [payout(farmers[0], 10, 1)]))
    assert first.rows == 1
    second = import_file(write_csv(tmp_path / "p.csv", [payout(farmers[1], 10, 1), payout(farmers[2], 10, 1)]))
    assert second.rows == 2
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PayoutRow)) == 2
    actions = db.session.scalars(sa.select(AuditEntry.action).where(AuditEntry.action.like("payout_list.%"))
                                 .order_by(AuditEntry.id)).all()
    assert actions == ["payout_list.imported", "payout_list.removed", "payout_list.imported"]


def test_the_county_accepts_a_flag_with_a_comment_once_audited(world, db, tmp_path):
    farmers = insured(tmp_path, count=1)
    lst = import_file(write_csv(tmp_path / "p.csv", [payout(farmers[0], 30, 20)]))
    flag = db.session.scalar(sa.select(PayoutFlag).where(PayoutFlag.kind == PayoutFlagKind.PAID_LATE))
    with pytest.raises(DomainError):
        service.accept_flag(flag, user("county_agri"), "  ")
    with pytest.raises(DomainError):
        service.accept_flag(flag, user("city_agri"), "看过了")
    assert service.flags_waiting(user("county_agri")) == 1
    service.accept_flag(flag, user("county_agri"), "农户外出，协议后联系不上，已核实")
    db.session.commit()
    assert flag.reviewed and flag.comment.startswith("农户外出")
    assert service.flags_waiting(user("county_agri")) == 0
    with pytest.raises(DomainError):
        service.accept_flag(flag, user("county_agri"), "再次")
    db.session.rollback()
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "payout_flag.accepted"))
    assert entry is not None and entry.object_id == str(lst.id)
    assert product("rice").id == lst.product_id


def test_the_demo_pays_two_years_of_its_claims_and_the_pages_have_figures(demo, db):
    from agri_insurance.demo import load_demo_claims, load_demo_payouts
    from agri_insurance.payouts.models import PayoutList

    load_demo_claims()
    db.session.commit()
    assert load_demo_payouts() == 9               # every demo claim but its draft
    db.session.commit()
    assert load_demo_payouts() == 0
    years = set(db.session.scalars(sa.select(PayoutList.year)))
    assert years == {2025, 2026}
    figures = service.measured()
    assert any(m.loss_ratio and m.settle_median for m in figures)
    assert db.session.scalar(sa.select(sa.func.count(PayoutFlag.id))) > 0


def test_the_same_farmer_paid_for_the_same_loss_under_another_event_name_is_flagged(world, db, tmp_path):
    farmers = insured(tmp_path, count=3)
    import_file(write_csv(tmp_path / "a.csv", [payout(farmers[0], 10, 1), payout(farmers[1], 10, 1)]),
                event="6月洪涝")
    # the same flood uploaded again as another event: farmer 0 on the same loss date, farmer 2 new
    later = [payout(farmers[2], 10, 1), payout(farmers[0], 12, 1)]
    second = import_file(write_csv(tmp_path / "b.csv", later), event="6月洪水")
    assert kinds(db, second) == {3: {"paid_twice"}}
    assert second.flag_count == 1
    detail = db.session.scalar(sa.select(PayoutFlag.detail).where(PayoutFlag.list_id == second.id))
    assert detail == "与理赔清单“6月洪涝”第 2 行为同一农户、同一出险日期"
    # another loss date is another event; another product or insurer is another list's business
    other_loss = payout(farmers[1], 10, 1)
    other_loss[2] = other_loss[2].replace(day=other_loss[2].day - 1)
    third = import_file(write_csv(tmp_path / "c.csv", [other_loss]), event="5月冰雹")
    assert kinds(db, third) == {}


def test_within_one_list_the_detail_names_the_farmers_first_row(world, db, tmp_path):
    farmers = insured(tmp_path, count=2)
    lst = import_file(write_csv(tmp_path / "p.csv", [payout(farmers[0], 10, 1), payout(farmers[1], 10, 1),
                                                     payout(farmers[0], 11, 1), payout(farmers[0], 12, 1)]))
    flags = db.session.execute(sa.select(PayoutFlag.row_no, PayoutFlag.detail).where(PayoutFlag.list_id == lst.id)
                               .order_by(PayoutFlag.row_no)).all()
    assert [tuple(f) for f in flags] == [(4, "与第 2 行为同一农户、同一事故"), (5, "与第 2 行为同一农户、同一事故")]


def test_the_evaluation_page_shows_declared_settlement_beside_the_measured_last_term(world, login, db, tmp_path):
    from agri_insurance.auth.models import User
    from agri_insurance.reference.models import Insurer
    from tests.evaluation.factories import make_evaluation_round
    from tests.factories import read_text

    farmers = insured(tmp_path, count=5)
    # report → payment 10, 20, 30, 40, 100 days (mean 40.00); agreement → payment 2, 5, 10, 11, 30 (3 of 5 in 10 days)
    import_file(write_csv(tmp_path / "p.csv", [payout(farmers[i], settle, pay) for i, (settle, pay) in enumerate(
        [(10, 2), (20, 5), (30, 10), (40, 11), (100, 30)])]))
    paying = db.session.scalar(sa.select(Insurer.short_name).join(User, User.insurer_id == Insurer.id)
                               .where(User.username == "insurer"))
    other = db.session.scalar(sa.select(Insurer.short_name).where(Insurer.short_name != paying).order_by(Insurer.id))
    rnd, _bids = make_evaluation_round({paying: {"avg_settlement_days": D("15"), "on_time_settlement_pct": D("95")},
                                        other: {"avg_settlement_days": D("10"), "on_time_settlement_pct": D("99")}})
    rnd.term_start_year = 2027                      # the last term: 2024–2026, the lists' year
    db.session.commit()
    rows = {r.insurer_name: r for r in service.declared_versus_measured(_bids.values(), 2027)}
    mine = next(r for name, r in rows.items() if r.measured is not None)
    assert (mine.measured.avg_days, mine.measured.on_time_pct, mine.measured.paid_rows) == (D("40.00"), D("60.00"), 5)
    assert (mine.days_difference, mine.pct_difference, mine.days_worse, mine.pct_worse) == (
        D("25.00"), D("-35.00"), True, True)
    assert sum(r.measured is None for r in rows.values()) == 1          # the other bidder paid nothing here
    assert service.declared_versus_measured(_bids.values(), 2030)[0].measured is None   # 2027–2029: nothing
    page = read_text(login("city_agri").get(f"/evaluation/rounds/{rnd.id}"))
    assert "申报与实测理赔服务对比" in page and "+25.00" in page and "-35.00" in page and "差于申报" in page
    assert "无理赔清单" in page


def test_the_announcements_payouts_answers_have_their_one_listener(app):
    from agri_insurance.evaluation.signals import panel_page_parts
    from agri_insurance.tenders.signals import lot_history

    assert panel_page_parts.listeners() == ["agri_insurance.payouts.listeners._declared_versus_measured"]
    assert lot_history.listeners() == ["agri_insurance.payouts.listeners._stored_loss_history"]


def test_the_lot_design_assistant_fills_the_history_from_stored_premium_and_claims(world, login, db, tmp_path):
    from tests.factories import read_text
    from tests.tenders.factories import make_round

    farmers = insured(tmp_path, count=10)          # 2026 rice: premium 10 × 50.00 = 500.00 (submitted claim)
    insured(tmp_path, count=4, start=100, status=ClaimStatus.RETURNED)   # a returned claim's premium is not counted
    import_file(write_csv(tmp_path / "p.csv", [payout(farmers[i], 10, 1, paid="60.00", agreed="60.00")
                                               for i in range(3)]))      # claims 180.00: 36 %
    rnd = make_round(counties=(), term_start_year=2027)
    db.session.commit()
    assert rnd.term_start_year == 2027
    city = login("city_agri")
    page = read_text(city.get(f"/tenders/{rnd.id}/lot-design?region_id={county().id}&from_data=1"))
    assert "水稻, 500.00, 36.00" in page and "已按" in page
    assert service.loss_history(county().id, [2023, 2024, 2025]) == []
    later = make_round(counties=(), term_start_year=2030)            # term before: 2027–2029, nothing stored
    db.session.commit()
    page = read_text(city.get(f"/tenders/{later.id}/lot-design?region_id={county().id}&from_data=1"))
    assert "没有已存的承保清单，请粘贴历史数据" in page and "水稻, 500.00" not in page


def test_the_lot_design_history_by_township_where_the_lists_carry_it(world, login, db, tmp_path):
    from tests.factories import read_text
    from tests.tenders.factories import make_round

    # 2026 rice: five farmers in each township, premium 5 × 50.00 = 250.00 each
    farmers = insured(tmp_path, count=10, townships=("饶丰镇", "油墩街镇"))
    import_file(write_csv(tmp_path / "p.csv", [payout(farmers[i], 10, 1, paid="60.00", agreed="60.00")
                                               for i in (0, 1, 2)]))   # 饶丰镇 120.00 (48 %), 油墩街镇 60.00 (24 %)
    rnd = make_round(counties=(), term_start_year=2027)
    db.session.commit()
    url = f"/tenders/{rnd.id}/lot-design?region_id={county().id}&from_data=1"
    city = login("city_agri")
    page = read_text(city.get(url + "&by_township=1"))
    assert "水稻, 饶丰镇, 250.00, 48.00" in page and "水稻, 油墩街镇, 250.00, 24.00" in page
    assert 'id="by-township" checked' in page
    assert "水稻, 500.00, 36.00" in read_text(city.get(url))            # the county as a whole, as before

    # a claim whose underwriting row was replaced since has no township: the product stays whole, claims all counted
    db.session.execute(sa.update(PayoutRow).where(PayoutRow.row_no == 2).values(uw_list_id=None))
    db.session.commit()
    assert service.loss_history(county().id, [2026], by_township=True) == [
        (product("rice").id, D("500.00"), D("180.00"), 1, None)]
    page = read_text(city.get(url + "&by_township=1"))
    assert "水稻, 500.00, 36.00" in page and "水稻, 饶丰镇" not in page
