"""Ledgers and statements as xlsx, with totals and number formats."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from agri_insurance import clock
from agri_insurance.print_layout import finish_sheet, mark_title_rows, sign_here, signing_lines
from agri_insurance.spreadsheets import (
    DATE_FORMAT,
    MONEY_FORMAT,
    WRAP,
    header_cell,
    money_cell,
    put_text,
    text_cell,
    write_table,
)
from agri_insurance.subsidies.models import GOVERNMENT_LEVELS, ShareLevel, SubsidyClaim

LEDGER_MONEY_WIDTH = 16   # 999,999,999.99 fits


def _headers() -> list[str]:
    headers = [_("申请编号"), _("县（市、区）"), _("承保机构"), _("险种"), _("年度"), _("申请期间"), _("状态"),
               _("保费合计（元）"), _("农户自缴保费（元）")]
    for level in GOVERNMENT_LEVELS:
        headers += [_("%(level)s应付", level=level.label), _("%(level)s已付", level=level.label)]
    headers += [_("政府补贴未付合计")]
    return headers


def _row(claim: SubsidyClaim) -> list:
    row = [claim.id, claim.region.label, claim.insurer.short_name, claim.product.label, claim.year, claim.period,
           claim.status.label, claim.total_premium, claim.share(ShareLevel.FARMER).amount]
    outstanding = Decimal("0.00")
    for level in GOVERNMENT_LEVELS:
        share = claim.share(level)
        row += [share.amount, share.paid]
        outstanding += share.outstanding
    return row + [outstanding]


def _streamed_sheet(wb: Workbook, name: str, title: str, headers: list[str], widths: dict[int, int]):
    """A write-only sheet of `wb` with its title, a blank row and its header row written (rows 1–3, the header
    repeated on every printed page): its rows are then appended as they come, only the current one in memory.
    `widths`: every column's width (a write-only sheet takes them before its first row)."""
    ws = wb.create_sheet(name[:31])
    for col in range(1, len(headers) + 1):
        ws.column_dimensions[get_column_letter(col)].width = widths.get(col, LEDGER_MONEY_WIDTH)
    mark_title_rows(ws, 3)
    ws.freeze_panes = "A4"
    finish_sheet(ws)   # a write-only sheet writes its properties (fit to the page's width) with its first row
    title_cell = text_cell(ws, title)
    title_cell.font = Font(bold=True, size=14)
    ws.append([title_cell])
    ws.append([])
    ws.append([header_cell(ws, header) for header in headers])
    return ws


def _bold_totals(ws, first_money: int, amounts) -> list:
    """The bold 合计 row of a write-only sheet: the label in the first column, `amounts` from `first_money`."""
    row = [text_cell(ws, _("合计"))] + [None] * (first_money - 2) + [money_cell(ws, amount) for amount in amounts]
    for cell in row:
        if cell is not None:
            cell.font = Font(bold=True)
    return row


def _end_with_signatures(ws, rows: int, columns: int, units: list[str]) -> None:
    """The signing lines after the last row, and the print area down to them."""
    for line in signing_lines(units):
        ws.append(line)
        rows += 1
    ws.print_area = f"A1:{get_column_letter(columns)}{rows}"


def ledger_workbook(claims: Iterable[SubsidyClaim], title: str) -> Workbook:
    """One row per claim: shares and payments per level, balance; a bold totals row at the bottom. Written as the
    claims come (a write-only sheet: whatever the number of claims, only the current row is in memory); the totals
    are summed exactly as the rows pass."""
    wb = Workbook(write_only=True)
    headers = _headers()
    first_money = 8
    # money columns wide enough for 999,999,999.99
    ws = _streamed_sheet(wb, _("台账"), title, headers, {1: 10, 2: 12, 3: 14, 4: 12, 5: 8, 6: 16, 7: 14})
    totals = [Decimal("0.00")] * (len(headers) - first_money + 1)
    rows = 3
    for claim in claims:
        row = _row(claim)
        for n, value in enumerate(row[first_money - 1:]):
            totals[n] += value
        ws.append([text_cell(ws, value) if isinstance(value, str) else value for value in row[:first_money - 1]]
                  + [money_cell(ws, value) for value in row[first_money - 1:]])
        rows += 1
    ws.append(_bold_totals(ws, first_money, totals))
    _end_with_signatures(ws, rows + 1, len(headers), [_("制表单位：")])
    return wb


def _payments_text(line) -> str:
    return "\n".join(f"{p.paid_on.isoformat()} {p.voucher_no} {p.amount:,.2f}" for p in line.payments)


def payment_list_workbook(lines, plist, title: str) -> Workbook:
    """A finance bureau's payment list: one row per share with its payments (`lines`: service.stream_payment_lines,
    written as they come), a bold totals row; a second sheet sums it up by insurer (the bureau pays each insurer),
    a third by county when the list covers several. The totals are those of `plist` (service.payment_totals,
    summed in SQL)."""
    wb = Workbook(write_only=True)
    headers = [_("申请编号"), _("承保机构"), _("县（市、区）"), _("险种"), _("申请期间"), _("级次"), _("核验日期"),
               _("拨付期限"), _("应付（元）"), _("已付（元）"), _("未付（元）"), _("逾期天数"), _("拨付记录")]
    first_money = 9
    ws = _streamed_sheet(wb, _("拨付清单"), title, headers,
                         {1: 10, 2: 14, 3: 12, 4: 12, 5: 16, 6: 10, 7: 12, 8: 12, 12: 8, 13: 48})
    rows = 3
    for line in lines:
        claim = line.claim
        ws.append([claim.id, text_cell(ws, claim.insurer.short_name), text_cell(ws, claim.region.label),
                   text_cell(ws, claim.product.label), text_cell(ws, claim.period), text_cell(ws, line.share.level.label),
                   _date_cell(ws, clock.to_local(claim.verified_at).date()), _date_cell(ws, claim.due_date),
                   money_cell(ws, line.share.amount), money_cell(ws, line.share.paid),
                   money_cell(ws, line.share.outstanding), line.days_overdue or None,
                   _wrapped(text_cell(ws, _payments_text(line)))])
        rows += 1
    total = plist.total
    ws.append(_bold_totals(ws, first_money, (total.due, total.paid, total.outstanding)))
    _end_with_signatures(ws, rows + 1, len(headers), [_("拨付单位：")])

    sums = [_("应付（元）"), _("已付（元）"), _("未付（元）")]
    parts = [(_("按承保机构汇总"), _("承保机构"), [(i.short_name, t) for i, t in plist.by_insurer])]
    if len(plist.by_county) > 1:
        parts.append((_("按县（市、区）汇总"), _("县（市、区）"), [(r.label, t) for r, t in plist.by_county]))
    for name, what, groups in parts:
        summary = _streamed_sheet(wb, name, title, [what, *sums], {1: 24})
        for label, t in groups:
            summary.append([text_cell(summary, label), money_cell(summary, t.due), money_cell(summary, t.paid),
                            money_cell(summary, t.outstanding)])
        summary.append(_bold_totals(summary, 2, (total.due, total.paid, total.outstanding)))
        summary.print_area = f"A1:D{3 + len(groups) + 1}"
    return wb


def _wrapped(cell: WriteOnlyCell) -> WriteOnlyCell:
    cell.alignment = WRAP
    return cell


def _date_cell(ws, day) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws, value=day)
    cell.number_format = DATE_FORMAT
    return cell


def _confirmation_text(at) -> str:
    return clock.to_local(at).strftime("%Y-%m-%d %H:%M") if at is not None else _("未确认")


def settlement_workbook(settlement, lines, bureau: str, title: str, summary) -> Workbook:
    """A settlement statement (清算单): the parties, the sums, the claims behind them and both confirmations."""
    wb = Workbook()
    ws = wb.active
    ws.title = _("清算单")[:31]
    put_text(ws, 1, 1, title).font = Font(bold=True, size=14)
    parties = [(_("付款方"), bureau), (_("承保机构"), settlement.insurer.name), (_("县（市、区）"), settlement.region.label),
               (_("级次"), settlement.level.label), (_("年度"), str(settlement.year))]
    row = 3
    for label, value in parties:
        put_text(ws, row, 1, label).font = Font(bold=True)
        put_text(ws, row, 2, value)
        row += 1
    row += 1
    for label, amount in summary:
        put_text(ws, row, 1, label).font = Font(bold=True)
        cell = ws.cell(row=row, column=2, value=amount)
        cell.number_format = MONEY_FORMAT
        row += 1
    row += 1
    headers = [_("申请编号"), _("险种"), _("申请期间"), _("核验日期"), _("应补贴（元）"), _("预拨抵扣（元）"),
               _("拨付（元）"), _("未付（元）")]
    rows = ([line.claim.id, line.claim.product.label, line.claim.period,
             clock.to_local(line.claim.verified_at).date(), line.amount, line.from_advance, line.paid,
             line.amount - line.from_advance - line.paid] for line in lines)
    last = write_table(ws, headers, rows, money_columns=[5, 6, 7, 8], start_row=row, widths={1: 22, 2: 16, 3: 18})
    row = last + 2
    for label, at in ((_("付款方确认"), settlement.bureau_confirmed_at),
                      (_("承保机构确认"), settlement.insurer_confirmed_at)):
        put_text(ws, row, 1, label).font = Font(bold=True)
        put_text(ws, row, 2, _confirmation_text(at))
        row += 1
    sign_here(ws, row, [_("付款方：%(unit)s", unit=bureau), _("承保机构：%(unit)s", unit=settlement.insurer.name)])
    return wb


def settlement_pdf(settlement, lines, bureau: str, title: str, summary) -> bytes:
    from agri_insurance.pdf import Spacer, build_pdf, mm, paragraph, table

    flow = [paragraph(title, "title"), Spacer(1, 4 * mm),
            table([[_("付款方"), bureau], [_("承保机构"), settlement.insurer.name],
                   [_("县（市、区）"), settlement.region.label], [_("级次"), settlement.level.label]],
                  [40 * mm, 134 * mm], header=False),
            Spacer(1, 4 * mm),
            table([[label, f"{amount:,.2f}"] for label, amount in summary], [60 * mm, 114 * mm], header=False),
            Spacer(1, 4 * mm),
            table([[_("申请编号"), _("险种"), _("申请期间"), _("应补贴（元）"), _("预拨抵扣（元）"), _("拨付（元）")]]
                  + [[str(line.claim.id), line.claim.product.label, line.claim.period, f"{line.amount:,.2f}",
                      f"{line.from_advance:,.2f}", f"{line.paid:,.2f}"] for line in lines],
                  [18 * mm, 30 * mm, 36 * mm, 30 * mm, 30 * mm, 30 * mm]),
            Spacer(1, 8 * mm),
            table([[_("付款方确认"), _confirmation_text(settlement.bureau_confirmed_at), _("（盖章）")],
                   [_("承保机构确认"), _confirmation_text(settlement.insurer_confirmed_at), _("（盖章）")]],
                  [40 * mm, 80 * mm, 54 * mm], header=False)]
    return build_pdf(flow, title=title)
