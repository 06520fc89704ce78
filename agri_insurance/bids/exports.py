"""Bid documents: the xlsx bid template (download, fill, upload), the receipt PDF and the opening record."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from flask_babel import format_datetime
from flask_babel import gettext as _
from openpyxl import Workbook

from agri_insurance.bids.fields import SCALAR_FIELDS
from agri_insurance.bids.models import SERVICE_RATINGS, Bid, BidOpening, BidReceipt, RiskRating
from agri_insurance.i18n import join_names, with_note
from agri_insurance.pdf import Spacer, build_pdf, mm, paragraph, table
from agri_insurance.spreadsheets import put_text, write_table
from agri_insurance.tenders import xlsx_io as x
from agri_insurance.tenders.models import SelectionRound

# --- the bid template --------------------------------------------------------------------------------

INFO_SHEET, LOTS_SHEET, SETUP_SHEET, INNOVATION_SHEET, PENALTY_SHEET = (
    "投标信息", "投标标段", "机构设置", "创新产品", "行政处罚")
H_KEY, H_ITEM, H_VALUE = "字段代码", "项目", "填写内容"
H_LOT_CODE, H_LOT_COUNTY, H_LOT_NAME, H_LOT_BID = "标段编号", "县（市、区）", "标段名称", "是否投标"
H_COUNTY, H_BRANCH, H_STATIONS, H_STAFF = "县（市、区）", "是否设立县级分支机构", "乡镇服务站（个）", "农险专职人员（人）"
H_PRODUCT, H_FILED = "产品名称", "备案日期"
H_PEN_DATE, H_PEN_AMOUNT, H_PEN_AUTH, H_PEN_REASON = "处罚日期", "处罚金额（元）", "处罚机关", "处罚事由"

# Fixed Chinese row labels of the information sheet (the official form), by field.
INFO_ROWS = {
    "avg_settlement_days": "平均结案周期（天）",
    "on_time_settlement_pct": "理赔及时率（%）",
    "complaints_per_10k": "万单有效投诉量（件/万单）",
    "premium_income_y1": "农险保费收入（前第3年，元）",
    "premium_income_y2": "农险保费收入（前第2年，元）",
    "premium_income_y3": "农险保费收入（前1年，元）",
    "service_rating": "监管服务评价等级（AA/A/B/C/D）",
    "reinsurance_arrangement": "再保险安排",
    "catastrophe_reserve": "大灾风险准备金余额（元）",
    "comprehensive_solvency_pct": "综合偿付能力充足率（%）",
    "core_solvency_pct": "核心偿付能力充足率（%）",
    "risk_rating": "综合风险评级（A/B/C/D）",
    "parent_company": "上级（控股）公司",
    "control_declaration": "关联关系声明",
}
NUMBER_RULES = {  # field: (places, maximum)
    "avg_settlement_days": (2, Decimal(3650)),
    "on_time_settlement_pct": (2, Decimal(100)),
    "complaints_per_10k": (4, Decimal(10000)),
    "premium_income_y1": (2, None),
    "premium_income_y2": (2, None),
    "premium_income_y3": (2, None),
    "catastrophe_reserve": (2, None),
    "comprehensive_solvency_pct": (2, Decimal(9999)),
    "core_solvency_pct": (2, Decimal(9999)),
}


def bid_workbook(bid: Bid) -> Workbook:
    """The bid template for `bid`'s round, pre-filled with the bid's current content."""
    rnd = bid.round
    wb = Workbook()
    info = wb.active
    info.title = INFO_SHEET
    write_table(info, [H_KEY, H_ITEM, H_VALUE],
                [[name, INFO_ROWS[name], _cell(getattr(bid, name))] for name in SCALAR_FIELDS],
                widths={1: 26, 2: 36, 3: 50})
    info.column_dimensions["A"].hidden = True
    rating_row = SCALAR_FIELDS.index("service_rating") + 2
    risk_row = SCALAR_FIELDS.index("risk_rating") + 2
    x.inline_list_validation(info, list(SERVICE_RATINGS), f"C{rating_row}")
    x.inline_list_validation(info, [r.value for r in RiskRating], f"C{risk_row}")

    chosen = {lot.id for lot in bid.lots}
    lots = wb.create_sheet(LOTS_SHEET)
    write_table(lots, [H_LOT_CODE, H_LOT_COUNTY, H_LOT_NAME, H_LOT_BID],
                [[lot.code, lot.region.name, lot.name, "是" if lot.id in chosen else "否"] for lot in rnd.lots],
                widths={1: 14, 2: 14, 3: 30, 4: 10})
    x.inline_list_validation(lots, ["是", "否"], f"D2:D{len(rnd.lots) + 1}")

    setups = {s.region_id: s for s in bid.county_setups}
    setup = wb.create_sheet(SETUP_SHEET)
    counties = rnd.counties()
    write_table(setup, [H_COUNTY, H_BRANCH, H_STATIONS, H_STAFF],
                [[r.name, ("是" if setups[r.id].has_county_branch else "否") if r.id in setups else None,
                  setups[r.id].township_stations if r.id in setups else None,
                  setups[r.id].agri_staff if r.id in setups else None] for r in counties],
                widths={1: 14, 2: 22, 3: 18, 4: 20})
    x.inline_list_validation(setup, ["是", "否"], f"B2:B{len(counties) + 1}")

    innovations = wb.create_sheet(INNOVATION_SHEET)
    write_table(innovations, [H_PRODUCT, H_FILED], [[i.name, i.filed_on] for i in bid.innovations],
                widths={1: 40, 2: 14})
    penalties = wb.create_sheet(PENALTY_SHEET)
    write_table(penalties, [H_PEN_DATE, H_PEN_AMOUNT, H_PEN_AUTH, H_PEN_REASON],
                [[p.decided_on, p.amount, p.authority, p.reason] for p in bid.penalties],
                money_columns=[2], widths={1: 14, 2: 16, 3: 24, 4: 40})
    return wb


def _cell(value):
    if hasattr(value, "value") and not isinstance(value, str | int | Decimal):
        return value.value
    return value


def parse_bid(bid: Bid, data: bytes) -> tuple[dict[str, Any], x.Issues]:
    """`service.save_bid` data from a filled template, and the issues (the data counts only without issues)."""
    issues = x.Issues()
    try:
        wb = x.open_workbook(data)
    except x.BadWorkbook as e:
        issues.add(INFO_SHEET, None, None, None, str(e))
        return {}, issues
    rnd = bid.round
    result: dict[str, Any] = {name: None for name in SCALAR_FIELDS}

    seen_keys: dict[str, int] = {}  # key → the row it was first filled in
    for row in x.read_table(wb, INFO_SHEET, [H_KEY, H_ITEM, H_VALUE], issues):
        key = x.text(row[H_KEY], issues)
        if key is None:
            continue
        if key not in INFO_ROWS:
            x.report_duplicate(row[H_KEY], issues, _("未知的项目“%(key)s”", key=key[:40]))
            continue
        if key in seen_keys:  # which of the two values is meant? the later one would silently win
            x.report_duplicate(row[H_KEY], issues, _("项目“%(key)s”在第%(first)s行和第%(row)s行重复填写，请只保留一行",
                                                      key=key, first=seen_keys[key], row=row.number))
            continue
        seen_keys[key] = row.number
        cell = row[H_VALUE]
        if key in NUMBER_RULES:
            places, maximum = NUMBER_RULES[key]
            result[key] = x.decimal(cell, issues, minimum=Decimal(0), maximum=maximum, places=places)
        elif key == "service_rating":
            result[key] = x.choice(cell, issues, {r: r for r in SERVICE_RATINGS})
        elif key == "risk_rating":
            result[key] = x.choice(cell, issues, {r.value: r for r in RiskRating})
        else:
            result[key] = x.text(cell, issues, max_length=4000 if key != "parent_company" else 120,
                                 multiline=key != "parent_company")

    lots_by_code = {lot.code: lot for lot in rnd.lots}
    result["lot_ids"] = []
    for row in x.read_table(wb, LOTS_SHEET, [H_LOT_CODE, H_LOT_BID], issues, optional=(H_LOT_COUNTY, H_LOT_NAME)):
        code = x.text(row[H_LOT_CODE], issues, required=True, max_length=40)
        wanted = x.yes_no(row[H_LOT_BID], issues)
        if code is not None and code not in lots_by_code:
            x.report_duplicate(row[H_LOT_CODE], issues, _("本轮没有编号为 %(code)s 的标段", code=code))
        elif code is not None and wanted:
            result["lot_ids"].append(lots_by_code[code].id)

    county_options = {}
    for region in rnd.counties():
        for spelling in (region.name, region.name_en, region.code):
            if spelling:
                county_options[spelling] = region.id
    result["county_setups"] = []
    seen_counties = {}
    for row in x.read_table(wb, SETUP_SHEET, [H_COUNTY, H_BRANCH, H_STATIONS, H_STAFF], issues):
        region_id = x.choice(row[H_COUNTY], issues, county_options, required=True)
        branch = x.yes_no(row[H_BRANCH], issues)
        stations = x.integer(row[H_STATIONS], issues, maximum=10000)  # as the bid form allows
        staff = x.integer(row[H_STAFF], issues, maximum=100000)
        if region_id is not None and region_id in seen_counties:
            x.report_duplicate(row[H_COUNTY], issues, _("与第%(row)s行重复", row=seen_counties[region_id]))
            continue
        if region_id is not None:
            seen_counties[region_id] = row.number
        if branch is None and stations is None and staff is None:
            continue
        result["county_setups"].append({"region_id": region_id, "has_county_branch": bool(branch),
                                        "township_stations": stations or 0, "agri_staff": staff or 0})

    result["innovations"] = []
    for row in x.read_table(wb, INNOVATION_SHEET, [H_PRODUCT, H_FILED], issues):
        name = x.text(row[H_PRODUCT], issues, required=True)
        filed = x.day(row[H_FILED], issues, required=True)
        result["innovations"].append({"name": name, "filed_on": filed})

    result["penalties"] = []
    for row in x.read_table(wb, PENALTY_SHEET, [H_PEN_DATE, H_PEN_AMOUNT, H_PEN_AUTH, H_PEN_REASON], issues):
        result["penalties"].append({
            "decided_on": x.day(row[H_PEN_DATE], issues, required=True),
            "amount": x.decimal(row[H_PEN_AMOUNT], issues, required=True),
            "authority": x.text(row[H_PEN_AUTH], issues, max_length=120),
            "reason": x.text(row[H_PEN_REASON], issues, max_length=2000, multiline=True),
        })
    return result, issues


# --- receipt and opening record -----------------------------------------------------------------------------

def _local(value: datetime) -> str:
    return format_datetime(value, "yyyy-MM-dd HH:mm:ss")


def receipt_pdf(bid: Bid, receipt: BidReceipt) -> bytes:
    rnd = bid.round
    rows = [
        [_("项目"), _("内容")],
        [_("遴选轮次"), rnd.name],
        [_("投标人"), bid.insurer.name],
        [_("统一社会信用代码"), bid.insurer.credit_code],
        [_("回执编号"), receipt.receipt_no],
        [_("提交时间（北京时间）"), _local(receipt.submitted_at)],
        [_("投标标段"), join_names(lot.code for lot in bid.lots) if receipt == bid.latest_receipt else "—"],
        [_("投标文件摘要（SHA-256）"), receipt.sha256],
    ]
    flowables = [
        paragraph(_("投标回执"), "title"),
        table(rows, col_widths=[45 * mm, 125 * mm]),
        Spacer(1, 6 * mm),
        paragraph(_("摘要按投标文件内容（含附件的SHA-256）的规范化JSON计算；开标时将以此核对投标文件未被改动。")),
    ]
    return build_pdf(flowables, title=_("投标回执"))


def opening_rows(opening: BidOpening, rnd: SelectionRound) -> list[list]:
    lots = {lot.code: lot for lot in rnd.lots}
    return [[i, e["insurer"], e["credit_code"],
             join_names(with_note(code, lots[code].region.label) if code in lots else code for code in e["lots"]),
             e["receipt_no"], _local(datetime.fromisoformat(e["submitted_at"])), e["sha256"],
             _("一致") if e["verified"] else _("不一致")]
            for i, e in enumerate(opening.entries, start=1)]


def opening_headers() -> list[str]:
    return [_("序号"), _("投标人"), _("统一社会信用代码"), _("投标标段"), _("回执编号"), _("提交时间"),
            _("SHA-256"), _("核验")]


def opening_workbook(opening: BidOpening, rnd: SelectionRound) -> Workbook:
    wb = Workbook()
    ws = wb.active
    ws.title = _("开标记录")
    put_text(ws, 1, 1, _("%(name)s 开标记录", name=rnd.name))
    ws.cell(row=2, column=1, value=_("开标时间：%(time)s", time=_local(opening.opened_at)))
    write_table(ws, opening_headers(), opening_rows(opening, rnd), start_row=4,
                widths={2: 36, 3: 22, 4: 40, 5: 18, 6: 20, 7: 70, 8: 8})
    return wb


def opening_pdf(opening: BidOpening, rnd: SelectionRound) -> bytes:
    rows = [[r[0], r[1], r[3], r[4], r[5], r[6], r[7]] for r in opening_rows(opening, rnd)]
    headers = opening_headers()
    flowables = [
        paragraph(_("%(name)s 开标记录", name=rnd.name), "title"),
        paragraph(_("开标时间：%(time)s", time=_local(opening.opened_at))),
        paragraph(_("投标截止时间：%(time)s", time=_local(rnd.bid_deadline))),
        paragraph(_("投标人数：%(n)s", n=len(opening.entries))),
        Spacer(1, 4 * mm),
        table([[headers[0], headers[1], headers[3], headers[4], headers[5], headers[6], headers[7]], *rows],
              col_widths=[12 * mm, 48 * mm, 56 * mm, 34 * mm, 30 * mm, 60 * mm, 21 * mm]),
    ]
    # landscape: a receipt number, a time and a header such as "Verification" each fit on one line
    return build_pdf(flowables, title=_("开标记录"), wide=True)
