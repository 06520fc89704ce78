"""Made-up payout lists for the demo claims (fictional people): two years of a flood's payouts, imported through
the real importer from each claim's stored underwriting list, with the few late, slow or doubled payouts a county
bureau would look at."""

from __future__ import annotations

import csv
import tempfile
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal
from pathlib import Path

import sqlalchemy as sa

from agri_insurance.auth.models import User
from agri_insurance.clock import local_today
from agri_insurance.extensions import db
from agri_insurance.payouts import service
from agri_insurance.payouts.parsing import COLUMNS
from agri_insurance.roles import Role
from agri_insurance.subsidies.models import ClaimStatus, SubsidyClaim
from agri_insurance.underwriting.models import UnderwritingList, UnderwritingRow

EVENT = "%s年6月洪涝"
PAY_DELAYS = (2, 3, 4, 5, 6, 7, 8, 9, 3, 4, 5)  # days from the agreement to the payment, mostly within the 10


def _event(year: int) -> str:
    return EVENT % year


def payout_rows(claim: SubsidyClaim, every: int) -> list[list]:
    """Every `every`-th farmer of the claim's list, paid part of its sum insured after the June flood of its year."""
    u = UnderwritingRow
    farmers = db.session.execute(sa.select(u.name, u.id_number, u.sum_insured).join(
        UnderwritingList, UnderwritingList.id == u.list_id).where(UnderwritingList.claim_id == claim.id)
        .order_by(u.row_no)).all()
    rows = []
    for i, farmer in enumerate(farmers[::every]):
        loss = date(claim.year, 6, 10) + timedelta(days=i % 5)
        reported = loss + timedelta(days=1 + i % 3)
        surveyed = reported + timedelta(days=2 + i % 4)
        agreed_on = surveyed + timedelta(days=10 + (i * 7) % 23)
        delay = 25 if i % 37 == 36 else 13 if i % 11 == 10 else PAY_DELAYS[i % len(PAY_DELAYS)]
        paid_on = agreed_on + timedelta(days=delay)
        share = Decimal(30 + (i * 13) % 40) / 100
        agreed = (farmer.sum_insured * share).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
        name = farmer.name if i % 97 != 96 else farmer.name[0] + "某"   # recorded under another name
        row = [name, farmer.id_number, loss, reported, surveyed, agreed, agreed_on, agreed, paid_on,
               f"62170{claim.region.code}{i:08d}"]
        if paid_on > local_today():
            row[7:9] = ["", ""]          # not paid yet
        rows.append(row)
    if len(rows) > 3:
        rows.append(list(rows[1]))       # one farmer paid twice for the flood
    return rows


def load_demo_payouts() -> int:
    """A payout list per submitted demo claim (not its drafts), once; the number of lists created."""
    created = 0
    claims = db.session.scalars(sa.select(SubsidyClaim).where(
        SubsidyClaim.status.not_in((ClaimStatus.DRAFT, ClaimStatus.RETURNED))).order_by(SubsidyClaim.id)).all()
    for claim in claims:
        event = _event(claim.year)
        if date(claim.year, 6, 15) > local_today() or service.list_for(
                claim.insurer_id, claim.region_id, claim.product_id, claim.year, event) is not None:
            continue
        actor = db.session.scalar(sa.select(User).where(User.role == Role.INSURER,
                                                        User.insurer_id == claim.insurer_id).order_by(User.id))
        if actor is None:
            continue
        rows = payout_rows(claim, every=8 + claim.id % 7)
        if not rows:
            continue
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "payouts.csv"
            with path.open("w", newline="", encoding="utf-8") as fh:
                writer = csv.writer(fh)
                writer.writerow([header for _key, header in COLUMNS])
                writer.writerows([[c.isoformat() if isinstance(c, date) else c for c in row] for row in rows])
            service.import_payouts({"region_id": claim.region_id, "product_id": claim.product_id,
                                    "year": claim.year, "event": event}, path, "payouts.csv", actor)
        created += 1
    return created
