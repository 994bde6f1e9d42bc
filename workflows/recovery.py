"""Runs nobody loses: stalled runs are resumed or failed with the reason, and old runs are pruned.

A run is stalled when it is "running" but its heartbeat (written at every step) is older than
SAGEINT_WORKFLOW_STALL_SECONDS: the worker died (crash, kill, deploy). Its unfinished step decides:
- a write (POST/PUT/DELETE) already marked as sending may have reached Sage: the run fails "outcome unknown";
- anything else (a read, or a write that never left) is safe to do again: the run is queued and resumed from
  that step, the steps already done are not sent again.
A queued run older than the same limit is queued again (its task message may have been lost); the claim in
runs.claim_run makes sure only one delivery runs it.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from workflows import runs
from workflows.models import Run, StepRun

logger = logging.getLogger(__name__)


def recover_stalled_runs() -> dict:
    cutoff = timezone.now() - timedelta(seconds=settings.SAGEINT_WORKFLOW_STALL_SECONDS)
    summary = {"resumed": 0, "failed": 0, "requeued": 0}
    stalled = Run.objects.filter(status=Run.Status.RUNNING, heartbeat_at__lt=cutoff).values_list(
        "pk", flat=True
    )
    for run_id in list(stalled):
        outcome = recover_run(run_id=run_id, cutoff=cutoff)
        if outcome:
            summary[outcome] += 1
    queued = Run.objects.filter(status=Run.Status.QUEUED, created_at__lt=cutoff)
    for run in queued.filter(heartbeat_at__isnull=True) | queued.filter(heartbeat_at__lt=cutoff):
        with transaction.atomic():
            # Stamped so a run waiting for a worker is re-sent once per stall period, not on every sweep.
            Run.objects.filter(pk=run.pk, status=Run.Status.QUEUED).update(heartbeat_at=timezone.now())
            runs.enqueue_run(run)
        summary["requeued"] += 1
    if any(summary.values()):
        logger.warning("Workflow recovery: %s", summary)
    return summary


def recover_run(*, run_id: int, cutoff) -> str | None:
    """Resume or fail one stalled run; None when it is not stalled any more."""
    with transaction.atomic():
        run = (
            Run.objects.select_for_update()
            .filter(pk=run_id, status=Run.Status.RUNNING, heartbeat_at__lt=cutoff)
            .first()
        )
        if run is None:
            return None
        unfinished = run.step_runs.filter(status=StepRun.Status.RUNNING).order_by("position").first()
        if unfinished is not None and unfinished.is_write and unfinished.sent_at is not None:
            unfinished.status = StepRun.Status.FAILED
            unfinished.error = (
                f"{_OUTCOME_UNKNOWN}: the worker stopped while this {unfinished.method} was being sent; "
                "check in Sage whether it happened before retrying."
            )
            unfinished.finished_at = timezone.now()
            unfinished.save(update_fields=["status", "error", "finished_at"])
            finished = runs.finish_run(
                run,
                status=Run.Status.FAILED,
                error=f"Step {unfinished.key!r} failed: {unfinished.error}",
                claim_token=run.claim_token,
            )
            return "failed" if finished else None
        if unfinished is not None:
            unfinished.status = StepRun.Status.PENDING
            unfinished.save(update_fields=["status"])
        run.status = Run.Status.QUEUED
        run.claim_token = ""
        run.heartbeat_at = timezone.now()
        run.save(update_fields=["status", "claim_token", "heartbeat_at"])
        runs.enqueue_run(run)
    logger.warning("Workflow run %s stalled; resumed from its unfinished step", run_id)
    return "resumed"


_OUTCOME_UNKNOWN = "outcome unknown"


def prune_runs() -> int:
    """Delete finished runs older than SAGEINT_WORKFLOW_RUN_RETENTION_DAYS (with their step runs)."""
    cutoff = timezone.now() - timedelta(days=settings.SAGEINT_WORKFLOW_RUN_RETENTION_DAYS)
    deleted, _ = Run.objects.filter(status__in=Run.FINISHED, finished_at__lt=cutoff).delete()
    return deleted
