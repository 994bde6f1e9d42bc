"""What starts runs: app events, the built-in "user connected Sage Accounting" event and schedules.

Run now, Test run (admin) and the API start one run with runs.create_run directly.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.dispatch import receiver

from connections.models import Connection, EndUser
from connections.signals import connection_established
from workflows.models import Run, Workflow
from workflows.runs import create_run

logger = logging.getLogger(__name__)


def start_event_runs(*, end_user: EndUser, event_name: str, payload: Any) -> list[Run]:
    """One run per enabled workflow listening to `event_name`, for this end user, with `payload` as input."""
    workflows = Workflow.objects.filter(enabled=True, event_name=event_name).order_by("pk")
    with transaction.atomic():
        return [
            create_run(
                workflow=workflow,
                end_user=end_user,
                trigger=Run.Trigger.EVENT,
                trigger_input=payload,
                event_name=event_name,
            )
            for workflow in workflows
        ]


def start_scheduled_runs(*, workflow_id: int) -> list[Run]:
    """A schedule fired: one run for every end user whose connection is active."""
    workflow = Workflow.objects.filter(pk=workflow_id, enabled=True).first()
    if workflow is None:
        return []
    end_users = EndUser.objects.filter(connection__status=Connection.Status.ACTIVE).order_by("pk")
    started = []
    for end_user in end_users:
        with transaction.atomic():
            started.append(create_run(workflow=workflow, end_user=end_user, trigger=Run.Trigger.SCHEDULE))
    return started


@receiver(connection_established, dispatch_uid="workflows.start_on_connect_runs")
def start_on_connect_runs(sender, *, end_user: EndUser, connection: Connection, **kwargs) -> None:
    """The built-in event: runs of every enabled workflow marked "when a user connects Sage Accounting".

    Runs inside the connect transaction; a failure here is logged and never undoes the connection.
    """
    try:
        with transaction.atomic():
            for workflow in Workflow.objects.filter(enabled=True, run_on_connect=True).order_by("pk"):
                create_run(
                    workflow=workflow,
                    end_user=end_user,
                    trigger=Run.Trigger.CONNECT,
                    trigger_input={
                        "business_id": connection.business_id,
                        "business_name": connection.business_name,
                    },
                    event_name="sageaccounting.connected",
                )
    except Exception:
        logger.exception("Could not start the on-connect workflow runs of end user %s", end_user.pk)
