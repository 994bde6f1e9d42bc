"""Real Celery sync workers for the service run: started on a queue of their own, against the live server's sandbox
and the test database, and stopped afterwards."""

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from sageint.celery import app
from tests.processes import database_url, stop
from tests.services import require_service, uses_postgresql, uses_redis_broker

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def sync_workers(live_server, settings, *, count: int, **environment: str) -> Iterator[str]:
    """Start `count` workers consuming a new sync queue (yielded); `environment` adds settings for them only.
    This process sends its sync steps to that queue and its Sage calls to the live server's sandbox, as they do."""
    require_service(uses_postgresql(), "PostgreSQL (DATABASE_URL=postgres://…)")
    require_service(uses_redis_broker(), "A Redis broker (CELERY_BROKER_URL=redis://…)")
    queue = f"records-test-{uuid.uuid4().hex[:8]}"
    settings.SITE_URL = live_server.url
    settings.SAGE_SANDBOX_URL = f"{live_server.url}/sandbox"
    settings.SAGE_SANDBOX_CALLBACK_URLS = [f"{live_server.url}/connect/sageaccounting/callback/"]
    settings.RECORDS_SYNC_QUEUE = queue
    env = {
        **os.environ,
        "SITE_URL": live_server.url,
        "SAGE_SANDBOX_URL": f"{live_server.url}/sandbox",
        "RECORDS_SYNC_QUEUE": queue,
        **environment,
        "DATABASE_URL": database_url(),
        "CONN_MAX_AGE": "0",
    }
    names = [f"records{number}-{queue}@localhost" for number in range(1, count + 1)]
    workers = [
        subprocess.Popen(
            [sys.executable, "scripts/test_worker.py", "-Q", queue, "-n", name],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        for name in names
    ]
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            answered = {name for reply in app.control.ping(destination=names, timeout=1.0) for name in reply}
            if answered == set(names):
                break
        else:
            pytest.fail(f"the {count} sync worker(s) did not start within 60 s")
        yield queue
    finally:
        stop(workers)
