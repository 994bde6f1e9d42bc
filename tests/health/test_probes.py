"""/healthz says the process answers; /readyz checks the database, the broker, a worker's and beat's heartbeats."""

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from health.models import Heartbeat

pytestmark = pytest.mark.django_db


def beats(*, worker_ago: float | None = 5, beat_ago: float | None = 5) -> None:
    for name, ago in (("worker", worker_ago), ("beat", beat_ago)):
        if ago is not None:
            Heartbeat.objects.create(name=name, seen_at=timezone.now() - timedelta(seconds=ago))


def test_healthz_answers_ok_without_touching_anything(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_ok_when_database_broker_worker_and_beat_are(client):
    beats()
    response = client.get("/readyz")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "broker", "worker", "beat"}
    assert all(check["ok"] for check in body["checks"].values())
    assert 4 <= body["checks"]["worker"]["seconds_ago"] <= 60
    assert response["Cache-Control"].startswith("max-age=0")


def test_readyz_fails_when_the_worker_stopped_running_periodic_tasks(client, settings):
    beats(worker_ago=3 * settings.SAGEINT_HEARTBEAT_SECONDS + 30)
    response = client.get("/readyz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert (
        checks["worker"]["ok"] is False
        and "no worker ran the heartbeat task for" in checks["worker"]["error"]
    )
    assert checks["beat"]["ok"] is True and checks["database"]["ok"] is True


def test_readyz_fails_before_beat_was_ever_seen(client):
    beats(beat_ago=None)
    response = client.get("/readyz")
    assert response.status_code == 503
    beat = response.json()["checks"]["beat"]
    assert beat["ok"] is False and beat["error"] == "no heartbeat sent by beat seen yet"


def test_readyz_reports_an_unreachable_broker(client, monkeypatch):
    from kombu import Connection

    from sageint.celery import app

    # Nothing listens on port 1.
    monkeypatch.setattr(app, "connection_for_write", lambda: Connection("redis://127.0.0.1:1/0"))
    response = client.get("/readyz?checks=broker")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["ok"] is False


def test_readyz_can_be_narrowed_to_some_checks(client):
    response = client.get("/readyz?checks=database")
    assert response.status_code == 200
    assert list(response.json()["checks"]) == ["database"]


def test_readyz_refuses_unknown_checks(client):
    response = client.get("/readyz?checks=database,coffee")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unknown_check"


@override_settings(ALLOWED_HOSTS=["sageint.example.com"], SECURE_SSL_REDIRECT=True)
def test_probes_answer_by_ip_over_plain_http(client):
    """Load balancers and Prometheus call the server by its address, over http behind the TLS proxy."""
    beats()
    assert client.get("/healthz", HTTP_HOST="10.1.2.3:8000").status_code == 200
    assert client.get("/readyz", HTTP_HOST="10.1.2.3:8000").status_code == 200
    # Every other page still gets the host check and the https redirect.
    assert client.get("/accounts/login/", HTTP_HOST="10.1.2.3:8000").status_code == 400
    assert client.get("/accounts/login/", HTTP_HOST="sageint.example.com").status_code == 301
