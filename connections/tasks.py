"""Celery tasks: thin wrappers around services (scheduled in settings.CELERY_BEAT_SCHEDULE)."""

from celery import shared_task

from . import connect_sessions, tokens


@shared_task(name="connections.keep_connections_alive")
def keep_connections_alive() -> dict:
    summary = tokens.keep_connections_alive()
    return {"refreshed": summary.refreshed, "failed": summary.failed, "skipped": summary.skipped}


@shared_task(name="connections.delete_finished_connect_sessions")
def delete_finished_connect_sessions() -> int:
    return connect_sessions.delete_finished_sessions()
