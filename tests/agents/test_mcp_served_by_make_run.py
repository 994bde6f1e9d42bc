"""`make run` (Django's development server, the embedded default) serves /mcp too: nothing else to start."""

import json
import time
import urllib.request
from urllib.error import HTTPError

from tests.fixtures_sage import make_user_token
from tests.foundation.running import stop_process_group, wait_for_http
from tests.foundation.test_run_command import run_make_run

SECRET = "make-run-user-token-secret-0123456789abcdef"
LIST_TOOLS = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}


def post_mcp(base_url: str, token: str | None):
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": "2025-06-18",
    }
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        f"{base_url}/mcp", data=json.dumps(LIST_TOOLS).encode(), headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, json.loads(response.read())
    except HTTPError as error:
        return error.code, error.headers, None


def test_make_run_serves_the_mcp_server(tmp_path):
    base_url, _checkout, processes, _env = run_make_run(tmp_path, SAGEINT_USER_TOKEN_SECRET=SECRET)
    try:
        assert wait_for_http(f"{base_url}/", time.monotonic() + 150, processes) == 200

        status, headers, _ = post_mcp(base_url, None)
        assert status == 401 and "resource_metadata" in headers.get("WWW-Authenticate", "")

        status, _, answer = post_mcp(base_url, make_user_token("make-run-user", secret=SECRET))
        assert status == 200
        assert len(answer["result"]["tools"]) == 10
    finally:
        stop_process_group(processes["make run"][0])
