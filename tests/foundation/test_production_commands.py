"""The README's production section, run as written on a fresh clone with production settings (DEBUG off) on
PostgreSQL + Redis: web, worker and beat start, stay up, and a periodic task really fires."""

import os
import re
import shlex
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings

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


def readme_production_commands() -> list[list[str]]:
    """Every command of the README's production section, in order, without comments."""
    readme = (Path(settings.BASE_DIR) / "README.md").read_text()
    section = readme.split("## Production deployment", 1)[1].split("\n## ", 1)[0]
    return [
        shlex.split(line, comments=True)
        for block in re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)
        for line in block.strip().splitlines()
    ]


def by_role(commands: list[list[str]]) -> dict[str, list]:
    """Preparation steps (manage.py, except the interactive createsuperuser) and the three processes."""
    roles: dict[str, list] = {"prepare": []}
    for command in commands:
        if "manage.py" in command[1:2] and command[2] != "createsuperuser":
            roles["prepare"].append(command)
        elif command[0].endswith("gunicorn"):
            roles["web"] = command
        elif command[:3] == [".venv/bin/celery", "-A", "sageint"] and command[3] in ("worker", "beat"):
            roles[command[3]] = command
    return roles


def test_readme_names_the_production_steps_and_processes():
    roles = by_role(readme_production_commands())
    assert [command[2] for command in roles["prepare"]] == ["migrate", "collectstatic"]
    assert {"web", "worker", "beat"} <= set(roles), roles


def as_run_here(command: list[str], port: int) -> list[str]:
    """The README's command with this run's virtualenv and a free port instead of 8000."""
    command = [
        str(VENV / part.removeprefix(".venv/")) if part.startswith(".venv/") else part for part in command
    ]
    return [part.replace("0.0.0.0:8000", f"127.0.0.1:{port}") for part in command]


@pytest.mark.services
def test_readme_production_commands_run_web_worker_and_beat(tmp_path):
    require_service(uses_postgresql(), "PostgreSQL (DATABASE_URL=postgres://…)")
    require_service(uses_redis_broker(), "A Redis broker (CELERY_BROKER_URL=redis://…)")
    roles = by_role(readme_production_commands())
    checkout = fresh_checkout(tmp_path / "checkout")
    port = free_port()
    with throwaway_postgres_database(os.environ["DATABASE_URL"]) as database_url:
        env = clean_env(
            DEBUG="0",
            SECRET_KEY="smoke-test-secret-key-" + uuid.uuid4().hex,
            ALLOWED_HOSTS="127.0.0.1",
            SITE_URL=f"http://127.0.0.1:{port}",
            DATABASE_URL=database_url,
            CELERY_BROKER_URL=os.environ["CELERY_BROKER_URL"],
            # Its own queue: the service run's test worker consumes the default one on the same Redis database.
            CELERY_TASK_DEFAULT_QUEUE=f"smoke-{uuid.uuid4().hex[:8]}",
            SAGEINT_ENCRYPTION_KEYS="c21va2UtdGVzdC1lbmNyeXB0aW9uLWtleS0zMi1ieXQ=",
            SAGEINT_HEARTBEAT_SECONDS="1",
        )
        for step in roles["prepare"]:
            prepared = subprocess.run(
                as_run_here(step, port),
                cwd=checkout,
                env=env,
                capture_output=True,
                text=True,
                timeout=180,
            )
            assert prepared.returncode == 0, prepared.stdout[-2000:] + prepared.stderr[-2000:]

        processes = {}
        try:
            for name in ("web", "worker", "beat"):
                log_path = tmp_path / f"{name}.log"
                processes[name] = (
                    start(as_run_here(roles[name], port), cwd=checkout, env=env, log_path=log_path),
                    log_path,
                )
            deadline = time.monotonic() + 120
            assert wait_for_http(f"http://127.0.0.1:{port}/accounts/login/", deadline, processes) == 200
            wait_for_periodic_task(database_url, deadline, processes)
            assert_running(processes)
        finally:
            for process, _ in processes.values():
                stop_process_group(process)
