"""The annual evaluation's files: the report of one underwriter in one county (PDF) and the year's summary (xlsx)."""

from __future__ import annotations

from flask_babel import gettext as _
from openpyxl import Workbook

from agri_insurance.annual_review.models import AnnualReview, ReviewResult
from agri_insurance.clock import local_date
from agri_insurance.pdf import Spacer, build_pdf, mm, paragraph, table
from agri_insurance.spreadsheets import write_table


def result_pdf(result: ReviewResult) -> bytes:
    review = result.review
    title = _("%(year)s 年度农业保险承保机构考评报告", year=review.year)
    flow = [paragraph(title, "heading"),
            paragraph(_("承保机构：%(insurer)s", insurer=result.insurer.name)),
            paragraph(_("县（市、区）：%(county)s", county=result.region.label)),
            paragraph(_("状态：%(status)s", status=result.status.label)),
            Spacer(1, 4 * mm)]
    rows = [[_("指标"), _("评分方式"), _("分值"), _("得分"), _("依据 / 评语")]]
    scores = {s.indicator_id: s for s in result.scores}
    for indicator in review.indicators:
        score = scores.get(indicator.id)
        rows.append([indicator.label, indicator.kind.label, str(indicator.weight),
                     str(score.points) if score else "—",
                     (score.figure_label or score.comment or "") if score else ""])
    rows.append([_("合计"), "", "100", str(result.total), result.grade.label if result.grade else ""])
    flow.append(table(rows, [40 * mm, 22 * mm, 16 * mm, 16 * mm, 80 * mm]))
    flow.append(Spacer(1, 4 * mm))
    flow.append(paragraph(_("等级分数线：优秀 ≥ %(e)s，良好 ≥ %(g)s，合格 ≥ %(p)s", e=review.excellent_min,
                            g=review.good_min, p=review.pass_min), "small"))
    if result.reply:
        flow.append(paragraph(_("承保机构意见（%(day)s）：%(text)s", day=local_date(result.replied_at).isoformat(),
                                text=result.reply)))
    if review.finalised_at:
        flow.append(paragraph(_("定稿日期：%(day)s", day=local_date(review.finalised_at).isoformat())))
    return build_pdf(flow, title=title)


def summary_workbook(review: AnnualReview, results: list[ReviewResult]) -> Workbook:
    """One row per underwriter and county: every indicator's points, the total and the grade."""
    wb = Workbook()
    ws = wb.active
    ws.title = _("%(year)s年度考评", year=review.year)[:31]
    indicators = list(review.indicators)
    headers = [_("县（市、区）"), _("承保机构"), *[i.label for i in indicators], _("总分"), _("等级"), _("状态"),
               _("承保机构意见")]
    rows = []
    for r in results:
        points = {s.indicator_id: s.points for s in r.scores}
        rows.append([r.region.label, r.insurer.name, *[points.get(i.id) for i in indicators], r.total,
                     r.grade.label if r.grade else "", r.status.label, r.reply or ""])
    write_table(ws, headers, rows)
    return wb
