"""PDF documents with Chinese text, using reportlab's built-in CJK font (no font install needed)."""

from __future__ import annotations

import io

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

CJK_FONT = "STSong-Light"  # an Adobe CID font every PDF reader provides; reportlab ships its metrics
pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))

_base = getSampleStyleSheet()
STYLES = {
    "title": ParagraphStyle("title", parent=_base["Title"], fontName=CJK_FONT, fontSize=16, leading=22),
    "heading": ParagraphStyle("heading", parent=_base["Heading2"], fontName=CJK_FONT, fontSize=12, leading=16),
    "body": ParagraphStyle("body", parent=_base["BodyText"], fontName=CJK_FONT, fontSize=10, leading=15),
    "small": ParagraphStyle("small", parent=_base["BodyText"], fontName=CJK_FONT, fontSize=8, leading=11),
}


def paragraph(text: str, style: str = "body") -> Paragraph:
    escaped = str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return Paragraph(escaped.replace("\n", "<br/>"), STYLES[style])


def table(rows: list[list], col_widths: list[float] | None = None, header: bool = True) -> Table:
    """A bordered table; every cell wrapped so long Chinese text breaks inside its column."""
    data = [[paragraph(c, "small") if not hasattr(c, "wrap") else c for c in row] for row in rows]
    result = Table(data, colWidths=col_widths, repeatRows=1 if header else 0)
    style = [("GRID", (0, 0), (-1, -1), 0.5, colors.grey), ("VALIGN", (0, 0), (-1, -1), "TOP")]
    if header:
        style.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#E2EFDA")))
    result.setStyle(TableStyle(style))
    return result


def build_pdf(flowables: list, title: str = "", wide: bool = False) -> bytes:
    """An A4 document (`wide`: landscape, 261 mm between the margins instead of 174, for wide tables)."""
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=landscape(A4) if wide else A4, title=title, leftMargin=18 * mm, rightMargin=18 * mm,
                            topMargin=18 * mm, bottomMargin=18 * mm)
    doc.build(flowables)
    return buffer.getvalue()


__all__ = ["build_pdf", "paragraph", "table", "Spacer", "mm", "STYLES"]
