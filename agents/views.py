"""The agent tools over HTTP: the catalogue in the function-calling shape, and one call per POST."""

from __future__ import annotations

import json
from collections.abc import Callable

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from agents import mcp_bridge, mcp_server, tool_calls
from api.auth import authenticate_end_user
from api.models import RequestLog
from api.views import ProxiedResponse, allowed_methods, api_endpoint, read_json_body


@api_endpoint
@allowed_methods("GET")
def tools_view(request):
    authenticate_end_user(request)
    return JsonResponse({"tools": [tool.function_spec() for tool in tool_calls.exposed_tools()]})


@api_endpoint
@allowed_methods("POST")
def tool_call_view(request, name: str):
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


@csrf_exempt
def mcp_view(request):
    """The MCP server (official SDK, stateless JSON) for this request; see agents/mcp_server.py."""
    if request.method == "GET" and request.path == mcp_server.MCP_PATH:
        # A stateless server has no stream to offer; answered here so no sync worker waits on one.
        response = HttpResponse("GET is not served: this MCP server answers POSTs with JSON.", status=405)
        response["Allow"] = "POST"
        return response
    limit = settings.SAGEINT_PROXY_MAX_BODY_BYTES
    body = request.read(limit + 1)  # the SDK refuses a body over the limit with 413
    server, app = mcp_server.http_app(request_host=request.get_host(), source=RequestLog.Source.MCP)
    status, headers, content = mcp_bridge.serve_once(
        server, app, mcp_bridge.asgi_scope(request, path=request.path), body
    )
    response = HttpResponse(content, status=status)
    for name, value in headers:
        if name.lower() not in (b"content-length", b"transfer-encoding", b"connection"):
            response[name.decode("latin-1")] = value.decode("latin-1")
    return response
