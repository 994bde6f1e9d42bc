"""A connection's life, driven through the real connect flow and the sandbox, produces the four connection events,
each written into the outbox with the change, and a delivery the reference verifier accepts."""

import json
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from connections import crypto
from connections.end_users import end_user_for_user
from connections.exceptions import ReconnectRequired
from connections.models import Connection
from connections.sage_client import SageClient
from projects.models import ApiKey
from tests.fixtures_sage import connect_end_user_via_link, connect_through_sandbox
from webhooks import delivery
from webhooks.models import Delivery, Event

pytestmark = pytest.mark.django_db


def events(end_user_id="company-user-42") -> list[dict]:
    return [json.loads(e.body) for e in Event.objects.filter(end_user_id=end_user_id).order_by("id")]


def break_connection(end_user) -> None:
    """Sage refuses the stored refresh token on the next refresh: the connection needs reconnecting."""
    Connection.objects.filter(end_user=end_user).update(
        refresh_token_encrypted=crypto.encrypt("a-refresh-token-sage-already-rotated"),
        access_token_expires_at=timezone.now() - timedelta(seconds=5),
    )
    with pytest.raises(ReconnectRequired):
        SageClient.for_end_user(end_user).send("GET", "user")


def test_created_reconnect_needed_recovered_disconnected(make_endpoint, sandbox_transport):
    make_endpoint("http://127.0.0.1:9/hooks")

    end_user = connect_end_user_via_link()
    break_connection(end_user)
    connect_end_user_via_link()  # the user connects again
    _, key = ApiKey.issue(name="backend")
    connection_id = Connection.objects.get(end_user=end_user).pk
    Client().delete(f"/api/v1/connections/{connection_id}", HTTP_AUTHORIZATION=f"Bearer {key}")

    sent = events()
    assert [e["type"] for e in sent] == [
        "connection.created",
        "connection.reconnect_needed",
        "connection.recovered",
        "connection.disconnected",
    ]
    assert all(e["data"]["end_user_id"] == "company-user-42" for e in sent)
    created, broken, recovered, gone = sent
    assert created["data"]["connection"]["state"] == "active"
    assert created["data"]["connection"]["business"]["name"] == "Sandbox Trading Ltd"
    assert broken["data"]["connection"]["state"] == "reconnect_required"
    assert "invalid_grant" in broken["data"]["reason"]
    assert recovered["data"]["connection"]["state"] == "active"
    assert gone["data"]["connection"] is None
    assert gone["data"]["business"]["name"] == "Sandbox Trading Ltd"
    assert "token" not in json.dumps(sent).replace("invalid_grant", "").lower()


def test_routine_refreshes_and_fresh_consent_send_nothing(
    make_endpoint, connected_end_user, sandbox_transport
):
    make_endpoint("http://127.0.0.1:9/hooks")
    Connection.objects.filter(end_user=connected_end_user).update(
        access_token_expires_at=timezone.now() - timedelta(seconds=5)
    )
    SageClient.for_end_user(connected_end_user).send("GET", "user")  # refreshed
    connect_end_user_via_link()  # connects again while working

    assert sandbox_transport.refresh_calls == 1
    assert events() == []


def test_sageint_accounts_send_no_events(make_endpoint, sandbox_transport):
    make_endpoint("http://127.0.0.1:9/hooks")
    account = get_user_model().objects.create(username="demo")
    browser = Client()
    browser.force_login(account)

    connect_through_sandbox(browser)
    browser.post(reverse("connections:disconnect"))

    assert Connection.objects.filter(end_user=end_user_for_user(account)).count() == 0
    assert not Event.objects.exists()


def test_the_created_event_reaches_a_receiver_signed(receiver, make_endpoint, sandbox_transport):
    _, secret = make_endpoint(receiver.url, events=["connection.created"])

    connect_end_user_via_link()
    delivery.deliver(delivery_id=Delivery.objects.get().pk)

    (received,) = receiver.received
    payload = Webhook(secret).verify(received.body, received.headers)
    assert payload["type"] == "connection.created"
    assert payload["data"]["connection"]["end_user_id"] == "company-user-42"


def test_the_readme_receiver_example_accepts_a_real_delivery(receiver, make_endpoint, sandbox_transport):
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## Webhooks:", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    _, secret = make_endpoint(receiver.url)
    connect_end_user_via_link()
    break_connection(Connection.objects.get().end_user)
    for row in Delivery.objects.order_by("id"):
        delivery.deliver(delivery_id=row.pk)
    asked = []
    namespace = {
        "SAGEINT_WEBHOOK_SECRET": secret,
        "already_seen": lambda event_id: False,
        "ask_user_to_reconnect": lambda end_user_id, reason: asked.append((end_user_id, reason)),
    }

    exec(compile(code, "README.md", "exec"), namespace)

    statuses = [namespace["handle"](r.body, r.headers) for r in receiver.received]
    assert statuses == [200, 200]
    assert [end_user_id for end_user_id, _ in asked] == ["company-user-42"]
    forged = receiver.received[0]
    assert namespace["handle"](forged.body + b" ", forged.headers) == 400
    assert namespace["handle"](forged.body, {**forged.headers, "webhook-signature": "garbage"}) == 400
