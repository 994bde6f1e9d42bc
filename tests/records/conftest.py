"""Fixtures of the records tests: a connected end user whose sandbox business holds the seeded demo world,
and running a sync inline (the steps the Celery tasks would run, in this process)."""

import pytest
from django.core.management import call_command

from connections.models import Connection
from records import sync
from records.models import SyncRun
from tests.fixtures_sage import connect_end_user_via_link


@pytest.fixture(autouse=True)
def _no_budget_unless_asked(settings):
    # The budget is shared state (Redis in the service run) that outlives a test: tests that check it turn it on.
    settings.RECORDS_SYNC_BUDGET_REQUESTS = 0


@pytest.fixture(autouse=True)
def _no_tasks_sent(monkeypatch):
    """Steps are run here by run_sync; nothing is sent to a broker (where the service run's worker would take it)."""
    sent: list[int] = []
    monkeypatch.setattr(sync, "_enqueue", sent.extend)
    return sent


@pytest.fixture
def no_waiting(monkeypatch):
    """Record waits (budget, Retry-After, client retries) instead of sleeping them."""
    waits: list[float] = []
    monkeypatch.setattr("records.pacing.sleep", waits.append)
    monkeypatch.setattr("connections.retries.sleep", waits.append)
    return waits


@pytest.fixture
def seeded_sandbox(db):
    call_command("sandbox_seed", "--if-empty", verbosity=0)


@pytest.fixture
def connection(seeded_sandbox, sandbox_transport) -> Connection:
    """Sam Sandbox's demo business ("Sandbox Trading Ltd"), connected through the real OAuth flow."""
    return connect_end_user_via_link("records-user").connection


def run_sync(connection: Connection, **options) -> SyncRun:
    """Start a sync and run its steps here, as the workers would."""
    run = sync.start_sync(connection=connection, **options)
    assert run is not None, "a sync was already running"
    for step_id in run.steps.values_list("pk", flat=True):
        sync.run_step(step_id=step_id)
    run.refresh_from_db()
    return run
