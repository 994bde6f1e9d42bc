"""The management API's reads and the connect links it hands out: what the company's backend sees of its users'
connections. Views (api/management_views.py) parse and answer; everything they return is built here.

Scope: the company's own end users, the ones identified by the `sub` of a user token (EndUser.Kind.EXTERNAL).
sageint's own sign-in accounts (the demo user, staff) are not the company's users and never appear.
"""

from __future__ import annotations

import base64
import binascii
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from api.models import RequestLog
from connections.end_users import connect_link_url, mint_user_token
from connections.exceptions import UserTokensUnavailable
from connections.models import Connection, ConnectionEvent, EndUser
from records import selectors, sync
from records.models import SyncRun

MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50
# A token refresh happens every few minutes and changes nothing the company cares about; every other audit
# event (connected, business switched, refresh failed, reconnect required) is an update of the connection.
_NOT_AN_UPDATE = ConnectionEvent.Kind.REFRESHED


class InvalidQuery(ValueError):
    """A filter or cursor the caller sent cannot be used; the message says which and why."""


class SyncNotStarted(RuntimeError):
    """A sync cannot start now; `code` says why (the API's 409)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class ConnectLinksUnavailable(RuntimeError):
    """No HS256 secret is configured, so sageint cannot sign connect links."""


@dataclass(frozen=True)
class ConnectionFilters:
    state: str | None = None
    end_user_id: str | None = None
    updated_since: datetime | None = None


def company_connections() -> QuerySet[Connection]:
    """Connections of the company's end users, each with `updated_at` and `last_used_at` read alongside."""
    changes = ConnectionEvent.objects.filter(end_user=OuterRef("end_user")).exclude(kind=_NOT_AN_UPDATE)
    last_call = RequestLog.objects.filter(end_user=OuterRef("end_user")).order_by("-created_at")
    return (
        Connection.objects.filter(end_user__kind=EndUser.Kind.EXTERNAL)
        .select_related("end_user")
        .annotate(
            updated_at=Coalesce(
                Subquery(changes.order_by("-created_at").values("created_at")[:1]), "connected_at"
            ),
            last_used_at=Subquery(last_call.values("created_at")[:1]),
        )
    )


def list_connections(
    *, filters: ConnectionFilters, cursor: str | None, limit: int
) -> tuple[list[Connection], str | None]:
    """One page, oldest connection first, and the cursor of the next page (None on the last one)."""
    connections = company_connections()
    if filters.state:
        connections = connections.filter(status=filters.state)
    if filters.end_user_id is not None:
        connections = connections.filter(end_user__external_id=filters.end_user_id)
    if filters.updated_since is not None:
        # An EXISTS over the end user's events since that time: reads only the recent part of the audit trail.
        changed = ConnectionEvent.objects.filter(
            end_user=OuterRef("end_user"), created_at__gte=filters.updated_since
        ).exclude(kind=_NOT_AN_UPDATE)
        connections = connections.filter(Exists(changed) | Q(connected_at__gte=filters.updated_since))
    if cursor:
        connections = connections.filter(pk__gt=_decode_cursor(cursor))
    page = list(connections.order_by("pk")[: limit + 1])
    if len(page) > limit:
        page = page[:limit]
        return page, _encode_cursor(page[-1].pk)
    return page, None


def get_connection(connection_id: int) -> Connection | None:
    return company_connections().filter(pk=connection_id).first()


def connection_for_end_user(end_user_id: str) -> Connection | None:
    return company_connections().filter(end_user__external_id=end_user_id).first()


def connection_data(connection: Connection) -> dict:
    """The JSON the API and the webhooks give for a connection."""
    return connections_data([connection])[0]


def connections_data(connections: list[Connection]) -> list[dict]:
    """The JSON of each connection, their sync status read in a fixed handful of queries."""
    statuses = selectors.sync_statuses(connections)
    return [_connection_json(connection, statuses[connection.pk]) for connection in connections]


def _connection_json(connection: Connection, sync: selectors.SyncStatus) -> dict:
    end_user = connection.end_user
    return {
        "id": connection.pk,
        "end_user_id": end_user.external_id,
        "end_user_name": end_user.display_name,
        "state": connection.status,
        "reconnect_reason": connection.reconnect_reason or None,
        "business": {"id": connection.business_id, "name": connection.business_name}
        if connection.business_id
        else None,
        "businesses": [{"id": b.get("id"), "name": b.get("name")} for b in connection.businesses],
        "sage_user": {
            "id": connection.sage_user_id,
            "email": connection.sage_user_email,
            "name": connection.sage_user_name,
        },
        "scopes": connection.scopes,
        "connected_at": _iso(connection.connected_at),
        "updated_at": _iso(getattr(connection, "updated_at", None) or connection.connected_at),
        "last_used_at": _iso(getattr(connection, "last_used_at", None)),
        "last_refreshed_at": _iso(connection.last_refreshed_at),
        "last_error": connection.last_refresh_error or None,
        "sync": {
            "last_run": _sync_run_json(sync),
            "next_sync_at": _iso(sync.next_sync_at),
        },
    }


def _sync_run_json(sync: selectors.SyncStatus) -> dict | None:
    if sync.last_run is None:
        return None
    return selectors.sync_run_as_json(sync.last_run, pages_done=sync.pages_done, pages_total=sync.pages_total)


def start_sync(connection: Connection, *, full: bool) -> dict:
    """Start a sync of the connection now (as the admin's "Sync now" does); returns the new run's JSON.

    Raises SyncNotStarted when the connection cannot be synced now: it must be connected again, has no business
    chosen, or a sync of it is already running (one at a time per connection).
    """
    if not connection.is_active:
        reason = f"The user must connect Sage again before this connection can be synced. {connection.reconnect_reason}"
        raise SyncNotStarted("reconnect_required", reason.strip())
    if not connection.business_id:
        raise SyncNotStarted("no_business", "No Sage business is chosen for this connection yet.")
    run = sync.start_sync(connection=connection, kind=SyncRun.Kind.FULL if full else None, trigger="api")
    if run is None:
        running = sync.running_run(connection.pk)
        which = f"Sync run {running.pk}" if running else "A sync"
        raise SyncNotStarted(
            "sync_running",
            f"{which} of this connection is still running (one at a time); its progress is in the "
            "connection's sync.last_run.",
        )
    return _sync_run_json(selectors.sync_statuses([connection])[connection.pk])


def connect_link(*, end_user_id: str, name: str = "", email: str = "", expires_in: int) -> dict:
    """A connect link for one of the company's users: the signed user token of README's "Connect links", made here.

    Raises ConnectLinksUnavailable when no HS256 secret is configured (an RS256-only installation signs its links
    itself).
    """
    expires_at = int(time.time()) + expires_in
    try:
        token = mint_user_token(end_user_id, expires_in=expires_in, name=name, email=email)
    except UserTokensUnavailable as unavailable:
        raise ConnectLinksUnavailable(str(unavailable)) from None
    return {
        "end_user_id": end_user_id,
        "url": connect_link_url(token),
        "expires_at": _iso(datetime.fromtimestamp(expires_at, tz=UTC)),
    }


def _encode_cursor(pk: int) -> str:
    return base64.urlsafe_b64encode(f"after:{pk}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        decoded = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, pk = decoded.partition(":")
        if prefix != "after":
            raise ValueError(decoded)
        return int(pk)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidQuery("The cursor is not one this API gave out; start again without it.") from None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None
