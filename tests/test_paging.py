"""The shared paging helper (agri_insurance/paging.py): what a filter accepts and refuses, how text is searched,
which page numbers are linked, and that a page's links keep the filters."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import MultiDict

from agri_insurance.paging import ListFilters, Option, Page, like_pattern, paginate, record_number
from agri_insurance.subsidies.models import ClaimStatus


def test_filters_keep_what_they_can_use_and_name_what_they_cannot(app):
    args = MultiDict({"status": "verified", "year": "2026", "q": "  水稻\t田 ", "page": "3", "empty": " ",
                      "bad_year": "20x6", "far": "3000", "unit": "region-2", "gone": "region-9", "day": "2026-02-30"})
    with app.test_request_context():
        filters = ListFilters(args)
        assert filters.choice("status", "状态", ClaimStatus) is ClaimStatus.VERIFIED
        assert filters.integer("year", "年度", 2000, 2100) == 2026
        assert filters.text("q") == "水稻田"  # control characters dropped, spaces trimmed
        assert ListFilters(MultiDict({"q": "a\x00b"})).text("q") == "ab"  # PostgreSQL refuses NUL in text
        assert filters.text("empty") is None and filters.text("missing") is None
        assert filters.integer("bad_year", "年度") is None
        assert filters.integer("far", "年度", 2000, 2100) is None
        units = [Option("region-1", "甲"), Option("region-2", "乙")]
        assert filters.choice("unit", "单位", units) == units[1]
        assert filters.choice("gone", "单位", units) is None
        assert filters.day("day", "日期") is None
        assert filters.page == 3
        assert filters.kept == {"status": "verified", "year": "2026", "q": "水稻田", "unit": "region-2"}
        assert filters.problems == ["年度：“20x6”无效，已忽略", "年度：“3000”无效，已忽略",
                                    "单位：“region-9”无效，已忽略", "日期：“2026-02-30”无效，已忽略"]
        assert filters.value("q") == "水稻田" and filters.value("bad_year") == "" and filters.active
        long = ListFilters(MultiDict({"q": "长" * 300, "year": "9" * 60}))
        assert long.text("q") == "长" * 100
        assert long.integer("year", "年度") is None and long.problems[0].endswith("…”无效，已忽略")


@pytest.mark.parametrize("raw, page", [("", 1), ("0", 1), ("-2", 1), ("x", 1), ("2", 2), ("9" * 30, 1)])
def test_a_page_number_that_is_none_is_the_first(app, raw, page):
    with app.test_request_context():
        assert ListFilters(MultiDict({"page": raw})).page == page


def test_text_is_searched_literally():
    assert like_pattern("10%_a\\b") == "%10\\%\\_a\\\\b%"
    assert like_pattern("claim.", starting=True) == "claim.%"
    assert [record_number(t) for t in ("12", "#12", "# 12", "12a", "0", "9" * 25, "")] == [12, 12, 12, None, None,
                                                                                              None, None]


@pytest.mark.parametrize("number, pages, shown", [
    (1, 1, [1]), (1, 3, [1, 2, 3]), (1, 20, [1, 2, 3, None, 20]), (10, 20, [1, None, 8, 9, 10, 11, 12, None, 20]),
    (4, 20, [1, 2, 3, 4, 5, 6, None, 20]), (20, 20, [1, None, 18, 19, 20]),
])
def test_the_page_numbers_linked(number, pages, shown):
    page = Page(items=[object()], total=pages * 50, number=number, per_page=50)
    assert page.numbers() == shown


def test_a_page_links_with_its_filters(app):
    with app.test_request_context("/subsidies/claims?year=2026&q=水稻&page=2"):
        from flask import request

        page = Page(items=[1] * 50, total=120, number=2, per_page=50, kept={"year": "2026", "q": "水稻"},
                    endpoint=request.endpoint)
        assert page.url(3) == "/subsidies/claims?year=2026&q=%E6%B0%B4%E7%A8%BB&page=3"
        assert page.url(1) == "/subsidies/claims?year=2026&q=%E6%B0%B4%E7%A8%BB"
        assert (page.first, page.last, page.pages, page.has_prev, page.has_next) == (51, 100, 3, True, True)
    empty = Page(items=[], total=0, number=1, per_page=50)
    assert (empty.first, empty.last, empty.pages, empty.has_next) == (0, 0, 1, False)


def test_paginate_counts_sums_and_shows_the_last_page_past_the_end(app, ref):
    from agri_insurance.reference.models import Product

    products = ref.session.scalars(sa.select(Product).order_by(Product.id)).all()
    with app.test_request_context("/reference/products?page=7"):
        page = paginate(sa.select(Product).order_by(Product.id), ListFilters(), per_page=5, sums={"ids": "id"})
    assert page.total == len(products) and page.number == page.pages == -(-len(products) // 5)
    assert page.items == products[(page.number - 1) * 5:]
    assert page.totals == {"ids": sum(p.id for p in products)}
