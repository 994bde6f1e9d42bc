"""Celery tasks: thin wrappers around services (scheduled in settings.CELERY_BEAT_SCHEDULE)."""

from celery import shared_task

from . import tokens


@shared_task(name="connections.keep_connections_alive")
def keep_connections_alive() -> dict:
    summary = tokens.keep_connections_alive()
    return {"refreshed": summary.refreshed, "failed": summary.failed, "skipped": summary.skipped}
