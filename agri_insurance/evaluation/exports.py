"""Evaluation documents: each expert's score sheet and the summary sheet (xlsx, ready to print and sign), the
ranking (PDF)."""

from __future__ import annotations

from flask_babel import format_datetime
from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from agri_insurance.bids.service import opened_bids
from agri_insurance.evaluation import service
from agri_insurance.evaluation.models import PanelMember
from agri_insurance.i18n import join_names, join_sentences, with_note
from agri_insurance.pdf import Spacer, build_pdf, mm, paragraph, table
from agri_insurance.spreadsheets import write_table
from agri_insurance.tenders.models import SelectionRound


def _title(ws, lines: list[str]) -> int:
    for row, text in enumerate(lines, start=1):
        ws.cell(row=row, column=1, value=text).font = Font(bold=row == 1, size=14 if row == 1 else 11)
    return len(lines) + 2


def _signature(ws, row: int, label: str) -> None:
    ws.cell(row=row + 2, column=1, value=label)
    ws.cell(row=row + 3, column=1, value=_("日期：") + "____________")


def signatories(rnd: SelectionRound) -> list[str]:
    """Who signs the evaluation record: every member of the panel, by name, in the order they were assigned."""
    panel = service.panel_of(rnd)
    return [m.user.display_name for m in panel.members] if panel is not None else []


def _closed_line(rnd: SelectionRound) -> list[str]:
    panel = service.panel_of(rnd)
    if panel is None or panel.closed_at is None:
        return []
    return [_("评审已于%(t)s结束。", t=format_datetime(panel.closed_at, "yyyy-MM-dd HH:mm"))]


def _panel_signatures(ws, row: int, rnd: SelectionRound) -> None:
    """A signature line and a date for every panel member (one blank line when none is assigned yet)."""
    names = signatories(rnd) or [""]
    ws.cell(row=row + 2, column=1, value=_("评审专家签字：")).font = Font(bold=True)
    for offset, name in enumerate(names, start=3):
        ws.cell(row=row + offset, column=1, value=_("评审专家：%(name)s", name=name) if name else _("评审专家"))
        ws.cell(row=row + offset, column=2, value=_("签字：") + "____________")
        ws.cell(row=row + offset, column=3, value=_("日期：") + "____________")


def score_sheet(member: PanelMember) -> Workbook:
    """One expert's points on every bid it scores (blank cells where not yet scored), to print and sign."""
    rnd = member.panel.round
    criteria = service.subjective_criteria(rnd)
    wb = Workbook()
    ws = wb.active
    ws.title = _("专家评分表")
    state = (_("已提交：%(time)s", time=format_datetime(member.submitted_at, "yyyy-MM-dd HH:mm"))
             if member.submitted_at else _("未提交"))
    start = _title(ws, [_("专家评分表"), rnd.name, _("评审专家：%(name)s", name=member.user.display_name), state])
    given = {(s.bid_id, s.criterion_id): s for s in member.scores}
    rows = []
    for bid in service.bids_to_score(member):
        points = [given[(bid.id, c.id)].points if (bid.id, c.id) in given else None for c in criteria]
        total = sum(p for p in points if p is not None) if all(p is not None for p in points) else None
        comments = join_sentences(f"{c.code}：{given[(bid.id, c.id)].comment}" for c in criteria
                            if (bid.id, c.id) in given and given[(bid.id, c.id)].comment)
        rows.append([bid.insurer.name, *points, total, comments])
    headers = [_("投标人"), *(f"{c.code} {with_note(c.label, str(c.max_points))}" for c in criteria), _("合计"), _("评语")]
    last = write_table(ws, headers, rows, start_row=start, widths={1: 40, len(headers): 40})
    if member.conflicts:
        last += 2
        ws.cell(row=last, column=1, value=_("回避（利益冲突）：%(names)s",
                                            names=join_names(c.insurer.name for c in member.conflicts)))
    _signature(ws, last, _("专家签字：") + "____________")
    return wb


def summary_workbook(rnd: SelectionRound) -> Workbook:
    """The summary sheet: every bid's points per criterion, composite score and rank; per county the lot scores."""
    scheme = service.scheme_for(rnd)
    ranked = service.ranking(rnd)
    bids = {b.id: b for b in opened_bids(rnd)}
    scores = service.score_bids(rnd)
    wb = Workbook()
    ws = wb.active
    ws.title = _("评审汇总")
    final = _("评审结束") if service.is_final(rnd) else _("评审未结束（临时结果）")
    start = _title(ws, [_("综合评分汇总表"), rnd.name, final, *_closed_line(rnd)])
    # one narrow column per criterion, headed by its code and maximum (names in the legend under the table), so the
    # sheet prints one page wide at a size experts can read and sign
    headers = [_("排名"), _("投标人"), *(f"{c.code}\n({c.max_points})" for c in scheme.criteria),
               _("综合得分"), _("资格审查")]
    rows = []
    for r in ranked:
        s = scores.get(r.bid_id)
        points = [s.points.get(c.id) if s else None for c in scheme.criteria]
        rows.append([r.rank, bids[r.bid_id].insurer.name, *points, r.score,
                     _("合格") if r.eligible else join_sentences(r.reasons)])
    last = write_table(ws, headers, rows, start_row=start, widths={2: 36, len(headers): 30})
    legend = join_sentences(f"{c.code} {with_note(c.label, str(c.max_points))}" for c in scheme.criteria)
    legend_cell = ws.cell(row=last + 1, column=1, value=_("评分项：%(legend)s", legend=legend))
    legend_cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.merge_cells(start_row=last + 1, start_column=1, end_row=last + 1, end_column=len(headers))
    ws.row_dimensions[last + 1].height = 15 * (1 + len(legend) // 120)
    _panel_signatures(ws, last + 1, rnd)
    for region in rnd.counties():
        sheet = wb.create_sheet(region.label[:31])
        lots = [lot for lot in rnd.lots if lot.region_id == region.id]
        county = service.county_ranking(rnd, region.id)
        begin = _title(sheet, [_("%(county)s 标段得分", county=region.label), rnd.name])
        rows = []
        for r in county:
            bid = bids[r.bid_id]
            on = {lot.id for lot in bid.lots}
            rows.append([r.rank, bid.insurer.name, r.score if r.eligible else None,
                         *((r.score if lot.id in on and r.eligible else None) for lot in lots)])
        write_table(sheet, [_("排名"), _("投标人"), _("本县得分"), *(lot.code for lot in lots)], rows,
                    start_row=begin, widths={2: 40})
    return wb


def ranking_pdf(rnd: SelectionRound) -> bytes:
    ranked = service.ranking(rnd)
    bids = {b.id: b for b in opened_bids(rnd)}
    story = [paragraph(_("综合评分排名"), "title"), paragraph(rnd.name)]
    story += [paragraph(line) for line in _closed_line(rnd)]
    if not service.is_final(rnd):
        story.append(paragraph(_("评审未结束（临时结果）")))
    story.append(Spacer(1, 4 * mm))
    rows = [[_("排名"), _("投标人"), _("综合得分"), _("资格审查")]]
    rows += [[str(r.rank), bids[r.bid_id].insurer.name, str(r.score) if r.eligible else "—",
              _("合格") if r.eligible else join_sentences(r.reasons)] for r in ranked]
    story.append(table(rows, col_widths=[14 * mm, 70 * mm, 24 * mm, 66 * mm]))
    for region in rnd.counties():
        county = service.county_ranking(rnd, region.id)
        if not county:
            continue
        story += [Spacer(1, 4 * mm), paragraph(_("%(county)s（含本县机构设置得分）", county=region.label), "heading")]
        rows = [[_("排名"), _("投标人"), _("本县得分")]]
        rows += [[str(r.rank), bids[r.bid_id].insurer.name, str(r.score) if r.eligible else "—"] for r in county]
        story.append(table(rows, col_widths=[14 * mm, 110 * mm, 50 * mm]))
    story += [Spacer(1, 6 * mm), paragraph(_("同分排序规则：综合得分相同的，理赔服务水平得分高者在前；仍相同的，综合偿付能力充足率高者在前；"
                                            "仍相同的，先提交投标文件者在前。")),
              Spacer(1, 8 * mm), paragraph(_("评审专家签字："), "heading")]
    # one row per panel member, high enough to sign in, with the date each writes beside the signature
    rows = [[_("评审专家"), _("签字"), _("日期")]]
    rows += [[name, Spacer(1, 12 * mm), ""] for name in signatories(rnd) or [""]]
    story.append(table(rows, col_widths=[54 * mm, 80 * mm, 40 * mm]))
    return build_pdf(story, title=_("综合评分排名"))
