"""The admin: an endpoint's secret is shown once, rotation asks for an overlap, every attempt is visible with its
status, duration and answer, and Resend sends again."""

import pytest
from standardwebhooks.webhooks import Webhook

from connections import crypto
from webhooks import delivery
from webhooks.events import emit
from webhooks.models import Delivery, Endpoint, EndpointSecret

pytestmark = pytest.mark.django_db


def test_creating_an_endpoint_shows_its_secret_once(superuser_client, receiver):
    created = superuser_client.post(
        "/admin/webhooks/endpoint/add/",
        {"url": receiver.url, "event_types": ["connection.created", "connection.recovered"], "enabled": "on"},
    )

    assert created.status_code == 200, created.content[:2000]
    assert "no-store" in created["Cache-Control"]
    secret = created.context["secret"]
    assert secret.startswith("whsec_")
    assert secret in created.content.decode()
    endpoint = Endpoint.objects.get()
    assert endpoint.event_types == ["connection.created", "connection.recovered"]
    stored = EndpointSecret.objects.get(endpoint=endpoint)
    assert secret not in stored.secret_encrypted and crypto.decrypt(stored.secret_encrypted) == secret
    change_page = superuser_client.get(f"/admin/webhooks/endpoint/{endpoint.pk}/change/").content.decode()
    assert stored.visible_prefix in change_page and secret not in change_page
    assert "Rotate signing secret" in change_page


def test_rotating_shows_the_new_secret_once_and_both_sign_during_the_overlap(
    superuser_client, make_endpoint, receiver
):
    endpoint, old_secret = make_endpoint(receiver.url)
    url = f"/admin/webhooks/endpoint/{endpoint.pk}/rotate-secret/"
    assert "Overlap" in superuser_client.get(url).content.decode()

    refused = superuser_client.post(url, {"overlap_hours": "-1"})
    assert refused.status_code == 200 and refused.context["form"].errors
    assert endpoint.secrets.count() == 1

    rotated = superuser_client.post(url, {"overlap_hours": "48"})
    assert endpoint.secrets.count() == 2
    new_secret = rotated.context["secret"]
    assert new_secret != old_secret
    emit(event_type="connection.created", end_user_id="u", data={})
    delivery.deliver(delivery_id=Delivery.objects.get().pk)
    (received,) = receiver.received
    assert Webhook(old_secret).verify(received.body, received.headers)
    assert Webhook(new_secret).verify(received.body, received.headers)
    notices = superuser_client.get(f"/admin/webhooks/endpoint/{endpoint.pk}/change/").content.decode()
    assert "Signing secret rotated" in notices


def test_attempts_are_listed_and_resend_sends_again(
    superuser_client, make_endpoint, receiver, queued, settings
):
    settings.WEBHOOK_RETRY_SCHEDULE_SECONDS = []
    receiver.script(500, 200)
    make_endpoint(receiver.url)
    emit(event_type="connection.created", end_user_id="customer-5", data={})
    row = Delivery.objects.get()
    delivery.deliver(delivery_id=row.pk)
    row.refresh_from_db()
    assert row.status == Delivery.Status.FAILED

    page = superuser_client.get(f"/admin/webhooks/delivery/{row.pk}/change/").content.decode()
    assert "receiver says no" in page and "HTTP 500" in page and "customer-5" in page
    assert f'action="/admin/webhooks/delivery/{row.pk}/resend/"' in page

    with_resend = superuser_client.post(f"/admin/webhooks/delivery/{row.pk}/resend/", follow=True)
    assert with_resend.status_code == 200
    row.refresh_from_db()
    assert row.status == Delivery.Status.PENDING
    delivery.deliver(delivery_id=row.pk)
    row.refresh_from_db()
    assert row.status == Delivery.Status.SUCCEEDED and row.attempt_count == 2
    listing = superuser_client.get("/admin/webhooks/delivery/").content.decode()
    assert "connection.created" in listing
    assert superuser_client.get(f"/admin/webhooks/delivery/{row.pk}/resend/").status_code == 403


def test_resend_action_on_the_list(
    superuser_client, make_endpoint, queued, settings, django_capture_on_commit_callbacks
):
    make_endpoint("http://127.0.0.1:9/hooks")
    emit(event_type="connection.created", end_user_id="u", data={})
    row = Delivery.objects.get()
    Delivery.objects.filter(pk=row.pk).update(status=Delivery.Status.FAILED)

    with django_capture_on_commit_callbacks(execute=True):
        superuser_client.post(
            "/admin/webhooks/delivery/", {"action": "resend_deliveries", "_selected_action": [row.pk]}
        )

    row.refresh_from_db()
    assert row.status == Delivery.Status.PENDING
    assert queued == [row.pk]


def test_re_enabling_a_disabled_endpoint_clears_its_failure(superuser_client, make_endpoint):
    endpoint, _ = make_endpoint("http://127.0.0.1:9/hooks")
    Endpoint.objects.filter(pk=endpoint.pk).update(enabled=False, disabled_reason="failing for days")

    superuser_client.post(
        f"/admin/webhooks/endpoint/{endpoint.pk}/change/",
        {
            "url": endpoint.url,
            "event_types": endpoint.event_types,
            "enabled": "on",
            "notices-TOTAL_FORMS": "0",
            "notices-INITIAL_FORMS": "0",
        },
    )

    endpoint.refresh_from_db()
    assert endpoint.enabled and endpoint.disabled_reason == ""


def test_beat_runs_the_sweep_and_the_pruning(settings):
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert schedule["webhooks.dispatch_due"]["task"] == "webhooks.dispatch_due"
    assert schedule["webhooks.dispatch_due"]["schedule"] <= 60
    assert schedule["webhooks.prune"]["task"] == "webhooks.prune"
