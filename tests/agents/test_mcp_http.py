"""The MCP server at /mcp through the official SDK's own client over real HTTP (a live server), in both protocol
modes: the handshake, the tool list, every tool (the chain leaves the invoice PAID), isolation and auth."""

import asyncio
import json

import pytest
import requests
from mcp import Client
from mcp.client.streamable_http import create_mcp_http_client, streamable_http_client

from agents.models import ToolSettings
from api.models import RequestLog
from tests.agents.tool_scenario import run_tool_chain
from tests.fixtures_sage import connect_end_user_via_link

pytestmark = pytest.mark.django_db

MODES = ["auto", "legacy"]


class McpSession:
    """Runs one SDK client session in an event loop of its own, driven from the (sync) test."""

    def __init__(self, url: str, token: str, mode: str):
        self.url, self.token, self.mode = url, token, mode

    async def _with_client(self, work):
        http = create_mcp_http_client(headers={"Authorization": f"Bearer {self.token}"})
        async with http, Client(streamable_http_client(self.url, http_client=http), mode=self.mode) as client:
            return await work(client)

    def run(self, work):
        return asyncio.run(self._with_client(work))


def result_of(result):
    if result.is_error:
        return False, json.loads(result.content[0].text)["error"]
    return True, result.structured_content


@pytest.fixture
def mcp_url(live_server):
    return f"{live_server.url}/mcp"


@pytest.mark.parametrize("mode", MODES)
def test_handshake_lists_the_tools(mcp_url, connected_end_user, user_token_for, mode):
    session = McpSession(mcp_url, user_token_for(connected_end_user.external_id), mode)

    tools = session.run(lambda client: client.list_tools()).tools

    by_name = {tool.name: tool for tool in tools}
    assert len(by_name) == 10
    assert by_name["create_sales_invoice"].input_schema["required"] == ["contact_id", "date", "invoice_lines"]
    assert by_name["create_sales_invoice"].annotations.read_only_hint is False
    assert by_name["list_tax_rates"].annotations.read_only_hint is True


@pytest.mark.parametrize("mode", MODES)
def test_every_tool_over_mcp_leaves_the_invoice_paid(
    mcp_url, seeded_sandbox, connected_end_user, user_token_for, mode
):
    session = McpSession(mcp_url, user_token_for(connected_end_user.external_id), mode)

    async def chain(client):
        # The scenario is sync; each call goes back to this client's loop.
        loop = asyncio.get_running_loop()

        def call(name, arguments):
            future = asyncio.run_coroutine_threadsafe(client.call_tool(name, arguments), loop)
            return result_of(future.result(timeout=60))

        return await loop.run_in_executor(None, run_tool_chain, call)

    session.run(chain)

    rows = RequestLog.objects.filter(method="POST").order_by("id")
    assert [(row.source, row.tool, row.status_code) for row in rows] == [
        ("mcp", "create_contact", 201),
        ("mcp", "create_sales_invoice", 201),
        ("mcp", "record_customer_receipt", 201),
    ]
    assert all(row.end_user_id == connected_end_user.pk for row in RequestLog.objects.all())


@pytest.mark.parametrize("mode", MODES)
def test_bad_input_is_a_tool_error_listing_every_problem(mcp_url, connected_end_user, user_token_for, mode):
    session = McpSession(mcp_url, user_token_for(connected_end_user.external_id), mode)

    result = session.run(lambda client: client.call_tool("create_contact", {"name": "", "colour": "blue"}))

    succeeded, error = result_of(result)
    assert not succeeded and error["code"] == "invalid_input"
    paths = sorted(detail["path"] for detail in error["details"])
    assert paths == ["(input)", "(input)", "name"]
    assert not RequestLog.objects.exists()


def test_read_only_mode_hides_and_refuses_write_tools(mcp_url, connected_end_user, user_token_for):
    ToolSettings.objects.create(read_only=True)
    session = McpSession(mcp_url, user_token_for(connected_end_user.external_id), "auto")

    async def work(client):
        listed = {tool.name for tool in (await client.list_tools()).tools}
        refused = await client.call_tool("create_contact", {"name": "Ann", "contact_type_ids": ["CUSTOMER"]})
        return listed, refused

    listed, refused = session.run(work)
    assert "create_contact" not in listed and len(listed) == 7
    assert result_of(refused)[1]["code"] == "unknown_tool"
    assert not RequestLog.objects.exists()


def test_another_users_token_acts_for_that_user_only(
    mcp_url, seeded_sandbox, connected_end_user, user_token_for
):
    other = connect_end_user_via_link("company-user-77", sandbox_user="una")
    mine = McpSession(mcp_url, user_token_for(connected_end_user.external_id), "auto")
    theirs = McpSession(mcp_url, user_token_for(other.external_id), "auto")

    created = mine.run(
        lambda client: client.call_tool("create_contact", {"name": "Mine", "contact_type_ids": ["CUSTOMER"]})
    )
    contact_id = result_of(created)[1]["id"]
    seen = theirs.run(lambda client: client.call_tool("get_contact", {"id": contact_id}))

    assert result_of(seen) == (False, result_of(seen)[1]) and result_of(seen)[1]["code"] == "sage_error"
    assert list(RequestLog.objects.order_by("id").values_list("end_user_id", "tool")) == [
        (connected_end_user.pk, "create_contact"),
        (other.pk, "get_contact"),
    ]


def test_unconnected_user_gets_not_connected(mcp_url, connected_end_user, user_token_for):
    session = McpSession(mcp_url, user_token_for("nobody-connected"), "auto")

    result = session.run(lambda client: client.call_tool("list_tax_rates", {}))

    assert result_of(result)[1]["code"] == "not_connected"


# --- authentication, Host and Origin: plain HTTP, as any client would see them ------------------------------

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"},
    },
}
JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}


@pytest.mark.parametrize("authorization", [None, "Bearer not-a-jwt", "Bearer ", "Basic dXNlcjpwdw=="])
def test_missing_or_bad_tokens_get_401_with_the_mcp_auth_headers(live_server, user_token_for, authorization):
    headers = {**JSON_HEADERS, **({"Authorization": authorization} if authorization else {})}
    response = requests.post(f"{live_server.url}/mcp", json=INITIALIZE, headers=headers, timeout=10)

    assert response.status_code == 401
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ")
    assert 'resource_metadata="' in challenge and "/.well-known/oauth-protected-resource/mcp" in challenge


def test_expired_and_foreign_tokens_get_401(live_server, user_token_for):
    for token in (
        user_token_for("company-user-42", expires_in=-120),
        user_token_for("x", secret="another-deployments-secret-0123456789abcdef"),
    ):
        headers = {**JSON_HEADERS, "Authorization": f"Bearer {token}"}
        response = requests.post(f"{live_server.url}/mcp", json=INITIALIZE, headers=headers, timeout=10)
        assert response.status_code == 401 and "WWW-Authenticate" in response.headers


def test_protected_resource_metadata_is_served(live_server, settings):
    response = requests.get(f"{live_server.url}/.well-known/oauth-protected-resource/mcp", timeout=10)

    assert response.status_code == 200
    assert response.json()["resource"] == f"{settings.SITE_URL}/mcp"


def test_a_foreign_origin_is_refused(live_server, user_token_for):
    headers = {
        **JSON_HEADERS,
        "Authorization": f"Bearer {user_token_for('u-1')}",
        "Origin": "http://evil.example",
    }
    response = requests.post(f"{live_server.url}/mcp", json=INITIALIZE, headers=headers, timeout=10)

    assert response.status_code == 403


def test_a_host_outside_allowed_hosts_is_refused(live_server, user_token_for):
    headers = {**JSON_HEADERS, "Authorization": f"Bearer {user_token_for('u-1')}", "Host": "evil.example"}
    response = requests.post(f"{live_server.url}/mcp", json=INITIALIZE, headers=headers, timeout=10)

    assert response.status_code in (400, 421)


def test_get_is_answered_405_at_once(live_server):
    response = requests.get(f"{live_server.url}/mcp", timeout=5)

    assert response.status_code == 405 and response.headers["Allow"] == "POST"


def test_the_sites_own_origin_is_accepted(live_server, connected_end_user, user_token_for):
    headers = {
        **JSON_HEADERS,
        "Authorization": f"Bearer {user_token_for(connected_end_user.external_id)}",
        "Origin": live_server.url,
    }
    response = requests.post(f"{live_server.url}/mcp", json=INITIALIZE, headers=headers, timeout=10)

    assert response.status_code == 200
    assert response.json()["result"]["serverInfo"]["name"] == "sageint"


def test_host_and_origin_rules_come_from_allowed_hosts(settings):
    from agents.mcp_server import transport_security

    settings.ALLOWED_HOSTS = ["api.example.com", ".example.org"]
    settings.SITE_URL = "https://api.example.com"

    exact = transport_security("api.example.com")
    assert exact.enable_dns_rebinding_protection
    assert {"api.example.com", "api.example.com:*"} <= set(exact.allowed_hosts)
    assert "https://api.example.com" in exact.allowed_origins

    # Django's subdomain pattern: the request's own host once Django accepts it, never a stranger.
    sub = transport_security("mcp.example.org")
    assert "mcp.example.org" in sub.allowed_hosts and "https://mcp.example.org" in sub.allowed_origins
    stranger = transport_security("evil.example.net")
    assert "evil.example.net" not in stranger.allowed_hosts
    assert not any("evil" in origin for origin in stranger.allowed_origins)
