"""sageint's MCP server: the agent tool catalogue over the Model Context Protocol, with the official `mcp` SDK.

Streamable HTTP at /mcp is stateless with JSON answers, so any worker process can answer any request (no sticky
sessions, both protocol eras). It is served by a Django view under the WSGI server (see views_mcp.py and the
README's "How /mcp is served"). Callers authenticate with the same signed user tokens as the proxy; the token's
end user becomes the AccessToken's subject, and every tool call acts for that end user only. Host and Origin are
checked by the SDK against ALLOWED_HOSTS. stdio (`manage.py mcp --user <id>`) serves one end user.

Tools run as sync Django code through asgiref's sync_to_async: under the WSGI view that is the request's own
thread (the view drives the async side with async_to_sync), so database connections are the request's.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import urlsplit

import mcp_types as types
from asgiref.sync import sync_to_async
from django.conf import settings
from django.http.request import validate_host
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken, TokenVerifier
from mcp.server.auth.settings import AuthSettings
from mcp.server.lowlevel import Server
from mcp.server.transport_security import TransportSecuritySettings

from agents import tool_calls
from agents.catalogue import Tool
from api.errors import ApiError, status_and_code
from connections.end_users import decode_user_token, end_user_from_token
from connections.exceptions import InvalidUserToken, SageintError
from connections.models import EndUser

MCP_PATH = "/mcp"
INSTRUCTIONS = (
    "Tools acting in one user's Sage Accounting business. Look ids up with the search_/list_ tools before "
    "writing. Tools whose description starts with WRITES TO SAGE change the user's books and are never retried: "
    "if a write's answer is lost, check whether it happened before sending it again."
)


class UserTokenVerifier(TokenVerifier):
    """sageint's signed user tokens (the proxy's): the subject is the end user's id."""

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            end_user, claims = await sync_to_async(_end_user_and_claims)(token)
        except InvalidUserToken:
            return None
        return AccessToken(
            token=token,
            client_id="sageint-user-token",
            scopes=[],
            expires_at=int(claims["exp"]),
            subject=str(end_user.pk),
        )


def _end_user_and_claims(token: str) -> tuple[EndUser, dict]:
    return end_user_from_token(token), decode_user_token(token)


def mcp_tool(tool: Tool) -> types.Tool:
    return types.Tool(
        name=tool.name,
        description=tool.description,
        input_schema=tool.input_schema,
        annotations=types.ToolAnnotations(
            read_only_hint=not tool.writes,
            destructive_hint=False,  # the writes only add records
            idempotent_hint=not tool.writes,
            open_world_hint=True,
        ),
    )


def error_result(code: str, message: str, details: list | None = None) -> types.CallToolResult:
    error = {"code": code, "message": message, **({"details": details} if details is not None else {})}
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=json.dumps({"error": error}))],
        is_error=True,
    )


def _run_for(end_user_id: int, name: str, arguments: dict, source: str) -> dict:
    end_user = EndUser.objects.select_related("connection").get(pk=end_user_id)
    return tool_calls.call_tool(
        end_user=end_user,
        name=name,
        arguments=arguments,
        source=source,
        connection=getattr(end_user, "connection", None),
    )


def build_server(*, end_user_id: Callable[[], int | None], source: str) -> Server:
    """An MCP server for the exposed tools; `end_user_id()` says, per call, whom the call acts for."""

    async def list_tools(ctx, params) -> types.ListToolsResult:
        tools = await sync_to_async(tool_calls.exposed_tools)()
        return types.ListToolsResult(tools=[mcp_tool(tool) for tool in tools])

    async def call_tool(ctx, params: types.CallToolRequestParams) -> types.CallToolResult:
        user_id = end_user_id()
        if user_id is None:  # unreachable behind the token check; never act without an end user
            return error_result("unauthenticated", "No end user for this call.")
        try:
            output = await sync_to_async(_run_for)(user_id, params.name, params.arguments or {}, source)
        except ApiError as error:
            return error_result(error.code, error.message, error.details)
        except SageintError as error:
            mapped = status_and_code(error)
            if mapped is None:
                raise
            return error_result(mapped[1], getattr(error, "message", "") or str(error))
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=json.dumps(output))],
            structured_content=output,
        )

    return Server(
        "sageint",
        version="1",
        instructions=INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )


def end_user_from_access_token() -> int | None:
    access_token = get_access_token()
    return int(access_token.subject) if access_token and access_token.subject else None


def transport_security(request_host: str) -> TransportSecuritySettings:
    """Host and Origin allowed for /mcp, from ALLOWED_HOSTS.

    Exact names are passed to the SDK as they are (any port). Django's patterns the SDK cannot express
    (`.example.com`, `*`) are honoured by adding the request's own host once Django's validate_host accepted
    it; the origins allowed are then that host's own (same origin) and SITE_URL's.
    """
    hosts, origins = [], [_origin(settings.SITE_URL)]
    for allowed in settings.ALLOWED_HOSTS:
        if allowed == "*" or allowed.startswith("."):
            continue
        hosts += [allowed, f"{allowed}:*"]
        origins += [f"{scheme}://{allowed}{port}" for scheme in ("http", "https") for port in ("", ":*")]
    name = request_host.rsplit(":", 1)[0] if not request_host.endswith("]") else request_host
    if request_host and request_host not in hosts and validate_host(name, settings.ALLOWED_HOSTS):
        hosts.append(request_host)
        origins += [f"http://{request_host}", f"https://{request_host}"]
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins
    )


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def http_app(*, request_host: str, source: str):
    """The SDK's Streamable HTTP app (a Starlette app) for one request: stateless, JSON, user-token auth."""
    server = build_server(end_user_id=end_user_from_access_token, source=source)
    app = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        json_response=True,
        stateless_http=True,
        transport_security=transport_security(request_host),
        max_request_body_size=settings.SAGEINT_PROXY_MAX_BODY_BYTES,
        auth=AuthSettings(
            # User tokens are issued by the company's own backend; sageint is the resource server.
            issuer_url=settings.SITE_URL,
            resource_server_url=f"{settings.SITE_URL}{MCP_PATH}",
            required_scopes=[],
            # User tokens carry no audience: the verifier (signature, expiry, subject) decides.
            validate_token_resource=False,
        ),
        token_verifier=UserTokenVerifier(),
    )
    return server, app
