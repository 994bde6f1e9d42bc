"""The API description (OpenAPI 3.1) of the proxy and the management API, served at /api/v1/openapi.json."""

from __future__ import annotations

from django.conf import settings

_ERROR = {"$ref": "#/components/schemas/Error"}

# Other apps add their endpoints here (agents: the tools API), so this module needs no import of them.
_EXTRA_PATHS: list = []


def register_paths(describe) -> None:
    """`describe()` → {"paths": {...}, "schemas": {...}, "webhooks": {...}}, merged into the document on every
    build."""
    if describe not in _EXTRA_PATHS:
        _EXTRA_PATHS.append(describe)


def error_answer(description: str) -> dict:
    """An error response of the API's one shape; the description names its codes in backquotes."""
    return {"description": description, "content": {"application/json": {"schema": _ERROR}}}


_error = error_answer


def _operation(method: str) -> dict:
    operation = {
        "operationId": f"proxy_{method}",
        "summary": f"{method.upper()} any Sage Accounting v3.1 endpoint for the calling end user",
        "tags": ["proxy"],
        "parameters": [
            {"$ref": "#/components/parameters/SagePath"},
            {"$ref": "#/components/parameters/Query"},
            {"$ref": "#/components/parameters/XBusiness"},
        ],
        "responses": {
            "default": {
                "description": (
                    "Sage's answer, passed through unchanged: its status code, its body (JSON, or bytes such as a "
                    "PDF when asked with `Accept: application/pdf`) and the headers Content-Type, Retry-After, "
                    "Location, Content-Disposition and X-Business. Sage's own errors are a JSON array "
                    '`[{"$severity", "$dataCode", "$message", "$source"}]`. X-Sageint-Attempts says how many '
                    "HTTP attempts the proxy made."
                ),
                "content": {"*/*": {"schema": {}}},
            },
            "400": _error(
                "Unsafe path (`invalid_path`), a body that is not JSON (`invalid_json`) or a Content-Length that "
                "is not a number (`invalid_request`)."
            ),
            "401": _error(
                "Missing, malformed, expired or badly signed user token (`unauthenticated`, `invalid_token`)."
            ),
            "403": _error(
                "X-Business names a business that is not one of the connection's (`business_not_allowed`; "
                "nothing was sent), or a session caller sent a write without a valid CSRF token "
                "(`csrf_failed`)."
            ),
            "404": _error(
                "This end user has not connected Sage (`not_connected`), or the integration in the URL is not "
                "`sageaccounting` (`unknown_integration`)."
            ),
            "405": _error("Method not proxied (`method_not_allowed`)."),
            "409": _error("The connection must be connected again (`reconnect_required`)."),
            "413": _error("Request body larger than SAGEINT_PROXY_MAX_BODY_BYTES (`body_too_large`)."),
            "500": _error("sageint itself failed (`internal_error`); the details are in its log."),
            "502": _error("Sage could not be reached (`sage_unavailable`)."),
            "503": _error(
                "The administrator switched the Sage integration off (`integration_disabled`). Sage's own 503 "
                "(a JSON array) passes through as described under `default`."
            ),
            "504": _error("Sage did not answer in time (`sage_timeout`)."),
        },
    }
    if method in ("post", "put", "delete"):
        operation["requestBody"] = {
            "required": method != "delete",
            "description": 'Sage\'s JSON body, sent on unchanged, e.g. `{"sales_invoice": {...}}`.',
            "content": {"application/json": {"schema": {}}},
        }
        operation["description"] = "Never re-sent automatically: a write reaches Sage at most once per call."
    else:
        operation["description"] = (
            "Retried with backoff on 5xx and connection errors; 429 honours Retry-After up to a cap."
        )
    return operation


_KEY_ERRORS = {
    "401": _error("Missing, unknown or revoked project API key (`unauthenticated`, `invalid_api_key`)."),
    "405": _error("Method not offered on this path (`method_not_allowed`)."),
    "500": _error("sageint itself failed (`internal_error`); the details are in its log."),
}
_CONNECTION_ID = {
    "name": "connection_id",
    "in": "path",
    "required": True,
    "description": (
        "The connection's `id` (in every connection this API and the webhooks give). Find a user's with "
        "`GET /connections?end_user_id=…`: end user ids may hold `/` and other characters a path cannot carry."
    ),
    "schema": {"type": "integer", "minimum": 1},
}
_UNKNOWN_CONNECTION = _error(
    "No connection has this id: it was disconnected, the id is wrong, or it is not a connection id "
    "(`unknown_connection`)."
)


def json_answer(schema_name: str, description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_name}"}}},
    }


def management_operation(operation_id: str, summary: str, responses: dict, **extra) -> dict:
    return {
        "operationId": operation_id,
        "summary": summary,
        "tags": ["management"],
        "security": [{"projectKey": []}],
        "parameters": extra.pop("parameters", []),
        "responses": {**responses, **_KEY_ERRORS},
        **extra,
    }


def _management_paths() -> dict:
    return {
        "/connections": {
            "get": management_operation(
                "list_connections",
                "List your users' Sage connections, oldest first, a page at a time",
                {
                    "200": json_answer(
                        "ConnectionPage", "One page; pass `next_cursor` as `cursor` for the next."
                    ),
                    "400": _error("A filter, limit or cursor that cannot be used (`invalid_request`)."),
                },
                parameters=[
                    {
                        "name": "state",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string", "enum": ["active", "reconnect_required"]},
                    },
                    {
                        "name": "end_user_id",
                        "in": "query",
                        "required": False,
                        "description": "Only this user's connection (at most one): any characters, URL-encoded.",
                        "schema": {"type": "string"},
                    },
                    {
                        "name": "updated_since",
                        "in": "query",
                        "required": False,
                        "description": "ISO 8601 time: connections whose state, business or Sage user changed "
                        "since then (token refreshes are not changes). Without a zone, UTC.",
                        "schema": {"type": "string", "format": "date-time"},
                    },
                    {
                        "name": "limit",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50},
                    },
                    {"name": "cursor", "in": "query", "required": False, "schema": {"type": "string"}},
                ],
            )
        },
        "/connections/{connection_id}": {
            "get": management_operation(
                "get_connection",
                "One connection: state, business, Sage user, last use, last error, sync status",
                {"200": json_answer("Connection", "The connection."), "404": _UNKNOWN_CONNECTION},
                parameters=[_CONNECTION_ID],
            ),
            "delete": management_operation(
                "disconnect",
                "Disconnect: revoke the authorization at Sage and delete the stored tokens",
                {
                    "200": json_answer(
                        "Disconnected", "Disconnected; `revoked_at_sage` says whether Sage confirmed."
                    ),
                    "404": _UNKNOWN_CONNECTION,
                },
                parameters=[_CONNECTION_ID],
            ),
        },
        "/connections/{connection_id}/syncs": {
            "post": management_operation(
                "start_sync",
                "Start a sync of the connection's Sage records now (contacts, sales invoices, payments)",
                {
                    "202": json_answer(
                        "SyncRun",
                        "Started: the run, queued for the workers. Follow it in the connection's `sync.last_run`; "
                        "`sync.succeeded` or `sync.failed` is sent when it ends.",
                    ),
                    "400": _error(
                        "A body that is not a JSON object (`invalid_json`) or a `full` that is not a boolean "
                        "(`invalid_request`)."
                    ),
                    "404": _UNKNOWN_CONNECTION,
                    "409": _error(
                        "Not started: a sync of this connection is still running (`sync_running`; one at a time), "
                        "the user must connect Sage again (`reconnect_required`), or no business is chosen yet "
                        "(`no_business`)."
                    ),
                    "413": _error("A body larger than 16 KiB (`body_too_large`)."),
                },
                parameters=[_CONNECTION_ID],
                requestBody={
                    "required": False,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SyncRequest"}}},
                },
            )
        },
        "/connect-links": {
            "post": management_operation(
                "create_connect_link",
                "A signed connect link for one of your users (HS256 with SAGEINT_USER_TOKEN_SECRET)",
                {
                    "201": json_answer("ConnectLink", "Send your user to `url` before `expires_at`."),
                    "400": _error(
                        "A body that is not a JSON object (`invalid_json`) or bad fields (`invalid_request`)."
                    ),
                    "413": _error("A body larger than 16 KiB (`body_too_large`)."),
                    "503": _error("SAGEINT_USER_TOKEN_SECRET is not set on this sageint (`not_configured`)."),
                },
                requestBody={
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/ConnectLinkRequest"}}
                    },
                },
            )
        },
    }


_DATE_TIME = {"type": ["string", "null"], "format": "date-time"}
_MANAGEMENT_SCHEMAS = {
    "Connection": {
        "type": "object",
        "required": [
            "id",
            "end_user_id",
            "end_user_name",
            "state",
            "reconnect_reason",
            "business",
            "businesses",
            "sage_user",
            "scopes",
            "connected_at",
            "updated_at",
            "last_used_at",
            "last_refreshed_at",
            "last_error",
            "sync",
        ],
        "properties": {
            "id": {
                "type": "integer",
                "description": "Addresses the connection in this API's paths; a user who disconnects and "
                "connects again gets a new one.",
            },
            "end_user_id": {"type": "string"},
            "end_user_name": {"type": "string"},
            "state": {"type": "string", "enum": ["active", "reconnect_required"]},
            "reconnect_reason": {"type": ["string", "null"]},
            "business": {
                "type": ["object", "null"],
                "properties": {"id": {"type": "string"}, "name": {"type": "string"}},
            },
            "businesses": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"id": {"type": "string"}, "name": {"type": "string"}},
                },
            },
            "sage_user": {
                "type": "object",
                "properties": {
                    "id": {"type": "string"},
                    "email": {"type": "string"},
                    "name": {"type": "string"},
                },
            },
            "scopes": {"type": "string"},
            "connected_at": _DATE_TIME,
            "updated_at": _DATE_TIME,
            "last_used_at": {**_DATE_TIME, "description": "Last call through the proxy for this user."},
            "last_refreshed_at": _DATE_TIME,
            "last_error": {
                "type": ["string", "null"],
                "description": "The last failed token refresh, if any.",
            },
            "sync": {
                "type": "object",
                "required": ["last_run", "next_sync_at"],
                "properties": {
                    "last_run": {
                        "oneOf": [{"$ref": "#/components/schemas/SyncRun"}, {"type": "null"}],
                        "description": "The latest sync run, running or finished; null before the first.",
                    },
                    "next_sync_at": {
                        **_DATE_TIME,
                        "description": "When the scheduled sync (every RECORDS_SYNC_INTERVAL_SECONDS) is next due; "
                        "null for a connection that must be connected again or never synced.",
                    },
                },
            },
        },
    },
    "SyncRequest": {
        "type": "object",
        "properties": {
            "full": {
                "type": "boolean",
                "default": False,
                "description": "Fetch everything again; otherwise only what changed since the last successful "
                "sync (the first sync of a business is always full).",
            }
        },
    },
    "SyncRun": {
        "type": "object",
        "required": [
            "id",
            "kind",
            "trigger",
            "status",
            "business",
            "progress",
            "created",
            "updated",
            "deleted",
            "error",
            "created_at",
            "started_at",
            "finished_at",
            "duration_ms",
        ],
        "properties": {
            "id": {"type": "integer"},
            "kind": {"type": "string", "enum": ["full", "incremental"]},
            "trigger": {
                "type": "string",
                "description": "What started it: `api`, `schedule`, `connected`, `business_switched`, `staff`, ….",
            },
            "status": {"type": "string", "enum": ["queued", "running", "succeeded", "failed"]},
            "business": {
                "type": "object",
                "required": ["id", "name"],
                "properties": {"id": {"type": "string"}, "name": {"type": "string"}},
            },
            "progress": {
                "type": "object",
                "required": ["pages_done", "pages_total", "percent"],
                "description": "Pages of Sage's lists fetched and to fetch (while running, a resource not "
                "started yet counts as one page).",
                "properties": {
                    "pages_done": {"type": "integer", "minimum": 0},
                    "pages_total": {"type": "integer", "minimum": 0},
                    "percent": {"type": "integer", "minimum": 0, "maximum": 100},
                },
            },
            "created": {"type": "integer", "description": "Records new to the mirror."},
            "updated": {"type": "integer"},
            "deleted": {"type": "integer", "description": "Records Sage no longer lists."},
            "error": {
                "type": ["string", "null"],
                "description": "Why it failed, per resource (`contacts: Sage answered HTTP 500: …`).",
            },
            "created_at": {"type": "string", "format": "date-time"},
            "started_at": _DATE_TIME,
            "finished_at": _DATE_TIME,
            "duration_ms": {"type": ["integer", "null"]},
        },
    },
    "ConnectionPage": {
        "type": "object",
        "required": ["data", "next_cursor"],
        "properties": {
            "data": {"type": "array", "items": {"$ref": "#/components/schemas/Connection"}},
            "next_cursor": {"type": ["string", "null"]},
        },
    },
    "Disconnected": {
        "type": "object",
        "required": ["id", "end_user_id", "disconnected", "revoked_at_sage"],
        "properties": {
            "id": {"type": "integer"},
            "end_user_id": {"type": "string"},
            "disconnected": {"type": "boolean"},
            "revoked_at_sage": {"type": "boolean"},
        },
    },
    "ConnectLinkRequest": {
        "type": "object",
        "required": ["end_user_id"],
        "properties": {
            "end_user_id": {"type": "string", "maxLength": 255},
            "name": {"type": "string", "description": "Shown on the connect page."},
            "email": {"type": "string"},
            "expires_in": {"type": "integer", "minimum": 60, "maximum": 604800, "default": 3600},
        },
    },
    "ConnectLink": {
        "type": "object",
        "properties": {
            "end_user_id": {"type": "string"},
            "url": {"type": "string", "format": "uri"},
            "expires_at": {"type": "string", "format": "date-time"},
        },
    },
}


def openapi_document(request=None) -> dict:
    document = _proxy_document()
    for describe in _EXTRA_PATHS:
        extra = describe()
        document["paths"].update(extra.get("paths", {}))
        document["components"]["schemas"].update(extra.get("schemas", {}))
        if extra.get("webhooks"):
            document.setdefault("webhooks", {}).update(extra["webhooks"])
    return document


def _proxy_document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "sageint API",
            "version": "1",
            "description": (
                "Call any Sage Accounting v3.1 endpoint on behalf of one of your users. sageint adds the user's "
                "access token (refreshed as needed) and X-Business, honours Sage's rate limits and never sends a "
                "write twice. Paths are relative to https://api.accounting.sage.com/v3.1/ and must be plain: "
                "segments of letters, digits, `_`, `-`, `~` and inner dots; no `..`, `.`, `//`, `\\`, `%`, "
                "schemes or control characters (refused with 400 before anything is sent). The management API "
                "(tag `management`, authenticated by a project API key created in the admin) lists and manages "
                "your users' connections. `webhooks` describes the signed events sageint POSTs to your endpoints "
                "(Standard Webhooks), each type with its body's schema and an example."
            ),
        },
        "servers": [{"url": f"{settings.SITE_URL}/api/v1"}],
        "security": [{"userToken": []}, {"session": []}],
        "paths": {
            "/proxy/sageaccounting/{path}": {
                method: _operation(method) for method in ("get", "head", "post", "put", "delete")
            },
            **_management_paths(),
        },
        "components": {
            "securitySchemes": {
                "projectKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A project API key (`sk_…`) created in the admin under Project API keys.",
                },
                "userToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": (
                        "A user token signed by your backend: claims `sub` (your user id) and `exp` required; "
                        "HS256 with SAGEINT_USER_TOKEN_SECRET or RS256 with the key in "
                        "SAGEINT_USER_TOKEN_PUBLIC_KEY. `sageint_sdk.mint_user_token` makes one."
                    ),
                },
                "session": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": settings.SESSION_COOKIE_NAME,
                    "description": "A logged-in browser session; writes also need the X-CSRFToken header.",
                },
            },
            "parameters": {
                "SagePath": {
                    "name": "path",
                    "in": "path",
                    "required": True,
                    "description": "The Sage path, which may hold slashes: `contacts`, `sales_invoices/{id}`.",
                    "schema": {"type": "string", "pattern": "^[A-Za-z0-9_~.-]+(/[A-Za-z0-9_~.-]+)*/?$"},
                    "example": "contacts",
                },
                "XBusiness": {
                    "name": "X-Business",
                    "in": "header",
                    "required": False,
                    "description": (
                        "Send this call to another of the Sage businesses the user connected (their ids are "
                        "in Sage's `/businesses`). Without it, the business chosen on the connect page is used; "
                        "a business that is not one of the connection's is refused with 403 "
                        "`business_not_allowed`."
                    ),
                    "schema": {"type": "string"},
                },
                "Query": {
                    "name": "query",
                    "in": "query",
                    "required": False,
                    "description": "Any query parameters, forwarded to Sage as given (e.g. `email`, `page`).",
                    "style": "form",
                    "explode": True,
                    "schema": {"type": "object", "additionalProperties": {"type": "string"}},
                },
            },
            "schemas": {
                **_MANAGEMENT_SCHEMAS,
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {
                            "type": "object",
                            "required": ["code", "message"],
                            "properties": {
                                "code": {"type": "string"},
                                "message": {"type": "string"},
                                "details": {
                                    "type": "array",
                                    "description": "Agent tools only: every input error, or Sage's errors.",
                                    "items": {"type": "object"},
                                },
                            },
                        }
                    },
                },
            },
        },
    }
