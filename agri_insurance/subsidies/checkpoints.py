"""Payout-rate checkpoints (R15): per county and level, the share of the year's verified subsidy paid by given dates.

A subsidy year Y is checked on the configured month-days (PAYOUT_CHECKPOINTS, default "07-31,10-31,03-31"): in
order, a month-day earlier than the one before it falls in the next year (31 March of Y+1). A county's level is
below the mark when paid / due < PAYOUT_THRESHOLD_PCT (default 90 %), where, as of the checkpoint day d,

    due  = the level's shares of the year's claims verified by the end of d
    paid = what of them came from an advance (drawn at verification) + payments dated on or before d.

Before each checkpoint (PAYOUT_WARNING_DAYS, default 30) a finance bureau is warned of its levels below the mark.
Aggregates in SQL: two queries per checkpoint, whatever the number of claims.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa
from flask import current_app

from agri_insurance import clock
from agri_insurance.db_types import to_fen
from agri_insurance.extensions import db
from agri_insurance.reference.models import Region, RegionLevel
from agri_insurance.roles import Role
from agri_insurance.subsidies.models import (
    COMMITTED,
    GOVERNMENT_LEVELS,
    ClaimShare,
    Payment,
    ShareLevel,
    SubsidyClaim,
)

HUNDRED = Decimal(100)
ZERO = Decimal("0.00")


# The settings' defaults are config.Config's (every application's configuration is made from it), written once.

def checkpoint_dates(year: int, spec: str | None = None) -> list[date]:
    spec = spec if spec is not None else current_app.config["PAYOUT_CHECKPOINTS"]
    dates: list[date] = []
    offset = 0
    for part in (p.strip() for p in spec.split(",") if p.strip()):
        month, day = (int(x) for x in part.split("-"))
        if dates and (month, day) < (dates[-1].month, dates[-1].day):
            offset += 1
        dates.append(date(year + offset, month, day))
    return dates


def threshold() -> Decimal:
    return Decimal(str(current_app.config["PAYOUT_THRESHOLD_PCT"]))


def warning_days() -> int:
    return int(current_app.config["PAYOUT_WARNING_DAYS"])


@dataclass
class Rate:
    region: Region
    level: ShareLevel
    due: Decimal
    paid: Decimal

    @property
    def pct(self) -> Decimal | None:
        """paid / due in percent, to 0.1 (None when nothing is due)."""
        return None if self.due == 0 else (self.paid / self.due * HUNDRED).quantize(Decimal("0.1"))

    @property
    def below(self) -> bool:
        return self.pct is not None and self.pct < threshold()


def payout_rates(year: int, as_of: date, levels=GOVERNMENT_LEVELS, region_id: int | None = None) -> list[Rate]:
    """Per county and level (of `levels`; one county with `region_id`), due and paid of `year` as of `as_of`."""
    verified_by = clock.start_of_local_day(as_of + timedelta(days=1))
    clauses = [SubsidyClaim.year == year, SubsidyClaim.status.in_(COMMITTED), SubsidyClaim.verified_at < verified_by]
    if region_id is not None:
        clauses.append(SubsidyClaim.region_id == region_id)
    due = {(r, lvl): (Decimal(a), Decimal(f)) for r, lvl, a, f in db.session.execute(
        sa.select(SubsidyClaim.region_id, ClaimShare.level, sa.func.sum(ClaimShare.amount),
                  sa.func.sum(ClaimShare.from_advance))
        .join(SubsidyClaim, SubsidyClaim.id == ClaimShare.claim_id)
        .where(*clauses, ClaimShare.level.in_(levels)).group_by(SubsidyClaim.region_id, ClaimShare.level))}
    paid = {(r, lvl): Decimal(a) for r, lvl, a in db.session.execute(
        sa.select(SubsidyClaim.region_id, Payment.level, sa.func.sum(Payment.amount))
        .join(SubsidyClaim, SubsidyClaim.id == Payment.claim_id)
        .where(*clauses, Payment.level.in_(levels), Payment.paid_on <= as_of)
        .group_by(SubsidyClaim.region_id, Payment.level))}
    regions = {r.id: r for r in db.session.scalars(sa.select(Region).where(Region.level == RegionLevel.COUNTY))}
    order = list(ShareLevel)
    rates = [Rate(regions[r], lvl, amount, from_advance + paid.get((r, lvl), ZERO))
             for (r, lvl), (amount, from_advance) in due.items() if amount > 0]
    rates.sort(key=lambda rate: (rate.region.code, order.index(rate.level)))
    return rates


def levels_of(user) -> tuple[tuple[ShareLevel, ...], int | None]:
    """The levels (and county) whose payout rate `user`'s bureau answers for."""
    if user.role is Role.COUNTY_FINANCE:
        return (ShareLevel.COUNTY,), user.region_id
    if user.role is Role.CITY_FINANCE:
        return (ShareLevel.CENTRAL, ShareLevel.PROVINCIAL, ShareLevel.CITY), None
    if user.role.needs_county:
        return GOVERNMENT_LEVELS, user.region_id
    return GOVERNMENT_LEVELS, None


@dataclass
class Checkpoint:
    year: int            # the subsidy year checked
    on: date
    rates: list[Rate]
    passed: bool         # the day is over: the rates are as of that day; else as of today

    @property
    def below(self) -> list[Rate]:
        return [rate for rate in self.rates if rate.below]

    def days_left(self, today: date) -> int:
        return (self.on - today).days


def checkpoints(year: int, user, today: date | None = None) -> list[Checkpoint]:
    """The checkpoints of subsidy year `year` for `user`'s levels: rates as of each day passed, as of today for
    the ones to come."""
    today = today or clock.local_today()
    levels, region_id = levels_of(user)
    result = []
    for day in checkpoint_dates(year):
        passed = day < today
        result.append(Checkpoint(year, day, payout_rates(year, day if passed else today, levels, region_id), passed))
    return result


def upcoming_warning(user, today: date | None = None) -> Checkpoint | None:
    """The next checkpoint within the warning period with one of `user`'s levels below the mark (as of today)."""
    today = today or clock.local_today()
    soon = [(day, year) for year in (today.year - 1, today.year) for day in checkpoint_dates(year)
            if today <= day <= today + timedelta(days=warning_days())]
    if not soon:
        return None
    day, year = min(soon)
    levels, region_id = levels_of(user)
    checkpoint = Checkpoint(year, day, payout_rates(year, today, levels, region_id), False)
    return checkpoint if checkpoint.below else None


# --- late-payment interest (R15, optional) -----------------------------------------------------------------------

@dataclass(frozen=True)
class InterestSetting:
    """LATE_INTEREST_ENABLED (off by default), LATE_INTEREST_RATE_PCT a year (default 12, as PMFBY charges) and
    LATE_INTEREST_GRACE_DAYS past the due date before it runs (default 90: three months)."""

    enabled: bool
    rate_pct: Decimal
    grace_days: int


def interest_setting() -> InterestSetting:
    config = current_app.config
    return InterestSetting(bool(config["LATE_INTEREST_ENABLED"]), Decimal(str(config["LATE_INTEREST_RATE_PCT"])),
                           int(config["LATE_INTEREST_GRACE_DAYS"]))


def late_interest(outstanding: Decimal, days_overdue: int, setting: InterestSetting | None = None) -> Decimal | None:
    """Simple interest accrued on an overdue share's outstanding amount for the days past the grace period
    (rate a year / 365 a day), to the fen; None when the setting is off. Shown to the bureaus, never paid by the
    system: it is what the underwriter could claim, not money anyone owes in the ledger."""
    setting = setting or interest_setting()
    if not setting.enabled:
        return None
    days = max(0, days_overdue - setting.grace_days)
    return to_fen(outstanding * setting.rate_pct / HUNDRED * days / 365)
