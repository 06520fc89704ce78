"""Lists that grow: the filters a list page reads from its query string, one page of its rows counted in SQL, and
links to other pages that keep the filters (a filtered page can be bookmarked, and the next page is filtered too).

    filters = ListFilters(request.args)
    status = filters.choice("status", _("状态"), ClaimStatus)            # an enum member, or None
    year = filters.integer("year", _("年度"), minimum=2000, maximum=2100)
    text = filters.text("q")
    stmt = sa.select(SubsidyClaim).where(scope, ...).order_by(SubsidyClaim.id.desc())
    page = paginate(stmt, filters, sums={"premium": "total_premium"})
    return render_template("...", page=page, filters=filters)

A value a filter cannot use (a year "abc", a status that does not exist, a county not in the list) is ignored and
named in `filters.problems` (the page shows them with `filter_problems`), never a server error. Templates draw the
page links with `pagination(page)` and the selects' options with `filter_options` (templates/_macros.html).

Counting and summing run in SQL over every filtered row (one query), the page's rows are one LIMIT/OFFSET query:
totals shown under a filtered list are those of the filtered rows, not of the page shown.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from math import ceil
from typing import Any

import sqlalchemy as sa
from flask import request, url_for
from flask_babel import gettext as _

from agri_insurance.db_types import FEN
from agri_insurance.extensions import db
from agri_insurance.forms_util import LARGEST_ID

PAGE_SIZE = 50
MAX_TEXT = 100          # a search text longer than this is cut (nobody types more into a search box)
SHOWN_VALUE = 40        # how much of a refused value a problem message repeats
_RECORD_NUMBER = re.compile(r"#?\s*(\d{1,19})")
_LIKE_SPECIAL = re.compile(r"([\\%_])")


@dataclass(frozen=True)
class Option:
    """One choice of a filter select whose choices come from the database (a county, an insurer): `value` is the
    text the query string carries, `label` what the reader sees. Enum members serve as choices just the same."""

    value: str
    label: str


def options(rows: Iterable, label=lambda row: row.label) -> list[Option]:
    """Records (with an `id`) as the choices of a filter select."""
    return [Option(str(row.id), str(label(row))) for row in rows]


class ListFilters:
    """The filters of one list page: each read method returns the typed value (or None), remembers a usable value
    for the page links (`kept`) and names a refused one in `problems`."""

    def __init__(self, args: Mapping[str, str] | None = None):
        self._args = request.args if args is None else args
        self.kept: dict[str, str] = {}
        self.problems: list[str] = []

    def _raw(self, name: str) -> str | None:
        value = self._args.get(name)
        value = value.strip() if isinstance(value, str) else None
        return value or None

    def _refuse(self, label, raw: str) -> None:
        shown = raw if len(raw) <= SHOWN_VALUE else raw[:SHOWN_VALUE] + "…"
        self.problems.append(_("%(field)s：“%(value)s”无效，已忽略", field=label, value=shown))

    def _keep(self, name: str, raw: str):
        self.kept[name] = raw

    def value(self, name: str) -> str:
        """What the filter's input shows: the value in use, or nothing."""
        return self.kept.get(name, "")

    @property
    def active(self) -> bool:
        """Some filter is in use (the page offers to clear them)."""
        return bool(self.kept)

    @property
    def clear_url(self) -> str:
        """This list without any filter."""
        return url_for(request.endpoint, **(request.view_args or {}))

    @property
    def page(self) -> int:
        """The page asked for (1 when missing or not a page number)."""
        raw = self._raw("page")
        return int(raw) if raw and raw.isdigit() and 0 < len(raw) <= 9 and int(raw) > 0 else 1

    # --- the kinds of filter ---------------------------------------------------------------------------------

    def text(self, name: str = "q", max_length: int = MAX_TEXT) -> str | None:
        """Free text to search for (cut to `max_length`)."""
        raw = self._raw(name)
        if raw is None:
            return None
        raw = "".join(c for c in raw[:max_length] if c.isprintable()).strip()
        if raw:
            self._keep(name, raw)
        return raw or None

    def choice(self, name: str, label, choices: Iterable):
        """One of `choices` (enum members or anything with a `value`), chosen by its value; the choice itself."""
        raw = self._raw(name)
        if raw is None:
            return None
        for item in choices:
            if str(item.value) == raw:
                self._keep(name, raw)
                return item
        self._refuse(label, raw)
        return None

    def record_id(self, name: str, label, choices: Iterable[Option]) -> int | None:
        """The id of one of the records offered (`options(...)`); another number is refused like a bad value."""
        item = self.choice(name, label, choices)
        return int(item.value) if item is not None else None

    def integer(self, name: str, label, minimum: int | None = None, maximum: int | None = None) -> int | None:
        raw = self._raw(name)
        if raw is None:
            return None
        try:
            number = int(raw)
        except ValueError:
            number = None
        if number is None or abs(number) > LARGEST_ID or (minimum is not None and number < minimum) \
                or (maximum is not None and number > maximum):
            self._refuse(label, raw)
            return None
        self._keep(name, str(number))
        return number

    def day(self, name: str, label) -> date | None:
        """A calendar day typed as YYYY-MM-DD (what a date input sends)."""
        raw = self._raw(name)
        if raw is None:
            return None
        try:
            day = datetime.strptime(raw, "%Y-%m-%d").date()
        except ValueError:
            self._refuse(label, raw)
            return None
        self._keep(name, raw)
        return day


# --- searching text --------------------------------------------------------------------------------------------

def like_pattern(text: str, starting: bool = False) -> str:
    """`text` anywhere in a value (`starting`: at its start), LIKE's own characters taken literally (escape
    character: backslash)."""
    escaped = _LIKE_SPECIAL.sub(r"\\\1", text)
    return f"{escaped}%" if starting else f"%{escaped}%"


def text_matches(text: str, *columns) -> sa.ColumnElement[bool]:
    """Any of `columns` contains `text`, whatever the case (ILIKE; SQLite: lower() LIKE lower())."""
    pattern = like_pattern(text)
    return sa.or_(*(column.ilike(pattern, escape="\\") for column in columns))


def record_number(text: str) -> int | None:
    """The record number a search text is ("123", "#123"), if it is one."""
    found = _RECORD_NUMBER.fullmatch(text.strip())
    if found is None:
        return None
    number = int(found.group(1))
    return number if 0 < number <= LARGEST_ID else None


# --- one page of rows -----------------------------------------------------------------------------------------

@dataclass
class Page:
    """One page of a list: its rows, how many rows the filtered list has, the sums over all of them, and the URLs
    of other pages (with the filters kept)."""

    items: list
    total: int
    number: int
    per_page: int
    kept: dict[str, str] = field(default_factory=dict)
    totals: dict[str, Decimal] = field(default_factory=dict)
    endpoint: str | None = None
    view_args: dict[str, Any] = field(default_factory=dict)
    more: bool = False   # the list has more than `total` rows (a bounded count: it stopped counting there)

    @property
    def pages(self) -> int:
        counted = max(1, ceil(self.total / self.per_page))
        if self.more:   # as far as counted, and one past any full page beyond
            return max(counted, self.number + (1 if len(self.items) == self.per_page else 0))
        return counted

    @property
    def first(self) -> int:
        """The position of the page's first row in the whole list (1-based; 0 when empty)."""
        return (self.number - 1) * self.per_page + 1 if self.items else 0

    @property
    def last(self) -> int:
        return self.first + len(self.items) - 1 if self.items else 0

    @property
    def has_prev(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages

    def url(self, number: int, **extra) -> str:
        """This list's URL for page `number`, with its filters (and `extra` query values)."""
        values = {**self.view_args, **self.kept, **extra}
        if number > 1:
            values["page"] = number
        return url_for(self.endpoint or request.endpoint, **values)

    def numbers(self, around: int = 2) -> list[int | None]:
        """The page numbers to link: the first, the last, and `around` either side of this one; None for a gap."""
        shown = sorted({1, self.pages, *range(max(1, self.number - around), min(self.pages, self.number + around) + 1)})
        out: list[int | None] = []
        for n in shown:
            if out and n - out[-1] > 1:
                out.append(None if n - out[-1] > 2 else n - 1)
            out.append(n)
        return out


def paginate(stmt: sa.Select, filters: ListFilters, per_page: int = PAGE_SIZE, sums: Mapping[str, str] | None = None,
             scalars: bool = True, count_limit: int | None = None, total: int | None = None) -> Page:
    """Page `filters.page` of `stmt` (which must be ordered to the last tiebreaker), in two queries: the count
    (and `sums`: total name → column name of `stmt`, summed over every filtered row) and the page's rows.
    A page past the end shows the last page. `scalars`: rows are the statement's first entity; else tuples.
    `count_limit` (without `sums`): count no further than that many rows (a log of millions: "more than 10,000"),
    and let the reader page on past it. `total` (without `sums`): the rows are already counted (a summary the page
    shows anyway), so no count query."""
    assert (count_limit is None and total is None) or not sums, "a bounded or given count has no totals"
    if total is None:
        counted = stmt.order_by(None)
        counted = (counted.limit(count_limit + 1) if count_limit is not None else counted).subquery()
        columns = [sa.func.count().label("rows")]
        columns += [sa.func.coalesce(sa.func.sum(counted.c[column]), 0).label(name)
                    for name, column in (sums or {}).items()]
        summary = db.session.execute(sa.select(*columns).select_from(counted)).one()
        total = summary[0]
    else:
        summary = (total,)
    more = count_limit is not None and total > count_limit
    if more:
        total = count_limit
    totals = {name: Decimal(value).quantize(FEN) for name, value in zip(sums or {}, summary[1:], strict=True)}
    pages = max(1, ceil(total / per_page))
    number = filters.page if more else min(filters.page, pages)
    rows = stmt.limit(per_page).offset((number - 1) * per_page)
    result = db.session.execute(rows)
    items = list(result.unique().scalars() if scalars else result.unique())
    return Page(items=items, total=total, number=number, per_page=per_page, kept=dict(filters.kept), totals=totals,
                endpoint=request.endpoint, view_args=dict(request.view_args or {}), more=more)
