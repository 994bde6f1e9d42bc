"""Helpers for the smoke tests that start sageint's real processes (make run, the README's production commands)."""

import contextlib
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
from django.conf import settings

VENV = Path(settings.BASE_DIR) / ".venv"

# Only these are passed on from the test run: the processes must configure themselves as a new user's would.
PASSED_ON = ("PATH", "HOME", "USER", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "TZ")


def clean_env(**variables: str) -> dict[str, str]:
    env = {name: os.environ[name] for name in PASSED_ON if name in os.environ}
    env.update(PYTHONUNBUFFERED="1", **variables)
    return env


def fresh_checkout(destination: Path) -> Path:
    """The project's files as a fresh clone has them (tracked and new, never ignored ones such as var/ or .env).

    The test run's own virtualenv is reused: the copies keep their modification times, and the requirements files are
    dated before the virtualenv's install stamp so `make` does not reinstall into it.
    """
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=settings.BASE_DIR,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = Path(settings.BASE_DIR) / name
        if source.is_file():  # deleted but not yet committed files are listed too
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    installed_at = (VENV / ".installed").stat().st_mtime - 1
    for stamp_input in ("requirements.txt", "requirements-dev.txt", "sdk/pyproject.toml"):
        os.utime(destination / stamp_input, (installed_at, installed_at))
    return destination


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(command: list[str], *, cwd: Path, env: dict[str, str], log_path: Path) -> subprocess.Popen:
    with log_path.open("w") as log:
        return subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so the whole tree can be stopped
        )


def stop_process_group(process: subprocess.Popen) -> None:
    """SIGTERM the whole tree; SIGKILL whatever is left after 20 s."""
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


def assert_running(processes: dict[str, tuple[subprocess.Popen, Path]]) -> None:
    for name, (process, log_path) in processes.items():
        if process.poll() is not None:
            raise AssertionError(f"{name} exited with {process.returncode}:\n{log_path.read_text()[-4000:]}")


def wait_for_http(url: str, deadline: float, processes: dict[str, tuple[subprocess.Popen, Path]]) -> int:
    while time.monotonic() < deadline:
        assert_running(processes)
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.status
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer in time")


@contextlib.contextmanager
def throwaway_postgres_database(base_url: str) -> Iterator[str]:
    """A new, empty database beside the service run's one (same server and credentials), dropped afterwards."""
    name = f"smoke_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{base_url.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(base_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def read_heartbeats(database: str | Path) -> dict[str, object]:
    """`health_heartbeat` rows of another process's database (a PostgreSQL URL or a SQLite file); {} before migrate."""
    query = "SELECT name, seen_at FROM health_heartbeat"
    try:
        if isinstance(database, Path):
            with contextlib.closing(sqlite3.connect(database, timeout=5)) as connection:
                return dict(connection.execute(query).fetchall())
        with psycopg.connect(database) as connection:
            return dict(connection.execute(query).fetchall())
    except (sqlite3.OperationalError, psycopg.errors.UndefinedTable):
        return {}


def wait_for_periodic_task(
    database: str | Path, deadline: float, processes: dict[str, tuple[subprocess.Popen, Path]]
) -> dict[str, object]:
    """Beat sent the heartbeat task and a worker ran it, twice over (so it is periodic, not a one-off)."""
    runs = set()
    while time.monotonic() < deadline:
        assert_running(processes)
        beats = read_heartbeats(database)
        if "worker" in beats and "beat" in beats:
            runs.add(beats["worker"])
            if len(runs) >= 2:
                return beats
        time.sleep(0.3)
    logs = "\n".join(f"--- {name}\n{log.read_text()[-3000:]}" for name, (_, log) in processes.items())
    raise AssertionError(f"the periodic heartbeat did not run twice in time (seen: {runs}):\n{logs}")
