"""Lots as xlsx: the fill-in template (with drop-downs), the import parser and the export."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from openpyxl import Workbook

from agri_insurance.db_types import MAX_MONEY, MAX_RATIO_PCT
from agri_insurance.extensions import db
from agri_insurance.reference.models import Product, Region, RegionLevel
from agri_insurance.spreadsheets import write_table
from agri_insurance.tenders import xlsx_io as x
from agri_insurance.tenders.models import Lot, SelectionRound

LOT_SHEET = "标段"
OPTIONS_SHEET = "选项"
PRODUCT_SLOTS = 5
H_COUNTY, H_CODE, H_NAME = "县（市、区）", "标段编号", "标段名称"
H_PRODUCTS = tuple(f"险种{i}" for i in range(1, PRODUCT_SLOTS + 1))
H_TOWNSHIPS, H_PREMIUM, H_LOSS, H_NOTES = "乡镇", "预计年保费（元）", "历史赔付率（%）", "备注"
LOT_HEADERS = [H_COUNTY, H_CODE, H_NAME, *H_PRODUCTS, H_TOWNSHIPS, H_PREMIUM, H_LOSS, H_NOTES]
TEMPLATE_ROWS = 300


def _counties() -> list[Region]:
    return list(db.session.scalars(sa.select(Region).where(Region.level == RegionLevel.COUNTY).order_by(Region.code)))


def _products() -> list[Product]:
    return list(db.session.scalars(sa.select(Product).where(Product.active).order_by(Product.category, Product.code)))


def lots_template() -> Workbook:
    """An empty lot sheet with drop-downs for county and products (their lists on a hidden sheet)."""
    wb = Workbook()
    ws = wb.active
    ws.title = LOT_SHEET
    write_table(ws, LOT_HEADERS, [], widths={1: 14, 2: 12, 3: 24, 9: 24, 10: 18, 11: 16, 12: 24})
    options = wb.create_sheet(OPTIONS_SHEET)
    counties, products = _counties(), _products()
    options.cell(row=1, column=1, value=H_COUNTY)
    options.cell(row=1, column=2, value="险种")
    for i, region in enumerate(counties, start=2):
        options.cell(row=i, column=1, value=region.name)
    for i, product in enumerate(products, start=2):
        options.cell(row=i, column=2, value=product.name)
    options.sheet_state = "hidden"
    last = TEMPLATE_ROWS + 1
    x.list_validation(ws, f"'{OPTIONS_SHEET}'!$A$2:$A${len(counties) + 1}", f"A2:A{last}")
    first_product_col, last_product_col = "D", chr(ord("D") + PRODUCT_SLOTS - 1)
    x.list_validation(ws, f"'{OPTIONS_SHEET}'!$B$2:$B${len(products) + 1}",
                      f"{first_product_col}2:{last_product_col}{last}")
    return wb


def lots_workbook(rnd: SelectionRound, limits: dict | None = None) -> Workbook:
    """The round's lots in the template's layout (so an export can be edited and imported into a new round)."""
    wb = Workbook()
    ws = wb.active
    ws.title = LOT_SHEET
    rows = []
    for lot in rnd.lots:
        names = [p.name for p in lot.products][:PRODUCT_SLOTS]
        names += [None] * (PRODUCT_SLOTS - len(names))
        rows.append([lot.region.name, lot.code, lot.name, *names, lot.townships, lot.expected_premium,
                     lot.loss_ratio_pct, lot.notes])
    write_table(ws, LOT_HEADERS, rows, money_columns=[LOT_HEADERS.index(H_PREMIUM) + 1],
                widths={1: 14, 2: 12, 3: 24, 9: 24, 10: 18, 11: 16, 12: 24})
    if limits:
        summary = wb.create_sheet(_("各县承保机构数"))
        write_table(summary, [_("县（市、区）"), _("标段数"), _("下限"), _("上限"), _("省级批准文号")],
                    [[lim.region.name, sum(1 for lot in rnd.lots if lot.region_id == rid), lim.min_insurers,
                      lim.max_insurers, lim.exception.approval_doc_no if lim.exception else None]
                     for rid, lim in limits.items()])
    return wb


def parse_lots(rnd: SelectionRound, data: bytes) -> tuple[list[dict[str, Any]], x.Issues]:
    """Rows ready for `service.import_lots`, and the issues; the rows count only when there are no issues."""
    issues = x.Issues()
    try:
        wb = x.open_workbook(data)
    except x.BadWorkbook as e:
        issues.add(LOT_SHEET, None, None, None, str(e))
        return [], issues
    # every column of the template is required: one deleted (备注, say) would drop what it held without a word
    rows = x.read_table(wb, LOT_SHEET, LOT_HEADERS, issues)
    county_options: dict[str, int] = {}
    for region in _counties():
        for spelling in (region.name, region.name_en, region.code):
            if spelling:
                county_options[spelling] = region.id
    product_options: dict[str, int] = {}
    for product in db.session.scalars(sa.select(Product).where(Product.active)):
        for spelling in (product.name, product.name_en, product.code):
            product_options[spelling] = product.id
    existing_codes = {lot.code for lot in db.session.scalars(sa.select(Lot).where(Lot.round_id == rnd.id))}
    seen: dict[str, int] = {}
    result = []
    for row in rows:
        region_id = x.choice(row[H_COUNTY], issues, county_options, required=True)
        code = x.text(row[H_CODE], issues, required=True, max_length=40)
        if code is not None:
            if code in existing_codes:
                x.report_duplicate(row[H_CODE], issues, _("标段编号 %(code)s 在本轮已存在", code=code))
            elif code in seen:
                x.report_duplicate(row[H_CODE], issues, _("标段编号 %(code)s 与第%(row)s行重复", code=code,
                                                           row=seen[code]))
            else:
                seen[code] = row.number
        name = x.text(row[H_NAME], issues, required=True, max_length=200)
        product_ids = []
        for header in H_PRODUCTS:
            if header in row.cells:
                pid = x.choice(row[header], issues, product_options, required=(header == H_PRODUCTS[0]))
                if pid is not None and pid not in product_ids:
                    product_ids.append(pid)
        townships = x.text(row[H_TOWNSHIPS], issues, max_length=2000) if H_TOWNSHIPS in row.cells else None
        premium = x.decimal(row[H_PREMIUM], issues, required=True, minimum=Decimal(0), maximum=MAX_MONEY)
        loss = x.decimal(row[H_LOSS], issues, minimum=Decimal(0), maximum=MAX_RATIO_PCT) if H_LOSS in row.cells \
            else None
        notes = x.text(row[H_NOTES], issues, max_length=2000, multiline=True) if H_NOTES in row.cells else None
        result.append({"region_id": region_id, "code": code, "name": name, "product_ids": product_ids,
                       "townships": townships, "expected_premium": premium, "loss_ratio_pct": loss, "notes": notes})
    if not rows and not issues:
        issues.add(LOT_SHEET, None, None, None, _("没有可导入的标段"))
    return result, issues
