"""Deliveries are signed by the Standard Webhooks spec (checked with its reference verifier), retried with growing
waits on errors and timeouts, logged attempt by attempt, and endpoints failing for days are disabled."""

import json
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from webhooks import delivery
from webhooks.endpoints import rotate_secret
from webhooks.events import emit
from webhooks.models import Delivery, Endpoint, EndpointNotice, Event

pytestmark = pytest.mark.django_db


def emit_one(end_user_id="customer-1", event_type="connection.created") -> Delivery:
    emit(event_type=event_type, end_user_id=end_user_id, data={"connection": None})
    return Delivery.objects.latest("id")


def verify(secret: str, received) -> dict:
    return Webhook(secret).verify(received.body, received.headers)


def test_a_delivery_verifies_with_the_reference_verifier(receiver, make_endpoint):
    _, secret = make_endpoint(receiver.url)
    row = emit_one()

    attempt = delivery.deliver(delivery_id=row.pk)

    assert attempt.succeeded and attempt.status_code == 204
    (received,) = receiver.received
    payload = verify(secret, received)
    assert payload["type"] == "connection.created"
    assert payload["data"]["end_user_id"] == "customer-1"
    assert payload["id"] == received.headers["webhook-id"] == row.event.event_id
    assert payload["timestamp"].endswith("Z")
    assert received.headers["Content-Type"] == "application/json"
    assert received.path == "/hooks/sageint"
    row.refresh_from_db()
    assert row.status == Delivery.Status.SUCCEEDED and row.attempt_count == 1


def test_a_tampered_body_or_another_secret_does_not_verify(receiver, make_endpoint):
    _, secret = make_endpoint(receiver.url)
    delivery.deliver(delivery_id=emit_one().pk)
    (received,) = receiver.received
    _, other_secret = make_endpoint("http://127.0.0.1:9/other")

    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(received.body.replace(b"customer-1", b"customer-2"), received.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(other_secret).verify(received.body, received.headers)


def test_rotation_signs_with_both_secrets_during_the_overlap_then_only_the_new_one(receiver, make_endpoint):
    endpoint, old_secret = make_endpoint(receiver.url)
    new_secret = rotate_secret(endpoint=endpoint, overlap=timedelta(hours=24))

    delivery.deliver(delivery_id=emit_one().pk)
    during = receiver.received[-1]
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    assert verify(old_secret, during) and verify(new_secret, during)

    endpoint.secrets.exclude(expires_at__isnull=True).update(expires_at=timezone.now() - timedelta(seconds=1))
    delivery.deliver(delivery_id=emit_one().pk)
    after = receiver.received[-1]
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    assert verify(new_secret, after)
    with pytest.raises(WebhookVerificationError):
        verify(old_secret, after)
    assert EndpointNotice.objects.filter(endpoint=endpoint, kind="secret_rotated").count() == 1


def test_a_500_is_retried_on_the_schedule_until_it_succeeds(receiver, make_endpoint, settings):
    settings.WEBHOOK_RETRY_SCHEDULE_SECONDS = [5, 300, 1800]
    receiver.script(500, 500, 200)
    make_endpoint(receiver.url)
    row = emit_one()

    first = delivery.deliver(delivery_id=row.pk)
    row.refresh_from_db()
    assert not first.succeeded and first.status_code == 500 and first.response_excerpt == "receiver says no"
    assert row.status == Delivery.Status.PENDING
    assert timedelta(seconds=4) < row.next_attempt_at - timezone.now() <= timedelta(seconds=5)
    assert delivery.deliver(delivery_id=row.pk) is None  # not due yet: nothing sent
    assert len(receiver.received) == 1

    Delivery.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    delivery.deliver(delivery_id=row.pk)
    row.refresh_from_db()
    assert timedelta(seconds=290) < row.next_attempt_at - timezone.now() <= timedelta(seconds=300)

    Delivery.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    assert delivery.deliver(delivery_id=row.pk).succeeded
    row.refresh_from_db()
    assert row.status == Delivery.Status.SUCCEEDED and row.attempt_count == 3
    assert [a.status_code for a in row.attempts.order_by("id")] == [500, 500, 200]
    # Every attempt carried the same message id and body: receivers can deduplicate.
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1
    assert len({r.body for r in receiver.received}) == 1


def test_a_timeout_is_a_failed_attempt_and_retried(receiver, make_endpoint, settings):
    settings.WEBHOOK_READ_TIMEOUT_SECONDS = 0.2
    receiver.script(("slow", 1.0, 200), 200)
    make_endpoint(receiver.url)
    row = emit_one()

    timed_out = delivery.deliver(delivery_id=row.pk)
    Delivery.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    retried = delivery.deliver(delivery_id=row.pk)

    assert not timed_out.succeeded and timed_out.status_code is None
    assert "Timed out" in timed_out.error
    assert retried.succeeded


def test_the_default_schedule_spans_about_a_day_then_gives_up(receiver, make_endpoint, settings):
    schedule = settings.WEBHOOK_RETRY_SCHEDULE_SECONDS
    assert 20 * 3600 <= sum(schedule) <= 30 * 3600
    assert schedule == sorted(schedule)
    receiver.script(503)
    make_endpoint(receiver.url)
    row = emit_one()

    for _ in range(len(schedule) + 1):
        Delivery.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
        delivery.deliver(delivery_id=row.pk)

    row.refresh_from_db()
    assert row.status == Delivery.Status.FAILED
    assert row.attempt_count == len(schedule) + 1
    assert delivery.deliver(delivery_id=row.pk) is None


def test_a_redirect_is_not_followed(receiver, make_endpoint):
    receiver.script(302)
    make_endpoint(receiver.url)

    attempt = delivery.deliver(delivery_id=emit_one().pk)

    assert not attempt.succeeded and attempt.status_code == 302
    assert "redirects are not followed" in attempt.error
    assert len(receiver.received) == 1


def test_an_endpoint_failing_for_days_is_disabled_with_a_notice(receiver, make_endpoint, settings):
    receiver.script(500)
    endpoint, _ = make_endpoint(receiver.url)
    row = emit_one()
    delivery.deliver(delivery_id=row.pk)
    endpoint.refresh_from_db()
    assert endpoint.enabled and endpoint.failing_since is not None

    Endpoint.objects.filter(pk=endpoint.pk).update(failing_since=timezone.now() - timedelta(days=6))
    Delivery.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    delivery.deliver(delivery_id=row.pk)

    endpoint.refresh_from_db()
    assert not endpoint.enabled
    assert "disabled after 5 days" in endpoint.disabled_reason
    notice = EndpointNotice.objects.get(endpoint=endpoint, kind="disabled")
    assert notice.detail == endpoint.disabled_reason
    # Disabled: nothing more is sent, nothing is lost (the row waits).
    Delivery.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    assert delivery.deliver(delivery_id=row.pk) is None
    assert delivery.dispatch_due() == 0
    row.refresh_from_db()
    assert row.status == Delivery.Status.PENDING


def test_a_success_ends_the_failing_run(receiver, make_endpoint):
    receiver.script(500, 200)
    endpoint, _ = make_endpoint(receiver.url)
    row = emit_one()
    delivery.deliver(delivery_id=row.pk)
    Delivery.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    delivery.deliver(delivery_id=row.pk)

    endpoint.refresh_from_db()
    assert endpoint.failing_since is None and endpoint.enabled


def test_outbox_rows_roll_back_with_the_change(make_endpoint):
    make_endpoint("http://127.0.0.1:9/hooks")

    with pytest.raises(RuntimeError), transaction.atomic():
        emit(event_type="connection.created", end_user_id="customer-1", data={})
        raise RuntimeError("the change failed")

    assert not Delivery.objects.exists()


def test_only_subscribed_enabled_endpoints_get_the_event(make_endpoint):
    make_endpoint("http://127.0.0.1:9/created", events=["connection.created"])
    make_endpoint("http://127.0.0.1:9/disconnected", events=["connection.disconnected"])
    disabled, _ = make_endpoint("http://127.0.0.1:9/off")
    Endpoint.objects.filter(pk=disabled.pk).update(enabled=False)

    emit_one()

    assert [d.endpoint.url for d in Delivery.objects.all()] == ["http://127.0.0.1:9/created"]
    assert emit(event_type="connection.recovered", end_user_id="x", data={}) is None


def test_sweep_queues_due_rows_once_and_again_when_they_seem_lost(make_endpoint, queued, settings):
    make_endpoint("http://127.0.0.1:9/hooks")
    row = emit_one()
    Delivery.objects.filter(pk=row.pk).update(queued_at=None)  # the broker was down at commit

    assert delivery.dispatch_due() == 1
    assert delivery.dispatch_due() == 0  # just queued: not again
    Delivery.objects.filter(pk=row.pk).update(queued_at=timezone.now() - timedelta(minutes=10))
    assert delivery.dispatch_due() == 1  # queued long ago and never run: the task was lost
    assert queued == [row.pk, row.pk]


def test_the_body_is_the_documented_payload(make_endpoint):
    make_endpoint("http://127.0.0.1:9/hooks")
    row = emit_one(event_type="connection.reconnect_needed")

    payload = json.loads(row.event.body)

    assert set(payload) == {"id", "type", "timestamp", "data"}
    assert payload["id"].startswith("evt_")
    assert payload["data"] == {"end_user_id": "customer-1", "connection": None}


def test_prune_deletes_old_finished_events_and_keeps_pending_ones(make_endpoint):
    make_endpoint("http://127.0.0.1:9/hooks")
    finished, pending, recent = emit_one("a"), emit_one("b"), emit_one("c")
    Delivery.objects.filter(pk=finished.pk).update(status=Delivery.Status.SUCCEEDED)
    Delivery.objects.filter(pk=recent.pk).update(status=Delivery.Status.FAILED)
    old = timezone.now() - timedelta(days=31)
    Event.objects.filter(pk__in=[finished.event_id, pending.event_id]).update(created_at=old)

    assert delivery.prune() == 1

    assert sorted(Event.objects.values_list("end_user_id", flat=True)) == ["b", "c"]
