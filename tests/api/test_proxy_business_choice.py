"""Which headers of a caller reach Sage, and X-Business chosen per call: the in-process SDK and the HTTP API
follow one rule (connections.proxy), so each is tested on both ways in."""

import pytest

from api.models import RequestLog
from connections import proxy
from connections.exceptions import BusinessNotAllowed
from connections.models import Connection

pytestmark = pytest.mark.django_db

PROXY = "/api/v1/proxy/sageaccounting"
JSON = {"Content-Type": "application/json"}


def other_business_id(end_user) -> str:
    """Sam Sandbox connected two businesses: the one not chosen on the connect page."""
    connection = end_user.connection
    assert len(connection.businesses) == 2
    return next(entry["id"] for entry in connection.businesses if entry["id"] != connection.business_id)


def test_in_process_request_forwards_only_accept_to_sage(connected_end_user, scripted_sage):
    sage = scripted_sage("/contacts", [(200, JSON, b"{}")])

    proxy.request(
        connected_end_user,
        "/contacts",
        headers={
            "Accept": "application/pdf",
            "Authorization": "Bearer a-token-of-the-callers-choosing",
            "Cookie": "sage_session=abc",
            "X-Sage-Debug": "1",
            "Host": "evil.example.com",
            "Content-Type": "text/plain",
        },
    )

    sent = sage.requests[0].headers
    assert sent["Accept"] == "application/pdf"
    assert sent["Authorization"].startswith("Bearer ")
    assert "a-token-of-the-callers-choosing" not in sent["Authorization"]
    assert sent["X-Business"] == connected_end_user.connection.business_id
    for dropped in ("Cookie", "X-Sage-Debug", "Content-Type"):
        assert dropped not in sent, dropped
    assert "evil.example.com" not in sent.get("Host", "")


def test_in_process_x_business_of_another_connected_business_serves_that_business(connected_end_user):
    other = other_business_id(connected_end_user)

    response = proxy.request(connected_end_user, "/businesses/lead", headers={"x-business": other})
    default = proxy.request(connected_end_user, "/contacts?items_per_page=1")

    assert response.status_code == 200
    assert response.headers["X-Business"] == other
    assert default.headers["X-Business"] == connected_end_user.connection.business_id != other
    # Chosen for that call only: the connection keeps the business picked on the connect page.
    assert Connection.objects.get(end_user=connected_end_user).business_id != other


def test_in_process_x_business_not_connected_is_refused_before_anything_is_sent(
    connected_end_user, outgoing_requests
):
    with pytest.raises(BusinessNotAllowed, match="not one of the Sage businesses") as refused:
        proxy.request(connected_end_user, "/contacts", headers={"X-Business": "someone-elses-business"})

    assert outgoing_requests == []
    assert not RequestLog.objects.exists()
    # The message says which businesses may be named.
    assert connected_end_user.connection.business_id in refused.value.message


def test_blank_x_business_means_the_connections_business(connected_end_user, scripted_sage):
    sage = scripted_sage("/contacts", [(200, JSON, b"{}")])

    proxy.request(connected_end_user, "/contacts", headers={"X-Business": "  "})

    assert sage.requests[0].headers["X-Business"] == connected_end_user.connection.business_id


def test_http_x_business_of_another_connected_business_serves_that_business(
    client, connected_end_user, bearer_for
):
    other = other_business_id(connected_end_user)

    response = client.get(f"{PROXY}/contacts", HTTP_X_BUSINESS=other, **bearer_for(connected_end_user))

    assert response.status_code == 200
    assert response["X-Business"] == other


def test_http_x_business_not_connected_is_a_clear_403(
    client, connected_end_user, bearer_for, outgoing_requests
):
    response = client.get(
        f"{PROXY}/contacts", HTTP_X_BUSINESS="someone-elses-business", **bearer_for(connected_end_user)
    )

    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "business_not_allowed"
    assert "someone-elses-business" in error["message"]
    assert outgoing_requests == []
    assert not RequestLog.objects.exists()
