"""Factories for rounds, lots and bids (tests/tenders, tests/bids, the access table, the browser journey)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
import time_machine

from agri_insurance.clock import utcnow
from agri_insurance.extensions import db as _db
from agri_insurance.pdf import build_pdf, paragraph

# A real (small) PDF, made with the app's own PDF helper so pypdf can read it back.
PDF_BYTES = build_pdf([paragraph("营业执照（测试用）")], title="test")

# Distinctive bid content: the sealing test looks for these strings everywhere.
SEALED_REINSURANCE = "MARKER-再保安排-7731 与某再保险公司成数分保"
SEALED_RESERVE = Decimal("98765432.10")
SEALED_INNOVATION = "MARKER-创新产品-4409 油茶收入保险"


def user(username: str):
    from agri_insurance.auth.models import User

    return _db.session.scalar(sa.select(User).where(User.username == username))


def product_ids(*codes: str) -> list[int]:
    from agri_insurance.reference.models import Product

    return list(_db.session.scalars(sa.select(Product.id).where(Product.code.in_(codes))))


def region(code: str):
    from agri_insurance.reference.models import Region

    return _db.session.scalar(sa.select(Region).where(Region.code == code))


def make_round(*, counties=("361128", "361130"), lots_per_county: int = 2, deadline: datetime | None = None,
               opening: datetime | None = None, name: str = "2026–2028年度政策性农业保险承保机构遴选",
               term_start_year: int = 2026, publish: bool = False, actor=None):
    """A round (draft unless publish) with `lots_per_county` lots in each county; times are naive UTC."""
    from agri_insurance.tenders import service

    deadline = deadline or utcnow() + timedelta(days=10)
    opening = opening or deadline + timedelta(hours=1)
    rnd = service.create_round({
        "name": name, "term_start_year": term_start_year, "bid_deadline": deadline, "opening_time": opening,
        "notice_working_days": 5, "min_insurers": 2, "max_insurers": 3, "market_share_cap_pct": None,
        "contact": "市农业农村局 0793-0000000", "notes": None}, actor)
    for code in counties:
        for n in range(1, lots_per_county + 1):
            service.save_lot(rnd, None, {
                "region_id": region(code).id, "code": f"{code}-{n}", "name": f"{region(code).name}第{n}标段",
                "townships": None, "expected_premium": Decimal("1000000.00") * n, "loss_ratio_pct": Decimal("65.5"),
                "notes": None, "product_ids": product_ids("rice", "rapeseed") if n == 1 else product_ids("citrus")},
                actor)
    if publish:
        service.publish_round(rnd, actor)
    _db.session.commit()
    return rnd


def bid_data(rnd, lot_codes=None, **overrides) -> dict:
    lots = [lot for lot in rnd.lots if lot_codes is None or lot.code in lot_codes]
    counties = sorted({lot.region_id for lot in lots})
    data = {
        "lot_ids": [lot.id for lot in lots],
        "county_setups": [{"region_id": rid, "has_county_branch": True, "township_stations": 12, "agri_staff": 30}
                          for rid in counties],
        "avg_settlement_days": Decimal("18.5"), "on_time_settlement_pct": Decimal("97.25"),
        "complaints_per_10k": Decimal("0.35"),
        "premium_income_y1": Decimal("81000000.00"), "premium_income_y2": Decimal("86000000.00"),
        "premium_income_y3": Decimal("90500000.00"), "service_rating": "A",
        "reinsurance_arrangement": SEALED_REINSURANCE, "catastrophe_reserve": SEALED_RESERVE,
        "comprehensive_solvency_pct": Decimal("235.6"), "core_solvency_pct": Decimal("180.2"), "risk_rating": "A",
        "parent_company": "赣鄱财产保险股份有限公司",
        "control_declaration": "本公司与本轮其他投标人不存在控股、管理等关联关系。",
        "innovations": [{"name": SEALED_INNOVATION, "filed_on": date(2024, 5, 6)}],
        "penalties": [{"decided_on": date(2023, 8, 1), "amount": Decimal("50000.00"), "authority": "上饶监管分局",
                       "reason": "虚列费用"}],
    }
    data.update(overrides)
    return data


def make_bid(rnd, username: str = "insurer", submit: bool = True, attachment: bool = True, **overrides):
    from agri_insurance import storage
    from agri_insurance.bids import service

    actor = user(username)
    bid = service.start_bid(rnd, actor)
    service.save_bid(bid, bid_data(rnd, **overrides), actor)
    if attachment:
        stored = storage.save_bytes(PDF_BYTES, "营业执照.pdf", actor)
        service.add_attachment(bid, stored, "营业执照", actor)
    if submit:
        service.submit_bid(bid, actor)
    _db.session.commit()
    return bid


def make_opened_round_with_bid(username: str = "insurer"):
    """A round whose bids were opened yesterday, with a submitted bid of `username`'s insurer."""
    from agri_insurance.bids import service as bids

    now = utcnow()
    with time_machine.travel(now - timedelta(days=10), tick=False):
        rnd = make_round(deadline=now - timedelta(days=2), opening=now - timedelta(days=2), publish=True)
        bid = make_bid(rnd, username)
    with time_machine.travel(now - timedelta(days=1), tick=False):
        bids.open_bids(rnd, user("city_agri"))
        _db.session.commit()
    return rnd, bid


def make_exception(rnd, county: str = "361128", max_insurers: int = 4):
    from agri_insurance import storage
    from agri_insurance.tenders import service

    stored = storage.save_bytes(PDF_BYTES, "省领导小组批复.pdf", None)
    exception = service.add_exception(rnd, region(county), max_insurers, "赣农险组〔2025〕3号", date(2025, 1, 6),
                                      stored, user("city_agri"))
    _db.session.commit()
    return exception
