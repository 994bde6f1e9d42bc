"""Reading runs: the JSON the API answers, and what the builder's {{ menu offers at each step."""

from __future__ import annotations

from workflows.models import Run, StepRun, Workflow
from workflows.variables import field_paths

USER_FIELDS = [
    "id",
    "external_id",
    "display_name",
    "kind",
    "email",
    "business_id",
    "business_name",
    "sage_user_email",
]


def _when(value) -> str | None:
    return value.isoformat() if value else None


def run_as_json(run: Run) -> dict:
    return {
        "id": run.pk,
        "workflow": {"id": run.workflow_id, "name": run.workflow.name},
        "status": run.status,
        "trigger": run.trigger,
        "event": run.event_name or None,
        "error": run.error or None,
        "retry_of": run.retry_of_id,
        "created_at": _when(run.created_at),
        "started_at": _when(run.started_at),
        "finished_at": _when(run.finished_at),
        "steps": [
            {
                "key": step_run.key,
                "status": step_run.status,
                "request": step_run.request,
                "response_status": step_run.response_status,
                "response": step_run.response_body,
                "attempts": step_run.attempts,
                "duration_ms": step_run.duration_ms,
                "reused": step_run.reused,
                "error": step_run.error or None,
            }
            for step_run in run.step_runs.order_by("position")
        ],
    }


def menu_variables(workflow: Workflow | None) -> dict:
    """For the builder: trigger fields (from the sample input), user fields, and per step key the response
    fields seen in the latest run where that step succeeded."""
    trigger = ["trigger", *field_paths(workflow.sample_input if workflow else {}, prefix="trigger")]
    steps: dict[str, list[str]] = {}
    if workflow is not None and workflow.pk:
        for key in workflow.steps.values_list("key", flat=True):
            latest = (
                StepRun.objects.filter(run__workflow=workflow, key=key, status=StepRun.Status.SUCCEEDED)
                .order_by("-run__created_at", "-id")
                .values_list("response_body", flat=True)
                .first()
            )
            prefix = f"steps.{key}.response"
            steps[key] = [f"steps.{key}.status", prefix, *field_paths(latest, prefix=prefix)]
    return {"trigger": trigger, "user": [f"user.{name}" for name in USER_FIELDS], "steps": steps}
