import pytest

from agri_insurance.auth.models import Role
from agri_insurance.main.navigation import nav_endpoints
from agri_insurance.roles import SEPARATED_ROLES
from tests.test_access import ROUTES


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_every_menu_link_opens_for_its_role(role, login, db):
    client = login(role.value)
    import sqlalchemy as sa

    from agri_insurance.auth.models import User

    user = db.session.scalar(sa.select(User).where(User.username == role.value))
    for endpoint in nav_endpoints(user):
        url = ROUTES[endpoint][1]
        assert client.get(url).status_code == 200, f"{role.value}: {url}"


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_every_list_page_a_role_may_open_is_in_its_menu(role, demo, db):
    """Pages without parameters and not forms ('new') must be reachable from the navigation."""
    import sqlalchemy as sa

    from agri_insurance.auth.models import User

    user = db.session.scalar(sa.select(User).where(User.username == role.value))
    reachable = set(nav_endpoints(user))
    not_in_menu = {"main.set_language", "main.healthz", "auth.login", "auth.change_password",
                   "auth.api_tokens"}  # the user menu (base.html) etc.
    for endpoint, (method, url, allowed) in ROUTES.items():
        is_download = url.split("?")[0].endswith((".xlsx", ".pdf", ".docx", ".zip", ".json"))
        if method != "GET" or "{" in url or "/new" in url or "/edit" in url or is_download \
                or endpoint in not_in_menu:
            continue
        if allowed == "public" and role in SEPARATED_ROLES:
            continue   # the public notices: anyone's, but not the security and audit administrators' work
        if allowed == "public" or role in allowed:
            assert endpoint in reachable, f"{role.value} may open {endpoint} but the menu does not show it"
