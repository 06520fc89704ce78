"""Reports upward (R14): next year's subsidy estimate (测算表, due 20 August) and the performance report (绩效) of a
year's funds, as xlsx a province can take."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from agri_insurance import clock
from agri_insurance.db_types import to_fen
from agri_insurance.extensions import db
from agri_insurance.reference.models import Product, Region, SubsidyScheme
from agri_insurance.spreadsheets import MONEY_FORMAT, put_text, write_table
from agri_insurance.subsidies import funds, service
from agri_insurance.subsidies.models import COMMITTED, GOVERNMENT_LEVELS, ShareLevel, SubsidyClaim

ZERO = Decimal("0.00")
HUNDRED = Decimal(100)
ESTIMATE_DUE = (8, 20)          # 财金〔2021〕130号 art. 21: the next year's estimate by 20 August
ESTIMATE_REMINDER_FROM = (7, 1)


def estimate_due(year: int) -> date:
    """The due date of the estimate for `year` (filed in the year before)."""
    return date(year - 1, *ESTIMATE_DUE)


def estimate_pending(today: date | None = None) -> tuple[int, date] | None:
    """(the year to estimate, its due date) while the reminder runs (1 July to 20 August), else None."""
    today = today or clock.local_today()
    if date(today.year, *ESTIMATE_REMINDER_FROM) <= today <= date(today.year, *ESTIMATE_DUE):
        return today.year + 1, estimate_due(today.year + 1)
    return None


@dataclass
class EstimateLine:
    product: Product
    basis_premium: Decimal              # this year's premium of submitted and verified claims
    pcts: dict[ShareLevel, Decimal]
    amounts: dict[ShareLevel, Decimal] = field(default_factory=dict)

    @property
    def subsidy(self) -> Decimal:
        return sum((self.amounts[level] for level in GOVERNMENT_LEVELS), ZERO)


def estimate(year: int) -> list[EstimateLine]:
    """The subsidy of `year` by product and level: the premium of `year` − 1 (claims submitted or verified) at the
    city-wide scheme of `year` (that of `year` − 1 while next year's is not yet set), split by the rounding rule."""
    premiums = db.session.execute(
        sa.select(SubsidyClaim.product_id, sa.func.sum(SubsidyClaim.total_premium))
        .where(SubsidyClaim.year == year - 1, SubsidyClaim.status.in_(service.REPORTED))
        .group_by(SubsidyClaim.product_id)).all()
    products = {p.id: p for p in db.session.scalars(sa.select(Product))}
    schemes = {}
    for scheme in db.session.scalars(sa.select(SubsidyScheme).where(
            SubsidyScheme.region_id.is_(None), SubsidyScheme.year.in_((year - 1, year))).order_by(SubsidyScheme.year)):
        schemes[scheme.product_id] = scheme    # the later year's wins
    lines = []
    for product_id, premium in premiums:
        scheme = schemes.get(product_id)
        if scheme is None:
            continue
        pcts = service.scheme_pcts(scheme)
        line = EstimateLine(products[product_id], Decimal(premium), pcts)
        line.amounts = service.split_premium(Decimal(premium), pcts)
        lines.append(line)
    lines.sort(key=lambda line: (line.product.category, line.product.code))
    return lines


def estimate_workbook(year: int, lines: list[EstimateLine], title: str) -> Workbook:
    wb = Workbook()
    ws = wb.active
    ws.title = _("测算表")[:31]
    put_text(ws, 1, 1, title).font = Font(bold=True, size=14)
    put_text(ws, 2, 1, _("报送期限：%(due)s", due=estimate_due(year).isoformat()))
    headers = [_("险种"), _("测算依据：%(y)s年度保费（元）", y=year - 1)]
    for level in GOVERNMENT_LEVELS:
        headers.append(_("%(level)s补贴（元）", level=level.label))
    headers += [_("财政补贴合计（元）"), _("农户自缴（元）")]
    rows = ([line.product.label, line.basis_premium, *(line.amounts[level] for level in GOVERNMENT_LEVELS),
             line.subsidy, line.amounts[ShareLevel.FARMER]] for line in lines)
    money = list(range(2, len(headers) + 1))
    last = write_table(ws, headers, rows, money_columns=money, start_row=4, widths={1: 18, 2: 22})
    _totals(ws, last + 1, money, [sum((ws.cell(row=r, column=c).value or ZERO for r in range(5, last + 1)), ZERO)
                                  for c in money])
    return wb


@dataclass
class PerformanceLine:
    region: Region
    households: int = 0
    premium: Decimal = ZERO
    due: dict[ShareLevel, Decimal] = field(default_factory=lambda: {level: ZERO for level in GOVERNMENT_LEVELS})
    paid: Decimal = ZERO
    shares: int = 0
    on_time: int = 0                    # shares paid in full by their due date

    @property
    def subsidy(self) -> Decimal:
        return sum(self.due.values(), ZERO)

    @property
    def payout_pct(self) -> Decimal | None:
        return None if not self.subsidy else (self.paid / self.subsidy * HUNDRED).quantize(Decimal("0.1"))

    @property
    def on_time_pct(self) -> Decimal | None:
        return None if not self.shares else (Decimal(self.on_time) / self.shares * HUNDRED).quantize(Decimal("0.1"))


def performance(year: int) -> list[PerformanceLine]:
    """Per county, the year's verified claims: coverage (households), premium, subsidy by level, paid, payout rate
    and timeliness (government shares paid in full by their due date)."""
    claims = db.session.scalars(
        sa.select(SubsidyClaim).where(SubsidyClaim.year == year, SubsidyClaim.status.in_(COMMITTED))
        .options(sa.orm.selectinload(SubsidyClaim.shares), sa.orm.selectinload(SubsidyClaim.payments))).all()
    lines: dict[int, PerformanceLine] = {}
    for claim in claims:
        line = lines.setdefault(claim.region_id, PerformanceLine(claim.region))
        line.households += claim.households
        line.premium += claim.total_premium
        for share in claim.shares:
            if share.level not in GOVERNMENT_LEVELS or share.amount == 0:
                continue
            line.due[share.level] += share.amount
            line.paid += share.paid
            line.shares += 1
            payments = [p.paid_on for p in claim.payments if p.level is share.level]
            last = max(payments, default=None)
            if share.outstanding == 0 and (last is None or (claim.due_date and last <= claim.due_date)):
                line.on_time += 1
    return sorted(lines.values(), key=lambda line: line.region.code)


def performance_workbook(year: int, lines: list[PerformanceLine], title: str) -> Workbook:
    wb = Workbook()
    ws = wb.active
    ws.title = _("绩效")[:31]
    put_text(ws, 1, 1, title).font = Font(bold=True, size=14)
    headers = [_("县（市、区）"), _("参保户次"), _("保费（元）")]
    headers += [_("%(level)s补贴（元）", level=level.label) for level in GOVERNMENT_LEVELS]
    headers += [_("财政补贴合计（元）"), _("已拨付（元）"), _("拨付率（%）"), _("按期足额拨付率（%）")]
    rows = ([line.region.label, line.households, line.premium, *(line.due[level] for level in GOVERNMENT_LEVELS),
             line.subsidy, line.paid, line.payout_pct, line.on_time_pct] for line in lines)
    money = list(range(3, 3 + len(GOVERNMENT_LEVELS) + 3))
    last = write_table(ws, headers, rows, money_columns=money, start_row=3, widths={1: 14})
    _totals(ws, last + 1, money, [sum((ws.cell(row=r, column=c).value or ZERO for r in range(4, last + 1)), ZERO)
                                  for c in money])
    _funds_sheet(wb, year)
    return wb


def _funds_sheet(wb: Workbook, year: int) -> None:
    """The central and provincial funds' path (资金到位): received from above, passed on, paid to underwriters."""
    ws = wb.create_sheet(_("资金到位")[:31])
    put_text(ws, 1, 1, _("%(year)s年度中央和省级资金路径", year=year)).font = Font(bold=True, size=14)
    headers = [_("级次"), _("财政部门"), _("上级下达（元）"), _("市级转拨（元）"), _("到位资金（元）"),
               _("拨付承保机构（元）")]
    rows = []
    for lp in funds.path(year):
        rows.append([lp.level.label, funds.bureau_label(lp.city.region), lp.city.from_above, -lp.city.from_city,
                     lp.city.received, lp.city.to_underwriters])
        rows += [[lp.level.label, funds.bureau_label(line.region), line.from_above, line.from_city, line.received,
                  line.to_underwriters] for line in lp.counties]
        rows.append([lp.level.label, _("合计（财政结存 %(held)s 元）", held=f"{lp.held:,.2f}"), lp.from_above, None,
                     None, lp.to_underwriters])
    write_table(ws, headers, rows, money_columns=[3, 4, 5, 6], start_row=3, widths={2: 20})


def _totals(ws, row: int, columns: list[int], amounts) -> None:
    ws.cell(row=row, column=1, value=_("合计")).font = Font(bold=True)
    for col, amount in zip(columns, amounts, strict=True):
        cell = ws.cell(row=row, column=col, value=to_fen(Decimal(amount)))
        cell.number_format = MONEY_FORMAT
        cell.font = Font(bold=True)


# --- payments as open data (OCDS implementation.transactions) -------------------------------------------------------

def payments_under(insurer_id: int, region_id: int, product_ids: list[int], start_year: int, end_year: int):
    """The payments (top-ups included) to an underwriter on its claims in a county for products and years: what an
    award's contract was paid, oldest first. One query."""
    from agri_insurance.subsidies.models import Payment

    return list(db.session.scalars(
        sa.select(Payment).join(SubsidyClaim, SubsidyClaim.id == Payment.claim_id)
        .where(SubsidyClaim.insurer_id == insurer_id, SubsidyClaim.region_id == region_id,
               SubsidyClaim.product_id.in_(product_ids), SubsidyClaim.year.between(start_year, end_year))
        .options(sa.orm.contains_eager(Payment.claim)).order_by(Payment.paid_on, Payment.id)))


def payer_of(payment) -> Region:
    """The finance bureau that paid: the county's for the county share, the city's for the others (it passes the
    central and provincial shares on)."""
    from agri_insurance.reference.models import RegionLevel

    if payment.level is ShareLevel.COUNTY:
        return payment.claim.region
    return db.session.scalar(sa.select(Region).where(Region.level == RegionLevel.CITY).limit(1))
