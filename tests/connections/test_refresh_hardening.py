"""What a refresh must never undo, and what must never stop it (issue 12, items 1-4).

A refresh reads the connection, calls Sage (slow, outside any transaction on SQLite), then writes. Whatever
happened to the row meanwhile (a disconnect, a business switch, a reconnect, another process that took over an
expired lease) must survive that write. The single-thread tests run the other party inside the call to Sage
(the window between Sage rotating the token and the write); the threaded ones run real concurrent callers,
each on its own database connection (SQLite lease, or PostgreSQL row lock).
"""

import threading
import time
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from django.db import connections as db_connections
from django.test import Client
from django.utils import timezone

from connections import crypto, oauth, services, token_endpoint, tokens
from connections.credentials import sage_credentials
from connections.exceptions import NotConnected, ReconnectRequired
from connections.models import Connection, ConnectionEvent
from connections.sage_client import SageClient
from tests.fixtures_sage import connect_end_user_via_link, make_user_token
from tests.services import uses_postgresql

WAIT = 10  # seconds any choreographed step may take before the test fails instead of hanging


def during_sage_refresh(monkeypatch, action):
    """Run `action()` right after Sage answered a refresh (rotated the token), before sageint writes it."""
    original = token_endpoint.refresh

    def refresh_then_act(**kwargs):
        token_set = original(**kwargs)
        action()
        return token_set

    monkeypatch.setattr(token_endpoint, "refresh", refresh_then_act)


def expire(connection: Connection) -> None:
    Connection.objects.filter(pk=connection.pk).update(access_token_expires_at=timezone.now() - timedelta(1))
    connection.refresh_from_db()


def refresh_token_works(refresh_token: str) -> bool:
    try:
        token_endpoint.refresh(credentials=sage_credentials(), refresh_token=refresh_token)
    except token_endpoint.TokenRefused:
        return False
    return True


# --- 1. a refresh saves only its own columns, and only on the row it read --------------------------------


def test_a_deletion_during_a_refresh_is_not_undone(connected_end_user, sandbox_transport, monkeypatch):
    connection = connected_end_user.connection
    during_sage_refresh(monkeypatch, lambda: Connection.objects.filter(pk=connection.pk).delete())

    with pytest.raises(NotConnected):
        tokens.refresh_access_token(connection=connection)

    assert not Connection.objects.exists()  # not re-inserted, active, with tokens


def test_a_business_switch_during_a_refresh_is_kept(connected_end_user, sandbox_transport, monkeypatch):
    connection = connected_end_user.connection
    other = next(b for b in connection.businesses if b["id"] != connection.business_id)
    during_sage_refresh(
        monkeypatch,
        lambda: services.switch_business(end_user=connected_end_user, business_id=other["id"]),
    )

    tokens.refresh_access_token(connection=connection)

    stored = Connection.objects.get(pk=connection.pk)
    assert stored.business_id == other["id"]
    assert stored.refresh_count == 1  # and the refresh itself was stored


def test_a_reconnect_during_a_refresh_keeps_the_new_authorization(
    connected_end_user, sandbox_transport, monkeypatch
):
    connection = connected_end_user.connection
    reconnected = token_endpoint.TokenSet(
        access_token="access-from-the-reconnect",
        refresh_token="refresh-from-the-reconnect",
        access_token_expires_at=timezone.now() + timedelta(minutes=5),
        refresh_token_expires_at=None,
        scope="full_access",
        sage_user_id="",
    )

    def reconnect():
        oauth._save_connection(
            end_user=connected_end_user,
            credentials=sage_credentials(),
            token_set=reconnected,
            identity={
                "user": {},
                "lead_business_id": connection.business_id,
                "businesses": connection.businesses,
            },
            country="GB",
        )

    during_sage_refresh(monkeypatch, reconnect)

    assert tokens.refresh_access_token(connection=connection) == "access-from-the-reconnect"

    stored = Connection.objects.get(pk=connection.pk)
    assert crypto.decrypt(stored.refresh_token_encrypted) == "refresh-from-the-reconnect"
    assert stored.country == "GB"


@pytest.mark.django_db(transaction=True)
def test_disconnect_waits_for_a_running_refresh_and_revokes_the_token_it_stored(
    sandbox_transport, monkeypatch
):
    end_user = connect_end_user_via_link("disconnect-race")
    pk = end_user.connection.pk
    answered, finish = threading.Event(), threading.Event()
    original_refresh, original_revoke = token_endpoint.refresh, token_endpoint.revoke
    produced_tokens: list[str] = []
    revoked_tokens: list[str] = []

    def slow_refresh(**kwargs):
        token_set = original_refresh(**kwargs)
        produced_tokens.append(token_set.refresh_token)
        answered.set()
        finish.wait(WAIT)
        return token_set

    def recording_revoke(*, credentials, token):
        revoked_tokens.append(token)
        return original_revoke(credentials=credentials, token=token)

    monkeypatch.setattr(token_endpoint, "refresh", slow_refresh)
    monkeypatch.setattr(token_endpoint, "revoke", recording_revoke)
    refresher = _thread(lambda: tokens.refresh_access_token(connection=Connection.objects.get(pk=pk)))
    assert answered.wait(WAIT)
    disconnecting = _thread(lambda: services.disconnect(end_user=end_user))
    time.sleep(0.3)  # time enough for a disconnect that does not wait for the lock to finish
    finish.set()
    refresher.join(WAIT)
    disconnecting.join(WAIT)

    assert refresher.error is None or isinstance(refresher.error, NotConnected)
    assert disconnecting.error is None
    assert not Connection.objects.filter(pk=pk).exists()
    # The token revoked is the one the refresh produced (read under the lock), not the one it replaced.
    assert revoked_tokens == produced_tokens
    assert not refresh_token_works(produced_tokens[0])


# --- 2. a lease is released only by its holder; a holder that lost it re-reads --------------------------


@pytest.mark.django_db(transaction=True)
def test_a_refresh_that_outlives_its_lease_is_not_undone_by_the_next_holder(
    sandbox_transport, monkeypatch, settings
):
    if uses_postgresql():
        pytest.skip("leases are SQLite's lock; PostgreSQL holds a row lock for as long as the refresh takes")
    settings.SAGE_REFRESH_LOCK_SECONDS = 0.3
    end_user = connect_end_user_via_link("lease-race")
    pk = end_user.connection.pk
    expire(end_user.connection)
    original_refresh = token_endpoint.refresh
    a_answered, b_at_sage, b_go = (threading.Event() for _ in range(3))

    def choreographed_refresh(**kwargs):
        if threading.current_thread().name == "A":
            token_set = original_refresh(**kwargs)  # Sage rotates the token for A…
            a_answered.set()
            b_at_sage.wait(WAIT)  # …but A's answer comes back after its lease ran out and B took over
            return token_set
        b_at_sage.set()
        b_go.wait(WAIT)
        return original_refresh(**kwargs)  # B sends the refresh token A already spent

    monkeypatch.setattr(token_endpoint, "refresh", choreographed_refresh)
    a = _thread(lambda: SageClient.for_end_user(end_user).send("GET", "user"), name="A")
    assert a_answered.wait(WAIT)
    _wait_until(lambda: Connection.objects.get(pk=pk).refresh_lease_expires_at < timezone.now())
    b = _thread(lambda: SageClient.for_end_user(end_user).send("GET", "user"), name="B")
    a.join(WAIT)
    # A is done; B still holds its own lease, which A must not have released.
    assert Connection.objects.get(pk=pk).refresh_lease_expires_at is not None
    b_go.set()
    b.join(WAIT)

    assert a.error is None and a.result.status_code == 200
    assert b.error is None and b.result.status_code == 200  # B re-read and used A's token
    stored = Connection.objects.get(pk=pk)
    assert stored.is_active, stored.reconnect_reason
    assert stored.refresh_lease_expires_at is None
    assert not ConnectionEvent.objects.filter(kind=ConnectionEvent.Kind.RECONNECT_REQUIRED).exists()
    assert refresh_token_works(crypto.decrypt(stored.refresh_token_encrypted))


def test_a_holder_releases_only_its_own_lease(connected_end_user, sandbox_transport, monkeypatch, settings):
    if uses_postgresql():
        pytest.skip("leases are SQLite's lock")
    connection = connected_end_user.connection
    someone_else = timezone.now() + timedelta(minutes=1)

    def lease_lost_and_taken():
        Connection.objects.filter(pk=connection.pk).update(
            refresh_lease_expires_at=someone_else, refresh_lease_id="another-process"
        )

    during_sage_refresh(monkeypatch, lease_lost_and_taken)
    tokens.refresh_access_token(connection=connection)

    stored = Connection.objects.get(pk=connection.pk)
    assert (stored.refresh_lease_expires_at, stored.refresh_lease_id) == (someone_else, "another-process")
    assert stored.refresh_count == 1  # the tokens Sage gave are stored all the same


# --- 3. undecryptable tokens are a connection state -----------------------------------------------------


def _encrypt_with_a_removed_key(text: str) -> str:
    return Fernet(Fernet.generate_key()).encrypt(text.encode()).decode()


def _poison(connection: Connection) -> None:
    Connection.objects.filter(pk=connection.pk).update(
        access_token_encrypted=_encrypt_with_a_removed_key("old-access"),
        refresh_token_encrypted=_encrypt_with_a_removed_key("old-refresh"),
    )


def test_keep_alive_goes_on_past_a_connection_it_cannot_decrypt(db, sandbox_transport):
    first = connect_end_user_via_link("keepalive-1").connection
    poisoned = connect_end_user_via_link("keepalive-2").connection
    last = connect_end_user_via_link("keepalive-3").connection
    _poison(poisoned)
    Connection.objects.update(last_refreshed_at=timezone.now() - timedelta(days=2))

    summary = tokens.keep_connections_alive()

    assert (summary.refreshed, summary.failed) == (2, 1)
    assert Connection.objects.get(pk=first.pk).refresh_count == 1
    assert Connection.objects.get(pk=last.pk).refresh_count == 1
    poisoned = Connection.objects.get(pk=poisoned.pk)
    assert poisoned.needs_reconnect
    assert "SAGEINT_ENCRYPTION_KEYS" in poisoned.reconnect_reason
    assert ConnectionEvent.objects.filter(
        end_user=poisoned.end_user, kind=ConnectionEvent.Kind.RECONNECT_REQUIRED
    ).exists()
    assert sandbox_transport.refresh_calls == 2  # nothing sent for the unreadable one


def test_keep_alive_goes_on_past_an_unexpected_error(db, sandbox_transport, monkeypatch):
    connect_end_user_via_link("boom-1")
    connect_end_user_via_link("boom-2")
    Connection.objects.update(last_refreshed_at=timezone.now() - timedelta(days=2))
    original, calls = tokens.refresh_access_token, []

    def first_one_breaks(*, connection, stale_access_token=None):
        calls.append(connection.pk)
        if len(calls) == 1:
            raise RuntimeError("a bug")
        return original(connection=connection, stale_access_token=stale_access_token)

    monkeypatch.setattr(tokens, "refresh_access_token", first_one_breaks)
    summary = tokens.keep_connections_alive()
    assert (summary.refreshed, summary.failed) == (1, 1)


def test_proxy_answers_409_for_a_connection_it_cannot_decrypt(db, sandbox_transport):
    end_user = connect_end_user_via_link("proxy-poisoned")
    _poison(end_user.connection)
    client = Client()
    headers = {"Authorization": f"Bearer {make_user_token('proxy-poisoned')}"}

    response = client.get("/api/v1/proxy/sageaccounting/contacts", headers=headers)

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "reconnect_required"
    assert "SAGEINT_ENCRYPTION_KEYS" in response.json()["error"]["message"]
    assert Connection.objects.get(pk=end_user.connection.pk).needs_reconnect
    # Every later call is refused the same way without touching the tokens.
    assert client.get("/api/v1/proxy/sageaccounting/contacts", headers=headers).status_code == 409
    assert sandbox_transport.count("/api/v3.1/contacts") == 0


def test_the_in_process_sdk_raises_reconnect_required_for_undecryptable_tokens(connected_end_user):
    _poison(connected_end_user.connection)
    with pytest.raises(ReconnectRequired):
        SageClient.for_end_user(connected_end_user).send("GET", "user")


# --- 4. the refresh margin follows the token's own lifetime --------------------------------------------


def test_short_lived_tokens_are_not_refreshed_on_every_call(db, sandbox_transport, settings):
    settings.SAGE_SANDBOX_ACCESS_TOKEN_SECONDS = 40  # shorter than SAGE_REFRESH_AHEAD_SECONDS (60)
    end_user = connect_end_user_via_link("short-lived")
    client = SageClient.for_end_user(end_user)

    for _ in range(3):
        assert client.send("GET", "user").status_code == 200

    assert sandbox_transport.refresh_calls == 0


def test_short_lived_tokens_are_still_refreshed_near_their_end(db, sandbox_transport, settings):
    settings.SAGE_SANDBOX_ACCESS_TOKEN_SECONDS = 40
    end_user = connect_end_user_via_link("short-lived-2")
    Connection.objects.filter(pk=end_user.connection.pk).update(
        access_token_expires_at=timezone.now() + timedelta(seconds=5)
    )
    assert SageClient.for_end_user(end_user).send("GET", "user").status_code == 200
    assert sandbox_transport.refresh_calls == 1


# --- helpers ----------------------------------------------------------------------------------------------


class _Thread(threading.Thread):
    def __init__(self, target, name):
        super().__init__(name=name, daemon=True)
        self._work, self.result, self.error = target, None, None

    def run(self):
        try:
            self.result = self._work()
        except BaseException as error:  # reported by the test
            self.error = error
        finally:
            db_connections.close_all()


def _thread(target, name: str | None = None) -> _Thread:
    thread = _Thread(target, name or f"worker-{time.monotonic_ns()}")
    thread.start()
    return thread


def _wait_until(condition, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)
