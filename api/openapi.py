"""The proxy's API description (OpenAPI 3.1), served at /api/v1/openapi.json."""

from __future__ import annotations

from django.conf import settings

_ERROR = {"$ref": "#/components/schemas/Error"}


def _error(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": _ERROR}}}


def _operation(method: str) -> dict:
    operation = {
        "operationId": f"proxy_{method}",
        "summary": f"{method.upper()} any Sage Accounting v3.1 endpoint for the calling end user",
        "tags": ["proxy"],
        "parameters": [
            {"$ref": "#/components/parameters/SagePath"},
            {"$ref": "#/components/parameters/Query"},
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
            "403": _error("A session caller sent a write without a valid CSRF token (`csrf_failed`)."),
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


def openapi_document(request=None) -> dict:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "sageint proxy API",
            "version": "1",
            "description": (
                "Call any Sage Accounting v3.1 endpoint on behalf of one of your users. sageint adds the user's "
                "access token (refreshed as needed) and X-Business, honours Sage's rate limits and never sends a "
                "write twice. Paths are relative to https://api.accounting.sage.com/v3.1/ and must be plain: "
                "segments of letters, digits, `_`, `-`, `~` and inner dots; no `..`, `.`, `//`, `\\`, `%`, "
                "schemes or control characters (refused with 400 before anything is sent)."
            ),
        },
        "servers": [{"url": f"{settings.SITE_URL}/api/v1"}],
        "security": [{"userToken": []}, {"session": []}],
        "paths": {
            "/proxy/sageaccounting/{path}": {
                method: _operation(method) for method in ("get", "head", "post", "put", "delete")
            },
        },
        "components": {
            "securitySchemes": {
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
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {
                            "type": "object",
                            "required": ["code", "message"],
                            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
                        }
                    },
                }
            },
        },
    }
