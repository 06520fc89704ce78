"""The API's role × route table (tests/test_access.py API_ROUTES): every role's token gets exactly what the table
allows (403 otherwise), an anonymous caller a 401 problem except on the public routes; every /api/v1 route is in
the OpenAPI document, and the document is valid OpenAPI."""

from datetime import UTC

import pytest
from openapi_spec_validator import validate

from agri_insurance.auth.models import Role
from tests.api.conftest import bearer
from tests.test_access import API_ROUTES, fill_url


def _openapi_path(url_rule: str) -> str:
    import re

    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", url_rule)


def test_the_openapi_document_is_valid_and_names_every_api_route(app, client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"].startswith("3.1")
    validate(spec)
    documented = {(path, method.upper()) for path, item in spec["paths"].items() for method in item
                  if method in ("get", "post", "put", "patch", "delete")}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1") or rule.endpoint.startswith("api-docs."):
            continue
        assert rule.endpoint in API_ROUTES, rule.endpoint
        path = _openapi_path(rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method) in documented, (path, method)
    # the token scheme and the problem shape are declared
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert "Problem" in spec["components"]["schemas"]


def test_the_docs_page_loads_its_assets_from_this_site(client):
    page = client.get("/api/v1/docs").get_data(as_text=True)
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in page and "//cdn" not in page and "https://" not in page
    assert client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js").status_code == 200
    assert client.get("/static/vendor/swagger-ui/swagger-ui.css").status_code == 200


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_each_roles_token_gets_exactly_what_the_table_allows(role, tokens, app, db):
    secret = tokens(role.value)
    client = app.test_client()
    ordered = sorted(API_ROUTES.items(), key=lambda kv: kv[1][0] == "POST")
    for _endpoint, (method, url, allowed) in ordered:
        response = client.open(fill_url(url, db, role), method=method, headers=bearer(secret), json={})
        if allowed == "public" or role in allowed:
            # a POST without its input is refused as bad input (400, 422), not forbidden
            ok = (200, 201, 202, 400, 422) if method == "POST" else (200,)
            assert response.status_code in ok, f"{role.value} {method} {url}: {response.status_code}"
        else:
            assert response.status_code == 403, f"{role.value} {method} {url}: {response.status_code}"
            assert response.mimetype == "application/problem+json"


def test_anonymous_callers_get_a_401_problem_except_on_public_routes(client, demo, db):
    for _endpoint, (method, url, allowed) in API_ROUTES.items():
        response = client.open(fill_url(url, db), method=method, json={})
        if allowed == "public":
            assert response.status_code == 200, url
        else:
            assert response.status_code == 401, url
            body = response.get_json()
            assert response.mimetype == "application/problem+json"
            assert body["status"] == 401 and body["type"] == "about:blank" and body["instance"]


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_no_api_get_writes(role, tokens, app, db):
    """As tests/test_get_reads_only.py for the pages: a GET of the API commits and flushes nothing (the token's
    last use is written at most once a minute, by the first request, in a transaction of its own)."""
    import time_machine

    from tests.test_get_reads_only import _writes_recorded

    secret = tokens(role.value)
    client = app.test_client()
    from datetime import datetime

    with time_machine.travel(datetime.now(UTC), tick=False):
        # the first request records the token's use (the security and audit administrators may not read products)
        expected = 200 if role in API_ROUTES["api_reference.products"][2] else 403
        assert client.get("/api/v1/reference/products", headers=bearer(secret)).status_code == expected
        for _endpoint, (method, url, allowed) in sorted(API_ROUTES.items()):
            if method != "GET" or not (allowed == "public" or role in allowed):
                continue
            filled = fill_url(url, db, role)
            with _writes_recorded(db.engine) as writes:
                response = client.get(filled, headers=bearer(secret))
            assert response.status_code == 200, f"{role.value} GET {filled}: {response.status_code}"
            assert not writes, f"{role.value} GET {filled} wrote: {writes}"
