"""On PostgreSQL + Redis with a real Celery worker (the service run): a sync started through the management API over
HTTP is queued to the broker, run by the worker against the sandbox, and followed to its end through the API."""

import time

import pytest
import requests
from django.core.management import call_command

from projects.models import ApiKey
from records.models import Contact, SyncRun
from sandbox import models as sage
from tests.fixtures_sage import connect_end_user_via_link
from tests.records.workers import sync_workers


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_sync_started_over_http_is_run_by_a_worker_and_followed_to_its_end(live_server, settings):
    call_command("sandbox_seed", "--if-empty", verbosity=0)
    _, key = ApiKey.issue(name="backend")
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {key}"

    with sync_workers(live_server, settings, count=1):
        # Connected after the worker's start, against the live server's sandbox (where the worker calls Sage).
        connection = connect_end_user_via_link("api-sync-user").connection
        url = f"{live_server.url}/api/v1/connections/{connection.pk}"

        started = api.post(f"{url}/syncs", timeout=10)
        assert started.status_code == 202, started.text
        run_id = started.json()["id"]

        deadline, last_run = time.monotonic() + 60, None
        while time.monotonic() < deadline:
            last_run = api.get(url, timeout=10).json()["sync"]["last_run"]
            if last_run["status"] in ("succeeded", "failed"):
                break
            time.sleep(0.2)

    assert last_run["id"] == run_id and last_run["status"] == "succeeded", last_run
    assert last_run["progress"]["percent"] == 100 and last_run["finished_at"] is not None
    expected = sage.Contact.objects.filter(
        business_id=connection.business_id, deleted_at__isnull=True
    ).count()
    assert Contact.objects.filter(connection=connection).count() == expected > 0
    assert last_run["created"] == SyncRun.objects.get(pk=run_id).created_count > 0
