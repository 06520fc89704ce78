"""Exports a bureau prints, signs and files: every xlsx set up for A4 (read back with openpyxl), notices laid out as
official documents (python-docx), PDFs with their fonts embedded; and, marked `office`, the files printed to PDF by
LibreOffice as a clerk's office suite would, the pages read back."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
from decimal import Decimal

import pytest
from docx import Document
from docx.shared import Mm
from openpyxl import load_workbook
from pypdf import PdfReader

from agri_insurance import pdf as pdf_module
from agri_insurance.awards import exports as award_exports
from agri_insurance.evaluation import service as evaluation
from tests.awards.factories import insurer_of, make_awarded_round, publish
from tests.evaluation.factories import make_evaluation_round, panel_ready, score_all
from tests.subsidies.factories import assign, make_claim
from tests.tenders.factories import user

FOOTER_PAGES = "第 &P 页 共 &N 页"
FIVE_BIDDERS = ("赣鄱财险", "信江农险", "三清财险", "怀玉财险", "龟峰财险")
FIVE_EXPERTS = ("expert", "expert2", "expert3", "expert4", "expert5")


def _ledger(login, db, claims: int = 3) -> bytes:
    assign()
    for index in range(claims):
        make_claim(status="submitted", period=f"2026年第{index + 1}批", premium=Decimal("12345678.90") + index)
    db.session.commit()
    return login("city_agri").get("/subsidies/ledger.xlsx?year=2026").data


def _evaluated_round(db):
    rnd, _bids = make_evaluation_round({short: {} for short in FIVE_BIDDERS})
    members = panel_ready(rnd, experts=FIVE_EXPERTS)
    for member in members.values():
        score_all(rnd, member)
    evaluation.close_panel(rnd, user("city_agri"))
    db.session.commit()
    return rnd


def _assert_print_ready(ws, title_rows: str, landscape: bool | None = None) -> None:
    assert int(ws.page_setup.paperSize) == 9   # A4
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth == 1
    assert ws.page_setup.fitToHeight == 0                     # as many pages tall as it takes
    assert ws.print_title_rows == title_rows                  # the header row on every page
    assert ws.print_options.gridLines
    assert ws.oddFooter.center.text == FOOTER_PAGES and "&D" in ws.oddFooter.right.text
    assert ws.oddFooter.left.text == "上饶市农业农村局"
    if landscape is not None:
        assert ws.page_setup.orientation == ("landscape" if landscape else "portrait")


def _print_area_rows(ws) -> int:
    area = ws.print_area if isinstance(ws.print_area, str) else ws.print_area[0]
    return int(re.search(r"\$?[A-Z]+\$?(\d+)$", area).group(1))


def test_the_ledger_prints_landscape_one_page_wide_with_its_header_on_every_page(login, db):
    ws = load_workbook(io.BytesIO(_ledger(login, db))).worksheets[0]
    _assert_print_ready(ws, "$3:$3", landscape=True)
    totals = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == "合计")
    signing = [r for r in range(totals, ws.max_row + 1) if str(ws.cell(r, 1).value or "").startswith("经办人（签字）")]
    assert signing and signing[0] > totals                    # the bureau signs under the totals
    assert _print_area_rows(ws) == ws.max_row                 # and both print
    # every column as wide as its longest value: a premium of 12,345,680.90 shows, never ####
    money = [ws.cell(row, col) for row in range(4, ws.max_row + 1) for col in range(1, ws.max_column + 1)
             if ws.cell(row, col).number_format == "#,##0.00" and ws.cell(row, col).value is not None]
    assert any(f"{c.value:,.2f}" == "12,345,680.90" for c in money)
    assert all(ws.column_dimensions[c.column_letter].width >= len(f"{c.value:,.2f}") for c in money)


def test_the_evaluation_summary_prints_the_signatures_of_every_expert_after_the_table(login, db):
    rnd = _evaluated_round(db)
    wb = load_workbook(io.BytesIO(login("city_agri").get(f"/evaluation/rounds/{rnd.id}/summary.xlsx").data))
    ws = wb.worksheets[0]
    header = next(r for r in range(1, 20) if ws.cell(r, 1).value == "排名")
    _assert_print_ready(ws, f"${header}:${header}")
    signature_rows = [r for r in range(1, ws.max_row + 1) if str(ws.cell(r, 1).value or "").startswith("评审专家：")]
    assert len(signature_rows) == 5 and min(signature_rows) > header + 5   # after the five bidders' rows
    assert _print_area_rows(ws) >= max(signature_rows)
    for county in wb.worksheets[1:]:
        assert int(county.page_setup.paperSize) == 9 and county.page_setup.fitToWidth == 1


def test_the_other_exports_are_set_up_for_a4(login, db):
    rnd = make_awarded_round()
    publish(rnd)
    city = login("city_agri")
    award_list = load_workbook(io.BytesIO(city.get(f"/awards/rounds/{rnd.id}/awards.xlsx").data)).worksheets[0]
    _assert_print_ready(award_list, award_list.print_title_rows)
    assert award_list.print_title_rows
    lots = load_workbook(io.BytesIO(city.get(f"/tenders/{rnd.id}/lots.xlsx").data)).worksheets[0]
    assert int(lots.page_setup.paperSize) == 9 and lots.print_title_rows


def test_a_notice_is_laid_out_as_an_official_document_with_fixed_columns(db, demo):
    rnd = make_awarded_round()
    publish(rnd)
    notice = award_exports.notice_for(rnd, insurer_of("insurer").name)
    document = Document(io.BytesIO(award_exports.notice_docx(notice)))
    section = document.sections[0]
    # GB/T 9704: A4, top 37 mm, bottom 35 mm, left 28 mm, right 26 mm
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
    assert [round(m.mm) for m in (section.top_margin, section.bottom_margin, section.left_margin,
                                  section.right_margin)] == [37, 35, 28, 26]
    table = document.tables[0]
    layout = table._tbl.tblPr.find("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}tblLayout")
    assert layout is not None and layout.get(
        "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}type") == "fixed"
    widths = [round(cell.width.mm) for cell in table.rows[0].cells]
    assert widths == list(award_exports.COLUMNS_MM) and sum(widths) <= 210 - 28 - 26
    money_cell = table.rows[1].cells[award_exports.MONEY_COLUMN]
    assert money_cell._tc.tcPr.find("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}noWrap") \
        is not None
    assert money_cell.width >= Mm(30)   # 999,999,999.99 at 10.5 pt is about 25 mm


def _fonts(data: bytes) -> dict[str, bool]:
    """Font name → embedded? for every font a PDF's pages use."""
    found = {}
    for page in PdfReader(io.BytesIO(data)).pages:
        for font in (page["/Resources"].get("/Font") or {}).values():
            font = font.get_object()
            descendants = font.get("/DescendantFonts")
            described = descendants[0].get_object() if descendants else font
            descriptor = described.get("/FontDescriptor")
            descriptor = descriptor.get_object() if descriptor else {}
            found[str(font["/BaseFont"])] = any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))
    return found


def test_the_pdf_documents_embed_their_fonts(db, demo, login):
    if not pdf_module.FONT_EMBEDDED:
        if os.environ.get("CI") == "true":
            pytest.fail("fonts-wqy-zenhei is not installed: .ci/run installs it")
        pytest.skip("no embeddable CJK font on this machine (apt install fonts-wqy-zenhei)")
    rnd = make_awarded_round()
    publish(rnd)
    notice = award_exports.notice_for(rnd, insurer_of("insurer").name)
    for data in (award_exports.notice_pdf(notice), login("city_agri").get(f"/bids/rounds/{rnd.id}/opening.pdf").data):
        fonts = _fonts(data)
        assert fonts and all(fonts.values()), fonts


# --- printed by LibreOffice, as a clerk's office suite prints --------------------------------------------------

office = pytest.mark.skipif(shutil.which("soffice") is None and os.environ.get("CI") != "true",
                            reason="LibreOffice is not installed (apt install libreoffice-calc-nogui "
                                   "libreoffice-writer-nogui)")


def _print_with_libreoffice(data: bytes, suffix: str, tmp_path) -> list[str]:
    """The file printed to PDF by LibreOffice headless; the text of each page."""
    source = tmp_path / f"export{suffix}"
    source.write_bytes(data)
    profile = tmp_path / "lo-profile"
    subprocess.run(["soffice", f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "pdf",
                    "--outdir", str(tmp_path), str(source)], check=True, capture_output=True, timeout=180)
    printed = PdfReader(str(source.with_suffix(".pdf")))
    return [page.extract_text() for page in printed.pages]


@pytest.mark.office
@office
def test_printed_the_ledger_of_fifty_claims_is_one_page_wide(login, db, tmp_path):
    pages = _print_with_libreoffice(_ledger(login, db, claims=50), ".xlsx", tmp_path)
    # one page wide: every page shows the first and the last column's header (repeated) and the claims it holds
    for text in pages:
        assert "申请编号" in text and "未付合计" in text.replace("\n", ""), text[:200]
    assert len(pages) <= 3
    assert "12,345,727.90" in "".join(pages)   # the 50th claim's premium, printed whole


@pytest.mark.office
@office
def test_printed_the_evaluation_summary_shows_scores_and_signatures_on_one_page(login, db, tmp_path):
    rnd = _evaluated_round(db)
    data = login("city_agri").get(f"/evaluation/rounds/{rnd.id}/summary.xlsx").data
    pages = _print_with_libreoffice(data, ".xlsx", tmp_path)
    first = pages[0].replace("\n", "")
    assert "综合得分" in first and "评审专家签字" in first
    assert all(short in first for short in ("赣鄱", "信江", "三清", "怀玉", "龟峰"))


@pytest.mark.office
@office
def test_printed_a_notice_keeps_every_amount_on_one_line(db, demo, tmp_path):
    rnd = make_awarded_round()
    publish(rnd)
    notice = award_exports.notice_for(rnd, insurer_of("insurer").name)
    pages = _print_with_libreoffice(award_exports.notice_docx(notice), ".docx", tmp_path)
    lines = [line for page in pages for line in page.splitlines()]
    for lot in notice.lots:
        amount = f"{lot.expected_premium:,.2f}"
        assert any(amount in line for line in lines), (amount, lines)
