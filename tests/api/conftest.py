import pytest

from tests.subsidies.factories import user


class Tokens:
    """tokens('insurer') → a bearer token of that demo user, made through its own page (the secret as shown)."""

    def __init__(self, login):
        self.login = login

    def page_token(self, username: str, name: str = "core system", expires_on: str = "") -> str:
        client = self.login(username)
        response = client.post("/account/tokens", data={"name": name, "expires_on": expires_on})
        assert response.status_code == 200, response.get_data(as_text=True)
        import re

        found = re.search(r'<code id="new-token"[^>]*>([^<]+)</code>', response.get_data(as_text=True))
        assert found, "the new token is shown on the page"
        return found.group(1)

    def __call__(self, username: str, name: str = "core system") -> str:
        from agri_insurance.auth import service
        from agri_insurance.extensions import db

        _token, secret = service.create_api_token(user(username), name, None)
        db.session.commit()
        return secret


@pytest.fixture
def tokens(login):
    return Tokens(login)


def bearer(secret: str, **headers) -> dict:
    return {"Authorization": f"Bearer {secret}", **headers}
