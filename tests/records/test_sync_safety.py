"""One sync at a time per connection, throttling waited out, reconnect-needed failing cleanly, and the hooks
that start a sync after connecting or switching business and delete the mirror on disconnect."""

import threading
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connections as db_connections
from django.utils import timezone

from connections import services
from connections.models import Connection
from records import sync
from records.models import Contact, SalesInvoice, SyncLease, SyncRun
from records.signals import sync_run_finished
from sandbox import models as sage
from tests.fixtures_sage import connect_end_user_via_link
from tests.records.conftest import run_sync


def test_second_sync_now_while_one_runs_starts_nothing(connection):
    first = sync.start_sync(connection=connection, trigger="staff")
    assert first is not None
    assert sync.start_sync(connection=connection, trigger="staff") is None
    assert SyncRun.objects.count() == 1
    assert sync.running_run(connection.pk) == first


def test_lease_is_released_when_the_run_finishes(connection):
    run = run_sync(connection)
    assert SyncLease.objects.get(connection=connection).run is None
    assert sync.running_run(connection.pk) is None
    assert run_sync(connection).pk != run.pk


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_sync_now_start_one_sync(sandbox_transport, monkeypatch):
    monkeypatch.setattr(sync, "_enqueue", lambda step_ids: None)  # committed for real: send no tasks
    call_command("sandbox_seed", "--if-empty", verbosity=0)
    connection = connect_end_user_via_link("concurrent-user").connection
    barrier = threading.Barrier(2)
    results, errors = [], []

    def press_sync_now():
        try:
            barrier.wait(timeout=10)
            results.append(
                sync.start_sync(connection=Connection.objects.get(pk=connection.pk), trigger="staff")
            )
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            db_connections.close_all()

    threads = [threading.Thread(target=press_sync_now) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    assert sorted(result is None for result in results) == [False, True]
    assert SyncRun.objects.filter(connection=connection).count() == 1


def test_abandoned_run_is_failed_when_its_lease_lapses_and_a_new_sync_takes_over(connection):
    finished = []
    stale = sync.start_sync(connection=connection)
    SyncLease.objects.filter(connection=connection).update(expires_at=timezone.now() - timedelta(seconds=1))

    def listener(sender, sync_run, **kwargs):
        finished.append((sync_run.pk, sync_run.status))

    sync_run_finished.connect(listener)
    try:
        fresh = sync.start_sync(connection=connection)
    finally:
        sync_run_finished.disconnect(listener)
    assert fresh is not None and fresh.pk != stale.pk
    stale.refresh_from_db()
    assert stale.status == SyncRun.Status.FAILED and "Abandoned" in stale.error
    assert finished == [(stale.pk, SyncRun.Status.FAILED)]
    # The stale run's tasks, delivered late, do nothing: their steps are no longer queued.
    assert all(sync.run_step(step_id=step.pk) is None for step in stale.steps.all())


def test_a_step_that_lost_its_lease_stops_without_deleting(connection):
    run_sync(connection)
    held = Contact.objects.filter(connection=connection).count()
    run = sync.start_sync(connection=connection, kind=SyncRun.Kind.FULL)
    SyncLease.objects.filter(connection=connection).update(run=None)  # another sync took over meanwhile
    step = sync.run_step(step_id=run.steps.get(resource="contacts").pk)
    step.refresh_from_db()
    assert step.status == SyncRun.Status.FAILED and "lost its lock" in step.error
    assert Contact.objects.filter(connection=connection).count() == held


def test_a_429_storm_mid_sync_is_waited_out_and_the_sync_finishes(connection, sandbox_transport, no_waiting):
    # 15 throttled answers: more than the Sage client's own retries (6 attempts) can absorb, twice over.
    sandbox_transport.inject(
        "/sales_invoices", status=429, headers={"Retry-After": "2"}, body=b"[]", times=15
    )

    run = run_sync(connection)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    business = sage.Business.objects.get(id=connection.business_id)
    assert SalesInvoice.objects.filter(connection=connection).count() == (
        sage.SalesInvoice.objects.filter(business=business, deleted_at__isnull=True).count()
    )
    assert no_waiting.count(2.0) == 15  # every 429 waited its Retry-After, by the client or by the sync
    assert run.steps.get(resource="sales_invoices").calls == 16


def test_throttling_longer_than_the_sync_waits_fails_the_run_and_keeps_the_mirror(
    connection, sandbox_transport, no_waiting, settings
):
    run_sync(connection)
    held = SalesInvoice.objects.filter(connection=connection).count()
    settings.RECORDS_SYNC_MAX_THROTTLE_WAIT_SECONDS = 30
    sandbox_transport.inject(
        "/sales_invoices", status=429, headers={"Retry-After": "20"}, body=b"[]", times=None
    )

    run = run_sync(connection, kind=SyncRun.Kind.FULL)

    assert run.status == SyncRun.Status.FAILED and "429" in run.error
    assert SalesInvoice.objects.filter(connection=connection).count() == held


def test_reconnect_needed_fails_the_run_with_the_reason_and_deletes_nothing(connection):
    run_sync(connection)
    held = Contact.objects.filter(connection=connection).count()
    Connection.objects.filter(pk=connection.pk).update(
        status=Connection.Status.RECONNECT_REQUIRED, reconnect_reason="Sage refused the stored authorization."
    )

    run = run_sync(connection, kind=SyncRun.Kind.FULL)

    assert run.status == SyncRun.Status.FAILED
    assert "reconnected" in run.error and "Sage refused the stored authorization." in run.error
    assert run.calls == 0
    assert Contact.objects.filter(connection=connection).count() == held
    assert SyncLease.objects.get(connection=connection).run is None


def test_refresh_refused_mid_sync_fails_cleanly(connection, sandbox_transport):
    run_sync(connection)
    held = SalesInvoice.objects.filter(connection=connection).count()
    Connection.objects.filter(pk=connection.pk).update(access_token_expires_at=timezone.now())
    sandbox_transport.inject("/oauth/token", status=400, body=b'{"error": "invalid_grant"}', times=None)

    run = run_sync(connection, kind=SyncRun.Kind.FULL)

    assert run.status == SyncRun.Status.FAILED and "Connect again" in run.error
    assert Connection.objects.get(pk=connection.pk).needs_reconnect
    assert SalesInvoice.objects.filter(connection=connection).count() == held


def test_first_full_sync_starts_right_after_connecting(
    seeded_sandbox, sandbox_transport, django_capture_on_commit_callbacks, monkeypatch, settings
):
    settings.RECORDS_SYNC_ON_CONNECT = True
    queued = []
    monkeypatch.setattr(sync, "_enqueue", queued.extend)
    with django_capture_on_commit_callbacks(execute=True):
        end_user = connect_end_user_via_link("fresh-user")
    run = SyncRun.objects.get(end_user=end_user)
    assert (run.kind, run.trigger, run.status) == (SyncRun.Kind.FULL, "connected", SyncRun.Status.QUEUED)
    assert sorted(queued) == sorted(run.steps.values_list("pk", flat=True))
    assert set(run.steps.values_list("resource", flat=True)) == {
        "contacts",
        "sales_invoices",
        "contact_payments",
    }


def test_switching_business_keeps_the_old_mirror_and_syncs_the_new_business(
    connection, django_capture_on_commit_callbacks, monkeypatch, settings
):
    settings.RECORDS_SYNC_ON_CONNECT = True
    run_sync(connection)
    first_business = connection.business_id
    held = Contact.objects.filter(connection=connection, business_id=first_business).count()
    other = next(b["id"] for b in connection.businesses if b["id"] != first_business)
    monkeypatch.setattr(sync, "_enqueue", lambda step_ids: [sync.run_step(step_id=pk) for pk in step_ids])

    with django_capture_on_commit_callbacks(execute=True):
        services.switch_business(end_user=connection.end_user, business_id=other)

    assert Contact.objects.filter(connection=connection, business_id=first_business).count() == held
    second = SyncRun.objects.get(connection=connection, business_id=other)
    assert second.status == SyncRun.Status.SUCCEEDED and second.trigger == "business_switched"
    assert Contact.objects.filter(connection=connection, business_id=other).count() == (
        sage.Contact.objects.filter(business_id=other, deleted_at__isnull=True).count()
    )


def test_disconnect_revokes_at_sage_and_removes_the_mirror(connection, sandbox_transport):
    run = run_sync(connection)
    end_user = connection.end_user

    services.disconnect(end_user=end_user)

    assert sandbox_transport.count("/oauth/revoke") == 1
    assert not Contact.objects.exists() and not SalesInvoice.objects.exists()
    run.refresh_from_db()
    assert run.connection is None and run.end_user == end_user  # the history of syncs stays


def test_nothing_is_started_on_connect_when_switched_off(
    seeded_sandbox, sandbox_transport, django_capture_on_commit_callbacks, settings
):
    settings.RECORDS_SYNC_ON_CONNECT = False
    with django_capture_on_commit_callbacks(execute=True):
        connect_end_user_via_link("quiet-user")
    assert not SyncRun.objects.exists()


def test_beat_task_syncs_every_active_connection_once(connection, monkeypatch):
    from records.tasks import sync_all_connections

    queued = []
    monkeypatch.setattr(sync, "_enqueue", queued.extend)
    other = connect_end_user_via_link("second-user").connection
    Connection.objects.filter(pk=other.pk).update(status=Connection.Status.RECONNECT_REQUIRED)

    assert sync_all_connections() == 1
    assert sync_all_connections() == 0  # the first is still running
    assert SyncRun.objects.get().connection == connection
