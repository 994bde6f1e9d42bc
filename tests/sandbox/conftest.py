"""Sandbox fixtures: the fixed Sage identities, the built-in dev app, tokens from the real OAuth flow."""

from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.conf import settings

from sandbox.models import SandboxUser
from sandbox.seed_identities import ensure_identities

AUTHORIZE = "/sandbox/oauth2/auth/central"
TOKEN = "/sandbox/oauth/token"
REVOKE = "/sandbox/oauth/revoke"
API = "/sandbox/api/v3.1"


@dataclass
class DevApp:
    client_id: str
    client_secret: str
    redirect_uri: str


def form_post(client, path: str, data: dict, **extra):
    """POST `data` form-encoded, as Sage's token and revoke endpoints require (the test client's default is
    multipart)."""
    return client.post(path, urlencode(data), content_type="application/x-www-form-urlencoded", **extra)


def query_of(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


@pytest.fixture
def identities(db):
    return ensure_identities()


@pytest.fixture
def sam(identities) -> SandboxUser:
    """The user with two businesses (lead: Sandbox Trading Ltd, GB; then Sandbox Services Ltd, IE)."""
    return SandboxUser.objects.get(email="sam.sandbox@example.com")


@pytest.fixture
def una(identities) -> SandboxUser:
    return SandboxUser.objects.get(email="una.single@example.com")


@pytest.fixture
def dev_app() -> DevApp:
    return DevApp(
        client_id=settings.SAGE_SANDBOX_CLIENT_ID,
        client_secret=settings.SAGE_SANDBOX_CLIENT_SECRET,
        redirect_uri=settings.SAGE_SANDBOX_CALLBACK_URLS[0],
    )


@pytest.fixture
def authorize_params(dev_app):
    def build(**overrides) -> dict[str, str]:
        params = {
            "filter": "apiv3.1",
            "client_id": dev_app.client_id,
            "redirect_uri": dev_app.redirect_uri,
            "response_type": "code",
            "scope": "full_access",
            "state": "state-123",
        }
        params.update(overrides)
        return {key: value for key, value in params.items() if value is not None}

    return build


@pytest.fixture
def get_code(client, sam, authorize_params):
    """Go through the consent page with Allow; returns the redirect's query (code, country, state)."""

    def consent(user: SandboxUser | None = None, **overrides) -> dict[str, str]:
        data = authorize_params(**overrides) | {"sandbox_user": (user or sam).id, "decision": "allow"}
        response = client.post(AUTHORIZE, data)
        assert response.status_code == 302, response.content
        return query_of(response["Location"])

    return consent


@pytest.fixture
def exchange(client, dev_app):
    def post(**fields):
        data = {"client_id": dev_app.client_id, "client_secret": dev_app.client_secret} | fields
        return form_post(client, TOKEN, {key: value for key, value in data.items() if value is not None})

    return post


@pytest.fixture
def get_tokens(get_code, exchange, dev_app):
    """A token answer got through the real code flow (scope and user can be chosen)."""

    def tokens(user: SandboxUser | None = None, scope: str = "full_access") -> dict:
        code = get_code(user=user, scope=scope)["code"]
        response = exchange(grant_type="authorization_code", code=code, redirect_uri=dev_app.redirect_uri)
        assert response.status_code == 200, response.content
        return response.json()

    return tokens


@pytest.fixture
def access_token(get_tokens) -> str:
    """A full_access token of Sam Sandbox."""
    return get_tokens()["access_token"]


@pytest.fixture
def api(client):
    """Call the sandbox API: api("get", "/user", token, headers={...}, json=...)."""

    def call(method: str, path: str, token: str | None, *, headers: dict | None = None, json=None, **kwargs):
        all_headers = dict(headers or {})
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        if json is not None:
            kwargs.update(data=json, content_type="application/json")
        return getattr(client, method)(f"{API}{path}", headers=all_headers, **kwargs)

    return call


# Accounting fixtures (sandbox-accounting work): business, books, sage, make_customer, make_invoice.
from tests.sandbox.accounting_world import (  # noqa: E402
    bank_account,  # noqa: F401
    books,  # noqa: F401
    business,  # noqa: F401
    make_customer,  # noqa: F401
    make_invoice,  # noqa: F401
    other_business,  # noqa: F401
    sage,  # noqa: F401
    sales_ledger,  # noqa: F401
)
