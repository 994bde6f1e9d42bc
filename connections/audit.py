"""Connection audit events: one function, so every event has the same shape."""

from .models import Connection, ConnectionEvent, EndUser


def record_event(
    *, end_user: EndUser, kind: str, detail: str = "", connection: Connection | None = None
) -> ConnectionEvent:
    return ConnectionEvent.objects.create(
        end_user=end_user,
        kind=kind,
        detail=detail[:500],
        business_id=connection.business_id if connection else "",
    )
