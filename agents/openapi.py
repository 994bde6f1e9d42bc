"""The tools API in the OpenAPI document (api/openapi.py merges this in): both endpoints, every tool's input."""

from __future__ import annotations

from agents.catalogue import TOOLS
from api.openapi import error_answer as _error


def tools_paths() -> dict:
    schemas = {f"ToolInput_{name}": tool.input_schema for name, tool in TOOLS.items()}
    schemas["FunctionSpec"] = {
        "type": "object",
        "required": ["name", "description", "parameters"],
        "properties": {
            "name": {"type": "string"},
            "description": {"type": "string"},
            "parameters": {"type": "object", "description": "JSON Schema of the tool's input."},
        },
    }
    call = {
        "operationId": "tools_call",
        "summary": "Run one agent tool for the calling end user",
        "description": (
            "Validates the input against the tool's schema (400 `invalid_input` listing every error in "
            "`error.details`, before anything is sent to Sage), makes the tool's one Sage call through the proxy "
            "for the end user's connection and answers its trimmed output. Writes (create_contact, "
            "create_sales_invoice, record_customer_receipt) are sent once and never retried. Each run writes a "
            "request-log row naming the tool."
        ),
        "tags": ["tools"],
        "parameters": [
            {
                "name": "name",
                "in": "path",
                "required": True,
                "schema": {"type": "string", "enum": list(TOOLS)},
                "description": "The tool's name (only exposed tools can be run).",
            }
        ],
        "requestBody": {
            "required": True,
            "description": "The tool's arguments; the schema per tool is the one `GET /tools` gives.",
            "content": {
                "application/json": {
                    "schema": {
                        "oneOf": [{"$ref": f"#/components/schemas/ToolInput_{name}"} for name in TOOLS]
                    }
                }
            },
        },
        "responses": {
            "200": {
                "description": "The tool's output, trimmed to the fields a model needs and capped in size.",
                "content": {
                    "application/json": {
                        "schema": {"type": "object", "required": ["output"], "properties": {"output": {}}}
                    }
                },
            },
            "400": _error(
                "The input does not match the tool's schema (`invalid_input`, every error in `error.details`), "
                "the body is not JSON (`invalid_json`) or its Content-Length is not a number (`invalid_request`)."
            ),
            "403": _error("A session caller sent the call without a valid CSRF token (`csrf_failed`)."),
            "401": _error("Missing or bad user token (`unauthenticated`, `invalid_token`)."),
            "404": _error(
                "No exposed tool of that name (`unknown_tool`), or Sage not connected (`not_connected`)."
            ),
            "405": _error("Only POST runs a tool (`method_not_allowed`)."),
            "409": _error(
                "The connection must be connected again (`reconnect_required`), or Sage refused the connection's "
                "token or business (`sage_error`, Sage's 401)."
            ),
            "413": _error("Body larger than SAGEINT_PROXY_MAX_BODY_BYTES (`body_too_large`)."),
            "422": _error("Sage refused the call (`sage_error`; Sage's messages in `error.details`)."),
            "500": _error("sageint itself failed (`internal_error`); the details are in its log."),
            "502": _error("Sage could not be reached or failed (`sage_unavailable`, `sage_error`)."),
            "503": _error("The integration is switched off (`integration_disabled`)."),
            "504": _error("Sage did not answer in time (`sage_timeout`)."),
        },
    }
    listing = {
        "operationId": "tools_list",
        "summary": "The exposed agent tools, in the function-calling shape",
        "description": "Read-only mode and the tools an administrator disabled are left out.",
        "tags": ["tools"],
        "parameters": [],
        "responses": {
            "200": {
                "description": "The catalogue.",
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "tools": {
                                    "type": "array",
                                    "items": {"$ref": "#/components/schemas/FunctionSpec"},
                                }
                            },
                        }
                    }
                },
            },
            "401": _error("Missing or bad user token (`unauthenticated`, `invalid_token`)."),
            "405": _error("Only GET lists the tools (`method_not_allowed`)."),
            "500": _error("sageint itself failed (`internal_error`)."),
        },
    }
    return {"paths": {"/tools": {"get": listing}, "/tools/{name}": {"post": call}}, "schemas": schemas}
