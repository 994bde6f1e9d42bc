"""Syncs through the management API: POST /api/v1/connections/{id}/syncs starts one (202, the run), refuses a
second while one runs and a connection that must be connected again (409), and every connection read, alone or
in the list, carries its last sync run (status, progress, counts, finish time) and when the next is due."""

from datetime import datetime, timedelta

import pytest
from django.test import Client

from connections.models import Connection
from projects.models import ApiKey
from records import sync
from records.models import SyncRun
from tests.api.test_management_api import stored_connection
from tests.openapi_schemas import assert_matches_schema
from tests.records.conftest import connection, run_sync, seeded_sandbox  # noqa: F401  (shared fixtures)

pytestmark = pytest.mark.django_db

LIST = "/api/v1/connections"


@pytest.fixture
def api(db):
    _, key = ApiKey.issue(name="backend")
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}")


@pytest.fixture
def queued_steps(monkeypatch):
    """The step ids start_sync hands to Celery, recorded here instead of sent (the service run sends them)."""
    queued: list[int] = []
    monkeypatch.setattr(sync, "_enqueue", queued.extend)
    return queued


@pytest.fixture
def start(api, django_capture_on_commit_callbacks):
    """POST …/syncs as a backend would (JSON, or no body at all), its commit callbacks (queueing) run."""

    def post(connection_id, body=None):
        with django_capture_on_commit_callbacks(execute=True):
            return api.post(f"{LIST}/{connection_id}/syncs", body, content_type="application/json")

    return post


def run_queued(queued_steps: list[int]) -> None:
    """What the workers do with the queued steps."""
    while queued_steps:
        sync.run_step(step_id=queued_steps.pop(0))


def test_start_a_sync_follow_it_and_see_it_finish(api, start, connection, queued_steps, settings):  # noqa: F811
    started = start(connection.pk)

    assert started.status_code == 202
    run = started.json()
    assert_matches_schema(run, "SyncRun")
    assert run["status"] == "queued" and run["trigger"] == "api" and run["kind"] == "full"
    assert run["business"]["name"] == "Sandbox Trading Ltd"
    assert SyncRun.objects.get().pk == run["id"]
    assert len(queued_steps) == 3  # contacts, sales invoices, contact payments: one task each

    running = api.get(f"{LIST}/{connection.pk}").json()["sync"]
    assert running["last_run"]["id"] == run["id"]
    assert running["last_run"]["progress"] == {"pages_done": 0, "pages_total": 3, "percent": 0}
    created_at = datetime.fromisoformat(running["last_run"]["created_at"])
    assert datetime.fromisoformat(running["next_sync_at"]) == created_at + timedelta(
        seconds=settings.RECORDS_SYNC_INTERVAL_SECONDS
    )

    run_queued(queued_steps)
    read = api.get(f"{LIST}/{connection.pk}").json()
    assert_matches_schema(read, "Connection")
    assert_matches_schema(api.get(LIST).json(), "ConnectionPage")
    finished = read["sync"]["last_run"]
    assert finished["id"] == run["id"] and finished["status"] == "succeeded"
    assert finished["created"] == SyncRun.objects.get().created_count > 0
    assert finished["progress"]["percent"] == 100
    assert finished["finished_at"] is not None and finished["error"] is None


def test_a_second_sync_while_one_runs_is_a_409(start, connection, queued_steps):  # noqa: F811
    first = start(connection.pk).json()

    again = start(connection.pk)

    assert again.status_code == 409
    error = again.json()["error"]
    assert error["code"] == "sync_running" and str(first["id"]) in error["message"]
    assert SyncRun.objects.count() == 1
    run_queued(queued_steps)
    assert start(connection.pk).status_code == 202  # free again once it finished


def test_full_true_forces_a_full_sync_after_a_successful_one(start, connection, queued_steps):  # noqa: F811
    run_sync(connection)

    incremental = start(connection.pk).json()
    run_queued(queued_steps)
    full = start(connection.pk, {"full": True}).json()

    assert incremental["kind"] == "incremental"
    assert full["kind"] == "full"


def test_a_connection_that_must_be_connected_again_is_not_synced(api, start, queued_steps):
    broken = stored_connection("broken", status=Connection.Status.RECONNECT_REQUIRED)

    response = start(broken.pk)

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "reconnect_required" and "Sage refused" in error["message"]
    assert not SyncRun.objects.exists() and queued_steps == []
    assert api.get(f"{LIST}/{broken.pk}").json()["sync"] == {"last_run": None, "next_sync_at": None}


def test_a_connection_without_a_business_is_not_synced(start, queued_steps):
    undecided = stored_connection("undecided")
    Connection.objects.filter(pk=undecided.pk).update(business_id="")

    response = start(undecided.pk)

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "no_business"
    assert not SyncRun.objects.exists()


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ('{"full": "yes"}', 400, "invalid_request"),
        ("[true]", 400, "invalid_json"),
        ("{not json", 400, "invalid_json"),
        ('{"full": false, "pad": "' + "x" * 20_000 + '"}', 413, "body_too_large"),
    ],
)
def test_bad_bodies_start_nothing(start, queued_steps, body, status, code):
    target = stored_connection("target")

    response = start(target.pk, body)

    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert not SyncRun.objects.exists()


def test_only_post_starts_a_sync(api):
    target = stored_connection("target")

    response = api.get(f"{LIST}/{target.pk}/syncs")

    assert response.status_code == 405 and response["Allow"] == "POST"


def test_the_list_gives_each_connections_sync_status_in_a_fixed_number_of_queries(
    api, django_assert_max_num_queries
):
    def runs_for(target, *statuses):
        for status in statuses:
            SyncRun.objects.create(
                connection=target,
                end_user=target.end_user,
                business_id=target.business_id,
                kind="full",
                status=status,
                pages_done=4,
                pages_total=4,
            )

    never = stored_connection("never")
    failed_last = stored_connection("failed-last")
    runs_for(failed_last, "succeeded", "failed")

    with django_assert_max_num_queries(6) as few:
        data = {c["end_user_id"]: c["sync"] for c in api.get(LIST).json()["data"]}
    for number in range(8):
        runs_for(stored_connection(f"more-{number}"), "succeeded", "running")
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(api.get(LIST).json()["data"]) == 10

    assert data["never"] == {"last_run": None, "next_sync_at": None}
    assert data["failed-last"]["last_run"]["status"] == "failed"
    assert data["failed-last"]["next_sync_at"] is not None
    assert never.pk != failed_last.pk
