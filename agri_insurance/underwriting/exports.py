"""The list template, the error report and the masked list export (xlsx)."""

from __future__ import annotations

import json
from pathlib import Path

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.worksheet.datavalidation import DataValidation

from agri_insurance.masking import mask_account, mask_id
from agri_insurance.print_layout import finish, mark_title_rows
from agri_insurance.spreadsheets import money_cell, text_cell, write_table
from agri_insurance.underwriting.parsing import COLUMNS, Findings

FIRST_ERRORS_SHOWN = 50


def template_workbook(product_name: str = "", unit: str = "") -> Workbook:
    """Exactly the headers the importer expects; the ID and bank columns are text so digits are not mangled."""
    wb = Workbook()
    ws = wb.active
    ws.title = _("承保清单")[:31]
    headers = [header for _key, header in COLUMNS]
    write_table(ws, headers, [], widths={1: 14, 2: 22, 3: 12, 4: 12, 5: 12, 11: 24})
    for col in ("B", "K"):
        for row in range(2, 2002):
            ws[f"{col}{row}"].number_format = "@"
    for col in ("F", "H", "I", "J"):
        for row in range(2, 2002):
            ws[f"{col}{row}"].number_format = "0.00"
    positive = DataValidation(type="decimal", operator="greaterThan", formula1="0", allow_blank=True,
                              error=_("请填写大于0的数字"), showErrorMessage=True)
    ws.add_data_validation(positive)
    positive.add("F2:F100000")
    notes = wb.create_sheet(_("填写说明")[:31])
    for line in (
        _("每行一户（一个农户或经营主体）。证件号码填18位居民身份证号码或统一社会信用代码。"),
        _("证件号码、银行账号列已设为文本格式，请勿改为数字格式，否则末几位会丢失。"),
        _("数量和金额只填数字（可带两位小数），单位填在“单位”列。"),
        _("险种须与补贴申请的险种一致；清单合计须与申请的数量、保费、农户自缴保费、户数一致（允许1分误差）。"),
        *([_("本申请：险种填“%(p)s”，单位填“%(u)s”。", p=product_name, u=unit)] if product_name else []),
    ):
        notes.append([line])
    notes.column_dimensions["A"].width = 100
    return wb


def write_error_report(findings: Findings, path: Path) -> None:
    """Every error (row, column, message) as xlsx, plus a small JSON with the first ones for the page."""
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_("错误报告")[:31])
    for letter, width in zip("ABC", (8, 16, 70), strict=True):
        ws.column_dimensions[letter].width = width
    mark_title_rows(ws, 2)
    ws.append([_("共 %(n)s 处错误，未导入任何数据", n=findings.error_count)])
    header = [_("行号"), _("列"), _("问题")]
    ws.append(header)
    for error in findings.errors:
        ws.append([error.row, text_cell(ws, error.column), text_cell(ws, error.message)])  # they may quote the cell
    finish(wb)
    wb.save(path)
    summary = {"error_count": findings.error_count,
               "first": [[e.row, e.column, e.message] for e in findings.errors[:FIRST_ERRORS_SHOWN]]}
    path.with_suffix(".json").write_text(json.dumps(summary, ensure_ascii=False), encoding="utf-8")


def list_title(claim) -> str:
    """The export's title and file name."""
    return _("承保清单：%(t)s", t=claim.title)


def list_workbook(lst, rows, title: str, show_full_ids: bool = False, progress=None) -> Workbook:
    """The stored list ``lst`` (its ``rows``), with its totals in a last row to check against the claim; ID
    numbers and bank accounts are masked unless the reader's role needs them. ``progress(rows_written)`` is
    called every 10,000 rows (a background export's progress bar)."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_("承保清单")[:31])
    # a write-only sheet takes its widths before its first row: 行号, 姓名, 证件号码, 乡镇, 村, 数量, three sums, 账号
    for letter, width in zip("ABCDEFGHIJ", (8, 12, 20, 12, 12, 10, 14, 12, 12, 22), strict=True):
        ws.column_dimensions[letter].width = width
    mark_title_rows(ws, 2)
    ws.append([text_cell(ws, title)])
    ws.append([_("行号"), *[header for key, header in COLUMNS if key not in ("product", "unit")]])
    for written, r in enumerate(rows, start=1):
        if progress is not None and written % 10_000 == 0:
            progress(written)
        ws.append([r.row_no, text_cell(ws, r.name), r.id_number if show_full_ids else mask_id(r.id_number),
                   text_cell(ws, r.township), text_cell(ws, r.village),
                   r.quantity, money_cell(ws, r.sum_insured), money_cell(ws, r.premium),
                   money_cell(ws, r.farmer_premium),
                   r.bank_account if show_full_ids else mask_account(r.bank_account)])
    totals = [text_cell(ws, _("合计")), text_cell(ws, _("%(n)s 户", n=lst.households)), None, None, None,
              WriteOnlyCell(ws, value=lst.total_quantity), money_cell(ws, lst.total_sum_insured),
              money_cell(ws, lst.total_premium), money_cell(ws, lst.total_farmer_premium)]
    for cell in totals:
        if cell is not None:
            cell.font = Font(bold=True)
    ws.append(totals)
    return wb


