"""Fixtures shared by every test package."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest_plugins = ["tests.fixtures_sage"]


@pytest.fixture(autouse=True)
def _forget_per_process_caches():
    """Per-process caches must not carry one test's rows (rolled back since) into the next test."""
    from connections.models import IntegrationSettings

    IntegrationSettings.forget_cached_state()
    yield
    IntegrationSettings.forget_cached_state()


@pytest.fixture
def superuser_client(db):
    """A test client logged in as a superuser (admin pages)."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    user = get_user_model().objects.create(username="boss", is_staff=True, is_superuser=True)
    browser = Client()
    browser.force_login(user)
    return browser


@pytest.fixture
def live_site(live_server, settings):
    """sageint on a live server (browser tests): its own sandbox is the Sage the product talks to."""
    from accounts.demo import ensure_demo_accounts

    settings.SITE_URL = live_server.url
    settings.SAGE_SANDBOX_URL = f"{live_server.url}/sandbox"
    settings.SAGE_SANDBOX_CALLBACK_URLS = [f"{live_server.url}/connect/sageaccounting/callback/"]
    ensure_demo_accounts()
    return live_server.url


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, tmp_path_factory):
    """The service run's Celery worker (scripts/test_worker.py) on this test process's test database and Redis
    database (each pytest-xdist process has its own), consuming the default queue; started by the first test that
    needs it, stopped when the test process ends. Fails (REQUIRE_SERVICES=1) or skips without Redis."""
    from sageint.celery import app
    from tests.processes import database_url, stop
    from tests.services import require_service, uses_redis_broker

    require_service(uses_redis_broker(), "A Redis broker (CELERY_BROKER_URL=redis://…)")
    name = f"tests-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}-{os.getpid()}@localhost"
    log_path = tmp_path_factory.mktemp("celery-worker") / "worker.log"
    with open(log_path, "wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "scripts/test_worker.py", "-n", name],
            cwd=Path(__file__).resolve().parent.parent,
            env={**os.environ, "DATABASE_URL": database_url(), "CONN_MAX_AGE": "0"},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while not app.control.ping(destination=[name], timeout=1.0) and time.monotonic() < deadline:
            if worker.poll() is not None:
                break
        answered = bool(app.control.ping(destination=[name], timeout=1.0))
        require_service(answered, f"A Celery worker consuming from the Redis broker (log: {log_path})")
        yield name
    finally:
        stop([worker])
