"""`?next=` redirects stay on this site: after login and after switching the language."""

import pytest

from agri_insurance.forms_util import safe_next

HOSTILE = [
    "//evil.example/x",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r/x",
    "/ /evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\x00/evil.example",
    "/\u200b/evil.example",
    "https://evil.example/",
    "javascript:alert(1)",
    "evil.example",
    "",
    None,
]


@pytest.mark.parametrize("target", HOSTILE)
def test_safe_next_refuses_anything_but_a_local_path(target):
    assert safe_next(target, "/home") == "/home"


@pytest.mark.parametrize("target", ["/", "/tenders/3?tab=bids", "/reference/insurers?q=%E4%BA%BA", "/a/b#c"])
def test_safe_next_keeps_local_paths(target):
    assert safe_next(target, "/home") == target


@pytest.mark.parametrize("query", ["/%09/evil.example", "/%0a/evil.example", "/%5Cevil.example", "/%0d/x"])
def test_login_never_redirects_off_site(client, demo, query):
    response = client.post(f"/login?next={query}", data={"username": "admin", "password": "demo1234"})
    assert response.status_code == 302
    assert response.location == "/"


def test_login_follows_a_local_next(client, demo):
    response = client.post("/login?next=/reference/insurers", data={"username": "admin", "password": "demo1234"})
    assert response.location == "/reference/insurers"


@pytest.mark.parametrize("query", ["/%09/evil.example", "/%0a/evil.example", "/%5Cevil.example", "/%0d/x",
                                   "https://evil.example/"])
def test_language_switch_never_redirects_off_site(client, db, query):
    response = client.get(f"/lang/en?next={query}")
    assert response.status_code == 302
    assert response.location == "/"


def test_language_switch_returns_to_the_page(client, db):
    response = client.get("/lang/en?next=/login?x=1")
    assert response.location == "/login?x=1"
