"""Delivering the outbox: one attempt at a time, retried with growing waits for about a day, every attempt logged.

Who sends what, when:
- `deliver()` runs in a Celery worker for one delivery row. It claims the row first (a short lease, so two
  workers never send the same row at once), sends outside any transaction, then records the attempt and the next
  try, or the end.
- `dispatch_due()` is the periodic sweep (beat): it queues rows that are due and not queued recently. Retries
  are scheduled by that sweep (never by a long Celery countdown, which Redis may redeliver or lose), and a row
  whose first task could not be queued because the broker was down is picked up once the broker is back.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

import urllib3
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.dispatch import Signal
from django.utils import timezone

from webhooks import safe_http, signing
from webhooks.models import Delivery, DeliveryAttempt, Endpoint, EndpointNotice, Event

logger = logging.getLogger(__name__)

# Longest a send can take: connect + read timeouts, plus room for DNS and the database writes around it.
CLAIM_SECONDS = 60
# A queued task that has not run within this time is taken for lost (a broker restarted without its queue).
REQUEUE_AFTER = timedelta(minutes=5)
SWEEP_BATCH = 500

# Sent for every failed attempt, inside the transaction recording it, with `gave_up` (True when no retry is left
# and the delivery is now failed for good). The metrics app counts it; nothing here imports metrics.
attempt_failed = Signal()


@dataclass(frozen=True)
class Outcome:
    succeeded: bool
    status_code: int | None
    error: str
    excerpt: str
    duration_ms: int


def deliver(*, delivery_id: int) -> DeliveryAttempt | None:
    """Make one attempt at delivering, if the row is due and nobody else is at it. Returns the attempt logged."""
    now = timezone.now()
    claimed = (
        Delivery.objects.filter(
            pk=delivery_id,
            status=Delivery.Status.PENDING,
            next_attempt_at__lte=now,
            endpoint__enabled=True,
        )
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=now + timedelta(seconds=CLAIM_SECONDS))
    )
    if not claimed:
        return None
    delivery = Delivery.objects.select_related("event", "endpoint").get(pk=delivery_id)
    outcome = _send(delivery)
    return _record(delivery, outcome)


def dispatch_due(*, now=None) -> int:
    """Queue a delivery task for every due row not queued recently; returns how many were queued."""
    from webhooks.events import queue_deliveries

    now = now or timezone.now()
    due = list(
        Delivery.objects.filter(
            status=Delivery.Status.PENDING, next_attempt_at__lte=now, endpoint__enabled=True
        )
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .filter(
            Q(queued_at__isnull=True)
            | Q(queued_at__lt=F("next_attempt_at"))
            | Q(queued_at__lt=now - REQUEUE_AFTER)
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    if not due:
        return 0
    Delivery.objects.filter(pk__in=due).update(queued_at=now)
    return queue_deliveries(due)


def resend(*, delivery: Delivery) -> None:
    """Send again now, with a fresh retry schedule (the admin's Resend)."""
    now = timezone.now()
    Delivery.objects.filter(pk=delivery.pk).update(
        status=Delivery.Status.PENDING, next_attempt_at=now, retry_step=0, claimed_until=None, queued_at=now
    )
    transaction.on_commit(lambda: _queue_one(delivery.pk))


def _queue_one(delivery_id: int) -> None:
    from webhooks.events import queue_deliveries

    queue_deliveries([delivery_id])


def _send(delivery: Delivery) -> Outcome:
    event, endpoint = delivery.event, delivery.endpoint
    try:
        target = safe_http.check_url(endpoint.url)
        sent_at = timezone.now()
        headers = signing.headers_for(
            endpoint.signing_secrets(sent_at), message_id=event.event_id, sent_at=sent_at, body=event.body
        )
        answer = safe_http.post(target, event.body.encode(), headers)
    except safe_http.TargetRefused as refused:
        return Outcome(False, None, f"Refused: {refused}", "", 0)
    except urllib3.exceptions.TimeoutError:
        return Outcome(False, None, "Timed out waiting for the endpoint.", "", _timeout_ms())
    except urllib3.exceptions.HTTPError as error:
        return Outcome(
            False, None, f"Could not reach the endpoint: {type(error).__name__}: {error}"[:500], "", 0
        )
    if 200 <= answer.status < 300:
        return Outcome(True, answer.status, "", answer.excerpt, answer.duration_ms)
    error = f"HTTP {answer.status}"
    if 300 <= answer.status < 400:
        error += " (redirects are not followed: give the final URL)"
    return Outcome(False, answer.status, error, answer.excerpt, answer.duration_ms)


def _timeout_ms() -> int:
    return int(1000 * (settings.WEBHOOK_CONNECT_TIMEOUT_SECONDS + settings.WEBHOOK_READ_TIMEOUT_SECONDS))


@transaction.atomic
def _record(delivery: Delivery, outcome: Outcome) -> DeliveryAttempt:
    now = timezone.now()
    attempt = DeliveryAttempt.objects.create(
        delivery=delivery,
        status_code=outcome.status_code,
        duration_ms=outcome.duration_ms,
        response_excerpt=outcome.excerpt,
        error=outcome.error,
        succeeded=outcome.succeeded,
    )
    delivery.attempt_count += 1
    delivery.last_status_code = outcome.status_code
    delivery.claimed_until = None
    schedule = settings.WEBHOOK_RETRY_SCHEDULE_SECONDS
    if outcome.succeeded:
        delivery.status = Delivery.Status.SUCCEEDED
        delivery.delivered_at = now
        Endpoint.objects.filter(pk=delivery.endpoint_id).update(failing_since=None)
    elif delivery.retry_step < len(schedule):
        delivery.next_attempt_at = now + timedelta(seconds=schedule[delivery.retry_step])
        delivery.retry_step += 1
    else:
        delivery.status = Delivery.Status.FAILED
        logger.warning(
            "Webhook %s to endpoint %s failed for good after %s attempts",
            delivery.event.event_id,
            delivery.endpoint_id,
            delivery.attempt_count,
        )
    delivery.save(
        update_fields=[
            "attempt_count",
            "last_status_code",
            "claimed_until",
            "status",
            "delivered_at",
            "next_attempt_at",
            "retry_step",
        ]
    )
    if not outcome.succeeded:
        _note_failure(delivery.endpoint, now)
        attempt_failed.send(
            sender=Delivery, delivery=delivery, gave_up=delivery.status == Delivery.Status.FAILED
        )
    return attempt


def _note_failure(endpoint: Endpoint, now) -> None:
    Endpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(failing_since=now)
    endpoint.refresh_from_db(fields=["failing_since", "enabled"])
    limit = timedelta(seconds=settings.WEBHOOK_DISABLE_AFTER_SECONDS)
    if endpoint.enabled and endpoint.failing_since <= now - limit:
        reason = (
            f"Every attempt since {endpoint.failing_since:%Y-%m-%d %H:%M} UTC failed; disabled after "
            f"{_duration(limit)} of failures. Fix the receiver, then tick Enabled: pending deliveries resume."
        )
        Endpoint.objects.filter(pk=endpoint.pk).update(enabled=False, disabled_reason=reason)
        EndpointNotice.objects.create(endpoint=endpoint, kind=EndpointNotice.Kind.DISABLED, detail=reason)
        logger.warning("Webhook endpoint %s disabled: %s", endpoint.pk, reason)


def _duration(span: timedelta) -> str:
    hours = span.total_seconds() / 3600
    return f"{hours / 24:g} days" if hours >= 24 else f"{hours:g} hours"


def prune(*, older_than_days: int | None = None) -> int:
    """Delete events (with their deliveries and attempts) older than the retention period once nothing about them
    is still pending; returns how many events went."""
    days = settings.WEBHOOK_RETENTION_DAYS if older_than_days is None else older_than_days
    cutoff = timezone.now() - timedelta(days=days)
    old = Event.objects.filter(created_at__lt=cutoff).exclude(deliveries__status=Delivery.Status.PENDING)
    _, by_model = old.delete()
    return by_model.get("webhooks.Event", 0)
