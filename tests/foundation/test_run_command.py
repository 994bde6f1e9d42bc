"""`make run` really starts web, worker and beat on the embedded default, and stops cleanly."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, deadline: float, process: subprocess.Popen, log_path: Path) -> int:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the run command exited early:\n{log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.status
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer in time")


@pytest.fixture
def running_app(tmp_path):
    port = free_port()
    env = {
        k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "SECRET_KEY"}
    }
    env.update(
        {
            "DEBUG": "1",
            "PORT": str(port),
            "HOST": "127.0.0.1",
            "SAGEINT_VAR_DIR": str(tmp_path / "var"),  # not there yet, as on a fresh clone
            "CELERY_BROKER_URL": "filesystem://",
            "PYTHONUNBUFFERED": "1",
        }
    )
    log = (tmp_path / "run.log").open("w+")
    process = subprocess.Popen(
        ["make", "--no-print-directory", "run", f"PORT={port}"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so the whole tree can be stopped
    )
    try:
        yield f"http://127.0.0.1:{port}", env, Path(log.name), process
    finally:
        stop_process_group(process)
        log.close()


def stop_process_group(process: subprocess.Popen) -> None:
    """SIGTERM the whole tree (make, honcho, web, worker, beat); SIGKILL whatever is left after 20 s."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:  # already gone (e.g. it exited early)
        process.wait(timeout=10)
        return
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        process.poll()
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def test_run_serves_pages_prints_demo_users_and_runs_background_work(running_app):
    base_url, env, log_path, process = running_app
    deadline = time.monotonic() + 120
    assert wait_for_http(f"{base_url}/", deadline, process, log_path) == 200
    assert wait_for_http(f"{base_url}/accounts/login/", deadline, process, log_path) == 200

    output = log_path.read_text()
    assert "username=demo" in output and "password=sageint-demo" in output
    assert f"{base_url}/" in output

    # A task sent from another process is picked up by the worker that the run command started.
    sender = subprocess.run(
        [
            sys.executable,
            "-c",
            "from sageint.celery import ping; print(ping.delay('from-web').get(timeout=60))",
        ],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert sender.stdout.strip() == "from-web", sender.stderr[-2000:]
    assert process.poll() is None  # still serving
