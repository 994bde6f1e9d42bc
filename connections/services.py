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

    Returns whether Sage accepted the revocation.
    """
    connection = connection_of(end_user)
    if connection is None:
        raise NotConnected()
    # Revocation is an HTTP call: made outside any transaction, before the row goes.
    revoked = tokens.revoke_and_forget(connection=connection)
    if not revoked:
        record_event(
            end_user=end_user,
            kind=ConnectionEvent.Kind.REVOKE_FAILED,
            detail="Sage did not confirm the revocation; the tokens were deleted here anyway.",
            connection=connection,
        )
    with transaction.atomic():
        record_event(
            end_user=end_user,
            kind=ConnectionEvent.Kind.DISCONNECTED,
            detail=f"Business {connection.business_name}; revoked at Sage: {'yes' if revoked else 'no'}",
            connection=connection,
        )
        connection.delete()
    logger.info("End user %s disconnected Sage (revoked: %s)", end_user.pk, revoked)
    return revoked
