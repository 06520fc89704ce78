"""The payout list template and the measured service export (xlsx)."""

from __future__ import annotations

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.worksheet.datavalidation import DataValidation

from agri_insurance.payouts.parsing import COLUMNS
from agri_insurance.spreadsheets import PERCENT_FORMAT, write_table


def template_workbook() -> Workbook:
    """Exactly the headers the importer expects: the ID and bank columns are text (digits are not mangled), the
    date columns take dates and the amounts numbers (the cells refuse anything else as it is typed)."""
    wb = Workbook()
    ws = wb.active
    ws.title = _("理赔清单")[:31]
    write_table(ws, [header for _key, header in COLUMNS], [], widths={1: 14, 2: 22, 10: 24})
    for col in ("B", "J"):
        for row in range(2, 2002):
            ws[f"{col}{row}"].number_format = "@"
    for col in ("C", "D", "E", "G", "I"):
        for row in range(2, 2002):
            ws[f"{col}{row}"].number_format = "yyyy-mm-dd"
    dates = DataValidation(type="date", operator="greaterThan", formula1="36526", allow_blank=True,
                           error=_("请填写日期，如 2025-07-01"), showErrorMessage=True)
    amounts = DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0", allow_blank=True,
                             error=_("请填写数字（元）"), showErrorMessage=True)
    ws.add_data_validation(dates)
    ws.add_data_validation(amounts)
    for col in ("C", "D", "E", "G", "I"):
        dates.add(f"{col}2:{col}100000")
    for col in ("F", "H"):
        amounts.add(f"{col}2:{col}100000")
    notes = wb.create_sheet(_("填写说明")[:31])
    for line in (
        _("每行一户一次赔付。证件号码填18位居民身份证号码或统一社会信用代码，须在本机构该县该险种该年度的承保清单中。"),
        _("日期顺序：出险日期 ≤ 报案日期 ≤ 查勘日期 ≤ 赔款协议日期 ≤ 支付日期。"),
        _("尚未支付的，已付赔款和支付日期两列都留空；请勿删除任何一列。"),
        _("《农业保险条例》第十六条：达成赔偿协议后10日内支付赔款。"),
    ):
        notes.append([line])
    notes.column_dimensions["A"].width = 100
    return wb


def measured_workbook(figures, insurers: dict, regions: dict, products: dict) -> Workbook:
    """One row per insurer, county, product and year, each figure next to the number of rows it rests on."""
    wb = Workbook()
    ws = wb.active
    ws.title = _("理赔服务指标")[:31]
    headers = [_("年度"), _("县（市、区）"), _("承保机构"), _("险种"), _("已付赔款（元）"), _("保费（元）"),
               _("承保清单行数"), _("赔付率"), _("报案至支付天数中位数"), _("报案至支付天数90分位"),
               _("已支付行数"), _("协议后10日内支付占比"), _("被标记行占比"), _("理赔清单行数")]
    rows = [[m.year, regions.get(m.region_id, ""), insurers.get(m.insurer_id, ""), products.get(m.product_id, ""),
             m.claims_paid, m.premium, m.premium_rows, m.loss_ratio, m.settle_median, m.settle_p90, m.paid_rows,
             m.within_10_share, m.flagged_share, m.payout_rows] for m in figures]
    last = write_table(ws, headers, rows, money_columns=(5, 6))
    for row in range(2, last + 1):
        for col in ("H", "L", "M"):
            ws[f"{col}{row}"].number_format = PERCENT_FORMAT
    return wb
