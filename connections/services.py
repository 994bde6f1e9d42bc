"""What end users do with their connection besides connecting: read its status, switch business, disconnect."""

import logging

from django.db import transaction

from . import tokens
from .audit import record_event
from .exceptions import NotConnected, SageintError
from .models import Connection, ConnectionEvent, EndUser

logger = logging.getLogger(__name__)


def connection_of(end_user: EndUser) -> Connection | None:
    return Connection.objects.filter(end_user=end_user).first()


@transaction.atomic
def switch_business(*, end_user: EndUser, business_id: str) -> Connection:
    """Make another of the Sage user's businesses the one every call goes to (X-Business)."""
    connection = Connection.objects.select_for_update().filter(end_user=end_user).first()
    if connection is None:
        raise NotConnected()
    business = connection.business_by_id(business_id)
    if business is None:
        raise SageintError("That business is not one your Sage user can reach.")
    if connection.business_id != business_id:
        previous = connection.business_name
        connection.business_id = business["id"]
        connection.business_name = business["name"][:255]
        connection.save(update_fields=["business_id", "business_name"])
        record_event(
            end_user=end_user,
            kind=ConnectionEvent.Kind.BUSINESS_SWITCHED,
            detail=f"From {previous} to {connection.business_name}",
            connection=connection,
        )
    return connection


def disconnect(*, end_user: EndUser) -> bool:
    """Revoke at Sage (best effort), delete the tokens and the connection, keep the audit trail.

    Done under the connection's refresh lock: Sage rotates refresh tokens, so the one to revoke is read once
    any refresh under way has stored its own, and no refresh starts on a row that is about to go.
    Returns whether Sage accepted the revocation. Raises NotConnected, or SageUnavailable when a refresh
    holds the lock for too long.
    """
    connection = connection_of(end_user)
    if connection is None:
        raise NotConnected()
    with tokens.connection_lock(connection_pk=connection.pk) as locked:
        # Revocation is an HTTP call: made before the row goes, outside any transaction of ours on SQLite.
        revoked = tokens.revoke_and_forget(connection=locked)
        with transaction.atomic():
            if not revoked:
                record_event(
                    end_user=end_user,
                    kind=ConnectionEvent.Kind.REVOKE_FAILED,
                    detail="Sage did not confirm the revocation; the tokens were deleted here anyway.",
                    connection=locked,
                )
            record_event(
                end_user=end_user,
                kind=ConnectionEvent.Kind.DISCONNECTED,
                detail=f"Business {locked.business_name}; revoked at Sage: {'yes' if revoked else 'no'}",
                connection=locked,
            )
            locked.delete()
    logger.info("End user %s disconnected Sage (revoked: %s)", end_user.pk, revoked)
    return revoked
