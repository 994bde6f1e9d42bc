"""Token lifecycle against the sandbox: refresh ahead of expiry, on a 401, rotation, reconnect, keep-alive."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from connections import crypto, token_endpoint, tokens
from connections.credentials import sage_credentials
from connections.exceptions import CalledInsideTransaction, ReconnectRequired, SageUnavailable
from connections.models import Connection, ConnectionEvent
from connections.sage_client import SageClient
from connections.tasks import keep_connections_alive


def expire_access_token(connection: Connection, seconds_left: int = 10) -> None:
    connection.access_token_expires_at = timezone.now() + timedelta(seconds=seconds_left)
    connection.save(update_fields=["access_token_expires_at"])


def test_token_close_to_expiry_is_refreshed_before_the_call(connected_end_user, sandbox_transport):
    connection = connected_end_user.connection
    old_access = crypto.decrypt(connection.access_token_encrypted)
    old_refresh = crypto.decrypt(connection.refresh_token_encrypted)
    expire_access_token(connection, seconds_left=30)  # inside the 60 s margin

    response = SageClient.for_end_user(connected_end_user).send("GET", "user")

    assert response.status_code == 200
    assert sandbox_transport.refresh_calls == 1
    connection.refresh_from_db()
    assert crypto.decrypt(connection.access_token_encrypted) != old_access
    assert crypto.decrypt(connection.refresh_token_encrypted) != old_refresh
    assert connection.access_token_expires_at > timezone.now() + timedelta(seconds=200)
    assert connection.refresh_count == 1
    assert ConnectionEvent.objects.filter(kind="refreshed", end_user=connected_end_user).count() == 1
    # Sage rotated the refresh token: the old one is dead.
    with pytest.raises(token_endpoint.TokenRefused) as refused:
        token_endpoint.refresh(credentials=sage_credentials(), refresh_token=old_refresh)
    assert refused.value.error == "invalid_grant"


def test_fresh_token_is_used_without_refreshing(connected_end_user, sandbox_transport):
    SageClient.for_end_user(connected_end_user).get_json("user")
    assert sandbox_transport.refresh_calls == 0


def test_401_from_sage_forces_one_refresh_and_replays(connected_end_user, sandbox_transport):
    connection = connected_end_user.connection
    connection.access_token_encrypted = crypto.encrypt("an-access-token-sage-no-longer-knows")
    connection.save()
    user_calls_before = sandbox_transport.count("/api/v3.1/user")

    response = SageClient.for_end_user(connected_end_user).send("GET", "user")

    assert response.status_code == 200
    assert response.sageint_attempts == 2
    assert sandbox_transport.refresh_calls == 1
    assert sandbox_transport.count("/api/v3.1/user") - user_calls_before == 2


def test_invalid_grant_moves_the_connection_to_reconnect_needed(connected_end_user, sandbox_transport):
    connection = connected_end_user.connection
    connection.refresh_token_encrypted = crypto.encrypt("a-refresh-token-sage-already-rotated")
    connection.save()
    expire_access_token(connection, seconds_left=-5)

    with pytest.raises(ReconnectRequired) as raised:
        SageClient.for_end_user(connected_end_user).send("GET", "user")

    assert "invalid_grant" in raised.value.reason
    connection.refresh_from_db()
    assert connection.needs_reconnect
    assert "invalid_grant" in connection.reconnect_reason
    assert ConnectionEvent.objects.filter(kind="reconnect_required").exists()
    # The row is kept, and later callers are refused without asking Sage again.
    with pytest.raises(ReconnectRequired):
        SageClient.for_end_user(connected_end_user)
    assert sandbox_transport.refresh_calls == 1


def test_revoked_token_at_sage_means_reconnect(connected_end_user, sandbox_transport):
    connection = connected_end_user.connection
    token_endpoint.revoke(
        credentials=sage_credentials(), token=crypto.decrypt(connection.refresh_token_encrypted)
    )
    expire_access_token(connection, seconds_left=-5)
    with pytest.raises(ReconnectRequired):
        SageClient.for_end_user(connected_end_user).get_json("user")
    connection.refresh_from_db()
    assert connection.needs_reconnect


def test_changed_credentials_mean_reconnect_without_sending_the_token(
    connected_end_user, sandbox_transport, settings
):
    settings.SAGE_SANDBOX_CLIENT_ID = "another-app"
    expire_access_token(connected_end_user.connection, seconds_left=-5)
    with pytest.raises(ReconnectRequired, match="credentials were changed"):
        SageClient.for_end_user(connected_end_user).get_json("user")
    assert sandbox_transport.refresh_calls == 0


def test_sage_outage_during_refresh_is_counted_then_backs_off(connected_end_user, sandbox_transport):
    sandbox_transport.inject("/oauth/token", status=503, body=b"busy")
    connection = connected_end_user.connection
    expire_access_token(connection, seconds_left=-5)

    with pytest.raises(SageUnavailable):
        SageClient.for_end_user(connected_end_user).get_json("user")
    connection.refresh_from_db()
    assert connection.is_active and connection.refresh_failures == 1
    assert ConnectionEvent.objects.filter(kind="refresh_failed").count() == 1

    # Within the back-off window Sage is not asked again.
    with pytest.raises(SageUnavailable):
        SageClient.for_end_user(connected_end_user).get_json("user")
    assert sandbox_transport.refresh_calls == 1


def test_repeated_refresh_failures_stop_and_wait_for_reconnect(
    connected_end_user, sandbox_transport, settings
):
    settings.SAGE_REFRESH_MAX_FAILURES = 3
    settings.SAGE_REFRESH_FAILURE_BACKOFF_SECONDS = 0
    sandbox_transport.inject("/oauth/token", status=502, body=b"bad gateway")
    expire_access_token(connected_end_user.connection, seconds_left=-5)

    for _ in range(2):
        with pytest.raises(SageUnavailable):
            SageClient.for_end_user(connected_end_user).get_json("user")
    with pytest.raises(ReconnectRequired, match="3 times"):
        SageClient.for_end_user(connected_end_user).get_json("user")
    connection = Connection.objects.get(pk=connected_end_user.connection.pk)
    assert connection.needs_reconnect and connection.refresh_failures == 3


def test_keep_alive_refreshes_idle_connections_only(connected_end_user, sandbox_transport, make_connection):
    connection = connected_end_user.connection
    connection.last_refreshed_at = timezone.now() - timedelta(days=2)
    connection.save()
    broken = make_connection(sub="broken")
    broken.status = Connection.Status.RECONNECT_REQUIRED
    broken.last_refreshed_at = timezone.now() - timedelta(days=2)
    broken.save()
    fresh = make_connection(sub="fresh")
    fresh.last_refreshed_at = timezone.now()
    fresh.save()

    result = keep_connections_alive()

    assert result == {"refreshed": 1, "failed": 0, "skipped": 0}
    assert sandbox_transport.refresh_calls == 1
    connection.refresh_from_db()
    assert connection.last_refreshed_at > timezone.now() - timedelta(minutes=1)


def test_keep_alive_runs_from_beat(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["connections-keep-alive"]
    assert entry["task"] == "connections.keep_connections_alive"
    assert entry["schedule"] <= 24 * 3600


def test_calling_sage_inside_a_transaction_is_refused_before_anything_is_sent(
    connected_end_user, sandbox_transport
):
    # Refused with a fresh token too (not only when a refresh is due), so the mistake shows on the first try.
    client = SageClient.for_end_user(connected_end_user)
    calls_before = len(sandbox_transport.calls)
    with (
        pytest.raises(CalledInsideTransaction, match="Call Sage outside a transaction"),
        transaction.atomic(),
    ):
        client.get_json("user")
    assert len(sandbox_transport.calls) == calls_before


def test_a_refresh_inside_a_transaction_is_refused_and_the_tokens_stay(connected_end_user, sandbox_transport):
    connection = connected_end_user.connection
    refresh_token = connection.refresh_token_encrypted
    expire_access_token(connection, seconds_left=-5)
    with pytest.raises(CalledInsideTransaction), transaction.atomic():
        tokens.refresh_access_token(connection=connection)
    assert sandbox_transport.refresh_calls == 0
    connection.refresh_from_db()
    assert connection.refresh_token_encrypted == refresh_token and connection.is_active
    # Outside the transaction the same call works.
    assert SageClient.for_end_user(connected_end_user).get_json("user")["email"]
    assert sandbox_transport.refresh_calls == 1


def test_keep_alive_task_runs_through_celery(connected_end_user, sandbox_transport):
    from sageint.celery import app

    app.loader.import_default_modules()  # what a worker does at start: autodiscovery finds the task
    assert app.tasks["connections.keep_connections_alive"].run is keep_connections_alive.run
    connection = connected_end_user.connection
    connection.last_refreshed_at = timezone.now() - timedelta(days=2)
    connection.save()

    result = keep_connections_alive.apply()  # Celery's eager path: same serialisation of the result

    assert result.successful()
    assert result.get() == {"refreshed": 1, "failed": 0, "skipped": 0}
    assert sandbox_transport.refresh_calls == 1


def test_keep_alive_reaches_every_connection_within_a_day(settings):
    # An idle connection is picked up by the first run after SAGE_KEEPALIVE_AFTER_SECONDS: at worst one
    # interval later. That must stay within a day (Sage drops refresh tokens unused for about a month).
    assert settings.SAGE_KEEPALIVE_AFTER_SECONDS + settings.SAGE_KEEPALIVE_INTERVAL_SECONDS <= 24 * 3600


def test_keep_alive_backs_off_after_a_failure_then_gives_up(connected_end_user, sandbox_transport, settings):
    settings.SAGE_REFRESH_MAX_FAILURES = 2
    settings.SAGE_REFRESH_FAILURE_BACKOFF_SECONDS = 3600
    sandbox_transport.inject("/oauth/token", status=503, body=b"busy")
    connection = connected_end_user.connection
    connection.last_refreshed_at = timezone.now() - timedelta(days=2)
    connection.save()

    assert keep_connections_alive.apply().get() == {"refreshed": 0, "failed": 1, "skipped": 0}
    # The next hourly runs fall inside the back-off: Sage is not asked again.
    assert keep_connections_alive.apply().get() == {"refreshed": 0, "failed": 0, "skipped": 1}
    assert sandbox_transport.refresh_calls == 1

    # Once the back-off has passed, the next failure is the last one allowed: reconnect needed.
    Connection.objects.filter(pk=connection.pk).update(
        last_refresh_attempt_at=timezone.now() - timedelta(hours=2)
    )
    assert keep_connections_alive.apply().get()["failed"] == 1
    connection.refresh_from_db()
    assert connection.needs_reconnect and connection.refresh_failures == 2
    # A connection waiting for its user is left alone from then on.
    assert keep_connections_alive.apply().get() == {"refreshed": 0, "failed": 0, "skipped": 0}
    assert sandbox_transport.refresh_calls == 2
