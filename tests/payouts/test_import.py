"""The importer both list kinds share (agri_insurance/list_files.py), on real files of each kind: the breakage real
spreadsheets bring is named by row and column, and nothing of a bad file is stored."""

from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from agri_insurance.errors import DomainError
from agri_insurance.payouts.models import PayoutRow
from agri_insurance.underwriting import service as underwriting
from agri_insurance.underwriting.models import UnderwritingRow
from tests.payouts import factories as payout_files
from tests.subsidies.factories import user
from tests.underwriting import factories as uw_files
from tests.underwriting.conftest import claim_for


@dataclass
class Kind:
    """One list kind: its headers, a valid file's rows, how it is imported and where its rows are stored."""

    name: str
    headers: list
    rows: list
    load: object
    table: object
    id_col: int = 1
    amount_col: int = 5        # 承保数量 / 核定赔款（元）
    required_col: int = 2      # 乡镇 / 出险日期: a column the template has


@pytest.fixture(params=["underwriting", "payouts"])
def kind(request, world, db, tmp_path):
    if request.param == "underwriting":
        data = uw_files.rows(5)
        claim = claim_for(data)

        def load(path):
            underwriting.import_list(claim, path, path.name, user("insurer"))
        return Kind("underwriting", uw_files.HEADERS, data, load, UnderwritingRow)
    farmers = payout_files.insured(tmp_path, count=5)
    data = [payout_files.payout(f, 10, 1) for f in farmers]

    def load(path):
        payout_files.import_file(path)
    return Kind("payouts", payout_files.HEADERS, data, load, PayoutRow)


def write(path, kind: Kind, data, headers=None, before=None, notes_sheet=False):
    wb = Workbook()
    ws = wb.active
    if notes_sheet:
        ws.title = "填写说明"
        ws.append(["填写说明：每行一户"])
        ws.append(["证件号码列请设为文本"])
        ws = wb.create_sheet("清单")
    for row in before or []:
        ws.append(row)
    ws.append(headers or kind.headers)
    for row in data:
        ws.append(row)
    wb.save(path)
    return path


def errors(db, kind: Kind, path):
    before = db.session.scalar(sa.select(sa.func.count()).select_from(kind.table))
    with pytest.raises(DomainError) as info:
        kind.load(path)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(kind.table)) == before, "nothing stored"
    return [(e.row, e.column, e.message) for e in info.value.findings.errors]


def stored(db, kind: Kind) -> int:
    db.session.commit()
    return db.session.scalar(sa.select(sa.func.count()).select_from(kind.table))


def copy(rows):
    return [list(r) for r in rows]


def test_id_numbers_stored_as_numbers_are_refused(kind, db, tmp_path):
    data = copy(kind.rows)
    data[1][kind.id_col] = float(data[1][kind.id_col][:17])
    [(row, column, message)] = errors(db, kind, write(tmp_path / "f.xlsx", kind, data))
    assert (row, column) == (3, "证件号码") and "存成了数字" in message


def test_a_wrong_check_character_is_refused_masked(kind, db, tmp_path):
    data = copy(kind.rows)
    good = data[2][kind.id_col]
    data[2][kind.id_col] = good[:17] + ("0" if good[17] != "0" else "1")
    [(row, column, message)] = errors(db, kind, write(tmp_path / "f.xlsx", kind, data))
    assert (row, column) == (4, "证件号码") and "校验位" in message and good[:17] not in message


def test_a_unit_in_a_number_cell_is_refused(kind, db, tmp_path):
    data = copy(kind.rows)
    data[0][kind.amount_col] = "12.5亩" if kind.name == "underwriting" else "50元"
    [(row, column, message)] = errors(db, kind, write(tmp_path / "f.xlsx", kind, data))
    assert (row, column) == (2, kind.headers[kind.amount_col]) and "含有单位" in message


def test_the_data_sheet_behind_an_instructions_sheet_is_found_by_its_header(kind, db, tmp_path):
    kind.load(write(tmp_path / "f.xlsx", kind, kind.rows, notes_sheet=True))
    assert stored(db, kind) == 5


def test_a_title_row_and_a_merged_two_row_header_are_read_and_rows_keep_their_numbers(kind, db, tmp_path):
    # row 1: a title merged across the sheet; rows 2-3: the header, the ID column under a merged group label
    # ("身份信息" over 姓名 and 证件号码), the other headers merged down over both rows (text in row 2)
    upper = ["身份信息", None, *kind.headers[2:]]
    lower = [kind.headers[0], kind.headers[1], *[None] * (len(kind.headers) - 2)]
    path = tmp_path / "f.xlsx"
    wb = Workbook()
    ws = wb.active
    ws.append(["某县农业保险清单"])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(kind.headers))
    ws.append(upper)
    ws.append(lower)
    ws.merge_cells("A2:B2")
    for col in range(3, len(kind.headers) + 1):
        ws.merge_cells(start_row=2, start_column=col, end_row=3, end_column=col)
    for row in kind.rows:
        ws.append(row)
    wb.save(path)
    kind.load(path)
    assert stored(db, kind) == 5
    bad = copy(kind.rows)
    bad[1][kind.id_col] = "123"
    ws.delete_rows(4, 5)
    for row in bad:
        ws.append(row)
    wb.save(path)
    [(row, column, message)] = errors(db, kind, path)
    assert (row, column) == (5, "证件号码") and "18位" in message     # the file's own row number


def test_a_formula_without_a_saved_value_is_named_in_words(kind, db, tmp_path):
    data = copy(kind.rows)
    data[3][kind.amount_col] = f"={kind.rows[0][kind.amount_col] if kind.name == 'payouts' else '10'}*1"
    [(row, column, message)] = errors(db, kind, write(tmp_path / "f.xlsx", kind, data))
    assert (row, column) == (5, kind.headers[kind.amount_col])
    assert "公式" in message and "没有保存它的计算结果" in message and "Excel 或 WPS" in message


def test_a_filled_column_removed_from_the_template_is_an_error(kind, db, tmp_path):
    removed = kind.required_col
    headers = [h for i, h in enumerate(kind.headers) if i != removed]
    data = [[c for i, c in enumerate(r) if i != removed] for r in kind.rows]
    found = errors(db, kind, write(tmp_path / "f.xlsx", kind, data, headers=headers))
    assert (1, kind.headers[removed], f"缺少列“{kind.headers[removed]}”") in found


def test_blank_lines_at_the_end_are_not_rows(kind, db, tmp_path):
    """A sheet whose formatting runs past its data, or a csv ending in lines of commas: those lines are no rows
    (neither counted nor refused); a line with only its first cell empty is a row, and refused for it."""
    import csv

    path = tmp_path / "blank.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(kind.headers)
        writer.writerows([["" if c is None else c.isoformat() if hasattr(c, "isoformat") else c for c in row]
                          for row in kind.rows])
        writer.writerows([[""] * len(kind.headers)] * 3)
    kind.load(path)
    assert stored(db, kind) == 5
    data = copy(kind.rows) + [[None] * len(kind.headers)] * 2
    data[2][0] = None   # the name missing: a row with its other cells filled
    [(row, column, _message)] = errors(db, kind, write(tmp_path / "blank.xlsx", kind, data))
    assert (row, column) == (4, kind.headers[0])


def test_a_gbk_csv_is_read(kind, db, tmp_path):
    writer = uw_files.write_csv if kind.name == "underwriting" else payout_files.write_csv
    kind.load(writer(tmp_path / "f.csv", kind.rows, encoding="gb18030"))
    assert stored(db, kind) == 5


def test_a_zip_bomb_or_a_far_cell_is_refused_in_words_while_the_policies_load(world, db, tmp_path, monkeypatch):
    """The payout import checks the archive in a thread while it loads the underwriting rows to match against:
    a refusal there is still the words of the check, and nothing is stored."""
    from agri_insurance import list_files
    from tests.spreadsheet_bombs import inflating_to, with_far_cell

    farmers = payout_files.insured(tmp_path, count=3)
    good = payout_files.write_xlsx(tmp_path / "p.xlsx", [payout_files.payout(f, 10, 1) for f in farmers]).read_bytes()
    monkeypatch.setattr(list_files, "LIST_MAX_INFLATED_BYTES", 20 * 1024 * 1024)
    bomb = tmp_path / "bomb.xlsx"
    bomb.write_bytes(inflating_to(good, 25))
    wide = tmp_path / "wide.xlsx"
    wide.write_bytes(with_far_cell(good, None, 2, 16_384))
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(good[:len(good) // 2])
    for path, words in ((bomb, "文件解压后超过 20 MB"), (wide, "工作表用到了第 16,384 列"), (broken, "无法读取文件")):
        with pytest.raises(DomainError, match=words):
            payout_files.import_file(path)
        db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PayoutRow)) == 0
    payout_files.import_file(tmp_path / "p.xlsx")
    assert stored(db, Kind("payouts", [], [], None, PayoutRow)) == 3


@pytest.mark.postgres
def test_the_copy_sent_in_parts_from_a_thread_stores_every_row_or_raises_here_and_rolls_back(db):
    """Both list kinds' COPY: sent from a thread, a statement per part; every line lands once, and a line the server
    refuses is raised on the caller's thread (by a later add_line or by close), leaving a connection that rolls
    back; an abort too."""
    from agri_insurance.list_files import BATCH, CopyWriter

    def probe():
        db.session.execute(sa.text("CREATE TEMP TABLE copy_probe (n integer PRIMARY KEY)"))
        return CopyWriter("copy_probe", ("n",), part_rows=BATCH)

    writer = probe()
    for n in range(3 * BATCH + 7):
        writer.add_line(f"{n}\n")
    writer.close()
    assert db.session.execute(sa.text("SELECT count(*), count(DISTINCT n) FROM copy_probe")).one() == (
        3 * BATCH + 7, 3 * BATCH + 7)
    db.session.rollback()

    for bad_at, lines in ((10, 3 * BATCH), (BATCH + 3, BATCH + 5)):  # raised by add_line; by close
        writer = probe()
        with pytest.raises(Exception, match="invalid input syntax|integer"):
            try:
                for n in range(lines):
                    writer.add_line("x\n" if n == bad_at else f"{n}\n")
            except BaseException:
                writer.abort()
                raise
            writer.close()
        db.session.rollback()
        assert db.session.scalar(sa.text("SELECT 1")) == 1

    writer = probe()
    writer.add_line("1\n")
    writer.abort()
    db.session.rollback()
    assert db.session.scalar(sa.text("SELECT count(*) FROM pg_class WHERE relname = 'copy_probe'")) == 0
