from celery import shared_task

from webhooks import delivery


@shared_task(name="webhooks.deliver", acks_late=True)
def deliver_task(delivery_id: int) -> bool:
    attempt = delivery.deliver(delivery_id=delivery_id)
    return bool(attempt and attempt.succeeded)


@shared_task(name="webhooks.dispatch_due")
def dispatch_due_task() -> int:
    """Beat task (every WEBHOOK_DISPATCH_INTERVAL_SECONDS): queue due deliveries (retries, broker outages)."""
    return delivery.dispatch_due()


@shared_task(name="webhooks.prune")
def prune_task() -> int:
    """Beat task (daily): delete finished deliveries and events older than WEBHOOK_RETENTION_DAYS."""
    return delivery.prune()
