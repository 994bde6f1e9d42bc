"""Failed webhook deliveries show on /metrics: each failed attempt, retrying or given up, once it is recorded."""

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from webhooks import delivery
from webhooks.events import emit
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db
TOKEN = "metrics-test-token-0123456789"
FAMILY = "sageint_webhook_delivery_failures_total"


def failures(client) -> dict[str, float]:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    return {
        sample.labels["outcome"]: sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
        if sample.name == FAMILY
    }


def test_failed_attempts_are_counted_retrying_then_given_up(
    client, settings, receiver, make_endpoint, django_capture_on_commit_callbacks
):
    settings.SAGEINT_METRICS_TOKEN = TOKEN
    settings.WEBHOOK_RETRY_SCHEDULE_SECONDS = [5]
    receiver.script(500, 503, 204)
    make_endpoint(receiver.url)
    emit(event_type="connection.created", end_user_id="customer-1", data={"connection": None})
    row = Delivery.objects.latest("id")
    before = failures(client)

    with django_capture_on_commit_callbacks(execute=True):
        delivery.deliver(delivery_id=row.pk)
    retrying = failures(client)
    Delivery.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        delivery.deliver(delivery_id=row.pk)
    gave_up = failures(client)

    assert retrying.get("retrying", 0) == before.get("retrying", 0) + 1
    assert retrying.get("gave_up", 0) == before.get("gave_up", 0)
    assert gave_up.get("retrying", 0) == retrying["retrying"]
    assert gave_up.get("gave_up", 0) == before.get("gave_up", 0) + 1
    row.refresh_from_db()
    assert row.status == Delivery.Status.FAILED


def test_a_successful_attempt_counts_no_failure(
    client, settings, receiver, make_endpoint, django_capture_on_commit_callbacks
):
    settings.SAGEINT_METRICS_TOKEN = TOKEN
    make_endpoint(receiver.url)
    emit(event_type="connection.created", end_user_id="customer-1", data={"connection": None})
    before = failures(client)

    with django_capture_on_commit_callbacks(execute=True):
        assert delivery.deliver(delivery_id=Delivery.objects.latest("id").pk).succeeded

    assert failures(client) == before
