"""Celery tasks: thin wrappers taking ids (the services are in engine.py, triggers.py, recovery.py)."""

from celery import shared_task
from django.conf import settings

from workflows import engine, recovery, runs, triggers


@shared_task(name="workflows.execute_run", acks_late=True)
def execute_run_task(run_id: int) -> str:
    """One task per run. A run waiting on one-at-a-time comes back later instead of holding the worker."""
    state = engine.execute_run(run_id=run_id)
    if state == runs.BUSY:
        from workflows.models import Run

        run = Run.objects.filter(pk=run_id).first()
        if run is not None:
            runs.enqueue_run(run, countdown=settings.SAGEINT_WORKFLOW_BUSY_RETRY_SECONDS)
    return state


@shared_task(name="workflows.run_scheduled")
def run_scheduled_task(workflow_id: int) -> int:
    """Fired by beat (django-celery-beat) for a workflow's cron schedule: one run per connected user."""
    return len(triggers.start_scheduled_runs(workflow_id=workflow_id))


@shared_task(name="workflows.recover_stalled_runs")
def recover_stalled_runs_task() -> dict:
    return recovery.recover_stalled_runs()


@shared_task(name="workflows.prune_runs")
def prune_runs_task() -> int:
    return recovery.prune_runs()
