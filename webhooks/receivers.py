"""Turning what happens elsewhere into webhook events. The apps that send know nothing of webhooks; this listens:

- post_save of ConnectionEvent, which connections/audit.py writes inside the transaction of the change it records;
- records.signals.sync_run_finished and workflows.signals.workflow_run_finished, each sent inside the
  transaction that saves a run's final status.

Either way the outbox rows commit, or roll back, with the change they report."""

from __future__ import annotations

from django.db.models.signals import post_save

from api.management import connection_data, connection_for_end_user
from connections.models import ConnectionEvent, EndUser
from records.models import SyncRun
from records.selectors import sync_run_as_json
from records.signals import sync_run_finished
from webhooks.events import emit
from webhooks.models import EventType
from workflows.models import Run
from workflows.selectors import run_as_json
from workflows.signals import workflow_run_finished

# The audit kinds that change whether a connection works; everything else (refreshes every few minutes, a
# business switch, a failed revocation) is not sent.
_STATE_KINDS = (
    ConnectionEvent.Kind.CONNECTED,
    ConnectionEvent.Kind.RECONNECT_REQUIRED,
    ConnectionEvent.Kind.DISCONNECTED,
)


def connect_receivers() -> None:
    post_save.connect(on_connection_event, sender=ConnectionEvent, dispatch_uid="webhooks.connection_events")
    workflow_run_finished.connect(on_workflow_run_finished, dispatch_uid="webhooks.workflow_runs")
    sync_run_finished.connect(on_sync_run_finished, dispatch_uid="webhooks.sync_runs")


def on_connection_event(
    sender, instance: ConnectionEvent, created: bool, raw: bool = False, **kwargs
) -> None:
    if not created or raw or instance.kind not in _STATE_KINDS:
        return
    end_user = instance.end_user
    if end_user.kind != EndUser.Kind.EXTERNAL:
        return  # sageint's own accounts are not the company's users (see api/management.py)
    event_type = _event_type(instance)
    if event_type is None:
        return
    # Read with its updated_at and last use, as the management API gives it (this event included).
    connection = connection_for_end_user(end_user.external_id)
    if instance.kind == ConnectionEvent.Kind.DISCONNECTED:
        business = {"id": instance.business_id, "name": connection.business_name if connection else ""}
        data = {"connection": None, "business": business}
    else:
        data = {"connection": connection_data(connection) if connection else None}
    if instance.kind == ConnectionEvent.Kind.RECONNECT_REQUIRED:
        data["reason"] = instance.detail
    emit(event_type=event_type, end_user_id=end_user.external_id, data=data)


def _event_type(event: ConnectionEvent) -> str | None:
    if event.kind == ConnectionEvent.Kind.RECONNECT_REQUIRED:
        return EventType.CONNECTION_RECONNECT_NEEDED
    if event.kind == ConnectionEvent.Kind.DISCONNECTED:
        return EventType.CONNECTION_DISCONNECTED
    # Connected: new, or made again after it broke? The audit trail's previous state change says.
    previous = (
        ConnectionEvent.objects.filter(end_user_id=event.end_user_id, kind__in=_STATE_KINDS)
        .exclude(pk=event.pk)
        .order_by("-created_at", "-id")
        .values_list("kind", flat=True)
        .first()
    )
    if previous == ConnectionEvent.Kind.RECONNECT_REQUIRED:
        return EventType.CONNECTION_RECOVERED
    if previous == ConnectionEvent.Kind.CONNECTED:
        return None  # connected again while working (a fresh consent): nothing broke, nothing to report
    return EventType.CONNECTION_CREATED


_RUN_EVENTS = {
    Run.Status.SUCCEEDED: EventType.WORKFLOW_RUN_SUCCEEDED,
    Run.Status.FAILED: EventType.WORKFLOW_RUN_FAILED,
}


def on_workflow_run_finished(sender, run: Run, **kwargs) -> None:
    event_type = _RUN_EVENTS.get(run.status)  # a cancelled run (never started) is not reported
    if event_type is None or run.end_user.kind != EndUser.Kind.EXTERNAL:
        return
    emit(
        event_type=event_type,
        end_user_id=run.end_user.external_id,
        data={"workflow_run": workflow_run_data(run)},
    )


def workflow_run_data(run: Run) -> dict:
    """The run as the workflow API gives it (GET /api/v1/workflows/runs/…), without the steps' requests and
    answers (Sage data stays behind sageint's API), plus which step failed and how long the run took."""
    data = run_as_json(run)
    steps = data.pop("steps")
    data["failed_step"] = next((step["key"] for step in steps if step["status"] == "failed"), None)
    data["duration_ms"] = run.duration_ms
    return data


_SYNC_EVENTS = {
    SyncRun.Status.SUCCEEDED: EventType.SYNC_SUCCEEDED,
    SyncRun.Status.FAILED: EventType.SYNC_FAILED,
}


def on_sync_run_finished(sender, sync_run: SyncRun, **kwargs) -> None:
    event_type = _SYNC_EVENTS.get(sync_run.status)
    if event_type is None or sync_run.end_user.kind != EndUser.Kind.EXTERNAL:
        return
    emit(
        event_type=event_type,
        end_user_id=sync_run.end_user.external_id,
        data={"sync_run": sync_run_as_json(sync_run)},
    )
