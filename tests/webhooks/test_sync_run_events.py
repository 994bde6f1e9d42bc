"""A sync of a user's Sage records that finishes sends sync.succeeded or sync.failed, written with the run's final
status (records.signals.sync_run_finished)."""

import json

import pytest
from standardwebhooks.webhooks import Webhook

from records import sync
from tests.records.conftest import connection, run_sync, seeded_sandbox  # noqa: F401  (shared fixtures)
from webhooks import delivery
from webhooks.models import Delivery, Event

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_sync_tasks_sent(monkeypatch):
    monkeypatch.setattr(sync, "_enqueue", lambda step_ids: None)


def test_a_finished_sync_is_reported_signed(connection, receiver, make_endpoint):  # noqa: F811
    _, secret = make_endpoint(receiver.url, events=["sync.succeeded", "sync.failed"])

    run = run_sync(connection)
    delivery.deliver(delivery_id=Delivery.objects.get().pk)

    (received,) = receiver.received
    payload = Webhook(secret).verify(received.body, received.headers)
    assert payload["type"] == "sync.succeeded"
    assert payload["data"]["end_user_id"] == "records-user"
    reported = payload["data"]["sync_run"]
    assert reported["id"] == run.pk and reported["status"] == "succeeded" and reported["kind"] == "full"
    assert reported["created"] == run.created_count > 0
    assert reported["business"]["name"] == "Sandbox Trading Ltd"


def test_a_failed_sync_says_why(connection, sandbox_transport, make_endpoint, settings):  # noqa: F811
    make_endpoint("http://127.0.0.1:9/hooks", events=["sync.failed"])
    settings.SAGE_RETRY_MAX_ATTEMPTS = 1
    sandbox_transport.inject("/contacts", status=500, body=b"[]", times=None)

    run = run_sync(connection)

    assert run.status == "failed"
    (event,) = Event.objects.filter(type="sync.failed")
    assert json.loads(event.body)["data"]["sync_run"]["error"]
