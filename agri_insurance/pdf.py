"""PDF documents with Chinese text.

The text is set in a TrueType CJK font embedded in the file (subset to the characters used, as reportlab does for
every TrueType font), so any reader shows it, printed or on screen: WenQuanYi Zen Hei from Debian's
`fonts-wqy-zenhei` (installed by `.ci/run`; the README's production section installs it), or the file named by the
environment variable `PDF_FONT_FILE`. Where neither exists (a developer's machine without the package) the
documents fall back to reportlab's STSong-Light, a font readers are expected to supply, not embedded."""

from __future__ import annotations

import io
import logging
import os
from pathlib import Path

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

FONT_CANDIDATES = ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", "/usr/share/fonts/wqy-zenhei/wqy-zenhei.ttc")


def _register_cjk_font() -> tuple[str, bool]:
    """(font name, embedded?) of the font the documents use; see the module's docstring."""
    for path in filter(None, (os.environ.get("PDF_FONT_FILE"), *FONT_CANDIDATES)):
        if Path(path).is_file():
            pdfmetrics.registerFont(TTFont("CJK", path, subfontIndex=0))
            return "CJK", True
    logging.getLogger(__name__).warning("no embeddable CJK font found (install fonts-wqy-zenhei or set "
                                        "PDF_FONT_FILE): PDFs use STSong-Light, not embedded")
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    return "STSong-Light", False


CJK_FONT, FONT_EMBEDDED = _register_cjk_font()

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
    # FONTNAME: a table sets its cells' font on the canvas even for paragraphs; left to its default (Helvetica)
    # the file would name a font it does not embed
    style = [("GRID", (0, 0), (-1, -1), 0.5, colors.grey), ("VALIGN", (0, 0), (-1, -1), "TOP"),
             ("FONTNAME", (0, 0), (-1, -1), CJK_FONT)]
    if header:
        style.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#E2EFDA")))
    result.setStyle(TableStyle(style))
    return result


def build_pdf(flowables: list, title: str = "", wide: bool = False) -> bytes:
    """An A4 document (`wide`: landscape, 261 mm between the margins instead of 174, for wide tables)."""
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=landscape(A4) if wide else A4, title=title, leftMargin=18 * mm, rightMargin=18 * mm,
                            topMargin=18 * mm, bottomMargin=18 * mm, initialFontName=CJK_FONT)
    doc.build(flowables)
    return buffer.getvalue()


__all__ = ["build_pdf", "paragraph", "table", "Spacer", "mm", "STYLES"]
