"""A Celery worker process of its own for workflow tests and benchmarks: its own queue, the test database this
process uses, and the sandbox served by this process's live server (over HTTP, as at Sage)."""

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

from tests.processes import database_url

ROOT = Path(__file__).resolve().parents[2]


def worker_environment(*, queue: str, sandbox_url: str) -> dict:
    return {
        **os.environ,
        # The database this process is using (the test database), so the worker sees its rows.
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "SAGE_SANDBOX_URL": sandbox_url,
        "SAGEINT_WORKFLOW_QUEUE": queue,
        "CONN_MAX_AGE": "0",
    }


def start_worker(*, queue: str, sandbox_url: str, name: str) -> subprocess.Popen:
    """`scripts/test_worker.py` consuming only `queue`, in a process group of its own (so it can be killed)."""
    return subprocess.Popen(
        [sys.executable, "scripts/test_worker.py", "-Q", queue, "-n", f"{name}@%h"],
        cwd=ROOT,
        env=worker_environment(queue=queue, sandbox_url=sandbox_url),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
