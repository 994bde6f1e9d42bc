"""The Sage client's rules, driven with `responses` for the faults the sandbox cannot produce."""

import json

import pytest
import requests
import responses

from connections import crypto
from connections.exceptions import ReconnectRequired, SageError, SageTimeout, SageUnavailable
from connections.sage_client import SageClient

from .conftest import API

TOKEN_URL = "http://sage.test/token"


def refreshed_token_body(access="access-token-value-2", refresh="refresh-token-value-2"):
    return {
        "access_token": access,
        "refresh_token": refresh,
        "expires_in": 300,
        "refresh_token_expires_in": 2678400,
        "token_type": "bearer",
        "scope": "full_access",
    }


@pytest.fixture
def client(sage_api_settings, make_connection, no_sleep):
    return SageClient.for_connection(make_connection())


@responses.activate
def test_sends_bearer_token_and_business_header(client):
    responses.get(f"{API}/contacts", json={"$items": []})
    response = client.send("GET", "/contacts")
    sent = responses.calls[0].request
    assert response.status_code == 200
    assert sent.headers["Authorization"] == "Bearer access-token-value-1"
    assert sent.headers["X-Business"] == "business-1"
    assert response.sageint_attempts == 1


@responses.activate
def test_caller_cannot_replace_the_authorization_header(client):
    responses.get(f"{API}/contacts", json={})
    client.send("GET", "contacts", headers={"Authorization": "Bearer stolen", "X-Custom": "1"})
    sent = responses.calls[0].request
    assert sent.headers["Authorization"] == "Bearer access-token-value-1"
    assert sent.headers["X-Custom"] == "1"


def test_urls_outside_the_api_base_are_refused(client):
    with pytest.raises(ValueError):
        client.url_for("https://evil.example/v3.1/contacts")
    with pytest.raises(ValueError):
        client.url_for("../token")


@responses.activate
def test_throttled_post_waits_retry_after_then_succeeds(client, no_sleep):
    responses.post(f"{API}/contacts", status=429, headers={"Retry-After": "2"}, json=[])
    responses.post(f"{API}/contacts", status=201, json={"id": "c1"})
    response = client.send("POST", "contacts", json={"contact": {"name": "Ann"}})
    assert response.status_code == 201
    assert response.sageint_attempts == 2
    assert no_sleep == [2.0]


@responses.activate
def test_throttling_beyond_the_wait_budget_returns_the_429(client, no_sleep, settings):
    settings.SAGE_RETRY_MAX_WAIT_SECONDS = 5
    responses.get(f"{API}/contacts", status=429, headers={"Retry-After": "4"}, json=[])
    response = client.send("GET", "contacts")
    assert response.status_code == 429
    assert no_sleep == [4.0]  # a second 4 s wait would pass the 5 s budget
    assert response.sageint_attempts == 2


@responses.activate
def test_server_errors_are_retried_for_get(client, no_sleep, settings):
    settings.SAGE_RETRY_MAX_ATTEMPTS = 3
    responses.get(f"{API}/contacts", status=503, json=[])
    responses.get(f"{API}/contacts", status=502, json=[])
    responses.get(f"{API}/contacts", status=200, json={"$items": []})
    response = client.send("GET", "contacts")
    assert response.status_code == 200
    assert response.sageint_attempts == 3
    assert len(no_sleep) == 2 and no_sleep[1] == 2 * no_sleep[0]  # exponential backoff


@responses.activate
def test_server_error_after_the_last_attempt_is_returned(client, settings):
    settings.SAGE_RETRY_MAX_ATTEMPTS = 2
    responses.get(f"{API}/contacts", status=500, json=[{"$message": "boom"}])
    response = client.send("GET", "contacts")
    assert response.status_code == 500
    assert response.sageint_attempts == 2


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
@responses.activate
def test_writes_are_never_resent_after_a_server_error(client, method):
    responses.add(method, f"{API}/contacts/c1", status=503, json=[])
    response = client.send(method, "contacts/c1", json={})
    assert response.status_code == 503
    assert len(responses.calls) == 1


@responses.activate
def test_connection_errors_are_retried_for_get_then_raised(client, settings):
    settings.SAGE_RETRY_MAX_ATTEMPTS = 3
    responses.get(f"{API}/contacts", body=requests.ConnectionError("refused"))
    with pytest.raises(SageUnavailable):
        client.send("GET", "contacts")
    assert len(responses.calls) == 3


@responses.activate
def test_a_post_is_not_resent_after_a_connection_error(client):
    responses.post(f"{API}/contacts", body=requests.ConnectionError("reset"))
    with pytest.raises(SageUnavailable):
        client.send("POST", "contacts", json={})
    assert len(responses.calls) == 1


@responses.activate
def test_timeout_raises_sage_timeout(client, settings):
    settings.SAGE_RETRY_MAX_ATTEMPTS = 1
    responses.get(f"{API}/contacts", body=requests.ReadTimeout("slow"))
    with pytest.raises(SageTimeout):
        client.send("GET", "contacts")


@responses.activate
def test_401_refreshes_once_and_replays_a_write(client):
    responses.post(f"{API}/sales_invoices", status=401, json=[{"$dataCode": "AuthenticationFailure"}])
    responses.post(f"{API}/sales_invoices", status=201, json={"id": "inv-1"})
    responses.post(TOKEN_URL, json=refreshed_token_body())
    response = client.send("POST", "sales_invoices", json={"sales_invoice": {}})
    assert response.status_code == 201
    api_calls = [call for call in responses.calls if "/v3.1/" in call.request.url]
    assert [call.request.headers["Authorization"] for call in api_calls] == [
        "Bearer access-token-value-1",
        "Bearer access-token-value-2",
    ]
    assert crypto.decrypt(client.connection.refresh_token_encrypted) == "refresh-token-value-2"


@responses.activate
def test_a_second_401_after_refreshing_is_returned_not_looped(client):
    responses.get(f"{API}/user", status=401, json=[{"$message": "No active subscription. (MSE)"}])
    responses.post(TOKEN_URL, json=refreshed_token_body())
    response = client.send("GET", "user")
    assert response.status_code == 401
    assert len([c for c in responses.calls if c.request.url == TOKEN_URL]) == 1


@responses.activate
def test_error_answers_become_sage_errors_with_message_and_code(client):
    responses.post(
        f"{API}/contacts",
        status=422,
        json=[
            {
                "$severity": "error",
                "$dataCode": "RecordInvalid",
                "$message": "Name is required",
                "$source": "name",
            }
        ],
    )
    with pytest.raises(SageError) as raised:
        client.post_json("contacts", {"contact": {}})
    assert raised.value.status == 422
    assert raised.value.message == "Name is required"
    assert raised.value.data_code == "RecordInvalid"


@responses.activate
def test_iter_collection_follows_next_with_200_per_page(client):
    responses.get(
        f"{API}/contacts",
        match=[responses.matchers.query_param_matcher({"items_per_page": "200", "page": "1"})],
        json={"$items": [{"id": "1"}, {"id": "2"}], "$next": "/contacts?page=2&items_per_page=200"},
    )
    responses.get(
        f"{API}/contacts",
        match=[responses.matchers.query_param_matcher({"items_per_page": "200", "page": "2"})],
        json={"$items": [{"id": "3"}], "$next": None},
    )
    assert [item["id"] for item in client.iter_collection("contacts")] == ["1", "2", "3"]


@responses.activate
def test_iter_collection_raises_sage_error_on_failure(client):
    responses.get(
        f"{API}/contacts", status=404, json=[{"$message": "Not found", "$dataCode": "RecordNotFound"}]
    )
    with pytest.raises(SageError):
        list(client.iter_collection("contacts"))


def test_client_for_a_connection_needing_reconnect_raises(make_connection, sage_api_settings):
    connection = make_connection()
    connection.status = connection.Status.RECONNECT_REQUIRED
    connection.reconnect_reason = "revoked"
    connection.save()
    with pytest.raises(ReconnectRequired) as raised:
        SageClient.for_connection(connection)
    assert raised.value.reason == "revoked"


@responses.activate
def test_body_bytes_are_passed_through_unchanged(client):
    responses.put(f"{API}/contacts/c1", json={})
    payload = json.dumps({"contact": {"unit_price": "25.99"}}).encode()
    client.send("PUT", "contacts/c1", data=payload, headers={"Content-Type": "application/json"})
    assert responses.calls[0].request.body == payload
