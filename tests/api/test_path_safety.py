"""A proxied path can only ever be a plain path under Sage's API base; everything else is refused unsent."""

import contextlib
import socket
import string
from urllib.parse import quote

import pytest
import responses

from connections import proxy
from connections.proxy import UnsafePath, safe_sage_path, split_sage_path
from tests.api.hostile_paths import HOSTILE_PATHS

pytestmark = pytest.mark.django_db

# Printable ASCII stays as typed (so one layer of %xx is what the server decodes); the rest is encoded as a real
# client would put it on the wire. "#" and "?" are encoded so they reach the server instead of being cut off.
_WIRE_SAFE = "".join(c for c in string.printable if c not in string.whitespace and c not in "#?")


def proxy_url(hostile: str) -> str:
    return "/api/v1/proxy/sageaccounting/" + quote(hostile, safe=_WIRE_SAFE)


def test_there_are_at_least_25_hostile_variants():
    assert len(set(HOSTILE_PATHS)) >= 25


def test_the_leak_detector_sees_requests_urllib3_and_sockets(connected_end_user, outgoing_requests):
    """outgoing_requests is what the hostile-path tests rely on: prove it notices each layer."""
    proxy.request(connected_end_user, "/contacts")
    with contextlib.suppress(OSError):  # nothing listens there; the attempt is what counts
        socket.create_connection(("127.0.0.1", 9), timeout=0.5).close()

    assert {layer for layer, _ in outgoing_requests} == {"requests", "urllib3", "dns", "socket"}


@pytest.mark.parametrize("hostile", HOSTILE_PATHS)
def test_hostile_path_is_refused_by_the_check(hostile):
    with pytest.raises(UnsafePath):
        split_sage_path(hostile)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("/contacts", "/contacts"),
        ("contacts", "/contacts"),
        ("/contacts/", "/contacts"),
        ("/sales_invoices/8f3c0a1b2c3d4e5f/release", "/sales_invoices/8f3c0a1b2c3d4e5f/release"),
        ("/tax_rates/GB_STANDARD", "/tax_rates/GB_STANDARD"),
        ("/businesses/lead", "/businesses/lead"),
        ("/attachments/file.v2", "/attachments/file.v2"),
    ],
)
def test_plain_sage_paths_are_accepted(given, expected):
    assert safe_sage_path(given) == expected


def test_query_in_the_path_is_split_off_and_decoded():
    assert split_sage_path("/contacts?email=a%40b.c&page=2") == (
        "/contacts",
        [("email", "a@b.c"), ("page", "2")],
    )


@pytest.mark.parametrize("hostile", HOSTILE_PATHS)
def test_hostile_path_sends_nothing_in_process(hostile, connected_end_user, outgoing_requests):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked, pytest.raises(UnsafePath):
        proxy.request(connected_end_user, hostile)
    assert len(mocked.calls) == 0
    assert outgoing_requests == []


@pytest.mark.parametrize("hostile", HOSTILE_PATHS)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_hostile_path_is_a_400_over_http_and_sends_nothing(
    hostile, method, client, connected_end_user, bearer_for, outgoing_requests
):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        response = client.generic(
            method,
            proxy_url(hostile),
            data=b"{}",
            content_type="application/json",
            **bearer_for(connected_end_user),
        )
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "invalid_path"
    assert len(mocked.calls) == 0
    assert outgoing_requests == []


def test_a_refused_path_writes_no_request_log_row(client, connected_end_user, bearer_for):
    from api.models import RequestLog

    client.get(proxy_url("/../oauth/token"), **bearer_for(connected_end_user))
    assert RequestLog.objects.count() == 0
