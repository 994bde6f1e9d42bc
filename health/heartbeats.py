"""Heartbeats of the background processes: beat sends `health.heartbeat` every SAGEINT_HEARTBEAT_SECONDS, a
worker runs it. Each side stamps its own row, so a stopped beat and a stopped worker are told apart."""

import logging

from django.db import DatabaseError
from django.utils import timezone

from .models import Heartbeat

HEARTBEAT_TASK = "health.heartbeat"

logger = logging.getLogger(__name__)


def record_heartbeat(*, name: str) -> None:
    Heartbeat.objects.update_or_create(name=name, defaults={"seen_at": timezone.now()})


def record_beat_publish(sender: str | None = None, **kwargs) -> None:
    """Celery's after_task_publish handler: runs in the process that sent the task (beat, for the heartbeat)."""
    if sender != HEARTBEAT_TASK:
        return
    try:
        record_heartbeat(name=Heartbeat.BEAT)
    except DatabaseError:
        # Beat must keep scheduling even while the database is away; readiness will show the stale stamp.
        logger.warning("could not record beat's heartbeat", exc_info=True)
