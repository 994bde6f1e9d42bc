"""The workflow API: start a run, read its status, send an app event. Callers are end users (a user token, or
a logged-in session), with the proxy API's authentication and its one error shape."""

from __future__ import annotations

import functools

from django.http import JsonResponse
from django.urls import reverse

from api.auth import authenticate_end_user
from api.errors import ApiError
from api.views import allowed_methods, api_endpoint, read_json_object
from workflows import selectors, triggers
from workflows.models import Run, Workflow
from workflows.runs import RunRefused, create_run
from workflows.variables import MAX_INPUT_BYTES


def workflow_endpoint(*methods: str):
    def decorate(view):
        @api_endpoint
        @allowed_methods(*methods)
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            end_user = authenticate_end_user(request)
            try:
                return view(request, end_user, *args, **kwargs)
            except RunRefused as refused:
                raise ApiError(400, "invalid_input", refused.message) from None

        return wrapper

    return decorate


def _json_object(request) -> dict:
    return read_json_object(request, max_bytes=MAX_INPUT_BYTES)


def _run_answer(request, run: Run, status: int = 200) -> JsonResponse:
    answer = selectors.run_as_json(run)
    answer["url"] = request.build_absolute_uri(reverse("workflows_api:run", args=[run.pk]))
    return JsonResponse(answer, status=status)


@workflow_endpoint("POST")
def start_run(request, end_user, workflow_id: int):
    workflow = Workflow.objects.filter(pk=workflow_id).first()
    if workflow is None:
        raise ApiError(404, "unknown_workflow", f"There is no workflow {workflow_id}.")
    if not workflow.enabled:
        raise ApiError(409, "workflow_disabled", f"The workflow “{workflow.name}” is disabled.")
    body = _json_object(request)
    run = create_run(
        workflow=workflow, end_user=end_user, trigger=Run.Trigger.API, trigger_input=body.get("input")
    )
    return _run_answer(request, run, status=202)


@workflow_endpoint("GET")
def run_status(request, end_user, run_id: int):
    # Another user's run does not exist, as far as this caller can tell.
    run = Run.objects.filter(pk=run_id, end_user=end_user).select_related("workflow").first()
    if run is None:
        raise ApiError(404, "unknown_run", f"There is no run {run_id} of yours.")
    return _run_answer(request, run)


@workflow_endpoint("POST")
def send_event(request, end_user):
    body = _json_object(request)
    event_name = body.get("event")
    if not isinstance(event_name, str) or not event_name.strip() or len(event_name) > 100:
        raise ApiError(
            400, "invalid_input", "Give the event's name in 'event' (text, at most 100 characters)."
        )
    runs = triggers.start_event_runs(end_user=end_user, event_name=event_name, payload=body.get("payload"))
    return JsonResponse(
        {
            "event": event_name,
            "runs": [
                {
                    "id": run.pk,
                    "workflow": {"id": run.workflow_id, "name": run.workflow.name},
                    "status": run.status,
                    "url": request.build_absolute_uri(reverse("workflows_api:run", args=[run.pk])),
                }
                for run in runs
            ],
        },
        status=202,
    )
