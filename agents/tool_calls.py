"""Running one agent tool for one end user: check it is exposed, validate its input, make its one Sage call
through connections.proxy (so path safety, refresh, X-Business, the retry rules and the request log are the
proxy's), then trim Sage's answer to what a model needs.

Writes are sent once: the proxy never re-sends a POST, and nothing here retries either.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from jsonschema import Draft202012Validator

from agents import trimming
from agents.catalogue import TOOLS, Tool
from agents.models import ToolSettings
from api.errors import ApiError
from connections import proxy
from connections.sage_client import sage_errors

_VALIDATORS = {
    name: Draft202012Validator(tool.input_schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    for name, tool in TOOLS.items()
}


class UnknownTool(ApiError):
    def __init__(self, name: str):
        super().__init__(404, "unknown_tool", f"There is no exposed tool named {name[:100]!r}.")


class InvalidToolInput(ApiError):
    """The arguments do not match the tool's input schema; `errors` lists every problem, nothing was sent."""

    def __init__(self, errors: list[dict]):
        self.errors = self.details = errors
        listed = "; ".join(f"{error['path']}: {error['message']}" for error in errors)
        super().__init__(400, "invalid_input", f"The input has {len(errors)} problem(s): {listed}")


class SageRefused(ApiError):
    """Sage answered the tool's call with an error; its messages (and the fields they name) are passed on."""

    def __init__(self, status: int, errors: list[dict]):
        self.sage_status = status
        self.errors = self.details = [
            {"message": str(error.get("$message", "")), "source": str(error.get("$source", "") or "")}
            for error in errors
        ]
        listed = "; ".join(
            f"{error['source']}: {error['message']}" if error["source"] else error["message"]
            for error in self.errors
        )
        super().__init__(_answer_status(status), "sage_error", f"Sage answered {status}: {listed}")


def _answer_status(sage_status: int) -> int:
    # Sage's 4xx are about the request (the model can correct it) and keep their status, except a 401: the
    # caller's own token was fine, so it must not read as "unauthenticated" (Sage refused the connection's
    # business or token: 409, like reconnect_required). Anything else is Sage failing: 502.
    if sage_status == 401:
        return 409
    return sage_status if 400 <= sage_status < 500 else 502


def exposed_tools() -> list[Tool]:
    tool_settings = ToolSettings.load()
    return [tool for name, tool in TOOLS.items() if tool_settings.exposes(name)]


def exposed_tool(name: str) -> Tool:
    if not ToolSettings.load().exposes(name):
        raise UnknownTool(name)
    return TOOLS[name]


def input_errors(tool: Tool, arguments) -> list[dict]:
    """Every way `arguments` breaks the tool's schema, as {"path", "message"}, in a stable order."""
    found = [
        {
            "path": "/".join(str(part) for part in error.absolute_path) or "(input)",
            "message": _short(error.message),
        }
        for error in _VALIDATORS[tool.name].iter_errors(arguments)
    ]
    return sorted(found, key=lambda error: (error["path"], error["message"]))


def _short(message: str, limit: int = 300) -> str:
    # jsonschema quotes the offending value: a 5,000-character string need not come back whole.
    return message if len(message) <= limit else message[: limit - 1] + "…"


def call_tool(
    *,
    end_user,
    name: str,
    arguments,
    source: str,
    connection=None,
    defer_log: Callable[[Callable[[], None]], None] | None = None,
) -> dict:
    """Run tool `name` for `end_user` and return its trimmed output.

    Raises UnknownTool (not exposed), InvalidToolInput (nothing sent), SageRefused (Sage's error answer), and
    whatever connections.proxy.request raises (NotConnected, ReconnectRequired, SageUnavailable, ...).
    """
    tool = exposed_tool(name)
    errors = input_errors(tool, arguments)
    if errors:
        raise InvalidToolInput(errors)
    call = tool.sage_call(arguments)
    response = proxy.request(
        end_user,
        call.path,
        method=call.method,
        params=call.params,
        json=call.json,
        source=source,
        tool=tool.name,
        connection=connection,
        defer_log=defer_log,
    )
    if response.status_code >= 400:
        raise SageRefused(response.status_code, sage_errors(response))
    return shape_output(tool, response.json())


def shape_output(tool: Tool, answer) -> dict:
    if tool.lists:
        items = answer.get("$items", []) if isinstance(answer, dict) else []
        output = {
            "items": trimming.project(items, tool.keep),
            "total": answer.get("$total"),
            "page": answer.get("$page"),
            "has_more": bool(answer.get("$next")),
        }
    else:
        output = trimming.project(answer, tool.keep)
    return trimming.cap(output, max_bytes=settings.SAGEINT_TOOL_OUTPUT_MAX_BYTES)
