"""Run bookkeeping: create and queue runs, claim one for a worker, finish it, retry it from the failed step.

Every state change is its own short transaction, committed before anything is sent to Sage, so what the
database says is always what happened (the crash recovery in recovery.py relies on it).
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from connections.models import EndUser
from workflows.models import Run, StepRun, Workflow
from workflows.signals import workflow_run_finished
from workflows.variables import check_data

logger = logging.getLogger(__name__)


class RunRefused(ValueError):
    """A run could not be started (bad input, disabled workflow…); the message is safe to show."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def create_run(
    *,
    workflow: Workflow,
    end_user: EndUser,
    trigger: str,
    trigger_input: Any = None,
    event_name: str = "",
    retry_of: Run | None = None,
    enqueue: bool = True,
) -> Run:
    """A queued run with one pending step run per step; queued for a worker once the transaction commits."""
    trigger_input = {} if trigger_input is None else trigger_input
    try:
        check_data(trigger_input, what="trigger input")
    except ValueError as error:
        raise RunRefused(str(error)) from None
    definition = workflow.definition()
    if not definition:
        raise RunRefused(f"The workflow “{workflow.name}” has no steps.")
    with transaction.atomic():
        run = Run.objects.create(
            workflow=workflow,
            end_user=end_user,
            trigger=trigger,
            event_name=event_name[:100],
            trigger_input=trigger_input,
            definition=definition,
            retry_of=retry_of,
        )
        reusable = {}
        if retry_of is not None:
            reusable = {
                step_run.key: step_run
                for step_run in retry_of.step_runs.filter(status=StepRun.Status.SUCCEEDED)
            }
        StepRun.objects.bulk_create(
            [
                _step_run_for(run, position, step, reusable.get(step["key"]))
                for position, step in enumerate(definition)
            ]
        )
        if enqueue:
            enqueue_run(run)
    return run


def _step_run_for(run: Run, position: int, step: dict, done: StepRun | None) -> StepRun:
    step_run = StepRun(run=run, position=position, key=step["key"], method=step["method"])
    if done is not None and done.method == step["method"]:
        # Succeeded in the run being retried: its answer is reused, the request is not sent again.
        for field in ("request", "sent_at", "response_status", "response_body", "response_truncated"):
            setattr(step_run, field, getattr(done, field))
        step_run.status = StepRun.Status.SUCCEEDED
        step_run.reused = True
        step_run.attempts = 0
        step_run.duration_ms = done.duration_ms
        step_run.started_at, step_run.finished_at = done.started_at, done.finished_at
    return step_run


def enqueue_run(run: Run, *, countdown: float | None = None) -> None:
    """Send the run's task once the current transaction commits (at once outside one)."""
    from workflows.tasks import execute_run_task

    options: dict[str, Any] = {}
    if settings.SAGEINT_WORKFLOW_QUEUE:
        options["queue"] = settings.SAGEINT_WORKFLOW_QUEUE
    if countdown:
        options["countdown"] = countdown
    transaction.on_commit(lambda: execute_run_task.apply_async(args=[run.pk], **options))


def retry_from_failed_step(*, run: Run) -> Run:
    """A new run of the same input and user that reuses every step the failed run completed."""
    if run.status != Run.Status.FAILED:
        raise RunRefused(
            f"Run {run.pk} is {run.get_status_display().lower()}; only failed runs can be retried."
        )
    return create_run(
        workflow=run.workflow,
        end_user=run.end_user,
        trigger=Run.Trigger.RETRY,
        trigger_input=run.trigger_input,
        event_name=run.event_name,
        retry_of=run,
    )


CLAIMED, BUSY, GONE = "claimed", "busy", "gone"


def claim_run(*, run_id: int) -> tuple[Run | None, str]:
    """Take a queued run for this worker: (run, CLAIMED); (run, BUSY) when one-at-a-time makes it wait;
    (None, GONE) when it is not queued any more (finished, or claimed by another delivery of the task)."""
    with transaction.atomic():
        run = Run.objects.select_for_update().select_related("workflow", "end_user").filter(pk=run_id).first()
        if run is None or run.status != Run.Status.QUEUED:
            return None, GONE
        if run.workflow.one_run_at_a_time:
            # The workflow row serialises claims of its runs, so two workers cannot both see "none running".
            Workflow.objects.select_for_update().filter(pk=run.workflow_id).first()
            running = Run.objects.filter(
                workflow_id=run.workflow_id, end_user_id=run.end_user_id, status=Run.Status.RUNNING
            ).exists()
            if running:
                return run, BUSY
        now = timezone.now()
        run.status = Run.Status.RUNNING
        run.claim_token = uuid.uuid4().hex
        run.claims += 1
        run.started_at = run.started_at or now
        run.heartbeat_at = now
        run.save(update_fields=["status", "claim_token", "claims", "started_at", "heartbeat_at"])
    return run, CLAIMED


def beat(run: Run, *, now=None) -> bool:
    """Refresh the run's heartbeat; False when this worker no longer holds the run (recovery took it)."""
    return bool(
        Run.objects.filter(pk=run.pk, status=Run.Status.RUNNING, claim_token=run.claim_token).update(
            heartbeat_at=now or timezone.now()
        )
    )


def finish_run(run: Run, *, status: str, error: str = "", claim_token: str | None = None) -> bool:
    """Save the run's final status and send workflow_run_finished in the same transaction.

    Only the holder of the claim (or recovery, passing the token it found) can finish a running run.
    """
    with transaction.atomic():
        current = Run.objects.select_for_update().filter(pk=run.pk).first()
        token = run.claim_token if claim_token is None else claim_token
        if current is None or current.is_finished or current.claim_token != token:
            return False
        current.status = status
        current.error = error[:5000]
        current.finished_at = timezone.now()
        current.heartbeat_at = current.finished_at
        current.save(update_fields=["status", "error", "finished_at", "heartbeat_at"])
        current.step_runs.filter(status=StepRun.Status.PENDING).update(status=StepRun.Status.SKIPPED)
        workflow_run_finished.send(sender=Run, run=current)
    run.status, run.error, run.finished_at = current.status, current.error, current.finished_at
    logger.info("Workflow run %s %s", run.pk, status)
    return True


def cancel_run(*, run: Run) -> bool:
    """Cancel a queued run (a running one is left to finish: a half-sent step cannot be taken back)."""
    with transaction.atomic():
        current = Run.objects.select_for_update().filter(pk=run.pk, status=Run.Status.QUEUED).first()
        if current is None:
            return False
        current.status = Run.Status.CANCELLED
        current.finished_at = timezone.now()
        current.save(update_fields=["status", "finished_at"])
        current.step_runs.filter(status=StepRun.Status.PENDING).update(status=StepRun.Status.SKIPPED)
        workflow_run_finished.send(sender=Run, run=current)
    return True
