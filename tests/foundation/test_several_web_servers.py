"""Several web servers on one PostgreSQL database: many calls at once on an expired token, spread over two
servers (separate processes, as on two machines), make Sage see exactly one refresh; every call is answered."""

import os
import subprocess
import sys
import threading
import time
import uuid

import psycopg
import pytest
import requests
from django.conf import settings

from tests.fixtures_sage import make_user_token
from tests.foundation.running import (
    VENV,
    clean_env,
    free_port,
    start,
    stop_process_group,
    throwaway_postgres_database,
    wait_for_http,
)
from tests.services import require_service, uses_postgresql

CALLS = 24
SUB = "two-servers"

CONNECT = f"""
import django
django.setup()
from datetime import timedelta
from django.conf import settings
from django.test.utils import setup_test_environment
from django.utils import timezone
from connections import http_session
from tests.fixtures_sage import InProcessSandboxAdapter, connect_end_user_via_link

setup_test_environment()  # the test client's host
http_session.mount(settings.SAGE_SANDBOX_URL + "/", InProcessSandboxAdapter())
connection = connect_end_user_via_link({SUB!r}).connection
connection.access_token_expires_at = timezone.now() - timedelta(minutes=1)
connection.save(update_fields=["access_token_expires_at"])
"""


@pytest.mark.services
def test_two_web_servers_share_one_refresh_on_postgresql(tmp_path):
    require_service(uses_postgresql(), "PostgreSQL (DATABASE_URL=postgres://…)")
    # Sage (the sandbox) on a server of its own, as Sage is: were it served by one of the two web servers, its
    # token endpoint could wait for a thread behind the very calls waiting for the refresh.
    sage_port, ports = free_port(), [free_port(), free_port()]
    with throwaway_postgres_database(os.environ["DATABASE_URL"]) as database_url:
        env = clean_env(
            DEBUG="0",
            SECRET_KEY="two-servers-" + uuid.uuid4().hex,
            SAGEINT_ENCRYPTION_KEYS=settings.SAGEINT_ENCRYPTION_KEYS[0],
            SAGEINT_USER_TOKEN_SECRET=settings.SAGEINT_USER_TOKEN_SECRET,
            ALLOWED_HOSTS="127.0.0.1,testserver",
            # Both web servers reach Sage (the sandbox on its own server) over real HTTP.
            SAGE_SANDBOX_URL=f"http://127.0.0.1:{sage_port}/sandbox",
            SAGE_SANDBOX_ENABLED="1",
            STATIC_MANIFEST="0",
            DATABASE_URL=database_url,
            SAGEINT_VAR_DIR=str(tmp_path / "var"),
            WEB_WORKERS="2",
            WEB_THREADS="8",
            PYTHONPATH=str(settings.BASE_DIR),
            DJANGO_SETTINGS_MODULE="sageint.settings",
        )
        for step in (["manage.py", "migrate", "--no-input"], ["-c", CONNECT]):
            done = subprocess.run(
                [sys.executable, *step],
                cwd=settings.BASE_DIR,
                env=env,
                capture_output=True,
                text=True,
                timeout=180,
            )
            assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]

        servers = {}
        try:
            for index, port in enumerate([*ports, sage_port]):
                log_path = tmp_path / f"web-{index}.log"
                command = [str(VENV / "bin" / "gunicorn"), "-c", "gunicorn.conf.py"]
                servers[f"web-{index}"] = (
                    start(
                        command,
                        cwd=settings.BASE_DIR,
                        env={**env, "WEB_BIND": f"127.0.0.1:{port}"},
                        log_path=log_path,
                    ),
                    log_path,
                )
            deadline = time.monotonic() + 60
            for port in [*ports, sage_port]:
                assert wait_for_http(f"http://127.0.0.1:{port}/healthz", deadline, servers) == 200

            token = make_user_token(SUB, expires_in=600)
            statuses: list[int] = []
            go = threading.Barrier(CALLS)

            def call(port: int) -> None:
                go.wait()
                answer = requests.get(
                    f"http://127.0.0.1:{port}/api/v1/proxy/sageaccounting/user",
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=60,
                )
                statuses.append(answer.status_code)

            callers = [threading.Thread(target=call, args=(ports[index % 2],)) for index in range(CALLS)]
            for caller in callers:
                caller.start()
            for caller in callers:
                caller.join(timeout=120)
        finally:
            for process, _ in servers.values():
                stop_process_group(process)

        logs = "\n".join(f"--- {name}\n{log.read_text()[-3000:]}" for name, (_, log) in servers.items())
        assert statuses == [200] * CALLS, f"{statuses}\n{logs}"
        with psycopg.connect(database_url) as db:
            kinds = db.execute(
                "SELECT e.kind, count(*) FROM connections_connectionevent e "
                "JOIN connections_enduser u ON u.id = e.end_user_id WHERE u.external_id = %s GROUP BY e.kind",
                [SUB],
            ).fetchall()
            status, refresh_count = db.execute(
                "SELECT c.status, c.refresh_count FROM connections_connection c "
                "JOIN connections_enduser u ON u.id = c.end_user_id WHERE u.external_id = %s",
                [SUB],
            ).fetchone()
        assert dict(kinds).get("refreshed") == 1, kinds
        assert "refresh_failed" not in dict(kinds)
        assert (status, refresh_count) == ("active", 1)
