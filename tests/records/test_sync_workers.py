"""On PostgreSQL + Redis with real Celery workers (the service run): two workers sync different connections at
once, the per-connection lock holds across them (two "Sync now" sent to two workers start one run) and so does
the per-business request budget (counted in Redis, shared by both)."""

import math
import threading
import time

import pytest
from django.core.management import call_command
from django.core.signals import request_started

from records.models import Contact, SyncRun
from records.tasks import sync_connection
from sandbox import models as sage
from tests.fixtures_sage import connect_end_user_via_link
from tests.records.workers import sync_workers

BUDGET, WINDOW, PAGE = 5, 1.0, 20


@pytest.fixture
def api_arrivals():
    """When each Sage API list call reached the (live server's) sandbox, as the server saw it."""
    arrivals: list[float] = []
    lock = threading.Lock()

    def record(sender, environ=None, **kwargs):
        path = (environ or {}).get("PATH_INFO", "")
        if "/sandbox/api/v3.1/" in path and path.rsplit("/", 1)[-1] in (
            "contacts",
            "sales_invoices",
            "contact_payments",
        ):
            with lock:
                arrivals.append(time.time())

    request_started.connect(record, dispatch_uid="records-test-arrivals")
    yield arrivals
    request_started.disconnect(dispatch_uid="records-test-arrivals")


@pytest.fixture
def two_workers(live_server, settings):
    with sync_workers(
        live_server,
        settings,
        count=2,
        RECORDS_SYNC_ITEMS_PER_PAGE=str(PAGE),
        RECORDS_SYNC_BUDGET_REQUESTS=str(BUDGET),
        RECORDS_SYNC_BUDGET_WINDOW_SECONDS=str(WINDOW),
        RECORDS_SYNC_READ_AHEAD="1",
    ) as queue:
        yield queue


def wait_for_runs(connections, deadline_seconds: float = 120) -> None:
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        finished = SyncRun.objects.filter(connection__in=connections, status__in=SyncRun.FINISHED).count()
        if finished >= len(connections):
            return
        time.sleep(0.2)
    pytest.fail(f"syncs did not finish: {list(SyncRun.objects.values('connection_id', 'status', 'error'))}")


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_two_workers_sync_two_connections_with_one_lock_and_one_budget(two_workers, api_arrivals):
    queue = two_workers
    call_command("sandbox_seed", "--if-empty", verbosity=0)
    first = connect_end_user_via_link("worker-user-1").connection
    second = connect_end_user_via_link("worker-user-2").connection
    assert first.business_id == second.business_id  # one Sage business: one budget for both

    # Two "Sync now" for the first connection, delivered to the two workers, and one for the second.
    started = [sync_connection.apply_async((first.pk,), queue=queue) for _ in range(2)]
    started.append(sync_connection.apply_async((second.pk,), queue=queue))
    results = [result.get(timeout=60) for result in started]
    wait_for_runs([first, second])

    assert sorted(result is None for result in results[:2]) == [False, True]  # the lock held across workers
    runs = {run.connection_id: run for run in SyncRun.objects.all()}
    assert SyncRun.objects.count() == 2
    for connection in (first, second):
        run = runs[connection.pk]
        assert run.status == SyncRun.Status.SUCCEEDED, run.error
        assert Contact.objects.filter(connection=connection).count() == (
            sage.Contact.objects.filter(business_id=connection.business_id, deleted_at__isnull=True).count()
        )
    # At once: the two runs' time spans overlap.
    assert max(run.started_at for run in runs.values()) < min(run.finished_at for run in runs.values())
    # The budget held across both workers: N calls at BUDGET per WINDOW cannot take less than this long.
    calls = sum(run.calls for run in runs.values())
    assert len(api_arrivals) == calls
    assert max(api_arrivals) - min(api_arrivals) >= (math.ceil(calls / BUDGET) - 2) * WINDOW
