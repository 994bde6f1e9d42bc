"""A connection whose business the Sage user can no longer reach: Sage answers 401 with `$source: X-Business`.

The token is fine, so the client must neither refresh (that would spend a rotation on every call) nor mark the
connection "reconnect needed", and the caller gets an error that says what happened and what to do.
"""

import pytest

from connections.exceptions import BusinessNotReachable, SageError
from connections.models import Connection, ConnectionEvent
from connections.sage_client import SageClient

GONE = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def vanished(connected_end_user):
    """The connected end user, whose chosen business no longer exists for its Sage user."""
    Connection.objects.filter(pk=connected_end_user.connection.pk).update(business_id=GONE)
    connected_end_user.connection.refresh_from_db()
    return connected_end_user


def test_a_business_refusal_is_returned_without_refreshing_or_replaying(vanished, sandbox_transport):
    user_calls_before = sandbox_transport.count("/api/v3.1/user")

    response = SageClient.for_end_user(vanished).send("GET", "user")

    assert response.status_code == 401
    assert response.json()[0]["$source"] == "X-Business"
    assert response.request.headers["X-Business"] == GONE
    assert sandbox_transport.refresh_calls == 0
    assert sandbox_transport.count("/api/v3.1/user") - user_calls_before == 1
    assert response.sageint_attempts == 1


def test_a_vanished_business_gives_a_clear_error_and_keeps_the_connection_active(vanished, sandbox_transport):
    client = SageClient.for_end_user(vanished)
    for _ in range(3):  # every call the same answer; no refresh, no loop
        with pytest.raises(BusinessNotReachable) as raised:
            client.get_json("contacts")
        assert isinstance(raised.value, SageError) and raised.value.status == 401
        assert "“Sandbox Trading Ltd” is no longer reachable" in raised.value.message
        assert "Connect Sage Accounting again" in str(raised.value)

    assert sandbox_transport.refresh_calls == 0
    connection = Connection.objects.get(pk=vanished.connection.pk)
    assert connection.is_active and connection.refresh_failures == 0
    assert not ConnectionEvent.objects.filter(kind__in=["reconnect_required", "refresh_failed"]).exists()


def test_a_token_401_still_refreshes_when_the_business_is_fine(connected_end_user, sandbox_transport):
    """The other 401 (a token Sage no longer knows) keeps its one refresh and replay."""
    from connections import crypto

    connection = connected_end_user.connection
    connection.access_token_encrypted = crypto.encrypt("an-access-token-sage-never-issued")
    connection.save()

    assert SageClient.for_end_user(connected_end_user).get_json("user")["email"] == "sam.sandbox@example.com"
    assert sandbox_transport.refresh_calls == 1
