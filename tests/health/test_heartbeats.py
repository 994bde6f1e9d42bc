"""Beat and the worker each leave a heartbeat: beat when it publishes the periodic heartbeat task, a worker when it
runs it."""

import pytest
from celery.signals import after_task_publish
from django.conf import settings
from django.db import DatabaseError

from health.models import Heartbeat
from health.tasks import heartbeat
from sageint.celery import app

pytestmark = pytest.mark.django_db


def test_running_the_heartbeat_task_stamps_the_worker():
    heartbeat.apply()
    first = Heartbeat.objects.get(name="worker").seen_at
    heartbeat.apply()
    assert Heartbeat.objects.get(name="worker").seen_at > first
    assert not Heartbeat.objects.filter(name="beat").exists()


def test_publishing_the_heartbeat_task_stamps_beat():
    after_task_publish.send(sender="health.heartbeat", body=(), exchange="", routing_key="celery")
    assert Heartbeat.objects.filter(name="beat").exists()
    assert not Heartbeat.objects.filter(name="worker").exists()


def test_publishing_other_tasks_is_not_a_heartbeat():
    after_task_publish.send(
        sender="connections.keep_connections_alive", body=(), exchange="", routing_key="celery"
    )
    assert not Heartbeat.objects.exists()


def test_beat_keeps_scheduling_when_its_stamp_cannot_be_written(monkeypatch, caplog):
    def unreachable(**kwargs):
        raise DatabaseError("server closed the connection")

    monkeypatch.setattr("health.heartbeats.record_heartbeat", unreachable)
    after_task_publish.send(sender="health.heartbeat", body=(), exchange="", routing_key="celery")
    assert "could not record beat's heartbeat" in caplog.text


def test_beat_sends_the_heartbeat_and_drops_stale_ones():
    entry = settings.CELERY_BEAT_SCHEDULE["health.heartbeat"]
    assert entry["schedule"] == settings.SAGEINT_HEARTBEAT_SECONDS
    assert entry["options"]["expires"] == settings.SAGEINT_HEARTBEAT_SECONDS
    assert app.conf.beat_scheduler == "django_celery_beat.schedulers:DatabaseScheduler"
