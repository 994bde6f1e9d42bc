"""Writing events into the outbox. Called inside the transaction of the change an event reports, so the event
exists exactly when the change does: nothing is lost if the broker is down, nothing is sent for a change that
was rolled back. The first delivery attempt is queued once that transaction commits."""

from __future__ import annotations

import json
import logging

from django.db import transaction
from django.utils import timezone

from webhooks.models import Delivery, Endpoint, Event

logger = logging.getLogger(__name__)


def emit(*, event_type: str, end_user_id: str, data: dict) -> Event | None:
    """Record an event for every enabled endpoint that subscribed to its type (None when none did)."""
    endpoints = [endpoint for endpoint in Endpoint.objects.filter(enabled=True) if endpoint.wants(event_type)]
    if not endpoints:
        return None
    now = timezone.now()
    event = Event(type=event_type, end_user_id=end_user_id, created_at=now)
    event.body = json.dumps(
        {
            "id": event.event_id,
            "type": event_type,
            "timestamp": now.isoformat().replace("+00:00", "Z"),
            "data": {"end_user_id": end_user_id, **data},
        },
        separators=(",", ":"),
    )
    event.save()
    deliveries = Delivery.objects.bulk_create(
        [
            Delivery(event=event, endpoint=endpoint, next_attempt_at=now, queued_at=now)
            for endpoint in endpoints
        ]
    )
    delivery_ids = [delivery.pk for delivery in deliveries]
    transaction.on_commit(lambda: queue_deliveries(delivery_ids))
    return event


def queue_deliveries(delivery_ids: list[int]) -> int:
    """Hand deliveries to the workers; returns how many were queued. A broker that cannot be reached is not an
    error here: the rows stay due, and the periodic sweep (webhooks.dispatch_due) queues them once it is back."""
    from webhooks.tasks import deliver_task

    for queued, delivery_id in enumerate(delivery_ids):
        try:
            deliver_task.apply_async((delivery_id,), retry=False)
        except Exception as error:
            left = delivery_ids[queued:]
            logger.warning("Could not queue %s webhook deliveries (left for the sweep): %s", len(left), error)
            Delivery.objects.filter(pk__in=left).update(queued_at=None)
            return queued
    return len(delivery_ids)
