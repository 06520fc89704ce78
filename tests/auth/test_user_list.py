"""The user list with 1,100 users: paging, each filter (role, unit, state, text) alone and together and kept in
the page links, values no filter can use, and a number of queries that does not grow with the rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa

from agri_insurance.auth.models import User
from agri_insurance.extensions import db
from agri_insurance.reference.models import Insurer, Region, RegionLevel
from agri_insurance.roles import Role
from tests.lists import Logins, assert_same_queries, bulk_insert, get_page, module_world, query_of

N = 1100
ROLES = (Role.COUNTY_AGRI, Role.INSURER, Role.EXPERT, Role.COUNTY_FINANCE, Role.INSURER, Role.CITY_AGRI)


@dataclass
class Person:
    id: int
    username: str
    display_name: str
    role: Role
    unit: str | None      # "region-<id>" or "insurer-<id>"
    state: str            # active, locked, inactive


@dataclass
class World:
    people: list[Person]
    counties: list[int]
    insurers: list[int]


def _build() -> World:
    from agri_insurance.demo import load_demo_data

    load_demo_data()
    db.session.flush()
    password_hash = db.session.scalar(sa.select(User.password_hash).where(User.username == "admin"))
    counties = list(db.session.scalars(sa.select(Region.id).where(Region.level == RegionLevel.COUNTY)
                                       .order_by(Region.code)))
    insurers = list(db.session.scalars(sa.select(Insurer.id).order_by(Insurer.id)))
    rows = []
    for i in range(N):
        role = ROLES[i % len(ROLES)]
        region = counties[i % len(counties)] if role.needs_county else None
        insurer = insurers[i % len(insurers)] if role.needs_insurer else None
        active, locked = i % 9 != 4, i % 13 == 6
        rows.append({"username": f"u{i:04d}", "display_name": f"{'王' if i % 4 else '李'}测试{i:04d}", "role": role,
                     "password_hash": password_hash, "active": active, "region_id": region,
                     "insurer_id": insurer, "failed_logins": 0,
                     "locked_until": datetime(2099, 1, 1) if locked else None, "last_login_at": None,
                     "must_change_password": False, "created_at": datetime(2026, 1, 1)})
    bulk_insert(User, rows)
    people = [Person(u.id, u.username, u.display_name, u.role,
                     f"region-{u.region_id}" if u.region_id else f"insurer-{u.insurer_id}" if u.insurer_id else None,
                     "inactive" if not u.active else "locked" if u.locked_until else "active")
              for u in db.session.scalars(sa.select(User))]
    return World(people, counties, insurers)


@pytest.fixture(scope="module")
def world(app):
    yield from module_world(app, _build)


@pytest.fixture(scope="module")
def admin(app, world):
    return Logins(app)("security_admin")   # the list with its row actions (locks, resets)


def listed(world: World, keep=lambda p: True) -> list[Person]:
    return sorted((p for p in world.people if keep(p)), key=lambda p: (p.role.value, p.username, p.id))


def usernames(page) -> list[str]:
    return page.column(0)


def test_users_are_paged_by_role_and_name(world, admin):
    expected = listed(world)
    page = get_page(admin, "/admin/users")
    assert page.total == len(expected) > 1000 and usernames(page) == [p.username for p in expected[:50]]
    assert usernames(get_page(admin, page.link("next"))) == [p.username for p in expected[50:100]]
    pages = -(-len(expected) // 50)
    last = get_page(admin, f"/admin/users?page={pages}")
    assert usernames(last) == [p.username for p in expected[(pages - 1) * 50:]]


@pytest.mark.parametrize("name", ["role", "unit", "state", "q"])
def test_each_user_filter(world, admin, name):
    value, keep = {
        "role": ("county_finance", lambda p: p.role is Role.COUNTY_FINANCE),
        "unit": (f"insurer-{world.insurers[4]}", lambda p: p.unit == f"insurer-{world.insurers[4]}"),
        "state": ("inactive", lambda p: p.state == "inactive"),
        "q": ("李测试", lambda p: "李测试" in p.display_name),
    }[name]
    expected = listed(world, keep)
    page = get_page(admin, f"/admin/users?{urlencode({name: value})}")
    assert 0 < page.total == len(expected) and usernames(page) == [p.username for p in expected[:50]]
    if page.total > 50:
        assert query_of(page.link("next")) == {name: value, "page": "2"}
        assert usernames(get_page(admin, page.link("next"))) == [p.username for p in expected[50:100]]


def test_user_filters_combined(world, admin):
    county = world.counties[3]
    expected = listed(world, lambda p: p.unit == f"region-{county}" and p.state == "active" and "王" in p.display_name)
    url = f"/admin/users?unit=region-{county}&state=active&q=王"
    page = get_page(admin, url)
    assert 0 < page.total == len(expected) and usernames(page) == [p.username for p in expected[:50]]
    assert page.selected("unit") == f"region-{county}" and page.selected("state") == "active"
    locked = listed(world, lambda p: p.state == "locked" and p.role is Role.EXPERT)
    page = get_page(admin, "/admin/users?state=locked&role=expert")
    assert usernames(page) == [p.username for p in locked] and set(page.column(4)) == {"已锁定"}
    # a user's own page of the list is where the admin comes back to after an action on a row
    page = get_page(admin, "/admin/users?role=insurer&page=2")
    form = page.tree.xpath('//table[@id="users"]//form[contains(@action, "/active")]/@action')[0]
    assert query_of(query_of(form)["next"]) == {"role": "insurer", "page": "2"}


@pytest.mark.parametrize("query", ["role=boss", "unit=region-99999", "unit=x", "state=gone"])
def test_user_filters_refuse_what_they_cannot_use(world, admin, query):
    page = get_page(admin, f"/admin/users?{query}")
    assert page.total == len(world.people) and len(page.problems) == 1


def test_user_list_queries_do_not_grow(world, app, admin):
    assert_same_queries(app, admin, "/admin/users?q=u0007", "/admin/users?page=7")


def test_an_action_on_a_row_returns_to_the_filtered_page(world, app, admin):
    """Not a read: run last, on a user nobody else's test looks at."""
    person = listed(world, lambda p: p.role is Role.EXPERT and p.state == "active")[-1]
    back = "/admin/users?role=expert&page=2"
    response = admin.post(f"/admin/users/{person.id}/active?{urlencode({'next': back})}")
    assert response.status_code == 302 and response.headers["Location"] == back
    response = admin.post(f"/admin/users/{person.id}/active?next=https://evil.example/")
    assert response.headers["Location"] == "/admin/users"
