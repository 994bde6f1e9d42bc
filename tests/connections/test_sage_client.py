"""The Sage client's rules, driven with `responses` for the faults the sandbox cannot produce."""

import json
import logging

import pytest
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


# --- the retry policy, over real sockets (urllib3's own retry loop, driven by connections.retries) -----------

JSON = {"Content-Type": "application/json"}


@pytest.fixture
def wire_client(local_sage, make_connection, no_sleep):
    """A client whose Sage is `local_sage`, a scripted server on a local socket."""
    return SageClient.for_connection(make_connection())


def test_throttled_post_waits_retry_after_then_succeeds(wire_client, local_sage, no_sleep):
    local_sage.script((429, {"Retry-After": "2", **JSON}, b"[]"), (201, JSON, b'{"id": "c1"}'))
    response = wire_client.send("POST", "contacts", json={"contact": {"name": "Ann"}})
    assert response.status_code == 201
    assert response.json() == {"id": "c1"}
    assert response.sageint_attempts == 2
    assert no_sleep == [2.0]
    assert local_sage.requests == [("POST", "/v3.1/contacts")] * 2


def test_throttling_beyond_the_wait_budget_returns_the_429(wire_client, local_sage, no_sleep, settings):
    settings.SAGE_RETRY_MAX_WAIT_SECONDS = 5
    local_sage.script((429, {"Retry-After": "4", **JSON}, b'[{"$message": "slow down"}]'))
    response = wire_client.send("GET", "contacts")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "4"
    assert response.json() == [{"$message": "slow down"}]
    assert no_sleep == [4.0]  # a second 4 s wait would pass the 5 s budget
    assert response.sageint_attempts == 2


def test_a_retry_after_longer_than_the_budget_returns_the_429_at_once(
    wire_client, local_sage, no_sleep, settings
):
    settings.SAGE_RETRY_MAX_WAIT_SECONDS = 10
    local_sage.script((429, {"Retry-After": "30", **JSON}, b"[]"))
    response = wire_client.send("POST", "contacts", json={"contact": {}})
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "30"
    assert no_sleep == []
    assert response.sageint_attempts == 1
    assert len(local_sage.requests) == 1


def test_a_throttle_without_retry_after_backs_off_then_succeeds(wire_client, local_sage, no_sleep, settings):
    local_sage.script((429, JSON, b"[]"), (200, JSON, b"{}"))
    response = wire_client.send("PUT", "contacts/c1", json={})
    assert response.status_code == 200
    assert no_sleep == [settings.SAGE_RETRY_BACKOFF_SECONDS]


def test_server_errors_are_retried_for_get(wire_client, local_sage, no_sleep, settings):
    settings.SAGE_RETRY_MAX_ATTEMPTS = 3
    local_sage.script((503, JSON, b"[]"), (502, JSON, b"[]"), (200, JSON, b'{"$items": []}'))
    response = wire_client.send("GET", "contacts")
    assert response.status_code == 200
    assert response.sageint_attempts == 3
    assert len(no_sleep) == 2 and no_sleep[1] == 2 * no_sleep[0]  # exponential backoff
    assert len(local_sage.requests) == 3


def test_head_is_retried_like_get(wire_client, local_sage, no_sleep):
    local_sage.script((500, JSON, b""), (200, JSON, b""))
    response = wire_client.send("HEAD", "contacts")
    assert response.status_code == 200
    assert local_sage.requests == [("HEAD", "/v3.1/contacts")] * 2


def test_server_error_after_the_last_attempt_is_returned(wire_client, local_sage, settings):
    settings.SAGE_RETRY_MAX_ATTEMPTS = 2
    local_sage.script((500, JSON, b'[{"$message": "boom"}]'))
    response = wire_client.send("GET", "contacts")
    assert response.status_code == 500
    assert response.json() == [{"$message": "boom"}]
    assert response.sageint_attempts == 2


def test_waits_for_server_errors_also_stop_at_the_wait_budget(wire_client, local_sage, no_sleep, settings):
    settings.SAGE_RETRY_MAX_ATTEMPTS = 5
    settings.SAGE_RETRY_BACKOFF_SECONDS = 1
    settings.SAGE_RETRY_MAX_WAIT_SECONDS = 3.5
    local_sage.script((503, JSON, b"[]"))
    response = wire_client.send("GET", "contacts")
    assert response.status_code == 503
    assert no_sleep == [1, 2]  # waiting 4 more would pass 3.5 s
    assert response.sageint_attempts == 3


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("retry_after", [None, "1"])
def test_writes_are_never_resent_after_a_server_error(wire_client, local_sage, no_sleep, method, retry_after):
    headers = {**JSON, "Retry-After": retry_after} if retry_after else JSON
    local_sage.script((503, headers, b"[]"), (201, JSON, b"{}"))
    response = wire_client.send(method, "contacts/c1", json={})
    assert response.status_code == 503
    assert response.sageint_attempts == 1
    assert local_sage.requests == [(method, "/v3.1/contacts/c1")]
    assert no_sleep == []


def test_connection_errors_are_retried_for_get_then_raised(wire_client, local_sage, settings):
    settings.SAGE_RETRY_MAX_ATTEMPTS = 3
    local_sage.script(("drop",))
    with pytest.raises(SageUnavailable):
        wire_client.send("GET", "contacts")
    assert len(local_sage.requests) == 3


def test_a_get_succeeds_after_a_dropped_connection(wire_client, local_sage):
    local_sage.script(("drop",), (200, JSON, b"{}"))
    response = wire_client.send("GET", "contacts")
    assert response.status_code == 200
    assert response.sageint_attempts == 2


def test_a_post_is_not_resent_after_a_connection_error(wire_client, local_sage, no_sleep):
    local_sage.script(("drop",), (201, JSON, b"{}"))
    with pytest.raises(SageUnavailable):
        wire_client.send("POST", "contacts", json={})
    assert local_sage.requests == [("POST", "/v3.1/contacts")]
    assert no_sleep == []


def test_a_refused_connection_is_retried_even_for_a_post(
    sage_api_settings, closed_port_url, make_connection, no_sleep, settings
):
    # Refused while connecting: not a byte of the request left, so Sage cannot have acted on it.
    settings.SAGE_RETRY_MAX_ATTEMPTS = 3
    sage_api_settings.SAGE_API_URL = closed_port_url
    client = SageClient.for_connection(make_connection())
    with pytest.raises(SageUnavailable):
        client.send("POST", "contacts", json={})
    assert len(no_sleep) == 2  # three attempts


def test_read_timeout_of_a_get_is_retried_then_raises_sage_timeout(wire_client, local_sage, settings):
    settings.SAGE_READ_TIMEOUT_SECONDS = 0.2
    settings.SAGE_RETRY_MAX_ATTEMPTS = 2
    local_sage.script(("slow", 1.0, (200, JSON, b"{}")))
    with pytest.raises(SageTimeout):
        wire_client.send("GET", "contacts")
    assert len(local_sage.requests) == 2


def test_read_timeout_of_a_post_raises_sage_timeout_without_resending(wire_client, local_sage, settings):
    settings.SAGE_READ_TIMEOUT_SECONDS = 0.2
    local_sage.script(("slow", 1.0, (201, JSON, b"{}")))
    with pytest.raises(SageTimeout):
        wire_client.send("POST", "contacts", json={})
    assert len(local_sage.requests) == 1


def test_retried_calls_are_logged_without_their_query(wire_client, local_sage, caplog):
    local_sage.script(("drop",), (200, JSON, b"{}"))
    with caplog.at_level(logging.DEBUG):
        wire_client.send("GET", "contacts", params={"email": "ann@example.com"})
    assert "/v3.1/contacts" in caplog.text
    assert "ann@example.com" not in caplog.text
    assert "ann%40example.com" not in caplog.text


def test_the_retry_policy_is_on_the_shared_session_adapter(sage_api_settings):
    from connections.http_session import shared_session
    from connections.retries import SageRetry

    adapter = shared_session().get_adapter("https://api.accounting.sage.com/v3.1/contacts")
    assert isinstance(adapter.max_retries, SageRetry)
    assert adapter.max_retries.raise_on_status is False


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


def test_calls_go_to_the_api_of_the_service_that_issued_the_tokens(
    make_connection, sage_api_settings, settings
):
    connection = make_connection()  # development keys are in effect (sage_api_settings)
    connection.credentials_mode = "sandbox"
    assert SageClient.for_connection(connection).api_url == f"{settings.SAGE_SANDBOX_URL}/api/v3.1/"
    connection.credentials_mode = "dev_env"
    assert SageClient.for_connection(connection).api_url == f"{API}/"
    connection.credentials_mode = ""  # a row from before the mode was stored: the mode in effect now
    assert SageClient.for_connection(connection).api_url == f"{API}/"
