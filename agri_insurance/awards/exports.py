"""Award notices (中标通知书) and non-award notices (未中标通知书) as docx and PDF, a zip of all notices, and
the award list as xlsx."""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from flask import current_app
from flask_babel import gettext as _
from openpyxl import Workbook

from agri_insurance import pdf
from agri_insurance.awards import service
from agri_insurance.bids.models import Bid, BidStatus
from agri_insurance.extensions import db
from agri_insurance.spreadsheets import cell_text, put_text, workbook_bytes, write_table
from agri_insurance.tenders.models import SelectionRound

DEFAULT_ISSUING_BODY = "上饶市农业农村局"
DOCX_MIMETYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ZIP_MIMETYPE = "application/zip"


def issuing_body() -> str:
    return current_app.config.get("ISSUING_BODY") or DEFAULT_ISSUING_BODY


@dataclass
class NoticeLot:
    code: str
    name: str
    county: str
    products: str
    expected_premium: Decimal


@dataclass
class Notice:
    kind: str                 # "award" or "non_award"
    number: str
    round_name: str
    term: str
    insurer_name: str
    lots: list[NoticeLot]     # the lots won (award) or the lots bid on (non-award)
    issue_date: date
    issuing_body: str

    @property
    def title(self) -> str:
        return "中标通知书" if self.kind == "award" else "未中标通知书"

    @property
    def total_premium(self) -> Decimal:
        return sum((lot.expected_premium for lot in self.lots), Decimal(0))

    def paragraphs(self) -> list[str]:
        if self.kind == "award":
            body = (f"经综合评审、分配方案确定并公示期满，贵单位被确定为“{self.round_name}”下列标段的承保机构，"
                    f"服务期为{self.term}。请按遴选文件和承保协议的要求做好承保理赔服务。")
        else:
            body = (f"感谢贵单位参加“{self.round_name}”（服务期{self.term}）。经综合评审及分配，贵单位投标的下列标段"
                    "未被确定为承保机构。")
        return [f"{self.insurer_name}：", body]

    def table_rows(self) -> list[list[str]]:
        rows = [["标段编号", "标段名称", "县（市、区）", "险种", "预计年保费（元）"]]
        rows += [[lot.code, lot.name, lot.county, lot.products, f"{lot.expected_premium:,.2f}"] for lot in self.lots]
        if self.kind == "award":
            rows.append(["合计", "", "", "", f"{self.total_premium:,.2f}"])
        return rows

    @property
    def filename_stem(self) -> str:
        # no path separators or characters Windows refuses: a "/" in a name made a folder inside notices.zip
        return re.sub(r'[\\/:*?"<>|]', "_", f"{self.title}_{self.number}_{self.insurer_name}")


def _lot(lot) -> NoticeLot:
    return NoticeLot(lot.code, lot.name, lot.region.name, "、".join(p.name for p in lot.products), lot.expected_premium)


def notices(rnd: SelectionRound) -> list[Notice]:
    """One notice per bidder: an award notice for each insurer that won a lot, a non-award notice otherwise.
    Numbers are stable: 中 for award notices, 未 for the others, numbered by insurer name."""
    awards = service.awards_of(rnd)
    won: dict[int, list] = {}
    insurers = {}
    for award in awards:
        won.setdefault(award.insurer_id, []).append(award.lot)
        insurers[award.insurer_id] = award.insurer
    others = [b for b in db.session.scalars(sa.select(Bid).where(Bid.round_id == rnd.id,
                                                                 Bid.status == BidStatus.SUBMITTED))
              if b.insurer_id not in won]
    common = {"round_name": rnd.name, "term": f"{rnd.term_start_year}年1月1日至{rnd.term_end_year}年12月31日",
              "issue_date": service.issue_date(rnd), "issuing_body": issuing_body()}
    result = []
    for n, (insurer_id, lots) in enumerate(sorted(won.items(), key=lambda kv: insurers[kv[0]].name), start=1):
        result.append(Notice("award", f"SR{rnd.id:03d}-中{n:02d}", insurer_name=insurers[insurer_id].name,
                             lots=[_lot(lot) for lot in sorted(lots, key=lambda lot: lot.code)], **common))
    for n, bid in enumerate(sorted(others, key=lambda b: b.insurer.name), start=1):
        result.append(Notice("non_award", f"SR{rnd.id:03d}-未{n:02d}", insurer_name=bid.insurer.name,
                             lots=[_lot(lot) for lot in bid.lots], **common))
    return result


def notice_for(rnd: SelectionRound, insurer_name: str) -> Notice | None:
    return next((n for n in notices(rnd) if n.insurer_name == insurer_name), None)


# --- docx ---------------------------------------------------------------------------------------------

def _cjk(run) -> None:
    run.font.name = "SimSun"
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), "SimSun")


def _add_run(paragraph, text: str):
    # names typed by users reach the document: a character XML cannot hold (a pasted vertical tab) becomes �
    # instead of python-docx refusing the whole notice
    run = paragraph.add_run(cell_text(text))
    _cjk(run)
    return run


def notice_docx(notice: Notice) -> bytes:
    doc = Document()
    heading = doc.add_paragraph()
    heading.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _add_run(heading, notice.title).bold = True
    number = doc.add_paragraph()
    number.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    _add_run(number, f"编号：{notice.number}")
    for text in notice.paragraphs():
        _add_run(doc.add_paragraph(), text)
    rows = notice.table_rows()
    table = doc.add_table(rows=len(rows), cols=len(rows[0]))
    table.style = "Table Grid"
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            cell = table.cell(r, c)
            cell.text = ""
            _add_run(cell.paragraphs[0], value)
    for text in (f"遴选轮次：{notice.round_name}", f"服务期：{notice.term}"):
        _add_run(doc.add_paragraph(), text)
    for text in (notice.issuing_body, f"{notice.issue_date.year}年{notice.issue_date.month}月{notice.issue_date.day}日"):
        p = doc.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        _add_run(p, text)
    doc.core_properties.title = cell_text(f"{notice.title} {notice.number}")
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


# --- pdf ----------------------------------------------------------------------------------------------

def notice_pdf(notice: Notice) -> bytes:
    mm = pdf.mm
    flow = [pdf.paragraph(notice.title, "title"), pdf.paragraph(f"编号：{notice.number}", "small"),
            pdf.Spacer(1, 4 * mm)]
    flow += [pdf.paragraph(text) for text in notice.paragraphs()]
    flow.append(pdf.Spacer(1, 3 * mm))
    flow.append(pdf.table(notice.table_rows(), col_widths=[24 * mm, 50 * mm, 26 * mm, 38 * mm, 34 * mm]))
    flow.append(pdf.Spacer(1, 4 * mm))
    flow += [pdf.paragraph(f"遴选轮次：{notice.round_name}"), pdf.paragraph(f"服务期：{notice.term}"),
             pdf.Spacer(1, 8 * mm), pdf.paragraph(notice.issuing_body),
             pdf.paragraph(f"{notice.issue_date.year}年{notice.issue_date.month}月{notice.issue_date.day}日")]
    return pdf.build_pdf(flow, title=f"{notice.title} {notice.number}")


def notices_zip(rnd: SelectionRound) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for notice in notices(rnd):
            archive.writestr(f"{notice.filename_stem}.docx", notice_docx(notice))
            archive.writestr(f"{notice.filename_stem}.pdf", notice_pdf(notice))
    return buffer.getvalue()


# --- xlsx ---------------------------------------------------------------------------------------------

def award_list_xlsx(rnd: SelectionRound) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = _("中标结果")
    put_text(ws, 1, 1, rnd.name)
    headers = [_("县（市、区）"), _("标段编号"), _("标段名称"), _("险种"), _("预计年保费（元）"), _("承保机构"), _("综合得分")]
    rows = [[a.lot.region.name, a.lot.code, a.lot.name, a.lot.product_labels, a.lot.expected_premium,
             a.insurer.name, a.score] for a in service.awards_of(rnd)]
    write_table(ws, headers, rows, money_columns=[5], start_row=3, widths={3: 30, 4: 24, 6: 36})
    backups = wb.create_sheet(_("后备机构"))
    rows = [[b.region.name, b.rank, b.insurer.name, b.score]
            for group in service.backups_of(rnd).values() for b in group]
    write_table(backups, [_("县（市、区）"), _("顺位"), _("后备机构"), _("综合得分")], rows, widths={3: 36})
    return workbook_bytes(wb)
