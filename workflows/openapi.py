"""The workflow API in the OpenAPI document (api/openapi.py merges this in): start a run, read it, send an event.

RUN_PROPERTIES is also the base of the workflow_run.* webhook payloads (webhooks/openapi.py)."""

from __future__ import annotations

from api.openapi import error_answer
from workflows.models import Run, StepRun

_DATE_TIME = {"type": ["string", "null"], "format": "date-time"}
_END_USER_AUTH = {
    "401": error_answer("Missing or bad user token (`unauthenticated`, `invalid_token`)."),
    "403": error_answer("A session caller sent a write without a valid CSRF token (`csrf_failed`)."),
    "500": error_answer("sageint itself failed (`internal_error`); the details are in its log."),
}
_BODY_ERRORS = {
    "400": error_answer(
        "A body that is not a JSON object (`invalid_json`), or input the workflow refuses (`invalid_input`)."
    ),
    "413": error_answer("A body larger than 256 KiB (`body_too_large`)."),
}

# A run as run_as_json gives it (workflows/selectors.py), steps and url aside.
RUN_PROPERTIES = {
    "id": {"type": "integer"},
    "workflow": {
        "type": "object",
        "required": ["id", "name"],
        "properties": {"id": {"type": "integer"}, "name": {"type": "string"}},
    },
    "status": {"type": "string", "enum": list(Run.Status.values)},
    "trigger": {"type": "string", "enum": list(Run.Trigger.values)},
    "event": {"type": ["string", "null"], "description": "The app event that started it, if one did."},
    "error": {"type": ["string", "null"]},
    "retry_of": {"type": ["integer", "null"], "description": "The failed run this one retries."},
    "created_at": {"type": "string", "format": "date-time"},
    "started_at": _DATE_TIME,
    "finished_at": _DATE_TIME,
}

_STEP_RUN = {
    "type": "object",
    "required": [
        "key",
        "status",
        "request",
        "response_status",
        "response",
        "attempts",
        "duration_ms",
        "reused",
        "error",
    ],
    "properties": {
        "key": {"type": "string"},
        "status": {"type": "string", "enum": list(StepRun.Status.values)},
        "request": {"description": "The request as sent to Sage (method, path, query, body)."},
        "response_status": {"type": ["integer", "null"]},
        "response": {"description": "Sage's answer (JSON)."},
        "attempts": {"type": "integer"},
        "duration_ms": {"type": ["integer", "null"]},
        "reused": {"type": "boolean", "description": "Done by the run this one retries; not sent again."},
        "error": {"type": ["string", "null"]},
    },
}


def _path_id(name: str, description: str) -> dict:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "integer"},
    }


def _operation(operation_id: str, summary: str, responses: dict, **extra) -> dict:
    return {
        "operationId": operation_id,
        "summary": summary,
        "tags": ["workflows"],
        "parameters": extra.pop("parameters", []),
        "responses": {
            **responses,
            **_END_USER_AUTH,
            "405": error_answer("Method not offered on this path (`method_not_allowed`)."),
        },
        **extra,
    }


def _json(schema_name: str, description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_name}"}}},
    }


def _request(schema: dict) -> dict:
    return {"required": False, "content": {"application/json": {"schema": schema}}}


def workflow_paths() -> dict:
    run_answer = "The run; `url` reads it again."
    return {
        "paths": {
            "/workflows/{workflow_id}/runs": {
                "post": _operation(
                    "start_workflow_run",
                    "Start a run of a workflow for the calling end user",
                    {
                        "202": _json("WorkflowRun", f"Queued. {run_answer}"),
                        **_BODY_ERRORS,
                        "404": error_answer("No workflow has this id (`unknown_workflow`)."),
                        "409": error_answer("The workflow is switched off (`workflow_disabled`)."),
                    },
                    parameters=[_path_id("workflow_id", "The workflow's id (in the admin).")],
                    requestBody=_request(
                        {
                            "type": "object",
                            "properties": {
                                "input": {"description": "The run's `{{ trigger.… }}` values (any JSON)."}
                            },
                        }
                    ),
                )
            },
            "/workflows/runs/{run_id}": {
                "get": _operation(
                    "get_workflow_run",
                    "A run of the calling end user: status and every step's request and answer",
                    {
                        "200": _json("WorkflowRun", run_answer),
                        "404": error_answer("No run of this end user has this id (`unknown_run`)."),
                    },
                    parameters=[_path_id("run_id", "The run's id (from the answer that started it).")],
                )
            },
            "/events": {
                "post": _operation(
                    "send_app_event",
                    "Send an app event: starts every enabled workflow listening to it, for the calling end user",
                    {
                        "202": _json("AppEventRuns", "The runs started (none when no workflow listens)."),
                        **_BODY_ERRORS,
                    },
                    requestBody={
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["event"],
                                    "properties": {
                                        "event": {"type": "string", "minLength": 1, "maxLength": 100},
                                        "payload": {
                                            "description": "The runs' `{{ trigger.… }}` values (any JSON)."
                                        },
                                    },
                                }
                            }
                        },
                    },
                )
            },
        },
        "schemas": {
            "WorkflowRun": {
                "type": "object",
                "required": [*RUN_PROPERTIES, "steps", "url"],
                "properties": {
                    **RUN_PROPERTIES,
                    "steps": {"type": "array", "items": _STEP_RUN},
                    "url": {"type": "string", "format": "uri"},
                },
            },
            "AppEventRuns": {
                "type": "object",
                "required": ["event", "runs"],
                "properties": {
                    "event": {"type": "string"},
                    "runs": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["id", "workflow", "status", "url"],
                            "properties": {
                                "id": RUN_PROPERTIES["id"],
                                "workflow": RUN_PROPERTIES["workflow"],
                                "status": RUN_PROPERTIES["status"],
                                "url": {"type": "string", "format": "uri"},
                            },
                        },
                    },
                },
            },
        },
    }
