"""The printable notice of one village (A4, portrait): heading, the masked rows, totals, the notice period and
where to object; all of a list's villages as one PDF (one village after another, each from a new page) or as a
zip of one PDF per village. Written in Chinese whatever the reader's language: it is posted in the village.

The list module says what the notice shows (`VillageSheet`): its title, heading, columns, rows (masked already),
totals and closing lines. reportlab with its built-in CJK font (agri_insurance.pdf), no font to install.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from agri_insurance.pdf import CJK_FONT, STYLES, mm, paragraph

MARGIN = 18 * mm
WIDTH = A4[0] - 2 * MARGIN  # 174 mm between the margins
CELL_FONT_SIZE = 9
WRAP_AFTER = 10  # characters: a longer cell (an organisation's name) wraps inside its column
SIGNATURE = ParagraphStyle("signature", parent=STYLES["body"], alignment=TA_RIGHT)


@dataclass(frozen=True)
class Column:
    header: str
    width_mm: float
    numeric: bool = False  # right-aligned


@dataclass
class VillageSheet:
    """One village's notice. `rows` are the cells as printed (names and IDs masked by the caller); `totals` the
    closing row (its first cell reads 合计 …); `closing` the lines under the table (the period, where to object);
    `signature` the lines at the bottom right (the insurer, the date)."""

    title: str
    heading: list[tuple[str, str]]
    intro: str
    columns: list[Column]
    rows: Sequence[Sequence[str]]
    totals: Sequence[str] | None = None
    totals_span: int = 1  # how many leading columns the totals row's label spans
    closing: list[str] = field(default_factory=list)
    signature: list[str] = field(default_factory=list)
    filename: str = "公示.pdf"
    footer: str = ""  # at the foot of each of its pages, before the page number


def safe_filename(name: str) -> str:
    """No path separators or characters Windows refuses (a "/" in a village name would make a folder in a zip)."""
    return re.sub(r'[\\/:*?"<>|\x00-\x1f]', "_", name).strip() or "公示"


class _SheetStart(Flowable):
    """Invisible: marks where a village's notice starts, so each page's footer names its village and counts its
    pages from there."""

    def __init__(self, footer: str) -> None:
        super().__init__()
        self.footer = footer

    def wrap(self, *_args):
        return (0, 0)

    def draw(self) -> None:
        self.canv._notice_footer = self.footer  # noqa: SLF001 - the canvas carries it to the page's end
        self.canv._notice_first_page = self.canv.getPageNumber()  # noqa: SLF001


def _footer(canvas, _doc) -> None:
    canvas.saveState()
    canvas.setFont(CJK_FONT, 8)
    number = canvas.getPageNumber() - getattr(canvas, "_notice_first_page", 1) + 1
    canvas.drawCentredString(A4[0] / 2, 10 * mm, f"{getattr(canvas, '_notice_footer', '')}　第 {number} 页")
    canvas.restoreState()


def _heading_table(pairs: list[tuple[str, str]]) -> Table:
    cells = [[paragraph(f"{label}：", "body"), paragraph(value, "body")] for label, value in pairs]
    rows = [cells[i] + (cells[i + 1] if i + 1 < len(cells) else ["", ""]) for i in range(0, len(cells), 2)]
    table = Table(rows, colWidths=[26 * mm, 61 * mm, 26 * mm, 61 * mm])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                               ("BOTTOMPADDING", (0, 0), (-1, -1), 1), ("TOPPADDING", (0, 0), (-1, -1), 1)]))
    return table


def _cell(text: str):
    text = "" if text is None else str(text)
    return paragraph(text, "small") if len(text) > WRAP_AFTER else text


def _rows_table(sheet: VillageSheet) -> Table:
    data: list[list] = [[paragraph(c.header, "small") for c in sheet.columns]]
    data.extend([_cell(value) for value in row] for row in sheet.rows)
    if sheet.totals is not None:
        data.append([_cell(value) for value in sheet.totals])
    table = Table(data, colWidths=[c.width_mm * mm for c in sheet.columns], repeatRows=1)
    style = [("FONTNAME", (0, 0), (-1, -1), CJK_FONT), ("FONTSIZE", (0, 0), (-1, -1), CELL_FONT_SIZE),
             ("GRID", (0, 0), (-1, -1), 0.5, colors.grey), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
             ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#E2EFDA"))]
    style += [("ALIGN", (i, 1), (i, -1), "RIGHT") for i, c in enumerate(sheet.columns) if c.numeric]
    if sheet.totals is not None:
        style.append(("BACKGROUND", (0, -1), (-1, -1), colors.HexColor("#F2F2F2")))
        if sheet.totals_span > 1:
            style.append(("SPAN", (0, -1), (sheet.totals_span - 1, -1)))
    table.setStyle(TableStyle(style))
    return table


def _flowables(sheet: VillageSheet) -> list:
    flowables = [_SheetStart(sheet.footer or sheet.title), paragraph(sheet.title, "title"),
                 _heading_table(sheet.heading), Spacer(1, 3 * mm), paragraph(sheet.intro, "body"),
                 Spacer(1, 3 * mm), _rows_table(sheet), Spacer(1, 4 * mm)]
    flowables += [paragraph(line, "body") for line in sheet.closing]
    if sheet.signature:
        flowables.append(Spacer(1, 8 * mm))
        flowables += [Paragraph(_escape(line), SIGNATURE) for line in sheet.signature]
    return flowables


def _escape(text: str) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _build(flowables: list, title: str) -> bytes:
    buffer = io.BytesIO()
    doc = BaseDocTemplate(buffer, pagesize=A4, title=title, initialFontName=CJK_FONT, leftMargin=MARGIN,
                          rightMargin=MARGIN, topMargin=MARGIN, bottomMargin=MARGIN)
    frame = Frame(MARGIN, MARGIN, WIDTH, A4[1] - 2 * MARGIN, id="notice")
    doc.addPageTemplates([PageTemplate(id="notice", frames=[frame], onPageEnd=_footer)])
    doc.build(flowables)
    return buffer.getvalue()


def village_pdf(sheet: VillageSheet) -> bytes:
    return _build(_flowables(sheet), sheet.title)


def villages_pdf(sheets: Iterable[VillageSheet], title: str) -> bytes:
    """Every village's notice in one PDF, each starting on a new page (to print them all at once)."""
    flowables: list = []
    for sheet in sheets:
        if flowables:
            flowables.append(PageBreak())
        flowables += _flowables(sheet)
    return _build(flowables or [paragraph(title, "title")], title)


def villages_zip(sheets: Iterable[VillageSheet]) -> bytes:
    """One PDF per village in a zip (to send each village its own), named after the village."""
    buffer = io.BytesIO()
    used: set[str] = set()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for sheet in sheets:
            name = safe_filename(sheet.filename)
            stem, dot, suffix = name.rpartition(".")
            n = 1
            while name in used:
                n += 1
                name = f"{stem}_{n}.{suffix}" if dot else f"{name}_{n}"
            used.add(name)
            archive.writestr(name, village_pdf(sheet))
    return buffer.getvalue()
