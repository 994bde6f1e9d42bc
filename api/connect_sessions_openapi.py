"""The OpenAPI description of `POST /connect/sessions`, merged into /api/v1/openapi.json (api.openapi.register_paths)."""

from __future__ import annotations

from django.conf import settings

from api.openapi import error_answer as _error
from api.openapi import json_answer, management_operation

_REQUEST_EXAMPLE = {
    "end_user_id": "customer-42",
    "name": "Ann Example",
    "email": "ann@example.com",
    "allowed_origins": ["https://app.example.com"],
    "return_url": "https://app.example.com/settings/integrations",
    "auto_return": False,
}


def connect_session_paths() -> dict:
    lifetime = settings.SAGEINT_CONNECT_SESSION_SECONDS
    response_example = {
        "token": "cs_3q2-7wEXAMPLEonlyF0rmOfTheT0kenZ1xY8",
        "url": f"{settings.SITE_URL}/connect/sageaccounting/session/?token=cs_3q2-7wEXAMPLEonlyF0rmOfTheT0kenZ1xY8",
        "expires_at": "2026-01-31T12:10:00Z",
        "end_user_id": "customer-42",
        "allowed_origins": ["https://app.example.com"],
        "return_url": "https://app.example.com/settings/integrations",
        "auto_return": False,
    }
    operation = management_operation(
        "create_connect_session",
        "A short-lived, single-use connect session for one of your users (for connect.js or a full-page link)",
        {
            "201": json_answer(
                "ConnectSession", "Hand `token` to `Sageint.connect({token})`, or send the user to `url`."
            ),
            "400": _error(
                "A body that is not a JSON object (`invalid_json`), or a field that cannot be used "
                "(`invalid_request`: the message names it), e.g. an origin with a path, a return URL on another "
                "origin."
            ),
        },
        description=(
            f"The token is valid for {lifetime} seconds (SAGEINT_CONNECT_SESSION_SECONDS) and opens the connect "
            "portal once; sageint keeps only its SHA-256 hash. The portal reports its outcome with postMessage to "
            "each of `allowed_origins` by name (never `*`), and its **Back** button (or, with `auto_return`, the "
            "portal itself) sends the user to `return_url` with `sageint_status` (connected, disconnected, "
            "denied, error, expired, closed), `sageint_state`, `sageint_business_id` and `sageint_connection_id` added "
            "to its query."
        ),
        requestBody={
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"$ref": "#/components/schemas/ConnectSessionRequest"},
                    "examples": {
                        "popup": {"summary": "Connect from a settings page", "value": _REQUEST_EXAMPLE}
                    },
                }
            },
        },
    )
    operation["responses"]["201"]["content"]["application/json"]["examples"] = {
        "created": {"value": response_example}
    }
    operation["responses"]["400"]["content"]["application/json"]["examples"] = {
        "bad_origin": {
            "value": {
                "error": {
                    "code": "invalid_request",
                    "message": "'allowed_origins' must hold origins: scheme, host and optional port, such as "
                    "https://app.example.com or http://localhost:3000, with nothing after them (not even '/'); "
                    "'https://app.example.com/settings' is not one.",
                }
            }
        }
    }
    return {"paths": {"/connect/sessions": {"post": operation}}, "schemas": _SCHEMAS}


_SCHEMAS = {
    "ConnectSessionRequest": {
        "type": "object",
        "required": ["end_user_id", "allowed_origins", "return_url"],
        "additionalProperties": False,
        "properties": {
            "end_user_id": {"type": "string", "maxLength": 255, "description": "Your user's id."},
            "name": {"type": "string", "description": "Shown on the portal ('belongs to Ann Example')."},
            "email": {"type": "string", "description": "Shown when there is no name."},
            "allowed_origins": {
                "type": "array",
                "minItems": 1,
                "maxItems": 10,
                "items": {"type": "string", "examples": ["https://app.example.com", "http://localhost:3000"]},
                "description": "Origins (scheme, host, optional port; no path) of the pages that open the portal.",
            },
            "return_url": {
                "type": "string",
                "format": "uri",
                "maxLength": 2000,
                "description": "Where the user goes back to; an http(s) URL on one of `allowed_origins`.",
            },
            "auto_return": {
                "type": "boolean",
                "default": False,
                "description": "Send the user back (or close the popup) as soon as there is an outcome.",
            },
        },
    },
    "ConnectSession": {
        "type": "object",
        "properties": {
            "token": {"type": "string", "description": "Single use; shown only in this answer."},
            "url": {"type": "string", "format": "uri", "description": "The portal, opened with the token."},
            "expires_at": {"type": "string", "format": "date-time"},
            "end_user_id": {"type": "string"},
            "allowed_origins": {"type": "array", "items": {"type": "string"}},
            "return_url": {"type": "string", "format": "uri"},
            "auto_return": {"type": "boolean"},
        },
    },
}
