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
(including the sandbox's own token table when it shares the file), so there a lease taken with a short
compare-and-set transaction plays the lock's part. A lease has an id: its holder releases only its own, and a
lease that ran out (a refresh slower than SAGE_REFRESH_LOCK_SECONDS) can be taken over.

What a refresh writes: only its own columns (tokens, refresh bookkeeping, status), and only if the row still holds
the token generation it read. A disconnect, business switch or reconnect made meanwhile is never undone, a
deleted row is never re-inserted, and a holder that finds the row changed re-reads it instead of overwriting.
A failure is recorded only by a holder that still holds its lease: one whose lease ran out may have lost a race
it cannot see (its token rotated by the holder before it), so it never marks the connection as needing
reconnecting on the strength of a refusal the takeover itself may have caused.
"""

import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from . import crypto, token_endpoint
from .audit import record_event
from .credentials import sage_credentials
from .exceptions import CalledInsideTransaction, NotConnected, ReconnectRequired, SageUnavailable
from .models import Connection, ConnectionEvent, IntegrationSettings
from .sage_details import with_sage_details
from .token_endpoint import TokenRefused, TokenSet

logger = logging.getLogger(__name__)

_LEASE_POLL_SECONDS = 0.05
# The refresh margin is at most this share of the access token's own lifetime: with tokens living shorter than
# SAGE_REFRESH_AHEAD_SECONDS, every call would otherwise refresh.
REFRESH_AHEAD_MAX_SHARE = 0.25
UNDECRYPTABLE_REASON = (
    "the stored tokens cannot be decrypted with the keys in SAGEINT_ENCRYPTION_KEYS (was a key removed "
    "before rotate_encryption_keys re-encrypted them?). Connect again."
)


def token_columns(token_set: TokenSet) -> dict:
    """The columns a token set is stored in: ciphertext only."""
    columns = {
        "access_token_encrypted": crypto.encrypt(token_set.access_token),
        "refresh_token_encrypted": crypto.encrypt(token_set.refresh_token),
        "access_token_expires_at": token_set.access_token_expires_at,
        "access_token_lifetime_seconds": token_set.access_token_lifetime_seconds,
        "refresh_token_expires_at": token_set.refresh_token_expires_at,
    }
    if token_set.scope:
        columns["scopes"] = token_set.scope
    return columns


def store_tokens(connection: Connection, token_set: TokenSet) -> None:
    """Put a fresh token set on the connection (not saved), as a new token generation."""
    for name, value in token_columns(token_set).items():
        setattr(connection, name, value)
    connection.token_generation += 1


def access_token_for(connection: Connection) -> str:
    """A valid access token for the connection, refreshed first when it expires within the refresh margin."""
    if connection.needs_reconnect:
        raise ReconnectRequired.for_connection(connection)
    if not connection.access_token_encrypted:
        raise ReconnectRequired("no token is stored for this connection.")
    try:
        current = crypto.decrypt(connection.access_token_encrypted)
    except crypto.DecryptionFailed:
        current = None  # under the lock, the refresh records that the connection must be made again
    if current is not None and not _expires_soon(connection):
        return current
    return refresh_access_token(connection=connection, stale_access_token=current)


def refresh_access_token(*, connection: Connection, stale_access_token: str | None = None) -> str:
    """Refresh under the connection's lock and return the access token to use.

    `stale_access_token` is the token the caller found wanting (expiring, or answered 401). When another
    worker replaced it while this one waited for the lock, its fresh token is returned without calling Sage.
    None forces a refresh (keep-alive). Raises ReconnectRequired, NotConnected (the connection was deleted
    meanwhile) or SageUnavailable/SageTimeout; the connection's state (tokens, failure count, status) is
    committed before either is raised.
    Raises CalledInsideTransaction, before anything else, inside the caller's transaction.atomic().
    """
    ensure_outside_transaction()
    with _refresh_lock(connection.pk) as held:
        outcome = _refresh_holding_lock(held, stale_access_token=stale_access_token)
    try:
        connection.refresh_from_db()
    except Connection.DoesNotExist:
        raise NotConnected() from None
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


@contextmanager
def connection_lock(*, connection_pk: int) -> Iterator[Connection]:
    """Hold the connection's refresh lock for work that must not interleave with a refresh (disconnecting).

    Yields the row as read under the lock (a refresh running when this was called has finished and stored its
    tokens). Raises NotConnected when the row is gone, CalledInsideTransaction inside transaction.atomic().
    """
    ensure_outside_transaction()
    with _refresh_lock(connection_pk) as held:
        yield held.connection


def ensure_outside_transaction() -> None:
    """Refuse to go on inside the caller's atomic block (see the module docstring for why).

    The outermost block that pytest-django / Django's TestCase wrap around each test does not count: it is
    the same exception Django makes for `atomic(durable=True)`.
    """
    blocks = db_connection.atomic_blocks
    if blocks and not getattr(blocks[-1], "_from_testcase", False):
        raise CalledInsideTransaction()


def revoke_and_forget(*, connection: Connection) -> bool:
    """Revoke the refresh token at Sage (best effort) and blank the stored tokens (not saved).

    Call it holding `connection_lock` with the row it yields: Sage rotates refresh tokens, so one read before
    the lock may already have been replaced by a refresh (revoking it would leave the new one alive).
    True if Sage accepted.
    """
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
        except Exception:
            # One connection's bug must not keep every later connection from being refreshed.
            logger.exception("Keep-alive: refreshing connection %s failed unexpectedly", connection.pk)
            summary.failed += 1
        else:
            summary.refreshed += 1
    return summary


# --- inside the lock ---------------------------------------------------------------------------------------


@dataclass
class _Held:
    """The row as read by the lock's holder, and how the lock was taken."""

    connection: Connection
    lease_id: str = ""  # SQLite: this holder's lease ("" under a row lock, where the column stays "")
    took_over: bool = False  # SQLite: the lease was taken from a holder whose time ran out


def _refresh_holding_lock(held: _Held, *, stale_access_token: str | None) -> str | Exception:
    """Decide, call Sage if needed, write. Returns the access token, or the exception for the caller to raise."""
    connection = held.connection
    if connection.needs_reconnect:
        return ReconnectRequired.for_connection(connection)
    try:
        current = (
            crypto.decrypt(connection.access_token_encrypted) if connection.access_token_encrypted else ""
        )
        refresh_token = (
            crypto.decrypt(connection.refresh_token_encrypted) if connection.refresh_token_encrypted else ""
        )
    except crypto.DecryptionFailed:
        return _require_reconnect(held, UNDECRYPTABLE_REASON, count_failure=False)
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
            held, "the Sage credentials were changed since this connection was made. Connect again."
        )
    try:
        if not refresh_token:
            raise TokenRefused("invalid_grant")
        token_set = token_endpoint.refresh(credentials=credentials, refresh_token=refresh_token)
    except TokenRefused as refused:
        if refused.permanent and not held.took_over:
            return _require_reconnect(
                held,
                with_sage_details(
                    "Sage refused the stored authorization: it was revoked, replaced or unused for too long. "
                    "Connect again.",
                    refused.error,
                ),
                attempted_at=now,
            )
        return _count_failure(
            held, with_sage_details("Sage refused to refresh the token.", refused.error), attempted_at=now
        )
    except SageUnavailable as unavailable:
        return _count_failure(held, str(unavailable), attempted_at=now)

    written = _write(
        held,
        **token_columns(token_set),
        token_generation=F("token_generation") + 1,
        status=Connection.Status.ACTIVE,
        reconnect_reason="",
        last_refreshed_at=timezone.now(),
        last_refresh_attempt_at=now,
        refresh_count=F("refresh_count") + 1,
        refresh_failures=0,
        last_refresh_error="",
    )
    if not written:
        # Reconnected or deleted while Sage answered: what is stored now wins; these tokens are dropped.
        logger.info(
            "Connection %s changed during a refresh; the refreshed tokens were not stored", connection.pk
        )
        return _current_after_lost_write(held)
    connection.refresh_from_db()
    record_event(end_user=connection.end_user, kind=ConnectionEvent.Kind.REFRESHED, connection=connection)
    return token_set.access_token


def _require_reconnect(
    held: _Held, reason: str, *, count_failure: bool = True, attempted_at=None
) -> Exception:
    reason = reason[:500]
    failures = held.connection.refresh_failures + (1 if count_failure else 0)
    columns = {"status": Connection.Status.RECONNECT_REQUIRED, "reconnect_reason": reason}
    if attempted_at is not None:
        columns["last_refresh_attempt_at"] = attempted_at
    if not _write(held, failure=True, refresh_failures=failures, last_refresh_error=reason, **columns):
        return _current_after_lost_write(held)
    _log_failure(
        held.connection, kind=ConnectionEvent.Kind.RECONNECT_REQUIRED, reason=reason, failures=failures
    )
    return ReconnectRequired(reason)


def _count_failure(held: _Held, reason: str, *, attempted_at) -> Exception:
    failures = held.connection.refresh_failures + 1
    if failures >= settings.SAGE_REFRESH_MAX_FAILURES:
        return _require_reconnect(
            held, f"refreshing the Sage token failed {failures} times in a row.", attempted_at=attempted_at
        )
    reason = reason[:500]
    if not _write(
        held,
        failure=True,
        refresh_failures=failures,
        last_refresh_error=reason,
        last_refresh_attempt_at=attempted_at,
    ):
        return _current_after_lost_write(held)
    _log_failure(held.connection, kind=ConnectionEvent.Kind.REFRESH_FAILED, reason=reason, failures=failures)
    return SageUnavailable(reason)


def _write(held: _Held, *, failure: bool = False, **columns) -> bool:
    """UPDATE only `columns`, only on the row and token generation the holder read. False if that row is gone."""
    rows = Connection.objects.filter(pk=held.connection.pk, token_generation=held.connection.token_generation)
    if failure:
        rows = rows.filter(refresh_lease_id=held.lease_id)
    # Inside the PostgreSQL lock this is a savepoint of the locking transaction; on SQLite one short write.
    with transaction.atomic():
        return rows.update(**columns) == 1


def _current_after_lost_write(held: _Held) -> str | Exception:
    """The row changed under a holder (reconnect, disconnect, a takeover of its expired lease): re-read it."""
    current = Connection.objects.filter(pk=held.connection.pk).first()
    if current is None:
        return NotConnected()
    if current.token_generation == held.connection.token_generation:
        # Same tokens, but another process holds the lease now and is refreshing them.
        return SageUnavailable("Another refresh of this connection is under way; try again shortly.")
    if current.needs_reconnect:
        return ReconnectRequired.for_connection(current)
    try:
        return crypto.decrypt(current.access_token_encrypted)
    except crypto.DecryptionFailed:
        return ReconnectRequired(UNDECRYPTABLE_REASON)


def _log_failure(connection: Connection, *, kind: str, reason: str, failures: int) -> None:
    logger.warning(
        "Connection %s: %s (%s failed refreshes in a row): %s",
        connection.pk,
        ConnectionEvent.Kind(kind).label.lower(),
        failures,
        reason,
    )
    record_event(end_user=connection.end_user, kind=kind, detail=reason, connection=connection)


def refresh_margin(connection: Connection) -> timedelta:
    """How long before expiry a token is refreshed: SAGE_REFRESH_AHEAD_SECONDS, at most a share of its lifetime."""
    margin = float(settings.SAGE_REFRESH_AHEAD_SECONDS)
    if connection.access_token_lifetime_seconds:
        margin = min(margin, connection.access_token_lifetime_seconds * REFRESH_AHEAD_MAX_SHARE)
    return timedelta(seconds=margin)


def _expires_soon(connection: Connection) -> bool:
    return _expired(connection, timezone.now() + refresh_margin(connection))


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
def _refresh_lock(connection_pk: int) -> Iterator[_Held]:
    if db_connection.features.has_select_for_update:
        # durable: the new refresh token must be committed when this block ends, not by an outer transaction
        # that might still roll back (and calling Sage inside someone else's transaction is a bug anyway).
        with transaction.atomic(durable=True):
            locked = _get(Connection.objects.select_for_update(of=("self",)), connection_pk)
            yield _Held(locked)
    else:
        with _sqlite_lease(connection_pk) as held:
            yield held


@contextmanager
def _sqlite_lease(connection_pk: int) -> Iterator[_Held]:
    lease_seconds = settings.SAGE_REFRESH_LOCK_SECONDS
    lease_id = uuid.uuid4().hex
    give_up_at = time.monotonic() + lease_seconds + settings.SAGE_READ_TIMEOUT_SECONDS
    while True:
        now = timezone.now()
        with transaction.atomic(durable=True):  # BEGIN IMMEDIATE: one writer at a time
            leases = list(Connection.objects.filter(pk=connection_pk).values_list("refresh_lease_expires_at"))
            if not leases:
                raise NotConnected()
            (previous,) = leases[0]
            if previous is None or previous < now:
                Connection.objects.filter(pk=connection_pk).update(
                    refresh_lease_expires_at=now + timedelta(seconds=lease_seconds), refresh_lease_id=lease_id
                )
                break
        if time.monotonic() > give_up_at:
            raise SageUnavailable("Another token refresh for this connection is taking too long.")
        time.sleep(_LEASE_POLL_SECONDS)
    try:
        yield _Held(
            _get(Connection.objects.all(), connection_pk), lease_id=lease_id, took_over=previous is not None
        )
    finally:
        # Only our own lease: after a takeover, the lease belongs to the process that took it.
        Connection.objects.filter(pk=connection_pk, refresh_lease_id=lease_id).update(
            refresh_lease_expires_at=None, refresh_lease_id=""
        )


def _get(queryset, connection_pk: int) -> Connection:
    try:
        return queryset.select_related("end_user").get(pk=connection_pk)
    except Connection.DoesNotExist as error:
        raise NotConnected() from error
