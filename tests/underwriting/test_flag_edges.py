"""The underwriting list's reconciliation and flags at their edges: a fen of difference, each figure's words, the flags'
kind, detail and other list on both sides, the product's and year's scope, the counts the claim's review waits on."""

from decimal import Decimal as D
from types import SimpleNamespace

import sqlalchemy as sa

from agri_insurance.extensions import db as _db
from agri_insurance.subsidies import service as subsidy_service
from agri_insurance.underwriting import service
from agri_insurance.underwriting.models import FlagKind, UnderwritingFlag, UnderwritingList
from tests.factories import county
from tests.subsidies.factories import assign, product, user
from tests.underwriting.conftest import claim_for
from tests.underwriting.factories import rows, totals, write_csv
from tests.underwriting.test_import import run_import


def figures(quantity="1234.56", sum_insured="24691.20", premium="1234.56", farmer="246.91", households=40, rows=41):
    return dict(quantity=D(quantity), sum_insured=D(sum_insured), premium=D(premium), farmer=D(farmer),
                households=households, rows=rows)


def reconciled(listed: dict, claimed: dict) -> list[str]:
    lst = SimpleNamespace(total_quantity=listed["quantity"], total_sum_insured=listed["sum_insured"],
                          total_premium=listed["premium"], total_farmer_premium=listed["farmer"],
                          households=listed["households"], rows=listed["rows"])
    claim = SimpleNamespace(quantity=claimed["quantity"], sum_insured=claimed["sum_insured"],
                            total_premium=claimed["premium"], farmer_premium=claimed["farmer"],
                            households=claimed["households"], list_rows=claimed["rows"])
    return service.reconcile(claim, lst)


def test_a_list_within_a_fen_of_the_claim_reconciles(db):
    assert reconciled(figures(), figures()) == []
    a_fen_more = figures("1234.57", "24691.21", "1234.57", "246.92")
    a_fen_less = figures("1234.55", "24691.19", "1234.55", "246.90")
    assert reconciled(a_fen_more, figures()) == [] and reconciled(a_fen_less, figures()) == []


def test_each_figure_more_than_a_fen_off_is_named_with_both_sums(db):
    listed = figures("1234.58", "24691.18", "1234.54", "246.93", households=39, rows=42)
    assert reconciled(listed, figures()) == [
        "承保数量：清单合计 1,234.58，申请填报 1,234.56",
        "保险金额：清单合计 24,691.18，申请填报 24,691.20",
        "保费：清单合计 1,234.54，申请填报 1,234.56",
        "农户自缴保费：清单合计 246.93，申请填报 246.91",
        "承保户数：清单 39 户，申请填报 40 户",
        "清单行数：清单 42 行，申请填报 41 行",
    ]
    # one at a time: each figure is compared with its own
    assert reconciled(figures(premium="1000"), figures()) == ["保费：清单合计 1,000.00，申请填报 1,234.56"]
    assert reconciled(figures(rows=40), figures()) == ["清单行数：清单 40 行，申请填报 41 行"]
    assert reconciled(figures(households=41), figures()) == ["承保户数：清单 41 户，申请填报 40 户"]


def flags(db, list_id=None):
    query = sa.select(UnderwritingFlag).order_by(UnderwritingFlag.list_id, UnderwritingFlag.row_no,
                                                 UnderwritingFlag.kind)
    if list_id is not None:
        query = query.where(UnderwritingFlag.list_id == list_id)
    return [(f.list_id, f.row_no, f.kind, f.other_list_id, f.detail) for f in db.session.scalars(query)]


def test_a_farmer_above_the_household_limit_is_flagged_with_the_limit(world, db, tmp_path):
    product("rice").household_limit = D("15.5")
    db.session.commit()
    data = (rows(1, start=0, quantity="15.50") + rows(1, start=1, quantity="15.51")
            + rows(1, start=2, quantity="8.00") + rows(1, start=3) + rows(1, start=2, quantity="7.51"))
    claim = claim_for(data)
    outcome = run_import(db, claim, write_csv(tmp_path / "limit.csv", data))
    lst = outcome.list
    detail = "每户上限 15.50 亩"
    assert flags(db) == [
        (lst.id, 3, FlagKind.OVER_HOUSEHOLD_MAX, None, detail),
        (lst.id, 4, FlagKind.DUPLICATE_IN_LIST, None, None),
        (lst.id, 4, FlagKind.OVER_HOUSEHOLD_MAX, None, detail),
        (lst.id, 6, FlagKind.DUPLICATE_IN_LIST, None, None),
        (lst.id, 6, FlagKind.OVER_HOUSEHOLD_MAX, None, detail),
    ]
    db.session.expire_all()
    assert lst.flag_count == 5 and service.flagged_rows(claim) == 5


def test_a_product_without_a_household_limit_flags_no_household(world, db, tmp_path):
    product("rice").household_limit = None
    db.session.commit()
    data = rows(2, quantity="100000.00")
    claim = claim_for(data)
    run_import(db, claim, write_csv(tmp_path / "nolimit.csv", data))
    assert flags(db) == [] and service.flagged_rows(claim) == 0


def test_a_claim_without_a_list_has_no_flagged_rows(world, db):
    assert service.flagged_rows(claim_for(rows(1))) == 0


def test_a_farmer_in_another_claim_is_flagged_on_both_sides_naming_the_other_list(world, db, tmp_path):
    first_rows = rows(3)
    first = claim_for(first_rows)
    one = run_import(db, first, write_csv(tmp_path / "q1.csv", first_rows)).list
    second_rows = rows(2, start=10) + [list(first_rows[2]), list(first_rows[0])]
    second = claim_for(second_rows, period="2026年第二季度")
    two = run_import(db, second, write_csv(tmp_path / "q2.csv", second_rows)).list
    same = FlagKind.DUPLICATE_SAME_INSURER
    assert flags(db) == [(one.id, 2, same, two.id, None), (one.id, 4, same, two.id, None),
                         (two.id, 4, same, one.id, None), (two.id, 5, same, one.id, None)]
    db.session.expire_all()
    assert (service.flagged_rows(first), service.flagged_rows(second)) == (2, 2)
    assert (one.flag_count, two.flag_count) == (2, 2)
    # a third list of other farmers flags nothing, and leaves the first two's flags as they were
    before = flags(db)
    third_rows = rows(2, start=20)
    third = claim_for(third_rows, period="2026年第三季度")
    assert run_import(db, third, write_csv(tmp_path / "q3.csv", third_rows)).list.flag_count == 0
    assert flags(db) == before
    db.session.expire_all()
    assert (one.flag_count, two.flag_count, service.flagged_rows(third)) == (2, 2, 0)


def test_a_farmer_listed_twice_here_and_once_elsewhere_flags_every_row(world, db, tmp_path):
    first_rows = rows(2)
    first = claim_for(first_rows)
    one = run_import(db, first, write_csv(tmp_path / "q1.csv", first_rows)).list
    second_rows = [list(first_rows[1])] + rows(1, start=10) + [list(first_rows[1])]
    second = claim_for(second_rows, period="2026年第二季度")
    two = run_import(db, second, write_csv(tmp_path / "q2.csv", second_rows)).list
    same = FlagKind.DUPLICATE_SAME_INSURER
    assert flags(db) == [(one.id, 3, same, two.id, None),
                         (two.id, 2, FlagKind.DUPLICATE_IN_LIST, None, None), (two.id, 2, same, one.id, None),
                         (two.id, 4, FlagKind.DUPLICATE_IN_LIST, None, None), (two.id, 4, same, one.id, None)]
    db.session.expire_all()
    assert (one.flag_count, two.flag_count) == (1, 4)


def claim_of(data, product_code="rice", year=2026, period="2026年第一季度"):
    t = totals(data)
    actor = user("insurer")
    claim = subsidy_service.save_claim(None, {
        "region_id": county("361128").id, "product_id": product(product_code).id, "year": year, "period": period,
        "quantity": t["quantity"], "unit": "亩", "sum_insured": t["sum_insured"], "premium_rate": D(5),
        "total_premium": t["premium"], "farmer_premium": t["farmer"], "households": t["households"],
        "list_rows": t["rows"], "notes": None}, actor.insurer, actor)
    _db.session.commit()
    return claim


def test_a_farmer_insured_for_another_product_or_year_is_not_insured_twice(world, db, tmp_path):
    assign(product_code="rapeseed")
    db.session.commit()
    farmers = rows(3)
    run_import(db, claim_of(farmers), write_csv(tmp_path / "rice.csv", farmers))
    rapeseed = [[*r[:4], "油菜", *r[5:]] for r in farmers]
    run_import(db, claim_of(rapeseed, "rapeseed"), write_csv(tmp_path / "rapeseed.csv", rapeseed))
    last_year = claim_of(farmers, year=2025, period="2025年第一季度")
    run_import(db, last_year, write_csv(tmp_path / "2025.csv", farmers))
    assert flags(db) == []
    assert set(db.session.scalars(sa.select(UnderwritingList.flag_count))) == {0}


def test_only_the_same_products_and_years_lists_are_named_when_a_farmer_is_insured_twice(world, db, tmp_path):
    """The farmers' rows looked up once they are known to be insured twice: of the product and year, not returned."""
    assign(product_code="rapeseed")
    db.session.commit()
    farmers = rows(2)
    returned = claim_of(farmers, period="2026年第一季度（退回）")
    run_import(db, returned, write_csv(tmp_path / "returned.csv", farmers))
    subsidy_service.submit_claim(returned, user("insurer"))
    subsidy_service.return_claim(returned, "重报", user("county_agri"))
    db.session.commit()
    rapeseed = [[*r[:4], "油菜", *r[5:]] for r in farmers]
    run_import(db, claim_of(rapeseed, "rapeseed"), write_csv(tmp_path / "rapeseed.csv", rapeseed))
    run_import(db, claim_of(farmers, year=2025, period="2025年第一季度"), write_csv(tmp_path / "2025.csv", farmers))
    first = run_import(db, claim_of(farmers), write_csv(tmp_path / "first.csv", farmers)).list
    assert flags(db) == []
    second = run_import(db, claim_of(farmers, period="2026年第二季度"), write_csv(tmp_path / "second.csv", farmers)).list
    same = FlagKind.DUPLICATE_SAME_INSURER
    assert flags(db) == [(first.id, 2, same, second.id, None), (first.id, 3, same, second.id, None),
                         (second.id, 2, same, first.id, None), (second.id, 3, same, first.id, None)]


def test_another_insurers_list_is_flagged_as_another_insurers_on_both_sides(world, db, tmp_path):
    from agri_insurance.roles import Role
    from tests.factories import make_insurer, make_user

    mine_rows = rows(3)
    mine = run_import(db, claim_for(mine_rows), write_csv(tmp_path / "mine.csv", mine_rows)).list
    other = make_insurer()
    assign(insurer=other, county_code="361127")
    make_user("other_ins", Role.INSURER, insurer=other)
    theirs_rows = rows(1, start=100, region="361127") + [list(mine_rows[1])]
    theirs = claim_for(theirs_rows, insurer_username="other_ins", county_code="361127")
    outcome = service.import_list(theirs, write_csv(tmp_path / "theirs.csv", theirs_rows), "theirs.csv",
                                  user("other_ins"))
    db.session.commit()
    two = outcome.list
    kind = FlagKind.DUPLICATE_OTHER_INSURER
    assert flags(db) == [(mine.id, 3, kind, two.id, None), (two.id, 3, kind, mine.id, None)]
    db.session.expire_all()
    assert (mine.flag_count, two.flag_count) == (1, 1)


def test_the_rows_of_more_people_than_one_look_up_takes_are_all_found_once(world, db, tmp_path):
    """SQLite looks the people up 5,000 at a time: the 5,001st is in the second look-up, and in no other."""
    from agri_insurance.underwriting.models import UnderwritingRow

    farmers = rows(1)
    claim = claim_for(farmers)
    lst = run_import(db, claim, write_csv(tmp_path / "one.csv", farmers)).list
    real = db.session.scalar(sa.select(UnderwritingRow.__table__.c.id_hash))
    nobody = sa.select(UnderwritingList.id).where(sa.false())
    for hashes in ([f"{i:064x}" for i in range(5000)] + [real], [real] + [f"{i:064x}" for i in range(5000)]):
        found = list(service._rows_of_people(hashes, claim, nobody))
        assert [(r.id_hash, r.list_id, r.row_no) for r in found] == [(real, lst.id, 2)]
