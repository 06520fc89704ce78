"""The next round beside the last: per county, the previous term's lots and underwriters (as they are now, after
any mid-term change) beside the new round's result, or its proposed allocation (the latest feasible run) before
one is adopted. Reads only."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from agri_insurance.allocation import service as allocation
from agri_insurance.awards.service import awards_of
from agri_insurance.extensions import db
from agri_insurance.reference.models import Insurer
from agri_insurance.tenders import service as tenders
from agri_insurance.tenders.models import SelectionRound


@dataclass
class Side:
    """One lot of one side: code, name and its underwriter's name (None: not allocated)."""

    code: str
    name: str
    insurer: str | None


@dataclass
class CountyComparison:
    region: object
    old: list[Side] = field(default_factory=list)
    new: list[Side] = field(default_factory=list)

    @property
    def allocated(self) -> bool:
        """Whether the new side names any underwriter in the county: before a feasible run nothing has left or
        joined yet (saying every old underwriter "left" would announce a change nobody decided)."""
        return any(s.insurer for s in self.new)

    @property
    def left(self) -> list[str]:
        """Underwriters of the previous term that are not in the new allocation of the county."""
        if not self.allocated:
            return []
        return sorted({s.insurer for s in self.old if s.insurer} - {s.insurer for s in self.new if s.insurer})

    @property
    def joined(self) -> list[str]:
        return sorted({s.insurer for s in self.new if s.insurer} - {s.insurer for s in self.old if s.insurer})


@dataclass
class Comparison:
    previous: SelectionRound | None
    source: str          # "awards" (the new round's result), "run" (its latest feasible run) or "none"
    run: object | None
    counties: list[CountyComparison]


def compare_with_previous(rnd: SelectionRound) -> Comparison:
    previous = tenders.previous_term(rnd)
    counties: dict[int, CountyComparison] = {}

    def county(region) -> CountyComparison:
        return counties.setdefault(region.id, CountyComparison(region))

    if previous is not None:
        for award in awards_of(previous):
            county(award.lot.region).old.append(Side(award.lot.code, award.lot.name, award.insurer.name))
    source, run = "none", None
    new_awards = awards_of(rnd)
    if new_awards:
        source = "awards"
        for award in new_awards:
            county(award.lot.region).new.append(Side(award.lot.code, award.lot.name, award.insurer.name))
    else:
        run = next((r for r in allocation.runs_of(rnd) if r.ok and r.revoked_at is None), None)
        chosen = allocation.chosen_awards(run) if run is not None else {}
        if run is not None:
            source = "run"
        names = dict(db.session.execute(sa.select(Insurer.id, Insurer.name).where(Insurer.id.in_(set(chosen.values())))).all())
        for lot in rnd.lots:
            county(lot.region).new.append(Side(lot.code, lot.name, names.get(chosen.get(lot.id))))
    return Comparison(previous, source, run, sorted(counties.values(), key=lambda c: c.region.code))
