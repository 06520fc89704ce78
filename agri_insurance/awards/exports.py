"""Award notices (中标通知书) and non-award notices (未中标通知书) as docx and PDF, a zip of all notices, and
the award list as xlsx."""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from xml.sax.saxutils import escape

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from flask import current_app
from flask_babel import gettext as _
from openpyxl import Workbook
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import Paragraph, SimpleDocTemplate

from agri_insurance import pdf
from agri_insurance.allocation import service as allocation
from agri_insurance.awards import service
from agri_insurance.clock import local_date
from agri_insurance.i18n import in_record_language
from agri_insurance.spreadsheets import cell_text, put_text, workbook_bytes, write_table
from agri_insurance.tenders.models import SelectionRound

DOCX_MIMETYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ZIP_MIMETYPE = "application/zip"
DRAFT_MARK = "草稿 DRAFT"
DRAFT_BANNER = "【草稿 DRAFT】中标结果确定前的预览，未经编号，不作为中标依据"
SEAL_SPACE = "（盖章）"


def issuing_body() -> str:
    """The unit that issues the notices and publishes the result (setting ISSUING_BODY)."""
    return current_app.config["ISSUING_BODY"]


@dataclass
class NoticeLot:
    code: str
    name: str
    county: str
    products: str
    expected_premium: Decimal


@dataclass
class Notice:
    """One award or non-award notice. `ref` is its stable reference (its address, and the name of a draft);
    `number` its document number (文号), given when the result is final: without one the notice is a draft."""

    kind: str                 # "award" or "non_award"
    ref: str
    round_name: str
    term: str
    insurer_name: str
    lots: list[NoticeLot]     # the lots won (award) or the lots bid on (non-award)
    issue_date: date
    issuing_body: str
    number: str | None = None
    departures: list[str] = field(default_factory=list)  # sentences on the approved rule departures applied

    @property
    def final(self) -> bool:
        return self.number is not None

    @property
    def title(self) -> str:
        return "中标通知书" if self.kind == "award" else "未中标通知书"

    @property
    def total_premium(self) -> Decimal:
        return sum((lot.expected_premium for lot in self.lots), Decimal(0))

    def paragraphs(self) -> list[str]:
        if self.kind == "award" and self.final:
            body = (f"经综合评审、分配方案确定并公示期满，贵单位被确定为“{self.round_name}”下列标段的承保机构，"
                    f"服务期为{self.term}。请按遴选文件和承保协议的要求做好承保理赔服务。")
        elif self.kind == "award":
            body = (f"经综合评审和分配，贵单位拟被确定为“{self.round_name}”下列标段的承保机构，服务期为{self.term}。"
                    "中标结果须经公示后确定；本通知书为草稿，以确定中标后正式发出并编号的通知书为准。")
        elif self.final:
            body = (f"感谢贵单位参加“{self.round_name}”（服务期{self.term}）。经综合评审及分配，贵单位投标的下列标段"
                    "未被确定为承保机构。")
        else:
            body = (f"感谢贵单位参加“{self.round_name}”（服务期{self.term}）。经综合评审及分配，贵单位投标的下列标段"
                    "拟不被确定为承保机构。本通知书为草稿，以确定中标后正式发出并编号的通知书为准。")
        return [f"{self.insurer_name}：", body]

    def table_rows(self) -> list[list[str]]:
        rows = [["标段编号", "标段名称", "县（市、区）", "险种", "预计年保费（元）"]]
        rows += [[lot.code, lot.name, lot.county, lot.products, f"{lot.expected_premium:,.2f}"] for lot in self.lots]
        if self.kind == "award":
            rows.append(["合计", "", "", "", f"{self.total_premium:,.2f}"])
        return rows

    @property
    def number_line(self) -> str:
        return self.number if self.final else "编号：确定中标后编号"

    @property
    def date_line(self) -> str:
        return f"{self.issue_date.year}年{self.issue_date.month}月{self.issue_date.day}日"

    @property
    def filename_stem(self) -> str:
        # no path separators or characters Windows refuses: a "/" in a name made a folder inside notices.zip
        stem = f"{self.title}_{self.number}_{self.insurer_name}" if self.final else \
            f"{self.title}（草稿）_{self.ref}_{self.insurer_name}"
        return re.sub(r'[\\/:*?"<>|]', "_", stem)


def _lot(lot) -> NoticeLot:
    return NoticeLot(lot.code, lot.name, lot.region.name, "、".join(p.name for p in lot.products), lot.expected_premium)


def departure_sentences(rnd: SelectionRound) -> list[str]:
    """The approved departures the adopted allocation rests on, as the notices state them (in Chinese, as the
    documents are written)."""
    with in_record_language():
        return [f"本次分配依据经批准的规则偏离：{'；'.join(allocation.departure_changes(d))}"
                f"（{d.basis.label}，{d.doc_no}，{d.decided_on.year}年{d.decided_on.month}月{d.decided_on.day}日）。"
                f"理由：{d.reason}" for d in service.departures_used(rnd)]


def notices(rnd: SelectionRound) -> list[Notice]:
    """One notice per bidder (`service.notice_recipients`): an award notice for each insurer that won a lot, a
    non-award notice otherwise. References are stable: 中 for award notices, 未 for the others, numbered by
    insurer name. Once the result is final each carries the document number it was given then; a round finalised
    before notices were numbered keeps its reference as its number."""
    final = service.result_final(rnd)
    numbers = service.notice_numbers(rnd) if final else {}
    common = {"round_name": rnd.name, "term": f"{rnd.term_start_year}年1月1日至{rnd.term_end_year}年12月31日",
              "issue_date": service.issue_date(rnd), "issuing_body": issuing_body(),
              "departures": departure_sentences(rnd)}
    result = []
    counters = {"award": 0, "non_award": 0}
    for recipient in service.notice_recipients(rnd):
        counters[recipient.kind] += 1
        ref = f"SR{rnd.id:03d}-{'中' if recipient.kind == 'award' else '未'}{counters[recipient.kind]:02d}"
        stored = numbers.get(recipient.insurer.id)
        number = (stored.number if stored else ref) if final else None
        result.append(Notice(recipient.kind, ref, insurer_name=recipient.insurer.name,
                             lots=[_lot(lot) for lot in recipient.lots], number=number, **common))
    return result


def notice_for(rnd: SelectionRound, insurer_name: str) -> Notice | None:
    return next((n for n in notices(rnd) if n.insurer_name == insurer_name), None)


# --- page layout of a notice (an official document: GB/T 9704-2012 党政机关公文格式) -------------------------
# A4 with the standard's margins (top 37 mm, bottom 35 mm, left 28 mm, right 26 mm: a 156 mm wide text block);
# the lot table's columns are fixed so that the same notice looks the same in Word, WPS and LibreOffice and a
# premium up to 999,999,999.99 never breaks across lines.
MARGINS_MM = {"top": 37, "bottom": 35, "left": 28, "right": 26}
COLUMNS_MM = (22, 44, 24, 32, 34)   # 标段编号, 标段名称, 县（市、区）, 险种, 预计年保费（元）: 156 mm
MONEY_COLUMN = 4


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


def _right(doc, text: str):
    p = doc.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    return _add_run(p, text)


def _fixed_width_table(doc, rows: list[list[str]]):
    """The lot table at the widths of COLUMNS_MM, fixed (no autofit), the money column right-aligned and unbroken."""
    table = doc.add_table(rows=len(rows), cols=len(rows[0]))
    table.style = "Table Grid"
    table.autofit = False   # w:tblLayout fixed: Word, WPS and LibreOffice keep the widths below
    for c, width in enumerate(COLUMNS_MM):
        table.columns[c].width = Mm(width)
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            cell = table.cell(r, c)
            cell.width = Mm(COLUMNS_MM[c])
            cell.text = ""
            paragraph = cell.paragraphs[0]
            run = _add_run(paragraph, value)
            run.font.size = Pt(10.5)   # 五号
            if r == 0:
                run.bold = True
            if c == MONEY_COLUMN:
                paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
                cell._tc.get_or_add_tcPr().append(OxmlElement("w:noWrap"))
    return table


def notice_docx(notice: Notice) -> bytes:
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(MARGINS_MM["top"]), Mm(MARGINS_MM["bottom"])
    section.left_margin, section.right_margin = Mm(MARGINS_MM["left"]), Mm(MARGINS_MM["right"])
    if not notice.final:
        # on every page: the header says it is a draft, in large grey letters
        header = doc.sections[0].header.paragraphs[0]
        header.alignment = WD_ALIGN_PARAGRAPH.CENTER
        mark = _add_run(header, DRAFT_MARK)
        mark.bold = True
        mark.font.size = Pt(28)
        mark.font.color.rgb = RGBColor(0xC0, 0xC0, 0xC0)
        banner = doc.add_paragraph()
        banner.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run = _add_run(banner, DRAFT_BANNER)
        run.bold = True
        run.font.color.rgb = RGBColor(0xC0, 0x00, 0x00)
    heading = doc.add_paragraph()
    heading.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _add_run(heading, notice.title).bold = True
    number = doc.add_paragraph()
    number.alignment = WD_ALIGN_PARAGRAPH.CENTER if notice.final else WD_ALIGN_PARAGRAPH.RIGHT
    _add_run(number, notice.number_line)
    for text in notice.paragraphs():
        _add_run(doc.add_paragraph(), text)
    _fixed_width_table(doc, notice.table_rows())
    for text in (f"遴选轮次：{notice.round_name}", f"服务期：{notice.term}", *notice.departures):
        _add_run(doc.add_paragraph(), text)
    for _blank in range(2):  # room for the seal over the issuing unit and the date
        doc.add_paragraph()
    _right(doc, notice.issuing_body)
    _right(doc, SEAL_SPACE)
    _right(doc, notice.date_line)
    doc.core_properties.title = cell_text(f"{notice.title} {notice.number or DRAFT_MARK}")
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


# --- pdf ----------------------------------------------------------------------------------------------

_RIGHT = ParagraphStyle("notice-right", parent=pdf.STYLES["body"], alignment=TA_RIGHT)


def _right_paragraph(text: str) -> Paragraph:
    """The issuing unit, the seal and the date, at the right margin."""
    return Paragraph(escape(str(text)), _RIGHT)


def _draft_watermark(canvas, doc) -> None:
    """草稿 DRAFT across every page of a draft, large and light."""
    canvas.saveState()
    canvas.setFont(pdf.CJK_FONT, 60)
    canvas.setFillColorRGB(0.85, 0.85, 0.85)
    width, height = doc.pagesize
    canvas.translate(width / 2, height / 2)
    canvas.rotate(35)
    canvas.drawCentredString(0, 0, DRAFT_MARK)
    canvas.restoreState()


def notice_pdf(notice: Notice) -> bytes:
    mm = pdf.mm
    flow = []
    if not notice.final:
        flow += [pdf.paragraph(DRAFT_BANNER, "heading"), pdf.Spacer(1, 2 * mm)]
    flow += [pdf.paragraph(notice.title, "title"), pdf.paragraph(notice.number_line, "body" if notice.final else "small"),
             pdf.Spacer(1, 4 * mm)]
    flow += [pdf.paragraph(text) for text in notice.paragraphs()]
    flow.append(pdf.Spacer(1, 3 * mm))
    flow.append(pdf.table(notice.table_rows(), col_widths=[w * mm for w in COLUMNS_MM]))
    flow.append(pdf.Spacer(1, 4 * mm))
    flow += [pdf.paragraph(f"遴选轮次：{notice.round_name}"), pdf.paragraph(f"服务期：{notice.term}")]
    flow += [pdf.paragraph(text) for text in notice.departures]
    flow += [pdf.Spacer(1, 16 * mm), _right_paragraph(notice.issuing_body), _right_paragraph(SEAL_SPACE),
             _right_paragraph(notice.date_line)]
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, title=f"{notice.title} {notice.number or DRAFT_MARK}",
                            leftMargin=MARGINS_MM["left"] * mm, rightMargin=MARGINS_MM["right"] * mm,
                            topMargin=MARGINS_MM["top"] * mm, bottomMargin=MARGINS_MM["bottom"] * mm,
                            initialFontName=pdf.CJK_FONT)
    page = _draft_watermark if not notice.final else (lambda canvas, doc: None)
    doc.build(flow, onFirstPage=page, onLaterPages=page)
    return buffer.getvalue()


# --- the change notice of a replaced award (中标变更公告) ----------------------------------------------------

CHANGE_COLUMNS_MM = (22, 40, 22, 36, 36)   # 标段, 县（市、区）, 险种 … : 156 mm
CHANGE_METHODS = {"backup": "由该县后备承保机构按顺序递补", "run": "在其他中标结果不变的前提下重新分配"}


def _cn_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def change_notice_pdf(change) -> bytes:
    """The public notice of a mid-term change of an award (awards.AwardChange): the lot, the former underwriter,
    the decision (number, reason, effective date) and the replacement (or that it will be announced), in the
    layout of the award notices; in Chinese, as the documents are written. Dated the day the replacement was
    installed (or the termination, while it is pending)."""
    rnd, lot = change.round, change.lot
    issued = local_date(change.replaced_at or change.terminated_at)
    effective = _cn_date(change.effective_on)
    paragraphs = [f"根据{issuing_body()}决定（{change.doc_no}），“{rnd.name}”标段{lot.code}（{lot.name}，"
                  f"{lot.region.name}）原承保机构{change.old_insurer.name}的中标自{effective}起终止。"
                  f"终止理由：{change.reason}"]
    if change.new_insurer is not None:
        paragraphs.append(f"经{CHANGE_METHODS.get(change.method, '')}，自{effective}起由{change.new_insurer.name}"
                          f"承保该标段，服务期至{rnd.term_end_year}年12月31日。该县其他标段的中标结果不变。")
    else:
        paragraphs.append("替补承保机构确定后另行公告。")
    rows = [["标段编号", "标段名称", "县（市、区）", "原承保机构", "替补承保机构"],
            [lot.code, lot.name, lot.region.name, change.old_insurer.name,
             change.new_insurer.name if change.new_insurer is not None else "待确定"]]
    mm = pdf.mm
    flow = [pdf.paragraph("中标变更公告", "title"), pdf.paragraph(change.doc_no), pdf.Spacer(1, 4 * mm)]
    flow += [pdf.paragraph(text) for text in paragraphs]
    flow += [pdf.Spacer(1, 3 * mm), pdf.table(rows, col_widths=[w * mm for w in CHANGE_COLUMNS_MM]),
             pdf.Spacer(1, 4 * mm), pdf.paragraph(f"遴选轮次：{rnd.name}"),
             pdf.paragraph(f"生效日期：{effective}"),
             pdf.Spacer(1, 16 * mm), _right_paragraph(issuing_body()), _right_paragraph(SEAL_SPACE),
             _right_paragraph(_cn_date(issued))]
    buffer = io.BytesIO()
    SimpleDocTemplate(buffer, pagesize=A4, title=f"中标变更公告 {change.doc_no}",
                      leftMargin=MARGINS_MM["left"] * mm, rightMargin=MARGINS_MM["right"] * mm,
                      topMargin=MARGINS_MM["top"] * mm, bottomMargin=MARGINS_MM["bottom"] * mm,
                      initialFontName=pdf.CJK_FONT).build(flow)
    return buffer.getvalue()


def change_notice_filename(change) -> str:
    return re.sub(r'[\\/:*?"<>|]', "_", f"中标变更公告_{change.doc_no}_{change.lot.code}.pdf")


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
