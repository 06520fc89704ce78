"""The lists of selection rounds (the tender, result and evaluation pages each list them): the filters a user
sets, read from the query string, as SQL."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from flask_babel import gettext as _

from agri_insurance.paging import ListFilters, text_matches
from agri_insurance.tenders.models import TERM_YEARS, Lot, RoundStatus, SelectionRound

YEARS = (2000, 2100)


def round_filter_clauses(filters: ListFilters, statuses: Iterable[RoundStatus] = tuple(RoundStatus)) -> list:
    """WHERE clauses of the round filters in use: `status` (one of `statuses`), `year` (a year of the round's
    term) and `q` (text in the round's name)."""
    clauses = []
    if status := filters.choice("status", _("状态"), statuses):
        clauses.append(SelectionRound.status == status)
    if year := filters.integer("year", _("年度"), *YEARS):
        clauses.append(SelectionRound.term_start_year.between(year - TERM_YEARS + 1, year))
    if text := filters.text("q"):
        clauses.append(text_matches(text, SelectionRound.name))
    return clauses


def lot_count():
    """The number of the round's lots, as a column next to the round (no query per row)."""
    return (sa.select(sa.func.count(Lot.id)).where(Lot.round_id == SelectionRound.id).scalar_subquery()
            .label("lot_count"))


NEWEST_FIRST = (SelectionRound.term_start_year.desc(), SelectionRound.id.desc())
