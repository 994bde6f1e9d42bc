"""`manage.py mcp --user <id>` through the official SDK's stdio client: a real subprocess speaking MCP on its
stdin/stdout, reading the test database and reaching the sandbox over HTTP (a live server), as it would Sage."""

import asyncio
import json
import sys
from pathlib import Path

import pytest
from django.conf import settings
from mcp import Client, StdioServerParameters

from api.models import RequestLog
from tests.processes import database_url

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]


def stdio_parameters(end_user_id: int, live_server) -> StdioServerParameters:
    return StdioServerParameters(
        command=sys.executable,
        args=[str(ROOT / "manage.py"), "mcp", "--user", str(end_user_id)],
        cwd=str(ROOT),
        env={
            "PATH": "/usr/bin:/bin",
            "SECRET_KEY": settings.SECRET_KEY,
            "SAGEINT_ENCRYPTION_KEYS": ",".join(settings.SAGEINT_ENCRYPTION_KEYS),
            "SAGEINT_USER_TOKEN_SECRET": settings.SAGEINT_USER_TOKEN_SECRET,
            "DATABASE_URL": database_url(),
            "SAGE_SANDBOX_ENABLED": "1",
            "SAGE_SANDBOX_URL": f"{live_server.url}/sandbox",
            "SAGEINT_ENV_FILE": "/nonexistent",
            "LOG_LEVEL": "INFO",
        },
    )


@pytest.mark.parametrize("mode", ["auto", "legacy"])
def test_stdio_server_lists_and_runs_tools_for_its_end_user(
    live_server, seeded_sandbox, connected_end_user, mode
):
    parameters = stdio_parameters(connected_end_user.pk, live_server)

    async def session():
        async with Client(parameters, mode=mode) as client:
            tools = (await client.list_tools()).tools
            banks = await client.call_tool("list_bank_accounts", {"items_per_page": 2})
            refused = await client.call_tool("get_contact", {"id": "../../user"})
            return tools, banks, refused

    tools, banks, refused = asyncio.run(asyncio.wait_for(session(), timeout=120))

    assert len(tools) == 10
    assert not banks.is_error, banks.content
    assert len(banks.structured_content["items"]) == 2
    assert refused.is_error and json.loads(refused.content[0].text)["error"]["code"] == "invalid_input"
    row = RequestLog.objects.get()
    assert (row.end_user_id, row.source, row.tool, row.path) == (
        connected_end_user.pk,
        "mcp",
        "list_bank_accounts",
        "/bank_accounts",
    )


def test_stdio_command_refuses_an_unknown_end_user(db):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="no end user with id 424242"):
        call_command("mcp", user=424242)
