"""`make run` from a fresh clone starts web, worker and beat, they stay up, a periodic task really fires, and nothing
is written outside var/: on the embedded default, and on PostgreSQL + Redis (CI's service run). On the embedded
default the same development server also serves /mcp."""

import json
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from urllib.error import HTTPError

import pytest

from tests.fixtures_sage import make_user_token
from tests.foundation.running import (
    VENV,
    assert_running,
    clean_env,
    free_port,
    fresh_checkout,
    start,
    stop_process_group,
    throwaway_postgres_database,
    wait_for_http,
    wait_for_periodic_task,
)
from tests.services import require_service, uses_postgresql, uses_redis_broker

MCP_SECRET = "make-run-user-token-secret-0123456789abcdef"
LIST_TOOLS = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}


def run_make_run(tmp_path, **variables):
    """Start `make run` in a fresh checkout; yields (base_url, checkout, processes, env)."""
    checkout = fresh_checkout(tmp_path / "checkout")
    assert not (checkout / "var").exists() and not (checkout / ".env").exists()
    port = free_port()
    # The fast heartbeat stands in for every periodic task; DEBUG comes from the Makefile, as for a user.
    env = clean_env(SAGEINT_HEARTBEAT_SECONDS="1", **variables)
    log_path = tmp_path / "run.log"
    process = start(
        ["make", "--no-print-directory", "run", f"PORT={port}", f"VENV={VENV}"],
        cwd=checkout,
        env=env,
        log_path=log_path,
    )
    return f"http://127.0.0.1:{port}", checkout, {"make run": (process, log_path)}, env


def check_stack_runs(base_url, checkout, processes, env, database):
    deadline = time.monotonic() + 150
    assert wait_for_http(f"{base_url}/", deadline, processes) == 200
    assert wait_for_http(f"{base_url}/accounts/login/", deadline, processes) == 200
    output = processes["make run"][1].read_text()
    assert "username=demo" in output and "password=sageint-demo" in output
    # How to make a first API call: a connect link for customer-42 and the user-token command (README).
    assert f"{base_url}/connect/sageaccounting/?user_token=" in output
    assert "DEBUG=1 .venv/bin/python manage.py user_token customer-42" in output
    assert f"{base_url}/" in output

    wait_for_periodic_task(database, deadline, processes)
    ready = json.loads(urllib.request.urlopen(f"{base_url}/readyz", timeout=10).read())
    assert ready["status"] == "ok", ready

    # A task sent from another process is picked up by the worker that the run command started.
    sender = subprocess.run(
        [
            sys.executable,
            "-c",
            "from sageint.celery import ping; print(ping.delay('from-web').get(timeout=60))",
        ],
        cwd=checkout,
        env={**env, "DEBUG": "1"},
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert sender.stdout.strip() == "from-web", sender.stderr[-2000:]
    assert_running(processes)  # web, worker and beat still up (honcho stops all three when one exits)

    # Runtime state goes under var/ only (kombu's filesystem transport once left a control/ folder behind).
    written = {entry.name for entry in checkout.iterdir()} - top_level_in_git()
    assert written <= {"var"}, written


def top_level_in_git() -> set[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=VENV.parent,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return {name.split("/", 1)[0] for name in listed}


@pytest.fixture(scope="module")
def embedded_stack(tmp_path_factory):
    """One `make run` on the embedded default, shared by this module's tests (starting one takes most of a test's
    time); stopped after them, so its processes never run beside the rest of the suite."""
    base_url, checkout, processes, env = run_make_run(
        tmp_path_factory.mktemp("make-run"), SAGEINT_USER_TOKEN_SECRET=MCP_SECRET
    )
    try:
        yield base_url, checkout, processes, env
    finally:
        stop_process_group(processes["make run"][0])


def test_make_run_on_the_embedded_default(embedded_stack):
    base_url, checkout, processes, env = embedded_stack
    check_stack_runs(base_url, checkout, processes, env, checkout / "var" / "db.sqlite3")
    assert (checkout / "var" / "celery" / "control").is_dir()


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


def test_make_run_serves_the_mcp_server(embedded_stack):
    """`make run` (Django's development server, the embedded default) serves /mcp too: nothing else to start."""
    base_url, _checkout, processes, _env = embedded_stack
    assert wait_for_http(f"{base_url}/", time.monotonic() + 150, processes) == 200

    status, headers, _ = post_mcp(base_url, None)
    assert status == 401 and "resource_metadata" in headers.get("WWW-Authenticate", "")

    status, _, answer = post_mcp(base_url, make_user_token("make-run-user", secret=MCP_SECRET))
    assert status == 200
    assert len(answer["result"]["tools"]) == 10


@pytest.mark.services
def test_make_run_on_postgresql_and_redis(tmp_path):
    require_service(uses_postgresql(), "PostgreSQL (DATABASE_URL=postgres://…)")
    require_service(uses_redis_broker(), "A Redis broker (CELERY_BROKER_URL=redis://…)")
    with throwaway_postgres_database(os.environ["DATABASE_URL"]) as database_url:
        base_url, checkout, processes, env = run_make_run(
            tmp_path,
            DATABASE_URL=database_url,
            CELERY_BROKER_URL=os.environ["CELERY_BROKER_URL"],
            # Its own queue: the service run's test worker consumes the default one on the same Redis database.
            CELERY_TASK_DEFAULT_QUEUE=f"smoke-{uuid.uuid4().hex[:8]}",
        )
        try:
            check_stack_runs(base_url, checkout, processes, env, database_url)
            # Only the metrics files (shared by the processes of a machine) are written locally on PostgreSQL + Redis.
            assert {entry.name for entry in (checkout / "var").iterdir()} == {"metrics"}
        finally:
            stop_process_group(processes["make run"][0])
