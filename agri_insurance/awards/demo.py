"""Demo data for the end of the selection: a second round whose evaluation is final, with an adopted allocation
run, awards, backup underwriters and an open public notice, in three counties. Its 35 % market-share cap admits
no allocation (鄱阳县's planting lot alone is 41.7 % of the round's premium): the first run is infeasible, the
bureau records a departure raising the cap to 45 % (a collective decision), and the run under it is adopted.
A third round is finalised: its notice period over, an objection answered, the award and non-award notices
numbered (饶农险遴〔year〕n号). Loaded by `flask demo-data` only (never under tests), through the services;
idempotent."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa

from agri_insurance import pdf, storage
from agri_insurance.allocation import service as allocation
from agri_insurance.auth import service as auth_service
from agri_insurance.auth.models import User
from agri_insurance.awards import calendar
from agri_insurance.awards import service as awards
from agri_insurance.awards.models import Holiday
from agri_insurance.bids import service as bids
from agri_insurance.bids.models import Bid
from agri_insurance.clock import local_today, utcnow
from agri_insurance.evaluation import service as evaluation
from agri_insurance.extensions import db
from agri_insurance.reference.models import Insurer, Product, Region
from agri_insurance.roles import Role
from agri_insurance.tenders import service as tenders
from agri_insurance.tenders.models import SelectionRound

AWARDED_ROUND_NAME = "2023–2025年度上饶市政策性农业保险承保机构遴选（演示·已公示）"
AWARDED_LOTS = (  # county, code, name, products, expected annual premium, historical loss ratio %
    ("361128", "PY-A1", "鄱阳县种植业标段", ("rice", "rapeseed"), "6800000", "66.0"),
    ("361128", "PY-A2", "鄱阳县养殖业标段", ("breeding_sow",), "1900000", "80.5"),
    ("361127", "YG-A1", "余干县种植业标段", ("rice", "peanut"), "4100000", "61.2"),
    ("361127", "YG-A2", "余干县特色农业标段", ("camellia_oil",), "800000", "44.0"),
    ("361130", "WY-A1", "婺源县种植业标段", ("rice", "rapeseed"), "1500000", "57.3"),
    ("361130", "WY-A2", "婺源县林业标段", ("commercial_forest",), "1200000", "33.8"),
)
# insurer short name → (settlement days, on-time %, complaints per 10k, premium income (million) y1–y3, service
# rating, comprehensive / core solvency %, risk rating, expert points (of 5), county set-ups by county code)
AWARDED_BIDS = {
    "赣鄱财险": ("16.5", "98.6", "0.20", ("92", "97", "104"), "AA", "248.0", "190.5", "A", "4.5",
             {"361128": (True, 22, 45), "361127": (True, 14, 28), "361130": (True, 9, 16)}),
    "信江农险": ("19.0", "97.1", "0.31", ("70", "74", "79"), "A", "221.4", "168.0", "A", "4",
             {"361128": (True, 18, 36), "361127": (True, 16, 30), "361130": (True, 12, 22)}),
    "三清财险": ("21.5", "95.8", "0.42", ("55", "58", "61"), "A", "196.3", "150.2", "B", "3.5",
             {"361128": (True, 10, 20), "361127": (False, 6, 12), "361130": (True, 11, 20)}),
    "怀玉财险": ("24.0", "94.0", "0.55", ("38", "40", "43"), "B", "172.9", "131.7", "B", "3",
             {"361128": (False, 5, 9), "361127": (True, 9, 18), "361130": (False, 4, 8)}),
}


# The published cap no allocation can meet, and the departure the bureau's leadership approves.
AWARDED_CAP_PCT = Decimal("35")
DEPARTURE_CAP_PCT = Decimal("45")
DEPARTURE_REASON = ("鄱阳县种植业标段预计年保费680万元，占本轮预计保费的41.7%，任何承保机构承保该标段都将超过35%的"
                    "市场份额上限，按公布的规则无法分配。经局党组会议集体研究，本轮市场份额上限调整为45%。")

DEMO_HOLIDAYS = ((date(2027, 1, 1), "元旦"),)


def load_demo_holidays() -> int:
    """The holiday list the notice period skips (the administrator keeps it up to date). Idempotent."""
    created = 0
    for day, name in DEMO_HOLIDAYS:
        if db.session.scalar(sa.select(Holiday.id).where(Holiday.day == day)) is None:
            calendar.add_holiday(day, name, None)
            created += 1
    return created


def _user(username: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.username == username))


def _insurer_user(insurer: Insurer) -> User:
    """An insurer user of `insurer`: the existing one, else `insurer<n>` as the subsidy demo names them."""
    existing = db.session.scalar(sa.select(User).where(User.insurer_id == insurer.id).order_by(User.id))
    if existing is not None:
        return existing
    index = db.session.scalar(sa.select(sa.func.count(Insurer.id)).where(Insurer.id <= insurer.id))
    return auth_service.create_user(f"insurer{index}", f"{insurer.short_name} 业务员", Role.INSURER, "demo1234",
                                    None, insurer_id=insurer.id)


def _bid_data(rnd, short: str, table: dict = AWARDED_BIDS) -> dict:
    days, on_time, complaints, income, rating, comp, core, risk, _points, setups = table[short]
    regions = {r.code: r.id for r in db.session.scalars(sa.select(Region))}
    insurer = db.session.scalar(sa.select(Insurer).where(Insurer.short_name == short))
    counties = {lot.region_id for lot in rnd.lots}
    setups = {code: setup for code, setup in setups.items() if regions[code] in counties}
    return {
        "lot_ids": [lot.id for lot in rnd.lots],
        "county_setups": [{"region_id": regions[code], "has_county_branch": branch, "township_stations": stations,
                           "agri_staff": staff} for code, (branch, stations, staff) in setups.items()],
        "avg_settlement_days": Decimal(days), "on_time_settlement_pct": Decimal(on_time),
        "complaints_per_10k": Decimal(complaints),
        **{f"premium_income_y{n}": Decimal(v) * 1_000_000 for n, v in enumerate(income, start=1)},
        "service_rating": rating, "reinsurance_arrangement": "与再保险公司签订成数及超赔分保合同",
        "catastrophe_reserve": Decimal("15000000"), "comprehensive_solvency_pct": Decimal(comp),
        "core_solvency_pct": Decimal(core), "risk_rating": risk, "parent_company": insurer.parent_company,
        "control_declaration": "本公司与本轮其他投标人不存在控股、管理等关联关系。",
        "innovations": [{"name": f"{short}水稻完全成本保险", "filed_on": date(2022, 3, 15)}], "penalties": [],
    }


def _round_scored(name: str, term_start_year: int, cap_pct: Decimal | None, lots: tuple, bidders: dict,
                  control_decisions: dict[str, tuple[str, str]] | None = None):
    """A round through the services up to a closed panel: created with `lots`, published, bid on by `bidders`
    (short name → AWARDED_BIDS-like tuple), opened, checked (common-control pairs decided as
    `control_decisions` says: short name → ("admitted" | "excluded", note)), scored by the demo expert.

    Bids are submitted while the round is open; then, as a demo shortcut, the bid period is moved two weeks into
    the past (written directly, as if time had passed) so the bids can be opened."""
    from agri_insurance.evaluation.models import ControlDecision

    city, expert = _user("city_agri"), _user("expert")
    now = utcnow().replace(second=0, microsecond=0)
    rnd = tenders.create_round({
        "name": name, "term_start_year": term_start_year, "bid_deadline": now + timedelta(hours=1),
        "opening_time": now + timedelta(hours=2), "notice_working_days": 5, "min_insurers": 2, "max_insurers": 3,
        "market_share_cap_pct": cap_pct, "contact": "市农业农村局计划财务科 0793-8000000", "notes": None}, city)
    products = {p.code: p.id for p in db.session.scalars(sa.select(Product))}
    regions = {r.code: r.id for r in db.session.scalars(sa.select(Region))}
    for county, code, lot_name, product_codes, premium, loss in lots:
        tenders.save_lot(rnd, None, {
            "region_id": regions[county], "code": code, "name": lot_name, "townships": None,
            "expected_premium": Decimal(premium), "loss_ratio_pct": Decimal(loss), "notes": None,
            "product_ids": [products[c] for c in product_codes]}, city)
    tenders.publish_round(rnd, city)
    for short in bidders:
        insurer = db.session.scalar(sa.select(Insurer).where(Insurer.short_name == short))
        actor = _insurer_user(insurer)
        bid = bids.start_bid(rnd, actor)
        bids.save_bid(bid, _bid_data(rnd, short, bidders), actor)
        bids.submit_bid(bid, actor)
    db.session.flush()

    # Demo shortcut: the bid period ended two weeks ago (receipts keep their order before the deadline).
    shift = (now + timedelta(hours=2)) - (now - timedelta(days=14))
    rnd.bid_deadline -= shift
    rnd.opening_time -= shift
    for bid in db.session.scalars(sa.select(Bid).where(Bid.round_id == rnd.id)):
        bid.submitted_at -= shift
        for receipt in bid.receipts:
            receipt.submitted_at -= shift
    db.session.flush()

    tenders.advance_by_clock(rnd)
    bids.open_bids(rnd, city)
    tenders.start_evaluation(rnd, city, len(bids.opened_bids(rnd)))
    decisions = {"admitted": ControlDecision.ADMITTED, "excluded": ControlDecision.EXCLUDED}
    for check in evaluation.check_eligibility(rnd, city):
        if check.flagged:
            decision, note = (control_decisions or {})[check.bid.insurer.short_name]
            evaluation.decide_common_control(check, decisions[decision], note, city)
    member = evaluation.assign_expert(rnd, expert, city)
    evaluation.start_scoring(rnd, city)
    evaluation.declare_conflicts(member, [], "", expert)
    criteria = evaluation.subjective_criteria(rnd)
    for bid in evaluation.bids_to_score(member):
        points = Decimal(bidders[bid.insurer.short_name][8])
        evaluation.save_scores(member, bid, {c.id: (min(points, c.max_points), None) for c in criteria}, expert)
    evaluation.submit_scores(member, expert)
    evaluation.close_panel(rnd, city)
    return rnd, city


def load_demo_awarded_round() -> int:
    """Create the publicised demo round (returns 1), or nothing when it exists (returns 0): opening, eligibility,
    one expert's scores, an infeasible allocation run, the departure, the run under it adopted, the public
    notice."""
    if db.session.scalar(sa.select(SelectionRound.id).where(SelectionRound.name == AWARDED_ROUND_NAME)) is not None:
        return 0
    rnd, city = _round_scored(AWARDED_ROUND_NAME, 2023, AWARDED_CAP_PCT, AWARDED_LOTS, AWARDED_BIDS)
    run = allocation.run_now(rnd, city)  # infeasible: no allocation meets the 35 % cap
    _record_departure(rnd, city)
    under = allocation.start_whatif(run, {"departure": allocation.departures(rnd)[0].id}, city, now=True)
    allocation.adopt(under, city)
    awards.publish(rnd, city)
    db.session.flush()
    return 1


# The finalised round: its notice period over, one objection answered (not upheld), the notices numbered. Its term
# starts next year, so it stays 已确定中标 (awarded) and its winners see their lots on their home pages; 三清 and
# 灵山 share a parent company and the bureau admitted 三清 only.
FINALISED_ROUND_NAME = "上饶市政策性农业保险承保机构遴选（演示·已确定中标）"
FINALISED_LOTS = (
    ("361130", "WY-F1", "婺源县种植业标段", ("rice", "rapeseed"), "3200000", "62.4"),
    ("361130", "WY-F2", "婺源县养殖业标段", ("breeding_sow",), "1200000", "78.9"),
    ("361128", "PY-F1", "鄱阳县特色农业标段", ("camellia_oil", "medicinal_herbs"), "1500000", "45.6"),
    ("361128", "PY-F2", "鄱阳县林业标段", ("commercial_forest",), "900000", "31.2"),
)
FINALISED_BIDS = {
    **{short: AWARDED_BIDS[short] for short in ("赣鄱财险", "信江农险", "三清财险", "怀玉财险")},
    "灵山财险": ("22.0", "95.1", "0.47", ("41", "44", "46"), "B", "183.0", "140.6", "B", "3",
             {"361128": (True, 8, 15), "361127": (False, 3, 6), "361130": (False, 2, 5)}),
}
FINALISED_CONTROL = {"三清财险": ("admitted", "两家同属三清保险集团，经审查三清财险在本市经营时间较长、机构健全，准予参加评审。"),
                     "灵山财险": ("excluded", "与三清财险同属三清保险集团，同一控制下只允许一家参加评审。")}
FINALISED_OBJECTION = ("对婺源县种植业标段评审结果的质疑", "本公司在婺源县设有多个乡镇服务站，评审未予充分考虑，请予复核。")
FINALISED_ANSWER = "经复核，乡镇服务站数量已按投标文件计入机构设置评分，评审结果无误，质疑不成立。"


def load_demo_finalised_round() -> int:
    """Create the finalised demo round (returns 1), or nothing when it exists (returns 0). Through the services:
    scored, allocated, published, an objection filed by a bidder that won nothing and answered (not upheld);
    then, as a demo shortcut, the notice period is moved three weeks into the past (written directly, as if time
    had passed) and the result finalised, which numbers the notices."""
    if db.session.scalar(sa.select(SelectionRound.id).where(SelectionRound.name == FINALISED_ROUND_NAME)) is not None:
        return 0
    rnd, city = _round_scored(FINALISED_ROUND_NAME, local_today().year + 1, None, FINALISED_LOTS, FINALISED_BIDS,
                              FINALISED_CONTROL)
    allocation.adopt(allocation.run_now(rnd, city), city)
    notice = awards.publish(rnd, city)
    winners = {a.insurer_id for a in awards.awards_of(rnd)}
    objector = next(i for i in awards.bidders(rnd) if i.id not in winners)
    letter = pdf.build_pdf([pdf.paragraph("质疑函（演示）", "title"), pdf.paragraph(FINALISED_OBJECTION[1])],
                           title="质疑函")
    actor = _insurer_user(objector)
    objection = awards.file_objection(rnd, objector.id, FINALISED_OBJECTION[0], FINALISED_OBJECTION[1],
                                      storage.save_bytes(letter, "质疑函.pdf", actor), actor)
    awards.answer_objection(objection, False, FINALISED_ANSWER, city)

    # Demo shortcut: the notice ran three weeks ago (its period is over).
    shift = timedelta(days=21)
    rnd.publicised_at -= shift
    notice.starts_on -= shift
    notice.ends_on -= shift
    objection.filed_at -= shift
    objection.answered_at -= shift
    db.session.flush()
    awards.finalise(rnd, city)
    db.session.flush()
    return 1


def _record_departure(rnd, city) -> None:
    """The collective decision raising the cap, with its minutes as the PDF on file."""
    today = local_today()
    doc_no = f"饶农局党组纪〔{today.year}〕4号"
    minutes = pdf.build_pdf([pdf.paragraph("上饶市农业农村局党组会议纪要（演示）", "title"),
                             pdf.paragraph(doc_no), pdf.paragraph(DEPARTURE_REASON)], title=doc_no)
    allocation.record_departure(rnd, cap_pct=DEPARTURE_CAP_PCT, insurer_id=None, capacity=None, basis="collective",
                                doc_no=doc_no, decided_on=today, reason=DEPARTURE_REASON,
                                document=storage.save_bytes(minutes, "局党组会议纪要.pdf", city), actor=city)


# The replaced award: in the finalised round, 鄱阳县's forest lot passes to the county's first backup underwriter on
# 1 January of the term's first year (the bureau's decision, with its PDF on file).
REPLACED_LOT = "PY-F2"
REPLACEMENT_REASON = "经查，该机构在上一服务期虚构承保标的套取保费补贴，情节严重，依据遴选文件第八条终止其中标资格。"


def load_demo_replacement() -> int:
    """Terminate one award of the finalised demo round and install its county's first backup (returns 1), or
    nothing when the round has a change already or is missing (returns 0). Through the services."""
    from agri_insurance.awards import replacement
    from agri_insurance.tenders.models import Lot

    rnd = db.session.scalar(sa.select(SelectionRound).where(SelectionRound.name == FINALISED_ROUND_NAME))
    if rnd is None or replacement.changes_of(rnd):
        return 0
    award = next(a for a in awards.awards_of(rnd) if db.session.get(Lot, a.lot_id).code == REPLACED_LOT)
    backups = replacement.backup_candidates(award)
    if not backups:
        return 0
    city = _user("city_agri")
    effective = max(date(rnd.term_start_year, 1, 1), local_today())
    doc_no = f"饶农字〔{local_today().year}〕12号"
    decision = pdf.build_pdf([pdf.paragraph("关于终止中标资格的决定（演示）", "title"), pdf.paragraph(doc_no),
                              pdf.paragraph(REPLACEMENT_REASON)], title=doc_no)
    replacement.terminate(award, reason=REPLACEMENT_REASON, doc_no=doc_no,
                          document=storage.save_bytes(decision, "终止中标决定.pdf", city), effective_on=effective,
                          method="backup", backup_insurer_id=backups[0].insurer_id, actor=city)
    db.session.flush()
    return 1
