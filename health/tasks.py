from celery import shared_task

from .heartbeats import HEARTBEAT_TASK, record_heartbeat
from .models import Heartbeat


@shared_task(name=HEARTBEAT_TASK, ignore_result=True)
def heartbeat() -> None:
    """Beat task (settings.CELERY_BEAT_SCHEDULE): a worker ran a periodic task, so beat, broker and worker work."""
    record_heartbeat(name=Heartbeat.WORKER)
