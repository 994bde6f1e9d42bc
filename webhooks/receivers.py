"""Turning connection audit events into webhook events. connections/ knows nothing of webhooks: this listens to
post_save of ConnectionEvent, which connections/audit.py writes inside the transaction of the change it records
(so the outbox row commits, or rolls back, with the change and its audit row)."""

from __future__ import annotations

from django.db.models.signals import post_save

from api.management import connection_data, get_connection
from connections.models import ConnectionEvent, EndUser
from webhooks.events import emit
from webhooks.models import EventType

# The audit kinds that change whether a connection works; everything else (refreshes every few minutes, a
# business switch, a failed revocation) is not sent.
_STATE_KINDS = (
    ConnectionEvent.Kind.CONNECTED,
    ConnectionEvent.Kind.RECONNECT_REQUIRED,
    ConnectionEvent.Kind.DISCONNECTED,
)


def connect_receivers() -> None:
    post_save.connect(on_connection_event, sender=ConnectionEvent, dispatch_uid="webhooks.connection_events")


def on_connection_event(
    sender, instance: ConnectionEvent, created: bool, raw: bool = False, **kwargs
) -> None:
    if not created or raw or instance.kind not in _STATE_KINDS:
        return
    end_user = instance.end_user
    if end_user.kind != EndUser.Kind.EXTERNAL:
        return  # sageint's own accounts are not the company's users (see api/management.py)
    event_type = _event_type(instance)
    if event_type is None:
        return
    # Read with its updated_at and last use, as the management API gives it (this event included).
    connection = get_connection(end_user.external_id)
    data = {"connection": connection_data(connection) if connection else None}
    if instance.kind == ConnectionEvent.Kind.DISCONNECTED:
        data["connection"] = None
        data["business"] = {
            "id": instance.business_id,
            "name": connection.business_name if connection else "",
        }
    if instance.kind == ConnectionEvent.Kind.RECONNECT_REQUIRED:
        data["reason"] = instance.detail
    emit(event_type=event_type, end_user_id=end_user.external_id, data=data)


def _event_type(event: ConnectionEvent) -> str | None:
    if event.kind == ConnectionEvent.Kind.RECONNECT_REQUIRED:
        return EventType.CONNECTION_RECONNECT_NEEDED
    if event.kind == ConnectionEvent.Kind.DISCONNECTED:
        return EventType.CONNECTION_DISCONNECTED
    # Connected: new, or made again after it broke? The audit trail's previous state change says.
    previous = (
        ConnectionEvent.objects.filter(end_user_id=event.end_user_id, kind__in=_STATE_KINDS)
        .exclude(pk=event.pk)
        .order_by("-created_at", "-id")
        .values_list("kind", flat=True)
        .first()
    )
    if previous == ConnectionEvent.Kind.RECONNECT_REQUIRED:
        return EventType.CONNECTION_RECOVERED
    if previous == ConnectionEvent.Kind.CONNECTED:
        return None  # connected again while working (a fresh consent): nothing broke, nothing to report
    return EventType.CONNECTION_CREATED
