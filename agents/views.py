"""The agent tools over HTTP: the catalogue in the function-calling shape, and one call per POST."""

from __future__ import annotations

import json
from collections.abc import Callable

from django.http import JsonResponse

from agents import tool_calls
from api.auth import authenticate_end_user
from api.errors import error_response
from api.models import RequestLog
from api.views import ProxiedResponse, api_endpoint, read_json_body


@api_endpoint
def tools_view(request):
    if request.method != "GET":
        return _method_not_allowed("GET")
    authenticate_end_user(request)
    return JsonResponse({"tools": [tool.function_spec() for tool in tool_calls.exposed_tools()]})


@api_endpoint
def tool_call_view(request, name: str):
    if request.method != "POST":
        return _method_not_allowed("POST")
    end_user = authenticate_end_user(request)
    body = read_json_body(request)
    arguments = json.loads(body) if body else {}
    deferred_log: list[Callable[[], None]] = []
    try:
        output = tool_calls.call_tool(
            end_user=end_user,
            name=name,
            arguments=arguments,
            source=RequestLog.Source.TOOLS,
            connection=getattr(end_user, "connection", None),
            defer_log=deferred_log.append,
        )
    except Exception:
        # Sage answered with an error (or its answer could not be read): the call still gets its log row.
        for write in deferred_log:
            write()
        raise
    # The request-log row is written once the answer is sent, as for proxied calls.
    return ProxiedResponse(
        json.dumps({"output": output}), content_type="application/json", after_send=deferred_log
    )


def _method_not_allowed(allowed: str) -> JsonResponse:
    response = error_response(405, "method_not_allowed", f"Use {allowed}.")
    response["Allow"] = allowed
    return response
