"""The per-business request budget: syncs wait for the next window instead of going over, whichever process
counts (database by default, Redis when the broker is Redis)."""

import uuid

import pytest
from django.conf import settings as django_settings

from records import pacing
from records.models import RequestBudgetWindow, SyncRun
from tests.records.conftest import run_sync
from tests.services import require_service, uses_redis_broker


class FakeClock:
    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = start
        self.waits: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(pacing, "clock", fake.time)
    monkeypatch.setattr(pacing, "sleep", fake.sleep)
    return fake


@pytest.fixture
def budget(settings):
    settings.RECORDS_SYNC_BUDGET_REQUESTS = 3
    settings.RECORDS_SYNC_BUDGET_WINDOW_SECONDS = 10
    return settings


@pytest.mark.parametrize("backend", ["database", "redis"])
def test_calls_past_the_budget_wait_for_the_next_window(db, clock, budget, backend):
    if backend == "redis":
        require_service(uses_redis_broker(), "A Redis broker (CELERY_BROKER_URL=redis://…)")
        budget.RECORDS_SYNC_BUDGET_REDIS_URL = django_settings.CELERY_BROKER_URL
    else:
        budget.RECORDS_SYNC_BUDGET_REDIS_URL = ""
    business = f"budget-{uuid.uuid4().hex}"
    clock.now = 1_000_000.0  # the start of a window

    waited = [pacing.take(business_id=business) for _ in range(7)]

    assert waited == [0, 0, 0, 10.0, 0, 0, 10.0]
    assert clock.now == 1_000_020.0
    if backend == "database":
        assert RequestBudgetWindow.objects.get(business_id=business).count == 1  # old windows are pruned


def test_budget_is_per_business(db, clock, budget):
    budget.RECORDS_SYNC_BUDGET_REDIS_URL = ""
    for _ in range(3):
        pacing.take(business_id="business-a")
    assert pacing.take(business_id="business-b") == 0
    assert pacing.take(business_id="business-a") > 0


def test_a_sync_spends_one_unit_per_call_and_waits_when_the_budget_is_spent(connection, clock, budget):
    budget.RECORDS_SYNC_BUDGET_REDIS_URL = ""
    budget.RECORDS_SYNC_ITEMS_PER_PAGE = 50  # more calls than the budget allows in one window
    run = run_sync(connection)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    windows_needed = -(-run.calls // 3)
    assert len(clock.waits) == windows_needed - 1
