"""The README's production section, run as written on a fresh clone with production settings (DEBUG off) on
PostgreSQL + Redis: web, worker and beat start, stay up, and a periodic task really fires."""

import json
import os
import re
import shlex
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
import yaml
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


def dockerfile() -> dict:
    """The Dockerfile's ENV values, RUN commands and CMD (continuation lines joined)."""
    text = (Path(settings.BASE_DIR) / "Dockerfile").read_text().replace("\\\n", " ")
    image: dict = {"env": {}, "run": [], "cmd": None}
    for line in text.splitlines():
        instruction, _, rest = line.strip().partition(" ")
        if instruction == "ENV":
            image["env"].update(part.split("=", 1) for part in shlex.split(rest))
        elif instruction == "RUN":
            image["run"].append(rest)
        elif instruction == "CMD":
            image["cmd"] = json.loads(rest)
    return image


def compose_services() -> dict:
    return yaml.safe_load((Path(settings.BASE_DIR) / "docker-compose.yml").read_text())["services"]


def test_the_container_runs_the_readme_processes():
    image, services = dockerfile(), compose_services()
    readme = by_role(readme_production_commands())
    assert image["cmd"] == readme["web"]
    assert services["worker"]["command"][:4] == readme["worker"][:4]
    assert services["beat"]["command"][:4] == readme["beat"][:4]
    assert services["migrate"]["command"][:3] == readme["prepare"][0][:3]
    assert any("manage.py collectstatic --no-input" in command for command in image["run"])
    assert {"web", "worker", "beat", "migrate", "postgres", "redis"} <= set(services)
    # web, worker and beat share the metrics folder, so /metrics shows the worker's numbers too.
    for name in ("web", "worker", "beat"):
        assert f"metrics:{image['env']['SAGEINT_METRICS_DIR']}" in services[name]["volumes"]


def here(command: list[str]) -> list[str]:
    """A documented command with this run's virtualenv (ports and folders come from the environment)."""
    return [
        str(VENV / part.removeprefix(".venv/")) if part.startswith(".venv/") else part for part in command
    ]


def production_env(tmp_path: Path, port: int, database_url: str) -> dict:
    return clean_env(
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
        SAGEINT_METRICS_TOKEN="smoke-metrics-token",
        WEB_BIND=f"127.0.0.1:{port}",
        WEB_WORKERS="2",
        WEB_THREADS="8",
    )


def run_stack(tmp_path, checkout, env, port, database_url, *, prepare, processes_to_start) -> None:
    for step in prepare:
        prepared = subprocess.run(
            step,
            cwd=checkout,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            shell=isinstance(step, str),
        )
        assert prepared.returncode == 0, prepared.stdout[-2000:] + prepared.stderr[-2000:]
    processes = {}
    try:
        for name, command in processes_to_start.items():
            log_path = tmp_path / f"{name}.log"
            processes[name] = (start(command, cwd=checkout, env=env, log_path=log_path), log_path)
        base_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        assert wait_for_http(f"{base_url}/accounts/login/", deadline, processes) == 200
        wait_for_periodic_task(database_url, deadline, processes)
        with urllib.request.urlopen(f"{base_url}/readyz", timeout=10) as answer:
            ready = json.loads(answer.read())
        assert ready["status"] == "ok", ready
        scrape = urllib.request.Request(
            f"{base_url}/metrics", headers={"Authorization": "Bearer smoke-metrics-token"}
        )
        with urllib.request.urlopen(scrape, timeout=10) as answer:
            metrics = answer.read().decode()
        assert "sageint_connections{" in metrics
        # Counted in the worker process, served by the web: multiprocess mode works across the processes.
        assert 'sageint_tasks_total{outcome="succeeded",task="health.heartbeat"}' in metrics
        assert_running(processes)
    finally:
        for process, _ in processes.values():
            stop_process_group(process)


@pytest.fixture
def production_stack(tmp_path):
    require_service(uses_postgresql(), "PostgreSQL (DATABASE_URL=postgres://…)")
    require_service(uses_redis_broker(), "A Redis broker (CELERY_BROKER_URL=redis://…)")
    checkout = fresh_checkout(tmp_path / "checkout")
    port = free_port()
    with throwaway_postgres_database(os.environ["DATABASE_URL"]) as database_url:
        yield checkout, port, database_url, production_env(tmp_path, port, database_url)


@pytest.mark.services
def test_readme_production_commands_run_web_worker_and_beat(tmp_path, production_stack):
    checkout, port, database_url, env = production_stack
    roles = by_role(readme_production_commands())
    run_stack(
        tmp_path,
        checkout,
        env,
        port,
        database_url,
        prepare=[here(step) for step in roles["prepare"]],
        processes_to_start={name: here(roles[name]) for name in ("web", "worker", "beat")},
    )


@pytest.mark.services
def test_the_containers_commands_run_web_worker_and_beat(tmp_path, production_stack):
    """Docker is not available on the build machines: the Dockerfile's and compose file's own commands run here,
    with the image's environment (folders moved under the test's scratch folder), the checkout standing for /app
    and this run's virtualenv for the image's (built by `pip install -r requirements.txt` as well)."""
    checkout, port, database_url, env = production_stack
    image, services = dockerfile(), compose_services()
    scratch = tmp_path / "image"
    for name, value in image["env"].items():
        env.setdefault(name, value.replace("/var/lib/sageint", str(scratch)).replace("/app", str(checkout)))
    env.setdefault("PIP_NO_CACHE_DIR", "1")
    (scratch / "metrics").mkdir(parents=True)
    builds = [command for command in image["run"] if "collectstatic" in command]
    assert len(builds) == 1
    run_stack(
        tmp_path,
        checkout,
        env,
        port,
        database_url,
        prepare=[builds[0].replace(".venv/bin/", f"{VENV}/bin/"), here(services["migrate"]["command"])],
        processes_to_start={
            "web": here(image["cmd"]),
            "worker": here(services["worker"]["command"]),
            "beat": here(services["beat"]["command"]),
        },
    )
    assert (checkout / "staticfiles" / "staticfiles.json").exists()
    assert any((scratch / "metrics").iterdir())
