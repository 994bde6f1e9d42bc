"""`manage.py mcp --user <end user id>`: the agent tools over MCP on stdin/stdout, acting for one end user.

For local use (an MCP client on the same machine starts this command). Whoever can run it can act for that end
user: it trusts the machine, not a token. Nothing but MCP messages is written to stdout (the SDK diverts stray
output to stderr).
"""

import anyio
from django.core.management.base import BaseCommand, CommandError
from mcp.server.stdio import stdio_server

from agents.mcp_server import build_server
from api.models import RequestLog
from connections.models import EndUser


class Command(BaseCommand):
    help = "Serve the agent tools over MCP on stdio for one end user (its id, as shown in the admin)."

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True, type=int, help="The EndUser id the tools act for.")

    def handle(self, *args, user: int, **options):
        if not EndUser.objects.filter(pk=user).exists():
            raise CommandError(f"There is no end user with id {user}.")
        server = build_server(end_user_id=lambda: user, source=RequestLog.Source.MCP)

        async def serve() -> None:
            async with stdio_server() as (read_stream, write_stream):
                await server.run(read_stream, write_stream, server.create_initialization_options())

        anyio.run(serve)
