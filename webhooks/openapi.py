"""The webhook payloads in the OpenAPI document (its 3.1 `webhooks` section; api/openapi.py merges this in): one
entry per event type with the schema of its JSON body and an example. The connection and sync run inside a payload
are the management API's own schemas (`Connection`, `SyncRun`), since the same code writes both."""

from __future__ import annotations

import hashlib

from webhooks.models import EventType
from workflows.openapi import RUN_PROPERTIES

# When each event is sent (the README's table says the same).
WHEN = {
    EventType.CONNECTION_CREATED: "A user connected Sage for the first time (or again after disconnecting).",
    EventType.CONNECTION_RECONNECT_NEEDED: (
        "Sage stopped accepting the connection (access revoked, refresh token expired or refused, too many failed "
        "refreshes); `data.reason` says which."
    ),
    EventType.CONNECTION_RECOVERED: "The user connected again after `connection.reconnect_needed`.",
    EventType.CONNECTION_DISCONNECTED: (
        "The connection was removed (by the user, an admin, or `DELETE /connections/{connection_id}`)."
    ),
    EventType.SYNC_SUCCEEDED: "A sync of the user's Sage records (contacts, invoices, payments) finished.",
    EventType.SYNC_FAILED: "A sync failed; `data.sync_run.error` says which resource and why.",
    EventType.WORKFLOW_RUN_SUCCEEDED: "A workflow run for one of your users finished, every step done.",
    EventType.WORKFLOW_RUN_FAILED: (
        "A workflow run stopped on an error; `data.workflow_run.failed_step` and `error` say where and why."
    ),
}

_REF = "#/components/schemas/"
_BUSINESS = {
    "type": "object",
    "required": ["id", "name"],
    "properties": {"id": {"type": "string"}, "name": {"type": "string"}},
}
# What each event's `data` holds besides `end_user_id`.
_DATA = {
    EventType.CONNECTION_CREATED: {"connection": {"$ref": _REF + "Connection"}},
    EventType.CONNECTION_RECONNECT_NEEDED: {
        "connection": {"$ref": _REF + "Connection"},
        "reason": {
            "type": "string",
            "description": "Why Sage refused; also the connection's `reconnect_reason`.",
        },
    },
    EventType.CONNECTION_RECOVERED: {"connection": {"$ref": _REF + "Connection"}},
    EventType.CONNECTION_DISCONNECTED: {
        "connection": {"type": "null", "description": "Gone with the disconnection."},
        "business": {**_BUSINESS, "description": "The business the connection was using."},
    },
    EventType.SYNC_SUCCEEDED: {"sync_run": {"$ref": _REF + "SyncRun"}},
    EventType.SYNC_FAILED: {"sync_run": {"$ref": _REF + "SyncRun"}},
    EventType.WORKFLOW_RUN_SUCCEEDED: {"workflow_run": {"$ref": _REF + "WebhookWorkflowRun"}},
    EventType.WORKFLOW_RUN_FAILED: {"workflow_run": {"$ref": _REF + "WebhookWorkflowRun"}},
}

_CONNECTION = {
    "id": 17,
    "end_user_id": "customer-42",
    "end_user_name": "Ann Example",
    "state": "active",
    "reconnect_reason": None,
    "business": {"id": "6a1f0b2c", "name": "Sandbox Trading Ltd"},
    "businesses": [
        {"id": "6a1f0b2c", "name": "Sandbox Trading Ltd"},
        {"id": "9c3e4d5f", "name": "Sandbox Services Ltd"},
    ],
    "sage_user": {"id": "d41d8cd9", "email": "sam@example.com", "name": "Sam Sandbox"},
    "scopes": "full_access",
    "connected_at": "2026-11-29T10:15:02.101000Z",
    "updated_at": "2026-11-29T10:15:02.101000Z",
    "last_used_at": None,
    "last_refreshed_at": "2026-11-29T10:15:02.101000Z",
    "last_error": None,
    "sync": {"last_run": None, "next_sync_at": None},
}
_REASON = (
    "Sage refused the stored authorization (invalid_grant): it was revoked, replaced or unused for too long. "
    "Connect again."
)
_SYNC_RUN = {
    "id": 311,
    "kind": "incremental",
    "trigger": "schedule",
    "status": "succeeded",
    "business": {"id": "6a1f0b2c", "name": "Sandbox Trading Ltd"},
    "progress": {"pages_done": 3, "pages_total": 3, "percent": 100},
    "created": 2,
    "updated": 5,
    "deleted": 0,
    "error": None,
    "created_at": "2026-12-01T09:00:00.004000+00:00",
    "started_at": "2026-12-01T09:00:00.120000+00:00",
    "finished_at": "2026-12-01T09:00:01.960000+00:00",
    "duration_ms": 1840,
}
_WORKFLOW_RUN = {
    "id": 118,
    "workflow": {"id": 1, "name": "Invoice and collect payment"},
    "status": "succeeded",
    "trigger": "api",
    "event": None,
    "error": None,
    "retry_of": None,
    "created_at": "2027-01-06T09:00:00.512000+00:00",
    "started_at": "2027-01-06T09:00:00.730000+00:00",
    "finished_at": "2027-01-06T09:00:03.044000+00:00",
    "failed_step": None,
    "duration_ms": 2314,
}


def _example(event_type: str, timestamp: str, data: dict) -> dict:
    return {
        "id": "evt_"
        + hashlib.sha256(event_type.encode()).hexdigest()[:32],  # a made-up id, different per example
        "type": event_type,
        "timestamp": timestamp,
        "data": {"end_user_id": "customer-42", **data},
    }


EXAMPLES = {
    EventType.CONNECTION_CREATED: _example(
        "connection.created", "2026-11-29T10:15:02.123456Z", {"connection": _CONNECTION}
    ),
    EventType.CONNECTION_RECONNECT_NEEDED: _example(
        "connection.reconnect_needed",
        "2026-12-30T08:00:11.000000Z",
        {
            "connection": {**_CONNECTION, "state": "reconnect_required", "reconnect_reason": _REASON},
            "reason": _REASON,
        },
    ),
    EventType.CONNECTION_RECOVERED: _example(
        "connection.recovered", "2026-12-30T09:12:40.000000Z", {"connection": _CONNECTION}
    ),
    EventType.CONNECTION_DISCONNECTED: _example(
        "connection.disconnected",
        "2027-01-05T17:30:00.000000Z",
        {"connection": None, "business": {"id": "6a1f0b2c", "name": "Sandbox Trading Ltd"}},
    ),
    EventType.SYNC_SUCCEEDED: _example(
        "sync.succeeded", "2026-12-01T09:00:01.961000Z", {"sync_run": _SYNC_RUN}
    ),
    EventType.SYNC_FAILED: _example(
        "sync.failed",
        "2026-12-01T09:15:02.310000Z",
        {
            "sync_run": {
                **_SYNC_RUN,
                "id": 312,
                "status": "failed",
                "progress": {"pages_done": 2, "pages_total": 3, "percent": 67},
                "created": 0,
                "updated": 1,
                "error": "contacts: Sage answered HTTP 500: Internal Server Error",
                "created_at": "2026-12-01T09:15:00.002000+00:00",
                "started_at": "2026-12-01T09:15:00.090000+00:00",
                "finished_at": "2026-12-01T09:15:02.300000+00:00",
                "duration_ms": 2210,
            }
        },
    ),
    EventType.WORKFLOW_RUN_SUCCEEDED: _example(
        "workflow_run.succeeded", "2027-01-06T09:00:03.050000Z", {"workflow_run": _WORKFLOW_RUN}
    ),
    EventType.WORKFLOW_RUN_FAILED: _example(
        "workflow_run.failed",
        "2027-01-06T09:00:03.050000Z",
        {
            "workflow_run": {
                **_WORKFLOW_RUN,
                "status": "failed",
                "error": "Step 'record_payment' failed: Sage answered 422: Bank account is closed",
                "failed_step": "record_payment",
            }
        },
    ),
}

_HEADERS = [
    {
        "name": "webhook-id",
        "in": "header",
        "required": True,
        "description": "The event id (`id` of the body), the same on every retry: use it to ignore duplicates.",
        "schema": {"type": "string"},
    },
    {
        "name": "webhook-timestamp",
        "in": "header",
        "required": True,
        "description": "Unix seconds of this attempt.",
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    },
    {
        "name": "webhook-signature",
        "in": "header",
        "required": True,
        "description": 'Standard Webhooks: `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` with the endpoint\'s '
        "secret; two, space-separated, during a rotation's overlap.",
        "schema": {"type": "string"},
    },
]


def schema_name(event_type: str) -> str:
    """`connection.reconnect_needed` → `ConnectionReconnectNeededEvent`."""
    words = event_type.replace(".", "_").split("_")
    return "".join(word.capitalize() for word in words) + "Event"


def _event_schema(event_type: str) -> dict:
    data = _DATA[event_type]
    return {
        "type": "object",
        "description": WHEN[event_type],
        "required": ["id", "type", "timestamp", "data"],
        "properties": {
            "id": {"type": "string", "pattern": "^evt_[0-9a-f]{32}$"},
            "type": {"const": event_type},
            "timestamp": {"type": "string", "format": "date-time", "description": "When it happened."},
            "data": {
                "type": "object",
                "required": ["end_user_id", *data],
                "properties": {
                    "end_user_id": {
                        "type": "string",
                        "description": "Your user's id (the `sub` of user tokens).",
                    },
                    **data,
                },
            },
        },
    }


def _webhook(event_type: str) -> dict:
    return {
        "post": {
            "operationId": f"webhook_{event_type.replace('.', '_')}",
            "summary": WHEN[event_type],
            "tags": ["webhooks"],
            "parameters": _HEADERS,
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {"$ref": _REF + schema_name(event_type)},
                        "example": EXAMPLES[event_type],
                    }
                },
            },
            "responses": {
                "2XX": {
                    "description": "Delivered. Anything else, or no answer within WEBHOOK_READ_TIMEOUT_SECONDS, is "
                    "retried (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h); redirects are not followed."
                }
            },
        }
    }


def webhook_document() -> dict:
    schemas = {schema_name(event_type): _event_schema(event_type) for event_type in EventType.values}
    schemas["WebhookWorkflowRun"] = {
        "type": "object",
        "description": "The run as GET /workflows/runs/{run_id} gives it, without the steps' requests and answers.",
        "required": [*RUN_PROPERTIES, "failed_step", "duration_ms"],
        "properties": {
            **RUN_PROPERTIES,
            "failed_step": {"type": ["string", "null"], "description": "The key of the step that failed."},
            "duration_ms": {"type": ["integer", "null"]},
        },
    }
    return {
        "webhooks": {event_type: _webhook(event_type) for event_type in EventType.values},
        "schemas": schemas,
    }
