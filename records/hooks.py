"""Receivers: what the records app does when connections change. connections never imports records; it writes
audit events (ConnectionEvent), and records listens to them and to the Connection row's deletion."""

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_save, pre_delete
from django.dispatch import receiver

from connections.models import Connection, ConnectionEvent

from . import mirror, sync

# A first connect, a reconnect and a business switch all start a sync of the business now chosen: a full one
# when that business has never been synced (a first connect always), an incremental one on the mirror kept
# from before otherwise.
SYNC_AFTER = {
    ConnectionEvent.Kind.CONNECTED: "connected",
    ConnectionEvent.Kind.BUSINESS_SWITCHED: "business_switched",
}


@receiver(post_save, sender=ConnectionEvent, dispatch_uid="records.sync_after_connect")
def sync_after_connection_event(sender, instance: ConnectionEvent, created: bool, **kwargs) -> None:
    if not created or instance.kind not in SYNC_AFTER or not settings.RECORDS_SYNC_ON_CONNECT:
        return
    end_user_id, trigger = instance.end_user_id, SYNC_AFTER[instance.kind]

    def start() -> None:
        connection = Connection.objects.filter(end_user_id=end_user_id).first()
        if connection is not None and connection.is_active:
            sync.start_sync(connection=connection, trigger=trigger)

    # After the connection is committed, and never inside the connect flow's transaction.
    transaction.on_commit(start)


@receiver(pre_delete, sender=Connection, dispatch_uid="records.delete_mirror")
def delete_mirror_with_connection(sender, instance: Connection, **kwargs) -> None:
    """Disconnecting deletes the connection's mirror (data minimisation); done in bulk before the row goes."""
    mirror.delete_mirror(connection_id=instance.pk)
