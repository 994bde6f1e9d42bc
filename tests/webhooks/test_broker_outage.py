"""The outbox survives a broker outage: events written while the broker cannot be reached are delivered by a real
worker once it is back (service run: Redis and a Celery worker)."""

import socket
import time

import pytest
from django.db import transaction
from standardwebhooks.webhooks import Webhook

from sageint.celery import app
from webhooks.events import emit
from webhooks.models import Delivery
from webhooks.tasks import deliver_task, dispatch_due_task


@pytest.fixture
def dead_broker_url(settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_events_written_while_the_broker_is_down_are_delivered_after(
    celery_worker, receiver, make_endpoint, dead_broker_url, monkeypatch
):
    _, secret = make_endpoint(receiver.url)
    publish = deliver_task.apply_async
    with app.connection_for_write(dead_broker_url) as dead_broker:
        # Producers in this process talk to a broker that is down.
        monkeypatch.setattr(
            deliver_task,
            "apply_async",
            lambda args, **kwargs: publish(args, connection=dead_broker, **kwargs),
        )
        with transaction.atomic():
            emit(event_type="connection.created", end_user_id="customer-outage", data={})

    row = Delivery.objects.get()
    assert row.status == Delivery.Status.PENDING
    assert row.queued_at is None  # the first queueing failed, and says so
    assert receiver.received == []

    monkeypatch.undo()  # the broker is back: the periodic sweep (beat's task) runs in the worker
    dispatch_due_task.delay()

    (received,) = receiver.wait_for(1, timeout=30)
    assert Webhook(secret).verify(received.body, received.headers)["data"]["end_user_id"] == "customer-outage"
    for _ in range(100):
        row.refresh_from_db()
        if row.status == Delivery.Status.SUCCEEDED:
            break
        time.sleep(0.1)
    assert row.status == Delivery.Status.SUCCEEDED and row.attempt_count == 1
