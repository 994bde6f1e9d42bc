"""Celery tasks: thin wrappers taking ids (scheduled in settings.CELERY_BEAT_SCHEDULE)."""

from celery import shared_task

from connections.models import Connection

from . import sync


@shared_task(name="records.sync_step")
def sync_step(step_id: int) -> dict | None:
    """One resource of one connection's sync run (the unit of fan-out)."""
    step = sync.run_step(step_id=step_id)
    if step is None:
        return None
    return {"step": step.pk, "resource": step.resource, "calls": step.calls}


@shared_task(name="records.sync_connection")
def sync_connection(connection_id: int, kind: str | None = None, trigger: str = "task") -> int | None:
    """Start a sync of one connection (its steps are queued as their own tasks); None if one is running."""
    connection = Connection.objects.filter(pk=connection_id).first()
    if connection is None:
        return None
    run = sync.start_sync(connection=connection, kind=kind, trigger=trigger)
    return run.pk if run is not None else None


@shared_task(name="records.sync_all_connections")
def sync_all_connections() -> int:
    """Beat: keep every active connection's mirror fresh."""
    return len(sync.sync_active_connections())
