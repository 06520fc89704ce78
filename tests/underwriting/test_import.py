from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from agri_insurance.errors import DomainError
from agri_insurance.underwriting import service
from agri_insurance.underwriting.models import FlagKind, UnderwritingFlag, UnderwritingList, UnderwritingRow
from tests.factories import make_insurer, make_user
from tests.subsidies.factories import assign, user
from tests.underwriting.conftest import claim_for
from tests.underwriting.factories import HEADERS, rows, write_csv, write_xlsx


def run_import(db, claim, path):
    try:
        outcome = service.import_list(claim, path, path.name, user("insurer"))
        db.session.commit()
        return outcome
    except DomainError:
        db.session.rollback()
        raise


def errors_of(db, claim, path):
    with pytest.raises(service.ListHasErrors) as info:
        run_import(db, claim, path)
    return info.value.findings


def stored_rows(db) -> int:
    return db.session.scalar(sa.select(sa.func.count(UnderwritingRow.row_no)))


@pytest.mark.parametrize("writer", [write_xlsx, write_csv])
def test_valid_list_is_stored_with_totals_and_reconciles(world, db, tmp_path, small_list, writer):
    claim = claim_for(small_list)
    suffix = "xlsx" if writer is write_xlsx else "csv"
    outcome = run_import(db, claim, writer(tmp_path / f"list.{suffix}", small_list))
    lst = outcome.list
    assert (lst.rows, lst.households) == (40, 40)
    assert lst.total_premium == D("2000.00") and lst.total_farmer_premium == D("400.00")
    assert outcome.reconciled and not service.reconcile(claim, lst) and lst.flag_count == 0
    assert stored_rows(db) == 40


def test_gbk_csv_from_wps_is_read(world, db, tmp_path, small_list):
    claim = claim_for(small_list)
    run_import(db, claim, write_csv(tmp_path / "gbk.csv", small_list, encoding="gb18030"))
    assert db.session.scalar(sa.select(UnderwritingRow.name).where(UnderwritingRow.row_no == 2)) == "农户0"


def test_id_number_stored_as_a_number_by_a_spreadsheet_is_refused(world, db, tmp_path, small_list):
    data = [list(r) for r in small_list]
    data[3][1] = float(data[3][1][:17])          # what Excel does to a long digit string
    findings = errors_of(db, claim_for(small_list), write_xlsx(tmp_path / "num.xlsx", data))
    [error] = findings.errors
    assert (error.row, error.column) == (5, "证件号码") and "存成了数字" in error.message
    data = [list(r) for r in small_list]
    data[0][1] = "3.61128E+17"                   # the same, once saved as csv
    [error] = errors_of(db, claim_for(small_list, period="二"), write_csv(tmp_path / "num.csv", data)).errors
    assert error.row == 2 and "存成了数字" in error.message
    assert stored_rows(db) == 0


def test_full_width_digits_and_stray_spaces_are_normalised(world, db, tmp_path, small_list):
    data = [list(r) for r in small_list]
    full_width = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
    data[0][1] = data[0][1].translate(full_width)
    data[1][1] = f"  {data[1][1]} "
    data[2][0] = " 农户2 "
    data[3][5] = "１０．００"              # full-width point too (spreadsheets.parse_number)
    outcome = run_import(db, claim_for(small_list), write_xlsx(tmp_path / "fw.xlsx", data))
    assert outcome.normalised_cells == 4
    stored = db.session.scalar(sa.select(UnderwritingRow).where(UnderwritingRow.row_no == 2))
    assert stored.id_number == small_list[0][1]
    assert db.session.scalar(sa.select(UnderwritingRow.name).where(UnderwritingRow.row_no == 4)) == "农户2"


def test_lower_case_x_is_accepted_as_x(world, db, tmp_path):
    data = rows(60)
    with_x = next(i for i, r in enumerate(data) if r[1].endswith("X"))
    data[with_x][1] = data[with_x][1][:-1] + "x"
    run_import(db, claim_for(data), write_csv(tmp_path / "x.csv", data))
    # stored sealed: read back through the model and compared in clear
    assert any(n.endswith("X") for n in db.session.scalars(sa.select(UnderwritingRow.id_number)))


def test_wrong_check_character_names_row_and_masks_the_number(world, db, tmp_path, small_list):
    data = [list(r) for r in small_list]
    good = data[7][1]
    data[7][1] = good[:17] + ("0" if good[17] != "0" else "1")
    [error] = errors_of(db, claim_for(small_list), write_csv(tmp_path / "bad.csv", data)).errors
    assert error.row == 9 and "校验位" in error.message
    assert good[6:14] not in error.message           # no birth date in the message


def test_thousand_separators_accepted_only_in_the_standard_grouping(world, db, tmp_path):
    data = rows(3, premium="1234.00", farmer="246.80")
    data[0][8] = "1,234.00"
    data[1][7] = "24,680.00"
    run_import(db, claim_for(data), write_csv(tmp_path / "sep.csv", data))
    assert db.session.scalar(sa.select(sa.func.sum(UnderwritingRow.premium))) == D("3702.00")
    bad = [list(r) for r in data]
    bad[0][8] = "12,34.00"
    [error] = errors_of(db, claim_for(data, period="二"), write_csv(tmp_path / "sep2.csv", bad)).errors
    assert error.column == "保费（元）" and "不是数字" in error.message


def test_units_in_the_wrong_column(world, db, tmp_path, small_list):
    data = [list(r) for r in small_list]
    data[0][5] = "10亩"                            # unit typed into the quantity
    data[1][6] = "10"                             # quantity typed into the unit column
    data[2][6] = "头"                              # wrong unit for rice
    findings = errors_of(db, claim_for(small_list), write_csv(tmp_path / "units.csv", data))
    messages = {(e.row, e.column): e.message for e in findings.errors}
    assert "含有单位" in messages[(2, "承保数量")]
    assert "可能与承保数量列错位" in messages[(3, "单位")]
    assert "单位应为“亩”" in messages[(4, "单位")]


def test_missing_and_unknown_columns(world, db, tmp_path, small_list):
    headers = [h for h in HEADERS if h != "保费（元）"] + ["备注"]
    data = [r[:8] + r[9:] + ["x"] for r in small_list]
    findings = errors_of(db, claim_for(small_list), write_csv(tmp_path / "cols.csv", data, headers=headers))
    messages = " ".join(e.message for e in findings.errors)
    assert "缺少列“保费（元）”" in messages and "未知的列名“备注”" in messages


def test_other_product_in_the_list_is_refused(world, db, tmp_path, small_list):
    data = [list(r) for r in small_list]
    data[5][4] = "油菜"
    [error] = errors_of(db, claim_for(small_list), write_csv(tmp_path / "p.csv", data)).errors
    assert error.row == 7 and "险种" in error.column


def test_bad_row_at_the_end_of_a_large_file_stores_nothing(world, db, tmp_path):
    data = rows(20_000)
    claim = claim_for(data)
    data[-1][8] = "-5"
    findings = errors_of(db, claim, write_csv(tmp_path / "big.csv", data))
    assert findings.error_count == 1 and findings.errors[0].row == 20_001
    assert stored_rows(db) == 0
    assert db.session.scalar(sa.select(sa.func.count(UnderwritingList.id))) == 0


def test_a_new_valid_file_replaces_the_old_list(world, db, tmp_path, small_list):
    claim = claim_for(small_list)
    run_import(db, claim, write_csv(tmp_path / "a.csv", small_list))
    outcome = run_import(db, claim, write_csv(tmp_path / "b.csv", small_list[:10]))
    assert stored_rows(db) == 10
    lst = db.session.scalar(sa.select(UnderwritingList))
    assert not outcome.reconciled and any("承保户数" in p for p in service.reconcile(claim, lst))


def test_duplicates_in_the_list_and_across_insurers_are_flagged(world, db, tmp_path, small_list):
    _flagged_across_insurers(db, tmp_path, small_list)


def _flagged_across_insurers(db, tmp_path, small_list):
    """Our list (one farmer twice), then another insurer's draft holding one of our farmers; returns theirs."""
    data = [list(r) for r in small_list]
    data[10][1] = data[0][1]                       # the same farmer twice in one list
    run_import(db, claim_for(data), write_csv(tmp_path / "mine.csv", data))
    flags = db.session.scalars(sa.select(UnderwritingFlag)).all()
    assert {(f.kind, f.row.row_no) for f in flags} == {(FlagKind.DUPLICATE_IN_LIST, 2),
                                                       (FlagKind.DUPLICATE_IN_LIST, 12)}

    other = make_insurer()
    assign(insurer=other, county_code="361127")
    make_user("other_ins", __import__("agri_insurance.auth.models", fromlist=["Role"]).Role.INSURER, insurer=other)
    theirs = rows(5, start=100, region="361127") + [list(small_list[3])]   # one of our farmers, insured again
    claim = claim_for(theirs, insurer_username="other_ins", county_code="361127")
    service.import_list(claim, write_csv(tmp_path / "theirs.csv", theirs), "theirs.csv", user("other_ins"))
    db.session.commit()
    cross = db.session.scalars(sa.select(UnderwritingFlag).where(
        UnderwritingFlag.kind == FlagKind.DUPLICATE_OTHER_INSURER)).all()
    assert sorted(f.row.row_no for f in cross) == [5, 7]   # both sides are flagged
    counts = dict(db.session.execute(sa.select(UnderwritingList.claim_id, UnderwritingList.flag_count)).all())
    assert sorted(counts.values()) == [1, 3]
    return claim


def test_a_flag_against_another_insurers_draft_does_not_name_it_to_the_bureau(world, db, tmp_path, small_list,
                                                                               login):
    from tests.factories import read_text

    theirs = _flagged_across_insurers(db, tmp_path, small_list)
    mine = db.session.scalar(sa.select(UnderwritingList.claim_id).where(UnderwritingList.claim_id != theirs.id))
    assert login("insurer").post(f"/subsidies/claims/{mine}/submit").status_code == 302
    page = read_text(login("county_agri").get(f"/underwriting/claims/{mine}"))
    assert "另见其他机构尚未提交的申请" in page and f"另见补贴申请 #{theirs.id}" not in page
    assert f"另见补贴申请 #{theirs.id}" in read_text(login("admin").get(f"/underwriting/claims/{mine}"))


def test_same_insurer_other_claim_and_household_limit(world, db, tmp_path):
    from tests.subsidies.factories import product

    product("rice").household_limit = D("15")
    db.session.commit()
    first = rows(5)
    run_import(db, claim_for(first), write_csv(tmp_path / "q1.csv", first))
    second = rows(5, quantity="20.00")              # the same five farmers, second period, above 15 亩
    run_import(db, claim_for(second, period="2026年第二季度"), write_csv(tmp_path / "q2.csv", second))
    kinds = db.session.execute(sa.select(UnderwritingFlag.kind, sa.func.count()).group_by(UnderwritingFlag.kind)).all()
    assert dict(kinds) == {FlagKind.DUPLICATE_SAME_INSURER: 10, FlagKind.OVER_HOUSEHOLD_MAX: 5}


def test_returned_claims_do_not_count_as_double_insurance(world, db, tmp_path, small_list):
    from agri_insurance.subsidies import service as subsidy_service

    first = claim_for(small_list)
    run_import(db, first, write_csv(tmp_path / "a.csv", small_list))
    subsidy_service.submit_claim(first, user("insurer"))
    subsidy_service.return_claim(first, "重报", user("county_agri"))
    db.session.commit()
    run_import(db, claim_for(small_list), write_csv(tmp_path / "b.csv", small_list))
    assert db.session.scalar(sa.select(sa.func.count(UnderwritingFlag.id))) == 0


@pytest.mark.parametrize("writer", [write_xlsx, write_csv])
def test_control_characters_pasted_from_word_are_refused_naming_row_and_column(world, db, tmp_path, small_list,
                                                                               writer):
    data = [list(r) for r in small_list]
    # A vertical tab (the list could never be exported again); xlsx files hold it escaped, as Excel writes it.
    data[3][0] = "王_x000B_小明" if writer is write_xlsx else "王\x0b小明"
    data[5][3] = "第1\n村"                         # a line break inside the cell
    suffix = "xlsx" if writer is write_xlsx else "csv"
    findings = errors_of(db, claim_for(small_list), writer(tmp_path / f"ctl.{suffix}", data))
    assert [(e.row, e.column) for e in findings.errors] == [(5, "姓名/名称"), (7, "村")]
    assert all("控制字符" in e.message for e in findings.errors)
    assert stored_rows(db) == 0


def test_removing_a_list_recounts_the_flags_it_placed_on_other_lists(world, db, tmp_path):
    first = rows(5)
    q1 = claim_for(first)
    run_import(db, q1, write_csv(tmp_path / "q1.csv", first))
    second = claim_for(first, period="2026年第二季度")          # the same five farmers again
    run_import(db, second, write_csv(tmp_path / "q2.csv", first))
    db.session.expire_all()
    assert service.list_of(q1).flag_count == 5
    others = rows(5, start=100)                                # the second list replaced by other farmers
    run_import(db, second, write_csv(tmp_path / "q2b.csv", others))
    db.session.expire_all()
    assert service.list_of(q1).flag_count == 0                 # was still 5: "核查标记 5 处" for nothing
    assert db.session.scalar(sa.select(sa.func.count(UnderwritingFlag.id))) == 0


def test_an_import_does_not_replace_the_list_of_a_claim_submitted_meanwhile(world, db, tmp_path, small_list,
                                                                           monkeypatch):
    from agri_insurance.subsidies.models import SubsidyClaim

    claim = claim_for(small_list)
    lock = service.lock_for_update

    def submitted_meanwhile(obj):
        # While the job read the file, the insurer submitted the claim in another transaction (committed just
        # before the job takes the claim's lock; on the rows' own connection the COPY is over by then).
        db.session.execute(sa.update(SubsidyClaim.__table__).where(SubsidyClaim.id == claim.id)
                           .values(status="submitted"))
        return lock(obj)

    monkeypatch.setattr(service, "lock_for_update", submitted_meanwhile)
    with pytest.raises(DomainError, match="导入期间申请已被提交或修改"):
        run_import(db, claim, write_csv(tmp_path / "late.csv", small_list))
    assert stored_rows(db) == 0 and service.list_of(claim) is None


def test_a_zip_bomb_or_a_far_cell_is_refused_in_words_before_reading(world, db, tmp_path, small_list, monkeypatch):
    from agri_insurance import list_files
    from tests.spreadsheet_bombs import inflating_to, with_far_cell

    claim = claim_for(small_list)
    good = write_xlsx(tmp_path / "list.xlsx", small_list).read_bytes()
    # the list's own limit is hundreds of MB (a million rows); a smaller one keeps the test's bomb small
    monkeypatch.setattr(list_files, "LIST_MAX_INFLATED_BYTES", 20 * 1024 * 1024)
    bomb = tmp_path / "bomb.xlsx"
    bomb.write_bytes(inflating_to(good, 25))
    with pytest.raises(DomainError, match="文件解压后超过 20 MB"):
        run_import(db, claim, bomb)
    wide = tmp_path / "wide.xlsx"
    wide.write_bytes(with_far_cell(good, None, 2, 16_384))  # calamine would hold 16,384 columns of every row
    with pytest.raises(DomainError, match="工作表用到了第 16,384 列"):
        run_import(db, claim, wide)
    assert stored_rows(db) == 0
