"""/metrics: django-prometheus's families and sageint's own, from every process, only for who may read them."""

import subprocess
import sys

import pytest
from django.conf import settings
from prometheus_client.parser import text_string_to_metric_families

from connections.models import Connection, ConnectionEvent, EndUser
from metrics import listeners

pytestmark = pytest.mark.django_db
TOKEN = "metrics-test-token-0123456789"


def scrape(client) -> dict[tuple, float]:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture(autouse=True)
def _token(settings):
    settings.SAGEINT_METRICS_TOKEN = TOKEN


def test_metrics_are_off_in_production_unless_a_token_is_set(client, settings):
    settings.SAGEINT_METRICS_TOKEN = ""
    response = client.get("/metrics")
    assert response.status_code == 404
    assert "SAGEINT_METRICS_TOKEN" in response.json()["error"]["message"]


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token", f"Basic {TOKEN}x"])
def test_metrics_need_the_token(client, authorization):
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    response = client.get("/metrics", **headers)
    assert response.status_code == 401
    assert b"sageint" not in response.content.replace(b"SAGEINT_METRICS_TOKEN", b"")


def test_metrics_can_be_limited_to_some_networks(client, settings):
    settings.SAGEINT_METRICS_ALLOWED_IPS = ["10.0.0.0/8"]
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 403
    allowed = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}", REMOTE_ADDR="10.4.5.6")
    assert allowed.status_code == 200


def test_django_prometheus_families_are_served(client):
    client.get("/accounts/login/")
    samples = scrape(client)
    assert any(name == "django_http_requests_total_by_method_total" for name, _ in samples)


def test_proxied_calls_are_counted_by_status_with_their_latency(client, connected_end_user, user_token_for):
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {user_token_for(connected_end_user.external_id)}"}
    before = scrape(client)
    response = client.get("/api/v1/proxy/sageaccounting/contacts", **bearer)
    assert response.status_code == 200
    missing = client.get("/api/v1/proxy/sageaccounting/contacts/no-such-contact", **bearer)
    assert missing.status_code == 404
    after = scrape(client)
    labels = {"method": "GET", "source": "http"}
    assert (
        value(after, "sageint_proxy_calls_total", status="200", **labels)
        == value(before, "sageint_proxy_calls_total", status="200", **labels) + 1
    )
    assert (
        value(after, "sageint_proxy_calls_total", status="404", **labels)
        == value(before, "sageint_proxy_calls_total", status="404", **labels) + 1
    )
    count = "sageint_proxy_call_duration_seconds_count"
    assert value(after, count, method="GET") == value(before, count, method="GET") + 2


def test_calls_sage_never_answered_are_counted_by_sageints_error(client):
    from connections.exceptions import SageTimeout

    before = scrape(client)
    listeners.count_proxied_call(
        method="POST", status_code=None, failure=SageTimeout(), duration_ms=30000, source="python"
    )
    after = scrape(client)
    labels = {"status": "sage_timeout", "method": "POST", "source": "python"}
    assert (
        value(after, "sageint_proxy_calls_total", **labels)
        == value(before, "sageint_proxy_calls_total", **labels) + 1
    )


class _Attempt:
    def __init__(self, status):
        self.status = status


class _Answer:
    """What the requests hook sees: the final answer and urllib3's history of retried attempts."""

    def __init__(self, status_code, retried_statuses):
        self.status_code = status_code
        self.raw = type(
            "Raw", (), {"retries": type("Retry", (), {"history": [_Attempt(s) for s in retried_statuses]})()}
        )()


def test_every_429_from_sage_is_counted_retried_or_returned(client):
    before = value(scrape(client), "sageint_sage_throttled_total")
    listeners.count_throttled_answers(_Answer(200, [429, 429]))  # two throttled attempts, then success
    listeners.count_throttled_answers(_Answer(429, [503]))  # a 503 retried, then a 429 returned
    listeners.count_throttled_answers(_Answer(200, []))
    assert value(scrape(client), "sageint_sage_throttled_total") == before + 3


def test_the_hook_is_on_the_shared_sage_session():
    from connections import http_session

    assert listeners.count_throttled_answers in http_session.shared_session().hooks["response"]


def test_refreshes_and_refresh_failures_are_counted_from_the_audit_trail(client):
    end_user = EndUser.objects.create(kind=EndUser.Kind.EXTERNAL, external_id="metrics-user")
    before = scrape(client)
    for kind in ("refreshed", "refreshed", "refresh_failed", "reconnect_required", "connected"):
        ConnectionEvent.objects.create(end_user=end_user, kind=kind)
    after = scrape(client)
    for outcome, added in (("succeeded", 2), ("failed", 1), ("reconnect_required", 1)):
        name = "sageint_token_refreshes_total"
        assert value(after, name, outcome=outcome) == value(before, name, outcome=outcome) + added


def test_connections_by_state_are_read_from_the_database(client):
    for index, status in enumerate(["active", "active", "reconnect_required"]):
        end_user = EndUser.objects.create(kind=EndUser.Kind.EXTERNAL, external_id=f"state-{index}")
        Connection.objects.create(end_user=end_user, client_id="c", status=status)
    samples = scrape(client)
    assert value(samples, "sageint_connections", state="active") == 2
    assert value(samples, "sageint_connections", state="reconnect_required") == 1


def test_metrics_of_other_processes_reach_the_endpoint(client):
    """A Celery worker (or another web worker) records into the shared folder; /metrics adds it up."""
    assert settings.SAGEINT_METRICS_DIR
    before = value(scrape(client), "sageint_sage_throttled_total")
    code = "import django; django.setup()\nfrom metrics import families\nfamilies.sage_throttled.inc(7)\n"
    subprocess.run(
        [sys.executable, "-c", code],
        cwd=settings.BASE_DIR,
        env={**__import__("os").environ, "DJANGO_SETTINGS_MODULE": "sageint.settings"},
        check=True,
        timeout=60,
    )
    assert value(scrape(client), "sageint_sage_throttled_total") == before + 7


def test_celery_tasks_are_counted_by_name_and_outcome(client):
    from celery import shared_task

    from health.tasks import heartbeat

    @shared_task(name="tests.always_fails")
    def always_fails():
        raise RuntimeError("expected")

    before = scrape(client)
    heartbeat.apply()
    always_fails.apply()
    after = scrape(client)
    name = "sageint_tasks_total"
    succeeded = {"task": "health.heartbeat", "outcome": "succeeded"}
    failed = {"task": "tests.always_fails", "outcome": "failed"}
    assert value(after, name, **succeeded) == value(before, name, **succeeded) + 1
    assert value(after, name, **failed) == value(before, name, **failed) + 1


def test_workflow_runs_are_counted_by_final_status_once_saved(client, django_capture_on_commit_callbacks):
    from workflows.models import Run
    from workflows.signals import workflow_run_finished

    before = scrape(client)
    assert any("metrics.workflow_run" in str(key) for key, *_ in workflow_run_finished.receivers)
    # Other apps (webhooks) listen too and need a saved run: the listener is called as the signal would.
    with django_capture_on_commit_callbacks(execute=True):
        listeners.count_workflow_run(sender=Run, run=Run(status=Run.Status.FAILED))
    with django_capture_on_commit_callbacks(execute=False):  # rolled back: never counted
        listeners.count_workflow_run(sender=Run, run=Run(status=Run.Status.FAILED))
    after = scrape(client)
    name = "sageint_workflow_runs_total"
    assert value(after, name, status="failed") == value(before, name, status="failed") + 1


def test_sync_runs_are_counted_by_kind_and_final_status_once_saved(
    client, django_capture_on_commit_callbacks
):
    from records.models import SyncRun
    from records.signals import sync_run_finished

    before = scrape(client)
    assert any("metrics.sync_run" in str(key) for key, *_ in sync_run_finished.receivers)
    with django_capture_on_commit_callbacks(execute=True):
        listeners.count_sync_run(sender=SyncRun, sync_run=SyncRun(kind="incremental", status="failed"))
    after = scrape(client)
    name = "sageint_sync_runs_total"
    labels = {"kind": "incremental", "status": "failed"}
    assert value(after, name, **labels) == value(before, name, **labels) + 1


def test_sync_lag_is_the_age_of_the_stalest_active_connections_last_good_sync(client):
    from datetime import timedelta

    from django.utils import timezone

    from records.models import SyncRun

    assert value(scrape(client), "sageint_sync_lag_seconds") == 0  # nothing synced yet
    now = timezone.now()
    for index, (status, synced_ago) in enumerate(
        [("active", 600), ("active", 60), ("reconnect_required", 9000)]
    ):
        end_user = EndUser.objects.create(kind=EndUser.Kind.EXTERNAL, external_id=f"lag-{index}")
        connection = Connection.objects.create(end_user=end_user, client_id="c", status=status)
        for ago in (synced_ago, synced_ago + 3600):
            SyncRun.objects.create(
                connection=connection,
                end_user=end_user,
                business_id="b",
                kind="incremental",
                status="succeeded",
                finished_at=now - timedelta(seconds=ago),
            )
    assert 600 <= value(scrape(client), "sageint_sync_lag_seconds") < 700
