"""Connection audit events: one function, so every event has the same shape."""

from django.db import transaction

from .models import Connection, ConnectionEvent, EndUser


def record_event(
    *, end_user: EndUser, kind: str, detail: str = "", connection: Connection | None = None
) -> ConnectionEvent:
    # Atomic so that what post_save receivers write (the webhooks outbox) commits or rolls back with the row,
    # also where no outer transaction is open; inside the caller's transaction this is a savepoint.
    with transaction.atomic():
        return ConnectionEvent.objects.create(
            end_user=end_user,
            kind=kind,
            detail=detail[:500],
            business_id=connection.business_id if connection else "",
        )
