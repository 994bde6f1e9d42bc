"""Sage's throttling and failures through the proxy: wait when told, retry only what is safe, never write twice."""

import json

import pytest
import requests

from api.models import RequestLog
from connections import retries
from sandbox.faults import inject_fault
from sandbox.models import RateLimitWindow

pytestmark = pytest.mark.django_db

PROXY = "/api/v1/proxy/sageaccounting"


@pytest.fixture
def waits(monkeypatch):
    """The waits the retry policy asks for, recorded instead of slept. Waiting lets Sage's minute pass: the
    sandbox's throttling window is emptied as if the time had gone by."""
    recorded = []

    def fake_sleep(seconds):
        recorded.append(seconds)
        RateLimitWindow.objects.all().delete()

    monkeypatch.setattr(retries, "sleep", fake_sleep)
    return recorded


def sage_calls(sandbox_transport, method, path):
    """The attempts that reached the (sandbox) Sage: counted at the transport, below urllib3's retries."""
    return [
        call
        for call in sandbox_transport.calls
        if call.method == method and call.path.endswith(f"/api/v3.1{path}")
    ]


def send_write(client, method, path, headers, *, name="Only Once Ltd"):
    return client.generic(
        method,
        f"{PROXY}{path}",
        data=json.dumps({"contact": {"name": name, "contact_type_ids": ["CUSTOMER"]}}),
        content_type="application/json",
        **headers,
    )


def test_throttled_call_waits_retry_after_then_succeeds(
    client, settings, connected_end_user, bearer_for, waits, sandbox_transport
):
    settings.SAGE_RETRY_MAX_WAIT_SECONDS = 120
    settings.SAGE_SANDBOX_RATE_LIMIT_PER_MINUTE = 1
    headers = bearer_for(connected_end_user)
    assert client.get(f"{PROXY}/contacts", **headers).status_code == 200

    response = client.get(f"{PROXY}/contacts", **headers)

    assert response.status_code == 200
    assert len(waits) == 1
    assert 1 <= waits[0] <= 60  # the sandbox's Retry-After: the seconds left in its minute
    assert response["X-Sageint-Attempts"] == "2"
    assert RequestLog.objects.order_by("id").last().attempts == 2


def test_throttled_write_is_also_retried_because_sage_refused_it_unseen(
    client, settings, connected_end_user, bearer_for, waits
):
    settings.SAGE_RETRY_MAX_WAIT_SECONDS = 120
    settings.SAGE_SANDBOX_RATE_LIMIT_PER_MINUTE = 1
    headers = bearer_for(connected_end_user)
    client.get(f"{PROXY}/contacts", **headers)

    response = client.post(
        f"{PROXY}/contacts",
        data={"contact": {"name": "Throttled Then Created Ltd", "contact_type_ids": ["CUSTOMER"]}},
        content_type="application/json",
        **headers,
    )

    assert response.status_code == 201, response.content
    assert len(waits) == 1


def test_throttle_longer_than_the_cap_passes_429_and_retry_after_to_the_caller(
    client, settings, connected_end_user, bearer_for, waits, sandbox_transport
):
    settings.SAGE_RETRY_MAX_WAIT_SECONDS = 0.5
    settings.SAGE_SANDBOX_RATE_LIMIT_PER_MINUTE = 1
    headers = bearer_for(connected_end_user)
    client.get(f"{PROXY}/contacts", **headers)

    response = client.get(f"{PROXY}/contacts", **headers)

    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert response.json()[0]["$severity"] == "error"  # Sage's own body, not the proxy's
    assert waits == []
    assert len(sage_calls(sandbox_transport, "GET", "/contacts")) == 2
    assert RequestLog.objects.order_by("id").last().status_code == 429


def test_get_is_retried_after_503(client, settings, connected_end_user, bearer_for, waits, sandbox_transport):
    inject_fault(kind="503", count=1)

    response = client.get(f"{PROXY}/contacts", **bearer_for(connected_end_user))

    assert response.status_code == 200
    assert response["X-Sageint-Attempts"] == "2"
    assert len(waits) == 1
    assert len(sage_calls(sandbox_transport, "GET", "/contacts")) == 2


def test_get_gives_sages_503_back_after_the_allowed_attempts(
    client, settings, connected_end_user, bearer_for, waits, sandbox_transport
):
    settings.SAGE_RETRY_MAX_ATTEMPTS = 3
    inject_fault(kind="503", count=10)

    response = client.get(f"{PROXY}/contacts", **bearer_for(connected_end_user))

    assert response.status_code == 503
    assert response.json()[0]["$dataCode"]
    assert len(sage_calls(sandbox_transport, "GET", "/contacts")) == 3


def test_post_is_sent_exactly_once_on_503(client, connected_end_user, bearer_for, waits, sandbox_transport):
    inject_fault(kind="503", count=1)

    response = send_write(client, "POST", "/contacts", bearer_for(connected_end_user))

    assert response.status_code == 503
    assert len(sage_calls(sandbox_transport, "POST", "/contacts")) == 1
    assert waits == []
    assert RequestLog.objects.get(method="POST").attempts == 1


def test_post_is_sent_exactly_once_when_the_connection_drops(
    client, connected_end_user, bearer_for, waits, scripted_sage
):
    sage = scripted_sage("/contacts", [requests.exceptions.ConnectionError("connection reset by peer")] * 5)

    response = send_write(client, "POST", "/contacts", bearer_for(connected_end_user), name="Dropped Ltd")

    assert response.status_code == 502
    assert response.json()["error"]["code"] == "sage_unavailable"
    assert len(sage.requests) == 1
    assert waits == []
    assert RequestLog.objects.get(method="POST").status_code == 502


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
@pytest.mark.parametrize(
    "fault",
    [
        (503, {"Content-Type": "application/json"}, b'[{"$severity": "error", "$dataCode": "Unavailable"}]'),
        requests.exceptions.ConnectionError("connection reset by peer"),
        requests.exceptions.ReadTimeout("read timed out"),
    ],
    ids=["503", "dropped", "timeout"],
)
def test_put_and_delete_are_sent_exactly_once_whatever_goes_wrong(
    client, connected_end_user, bearer_for, waits, scripted_sage, method, fault
):
    sage = scripted_sage("/contacts/abc123", [fault] * 5)

    response = send_write(client, method, "/contacts/abc123", bearer_for(connected_end_user))

    assert response.status_code in (503, 502, 504)
    assert len(sage.requests) == 1
    assert waits == []


def test_get_is_retried_after_a_dropped_connection(
    client, connected_end_user, bearer_for, waits, scripted_sage
):
    sage = scripted_sage(
        "/contacts",
        [
            requests.exceptions.ConnectionError("connection reset by peer"),
            (200, {"Content-Type": "application/json"}, b"{}"),
        ],
    )

    response = client.get(f"{PROXY}/contacts", **bearer_for(connected_end_user))

    assert response.status_code == 200
    assert len(sage.requests) == 2
    assert response["X-Sageint-Attempts"] == "2"


def test_timeout_is_504(client, settings, connected_end_user, bearer_for, waits, scripted_sage):
    settings.SAGE_READ_TIMEOUT_SECONDS = 7.5
    sage = scripted_sage("/contacts", [requests.exceptions.ReadTimeout("read timed out")] * 5)

    response = client.post(
        f"{PROXY}/contacts",
        data={"contact": {}},
        content_type="application/json",
        **bearer_for(connected_end_user),
    )

    assert response.status_code == 504
    assert response.json()["error"]["code"] == "sage_timeout"
    assert RequestLog.objects.get().error_code == "sage_timeout"
    assert len(sage.requests) == 1  # a POST is not re-sent after a timeout either
    assert sage.timeouts == [(settings.SAGE_CONNECT_TIMEOUT_SECONDS, 7.5)]


def test_get_timeout_is_retried_then_504(client, connected_end_user, bearer_for, waits, scripted_sage):
    sage = scripted_sage("/contacts", [requests.exceptions.ReadTimeout("read timed out")] * 5)

    response = client.get(f"{PROXY}/contacts", **bearer_for(connected_end_user))

    assert response.status_code == 504
    assert len(sage.requests) == 3


def test_unreachable_sage_is_502_after_get_retries(
    client, connected_end_user, bearer_for, waits, scripted_sage
):
    sage = scripted_sage("/contacts", [requests.exceptions.ConnectionError("refused")] * 5)

    response = client.get(f"{PROXY}/contacts", **bearer_for(connected_end_user))

    assert response.status_code == 502
    assert response.json()["error"]["code"] == "sage_unavailable"
    assert len(sage.requests) == 3
