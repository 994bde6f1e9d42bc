"""The HTTP SDK (sageint_sdk) against a running sageint: tokens it mints are accepted, calls go through."""

import pytest
import responses
from sageint_sdk import Client, mint_user_token

from connections.end_users import end_user_from_token
from connections.models import EndUser
from tests.api.seed_scenario import run_seed_calls


@pytest.fixture
def sdk_client(live_server, connected_end_user, settings):
    token = mint_user_token(
        settings.SAGEINT_USER_TOKEN_SECRET, connected_end_user.external_id, expires_in=600
    )
    with Client(live_server.url, token, timeout=30) as client:
        yield client


@pytest.mark.django_db
def test_minted_token_identifies_the_end_user(settings):
    settings.SAGEINT_USER_TOKEN_SECRET = "sdk-test-secret"
    token = mint_user_token("sdk-test-secret", "customer-42", expires_in=60, name="Ada")

    end_user = end_user_from_token(token)

    assert end_user.kind == EndUser.Kind.EXTERNAL
    assert end_user.external_id == "customer-42"


def test_minting_refuses_an_empty_subject():
    with pytest.raises(ValueError):
        mint_user_token("secret", "")


def test_minting_refuses_unsigned_tokens():
    with pytest.raises(ValueError):
        mint_user_token("secret", "someone", algorithm="none")


@pytest.mark.django_db(transaction=True)
def test_sdk_runs_the_seed_calls_against_a_live_server(seeded_sandbox, sdk_client):
    def call(method, path, body=None):
        response = sdk_client.request("sageaccounting", path, method=method, json=body)
        return response.status_code, response.json()

    ids = run_seed_calls(call)

    assert ids["invoice_id"]


@pytest.mark.django_db(transaction=True)
def test_sdk_returns_the_proxys_error_for_a_bad_token(live_server, connected_end_user):
    client = Client(live_server.url, mint_user_token("wrong-secret", connected_end_user.external_id))

    response = client.request("sageaccounting", "/contacts")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"


@pytest.mark.django_db(transaction=True)
def test_sdk_passes_query_params_and_sage_errors(sdk_client):
    listed = sdk_client.request("sageaccounting", "/contacts", params={"items_per_page": 1})
    missing = sdk_client.request("sageaccounting", "/contacts/0000000000000000")

    assert listed.status_code == 200
    assert listed.json()["$itemsPerPage"] == 1
    assert missing.status_code == 404
    assert missing.json()[0]["$severity"] == "error"


@pytest.mark.parametrize(
    "path", ["/../admin/", "/contacts/../../admin/", "//evil.example/x", "/contacts\\..\\x"]
)
def test_sdk_refuses_paths_its_http_library_would_rewrite(path):
    client = Client("http://sageint.invalid", "token")

    with responses.RequestsMock() as mocked, pytest.raises(ValueError):
        client.request("sageaccounting", path)
    assert len(mocked.calls) == 0
