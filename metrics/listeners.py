"""Feeding sageint's families from what the app already announces: the proxy's call_finished signal, the
connection audit trail, and every answer of the shared Sage session."""

import re

from django.conf import settings
from django.db import transaction

from connections.models import ConnectionEvent

from . import families, multiprocess

REFRESH_OUTCOMES = {
    ConnectionEvent.Kind.REFRESHED: "succeeded",
    ConnectionEvent.Kind.REFRESH_FAILED: "failed",
    ConnectionEvent.Kind.RECONNECT_REQUIRED: "reconnect_required",
}


def count_proxied_call(*, method, status_code, failure, duration_ms, source, **kwargs) -> None:
    if status_code is not None:
        status = str(status_code)
    else:
        # sageint's error when Sage gave no answer: SageTimeout → sage_timeout, as the proxy API's error codes.
        status = re.sub(r"(?<!^)(?=[A-Z])", "_", type(failure).__name__).lower()
    families.proxy_calls.labels(status=status, method=method, source=source).inc()
    families.proxy_call_duration.labels(method=method).observe(duration_ms / 1000)


def count_connection_event(*, instance: ConnectionEvent, created: bool, **kwargs) -> None:
    outcome = REFRESH_OUTCOMES.get(instance.kind)
    if created and outcome:
        families.token_refreshes.labels(outcome=outcome).inc()


def count_throttled_answers(response, *args, **kwargs) -> None:
    """A requests response hook: this answer and the attempts urllib3 retried before it."""
    retried = getattr(getattr(response.raw, "retries", None), "history", None) or ()
    throttled = sum(1 for attempt in retried if attempt.status == 429) + (response.status_code == 429)
    if throttled:
        families.sage_throttled.inc(throttled)


def forget_ended_processes(**kwargs) -> None:
    multiprocess.remove_files_of_ended_processes(settings.SAGEINT_METRICS_DIR)


def worker_process_ended(*, pid: int, **kwargs) -> None:
    multiprocess.process_exited(pid, settings.SAGEINT_METRICS_DIR)


def count_task_outcome(outcome: str):
    def count(sender=None, **kwargs) -> None:
        name = getattr(sender, "name", None) or "unknown"
        families.tasks.labels(task=name, outcome=outcome).inc()

    return count


task_succeeded = count_task_outcome("succeeded")
task_failed = count_task_outcome("failed")
task_retried = count_task_outcome("retried")


def count_workflow_run(*, run, **kwargs) -> None:
    """workflows.signals.workflow_run_finished arrives inside the transaction saving the status: count on commit."""
    status = run.status
    transaction.on_commit(lambda: families.workflow_runs.labels(status=status).inc())


def count_sync_run(*, sync_run, **kwargs) -> None:
    """records.signals.sync_run_finished arrives inside the transaction saving the status: count on commit."""
    kind, status = sync_run.kind, sync_run.status
    transaction.on_commit(lambda: families.sync_runs.labels(kind=kind, status=status).inc())


def count_webhook_failure(*, gave_up: bool, **kwargs) -> None:
    """webhooks.delivery.attempt_failed arrives inside the transaction recording the attempt: count on commit."""
    outcome = "gave_up" if gave_up else "retrying"
    transaction.on_commit(lambda: families.webhook_delivery_failures.labels(outcome=outcome).inc())
