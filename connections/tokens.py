"""The one owner of OAuth tokens: storing them, refreshing them safely, revoking them, keeping them alive.

Sage rotates refresh tokens: once a refresh succeeds, the old refresh token is dead. Two workers refreshing at
once would each send the same refresh token and the loser would get `invalid_grant` and, worse, might overwrite
the winner's new token with nothing usable. So a refresh holds a lock on the connection row and a caller that
waited for the lock re-reads the token instead of refreshing again. The new tokens are written before the lock
is released, in the transaction that holds it, so only a crash between Sage's answer and that commit can lose
them.

Why the refresh must commit on its own (durably), never inside a caller's transaction: once Sage has answered
a refresh, the old refresh token is dead. If the new one were written inside an outer `transaction.atomic()`
that later rolled back (any error in the caller's code), the row would go back to the dead token and the user
would have to connect again; the row lock would also be held until the caller's transaction ended, however
long that takes. So every call to Sage through a connection is refused inside an atomic block
(CalledInsideTransaction), not only the ones that happen to need a refresh: the mistake shows on the first
try. Sync code and Celery tasks call Sage first, then open their transaction to store what they got.

Locks: PostgreSQL (and any database with row locks) uses SELECT … FOR UPDATE held across the call to Sage.
SQLite has no row locks, and holding its single write lock over an HTTP call would block every other writer
(including the sandbox's own token table when it shares the file), so there a lease column taken with a
compare-and-set UPDATE plays the lock's part; the token write clears the lease in the same UPDATE.
"""

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from . import crypto, token_endpoint
from .audit import record_event
from .credentials import SageCredentials, sage_credentials
from .exceptions import CalledInsideTransaction, NotConnected, ReconnectRequired, SageUnavailable
from .models import Connection, ConnectionEvent, IntegrationSettings
from .token_endpoint import TokenRefused, TokenSet

logger = logging.getLogger(__name__)

_LEASE_POLL_SECONDS = 0.05


def store_tokens(connection: Connection, token_set: TokenSet) -> None:
    """Put a fresh token set on the connection (not saved): ciphertext only, lease released."""
    connection.access_token_encrypted = crypto.encrypt(token_set.access_token)
    connection.refresh_token_encrypted = crypto.encrypt(token_set.refresh_token)
    connection.access_token_expires_at = token_set.access_token_expires_at
    connection.refresh_token_expires_at = token_set.refresh_token_expires_at
    connection.refresh_lease_expires_at = None
    if token_set.scope:
        connection.scopes = token_set.scope


def access_token_for(connection: Connection) -> str:
    """A valid access token for the connection, refreshed first when it expires within the refresh margin."""
    if connection.needs_reconnect:
        raise ReconnectRequired.for_connection(connection)
    if not connection.access_token_encrypted:
        raise ReconnectRequired("no token is stored for this connection.")
    current = crypto.decrypt(connection.access_token_encrypted)
    if not _expires_soon(connection):
        return current
    return refresh_access_token(connection=connection, stale_access_token=current)


def refresh_access_token(*, connection: Connection, stale_access_token: str | None = None) -> str:
    """Refresh under the connection's lock and return the access token to use.

    `stale_access_token` is the token the caller found wanting (expiring, or answered 401). When another
    worker replaced it while this one waited for the lock, its fresh token is returned without calling Sage.
    None forces a refresh (keep-alive). Raises ReconnectRequired or SageUnavailable/SageTimeout; the
    connection's state (tokens, failure count, status) is committed before either is raised.
    Raises CalledInsideTransaction, before anything else, inside the caller's transaction.atomic().
    """
    ensure_outside_transaction()
    with _refresh_lock(connection.pk) as locked:
        outcome = _refresh_holding_lock(locked, stale_access_token=stale_access_token)
    connection.refresh_from_db()
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


def ensure_outside_transaction() -> None:
    """Refuse to go on inside the caller's atomic block (see the module docstring for why).

    The outermost block that pytest-django / Django's TestCase wrap around each test does not count: it is
    the same exception Django makes for `atomic(durable=True)`.
    """
    blocks = db_connection.atomic_blocks
    if blocks and not getattr(blocks[-1], "_from_testcase", False):
        raise CalledInsideTransaction()


def revoke_and_forget(*, connection: Connection) -> bool:
    """Revoke the refresh token at Sage (best effort) and delete the stored tokens. True if Sage accepted."""
    revoked = False
    if connection.refresh_token_encrypted:
        credentials = sage_credentials()
        if credentials.client_id != connection.client_id:
            # The token belongs to another OAuth app (credentials changed since connecting): never send it to
            # whichever endpoint the current credentials point at, exactly as refresh refuses to.
            logger.warning("Connection %s: issued to other Sage credentials, not revoked", connection.pk)
        else:
            try:
                revoked = token_endpoint.revoke(
                    credentials=credentials, token=crypto.decrypt(connection.refresh_token_encrypted)
                )
            except crypto.DecryptionFailed:
                logger.warning(
                    "Connection %s: stored token or client secret unreadable, not revoked", connection.pk
                )
    connection.access_token_encrypted = ""
    connection.refresh_token_encrypted = ""
    connection.access_token_expires_at = None
    connection.refresh_token_expires_at = None
    return revoked


@dataclass
class KeepAliveSummary:
    refreshed: int = 0
    failed: int = 0
    skipped: int = 0


def keep_connections_alive(*, now=None) -> KeepAliveSummary:
    """Refresh connections idle for SAGE_KEEPALIVE_AFTER_SECONDS, so their ~31-day refresh tokens never lapse.

    Connections that failed recently wait out their back-off (skipped), and ones needing reconnecting are left
    alone, so a dead connection is not retried every hour. While the integration is switched off nothing is
    sent to Sage at all (a connection left idle for a month then needs reconnecting).
    """
    if not IntegrationSettings.integration_enabled():
        return KeepAliveSummary()
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.SAGE_KEEPALIVE_AFTER_SECONDS)
    idle = Connection.objects.filter(status=Connection.Status.ACTIVE).filter(
        Q(last_refreshed_at__lt=cutoff) | Q(last_refreshed_at__isnull=True, connected_at__lt=cutoff)
    )
    summary = KeepAliveSummary()
    for connection in idle.order_by("pk").iterator():
        if _in_failure_backoff(connection, now):
            summary.skipped += 1
            continue
        try:
            refresh_access_token(connection=connection, stale_access_token=None)
        except (ReconnectRequired, SageUnavailable, NotConnected):
            summary.failed += 1
        else:
            summary.refreshed += 1
    return summary


# --- inside the lock ---------------------------------------------------------------------------------------


def _refresh_holding_lock(connection: Connection, *, stale_access_token: str | None) -> str | Exception:
    """Decide, call Sage if needed, save. Returns the access token, or the exception for the caller to raise."""
    if connection.needs_reconnect:
        return ReconnectRequired(connection.reconnect_reason)
    current = crypto.decrypt(connection.access_token_encrypted) if connection.access_token_encrypted else ""
    if stale_access_token is not None and current and current != stale_access_token:
        return current  # another worker refreshed while we waited for the lock
    now = timezone.now()
    if _in_failure_backoff(connection, now):
        if current and not _expired(connection, now):
            return current
        return SageUnavailable("Refreshing the Sage token failed recently; it will be tried again shortly.")

    credentials = sage_credentials()
    if credentials.client_id != connection.client_id:
        return _require_reconnect(
            connection, "the Sage credentials were changed since this connection was made. Connect again."
        )
    connection.last_refresh_attempt_at = now
    try:
        token_set = _call_refresh(connection, credentials)
    except TokenRefused as refused:
        if refused.permanent:
            return _require_reconnect(
                connection,
                f"Sage refused the stored authorization ({refused.error}): it was revoked, replaced or unused "
                "for too long. Connect again.",
            )
        return _count_failure(connection, f"Sage refused the refresh ({refused.error}).")
    except SageUnavailable as unavailable:
        return _count_failure(connection, str(unavailable))

    store_tokens(connection, token_set)
    connection.last_refreshed_at = timezone.now()
    connection.refresh_count += 1
    connection.refresh_failures = 0
    connection.last_refresh_error = ""
    _save(connection)
    record_event(end_user=connection.end_user, kind=ConnectionEvent.Kind.REFRESHED, connection=connection)
    return token_set.access_token


def _call_refresh(connection: Connection, credentials: SageCredentials) -> TokenSet:
    try:
        refresh_token = crypto.decrypt(connection.refresh_token_encrypted)
    except crypto.DecryptionFailed as error:
        raise TokenRefused("undecryptable_refresh_token") from error
    if not refresh_token:
        raise TokenRefused("invalid_grant")
    return token_endpoint.refresh(credentials=credentials, refresh_token=refresh_token)


def _require_reconnect(
    connection: Connection, reason: str, *, count_failure: bool = True
) -> ReconnectRequired:
    connection.status = Connection.Status.RECONNECT_REQUIRED
    connection.reconnect_reason = reason[:500]
    if count_failure:
        connection.refresh_failures += 1
    connection.last_refresh_error = reason[:500]
    _save_failure(connection, kind=ConnectionEvent.Kind.RECONNECT_REQUIRED, reason=reason)
    return ReconnectRequired(reason)


def _count_failure(connection: Connection, reason: str) -> Exception:
    connection.refresh_failures += 1
    connection.last_refresh_error = reason[:500]
    if connection.refresh_failures >= settings.SAGE_REFRESH_MAX_FAILURES:
        return _require_reconnect(
            connection,
            f"refreshing the Sage token failed {connection.refresh_failures} times in a row.",
            count_failure=False,
        )
    _save_failure(connection, kind=ConnectionEvent.Kind.REFRESH_FAILED, reason=reason)
    return SageUnavailable(reason)


def _save_failure(connection: Connection, *, kind: str, reason: str) -> None:
    connection.refresh_lease_expires_at = None
    _save(connection)
    logger.warning(
        "Connection %s: %s (%s failed refreshes in a row): %s",
        connection.pk,
        ConnectionEvent.Kind(kind).label.lower(),
        connection.refresh_failures,
        reason,
    )
    record_event(end_user=connection.end_user, kind=kind, detail=reason, connection=connection)


def _save(connection: Connection) -> None:
    # Inside the PostgreSQL lock this is a savepoint of the locking transaction; on SQLite it is the one
    # short write that stores the tokens and releases the lease together.
    with transaction.atomic():
        connection.save()


def _expires_soon(connection: Connection) -> bool:
    return _expired(connection, timezone.now() + timedelta(seconds=settings.SAGE_REFRESH_AHEAD_SECONDS))


def _expired(connection: Connection, now) -> bool:
    return connection.access_token_expires_at is None or connection.access_token_expires_at <= now


def _in_failure_backoff(connection: Connection, now) -> bool:
    """After a failed refresh, wait (doubling per failure) before asking Sage again: no hammering."""
    if not connection.refresh_failures or connection.last_refresh_attempt_at is None:
        return False
    wait = settings.SAGE_REFRESH_FAILURE_BACKOFF_SECONDS * 2 ** (connection.refresh_failures - 1)
    wait = min(wait, 6 * 3600)
    return connection.last_refresh_attempt_at + timedelta(seconds=wait) > now


# --- locks -------------------------------------------------------------------------------------------------


@contextmanager
def _refresh_lock(connection_pk: int) -> Iterator[Connection]:
    if db_connection.features.has_select_for_update:
        # durable: the new refresh token must be committed when this block ends, not by an outer transaction
        # that might still roll back (and calling Sage inside someone else's transaction is a bug anyway).
        with transaction.atomic(durable=True):
            locked = _get(Connection.objects.select_for_update(of=("self",)), connection_pk)
            yield locked
    else:
        with _sqlite_lease(connection_pk) as locked:
            yield locked


@contextmanager
def _sqlite_lease(connection_pk: int) -> Iterator[Connection]:
    lease_seconds = settings.SAGE_REFRESH_LOCK_SECONDS
    give_up_at = time.monotonic() + lease_seconds + settings.SAGE_READ_TIMEOUT_SECONDS
    while True:
        now = timezone.now()
        with transaction.atomic(durable=True):  # BEGIN IMMEDIATE: one writer at a time
            taken = (
                Connection.objects.filter(pk=connection_pk)
                .filter(Q(refresh_lease_expires_at__isnull=True) | Q(refresh_lease_expires_at__lt=now))
                .update(refresh_lease_expires_at=now + timedelta(seconds=lease_seconds))
            )
        if taken:
            break
        if not Connection.objects.filter(pk=connection_pk).exists():
            raise NotConnected()
        if time.monotonic() > give_up_at:
            raise SageUnavailable("Another token refresh for this connection is taking too long.")
        time.sleep(_LEASE_POLL_SECONDS)
    try:
        yield _get(Connection.objects.all(), connection_pk)
    finally:
        # Normally already released by the token write; this covers every other way out.
        Connection.objects.filter(pk=connection_pk).update(refresh_lease_expires_at=None)


def _get(queryset, connection_pk: int) -> Connection:
    try:
        return queryset.select_related("end_user").get(pk=connection_pk)
    except Connection.DoesNotExist as error:
        raise NotConnected() from error
