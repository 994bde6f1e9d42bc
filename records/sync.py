"""Syncs: fill a connection's mirror from Sage, fully or incrementally, one sync at a time per connection.

A sync run covers the connection's current business and has one step per resource (contacts, sales invoices,
contact payments); each step is its own Celery task, so more workers sync more connections at once.

- Full step: pages the collection, RECORDS_SYNC_ITEMS_PER_PAGE (200, Sage's maximum) items per page with the
  `attributes` of resources.py, upserts each page, then deletes what Sage no longer lists.
- Incremental step: `updated_or_created_since` and `deleted_since` from the start of the resource's last
  successful step, less RECORDS_SYNC_OVERLAP_SECONDS (clocks differ; Sage's timestamps are to the second).
- Lock: a lease row per connection taken by compare-and-set (models.SyncLease); renewed on every page.
- Pacing: every call takes one unit of the business's budget (pacing.py); a 429 that outlived the Sage client's
  own retries is waited out per Retry-After and the page asked again.
- A connection that needs reconnecting fails the step with that reason; nothing local is deleted.

Calls to Sage happen outside any transaction (the Sage client refuses them inside one); each page is written in
its own short transaction.
"""

from __future__ import annotations

import logging
import math
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from email.utils import parsedate_to_datetime
from functools import partial

from django.conf import settings
from django.db import connections as db_connections
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from connections import proxy
from connections.exceptions import BusinessNotReachable, SageError, SageintError
from connections.models import Connection
from connections.sage_client import sage_errors

from . import mirror, pacing
from .listing import read_list_answer
from .models import SyncLease, SyncRun, SyncStep
from .resources import RESOURCES, Resource
from .signals import sync_run_finished

logger = logging.getLogger(__name__)

Status = SyncRun.Status
Kind = SyncRun.Kind


class StepAborted(SageintError):
    """The step cannot go on (lease lost, connection gone, business switched); the message says why."""


# --- starting ------------------------------------------------------------------------------------------------


def start_sync(
    *, connection: Connection, kind: str | None = None, trigger: str = "", requested_by=None
) -> SyncRun | None:
    """Take the connection's sync lease and create a run with one queued step per resource.

    `kind` FULL forces a full sync; otherwise each resource is synced incrementally when it has a successful
    sync to start from, fully when not. The steps are sent to Celery once the transaction commits. Returns None
    (and creates nothing) when a sync of this connection is already running.
    """
    now = timezone.now()
    SyncLease.objects.get_or_create(connection_id=connection.pk)
    steps = [
        _plan_step(connection, resource, forced_full=kind == Kind.FULL, now=now) for resource in RESOURCES
    ]
    with transaction.atomic():
        lease = SyncLease.objects.filter(connection_id=connection.pk)
        previous_run_id = lease.values_list("run_id", flat=True).first()
        run = SyncRun.objects.create(
            connection=connection,
            end_user_id=connection.end_user_id,
            business_id=connection.business_id,
            business_name=connection.business_name,
            kind=Kind.FULL if any(step.kind == Kind.FULL for step in steps) else Kind.INCREMENTAL,
            trigger=trigger[:30],
            requested_by=requested_by,
            created_at=now,
        )
        taken = lease.filter(Q(run__isnull=True) | Q(expires_at__lt=now) | Q(expires_at__isnull=True)).update(
            run=run, expires_at=now + timedelta(seconds=settings.RECORDS_SYNC_LEASE_SECONDS)
        )
        if not taken:
            transaction.set_rollback(True)
            return None
        if previous_run_id:
            _give_up_abandoned_run(previous_run_id, now=now)
        for step in steps:
            step.run = run
        SyncStep.objects.bulk_create(steps)
        step_ids = list(run.steps.values_list("pk", flat=True))
        transaction.on_commit(lambda: _enqueue(step_ids))
    logger.info("Sync run %s of connection %s started (%s, %s)", run.pk, connection.pk, run.kind, trigger)
    return run


def _plan_step(connection: Connection, resource: str, *, forced_full: bool, now) -> SyncStep:
    last_success = None
    if not forced_full:
        last_success = (
            SyncStep.objects.filter(
                run__connection=connection,
                run__business_id=connection.business_id,
                resource=resource,
                status=Status.SUCCEEDED,
            )
            .order_by("-started_at")
            .values_list("started_at", flat=True)
            .first()
        )
    if last_success is None:
        return SyncStep(resource=resource, kind=Kind.FULL)
    since = last_success - timedelta(seconds=settings.RECORDS_SYNC_OVERLAP_SECONDS)
    return SyncStep(resource=resource, kind=Kind.INCREMENTAL, since=since)


def _enqueue(step_ids: list[int]) -> None:
    from .tasks import sync_step

    options = {"queue": settings.RECORDS_SYNC_QUEUE} if settings.RECORDS_SYNC_QUEUE else {}
    for step_id in step_ids:
        sync_step.apply_async((step_id,), **options)


def _give_up_abandoned_run(run_id: int, *, now) -> None:
    """A run whose lease lapsed (its worker died or stalled) is marked failed before another takes over."""
    run = SyncRun.objects.select_for_update().filter(pk=run_id).first()
    if run is None or run.is_finished:
        return
    reason = f"Abandoned: no progress for {settings.RECORDS_SYNC_LEASE_SECONDS} s (worker stopped?); a new sync took over."
    run.steps.exclude(status__in=SyncRun.FINISHED).update(status=Status.FAILED, error=reason, finished_at=now)
    _finish_run(run, now=now, error_if_any=reason)


# --- running one step ------------------------------------------------------------------------------------------


def run_step(*, step_id: int) -> SyncStep | None:
    """Run one queued step (the Celery task's body). A step already taken (a redelivered task) is left alone."""
    now = timezone.now()
    if not SyncStep.objects.filter(pk=step_id, status=Status.QUEUED).update(
        status=Status.RUNNING, started_at=now
    ):
        return None
    step = SyncStep.objects.select_related("run").get(pk=step_id)
    SyncRun.objects.filter(pk=step.run_id, status=Status.QUEUED).update(status=Status.RUNNING, started_at=now)
    error = ""
    started = time.monotonic()
    try:
        _StepSync(step).run()
    except SageintError as failure:
        error = _describe(failure)
    except Exception as failure:  # a bug or a database error: the run must still end, with the reason kept
        logger.exception("Sync step %s (%s) crashed", step.pk, step.resource)
        error = f"Internal error: {type(failure).__name__}: {failure}"[:2000]
    logger.info(
        "Sync step %s %s of run %s: %s in %.1fs, %s calls",
        step.pk,
        step.resource,
        step.run_id,
        "failed: " + error if error else "done",
        time.monotonic() - started,
        step.calls,
    )
    finish_step(step, error=error)
    return step


def _describe(failure: SageintError) -> str:
    if isinstance(failure, SageError) and not isinstance(failure, BusinessNotReachable):
        return f"Sage answered HTTP {failure.status}: {failure.message}"
    return str(getattr(failure, "message", "") or failure)


class _StepSync:
    def __init__(self, step: SyncStep) -> None:
        self.step = step
        self.run_row = step.run
        self.resource: Resource = RESOURCES[step.resource]
        self.items_per_page = settings.RECORDS_SYNC_ITEMS_PER_PAGE
        self.throttle_waited = 0.0
        connection = (
            Connection.objects.select_related("end_user").filter(pk=self.run_row.connection_id).first()
        )
        if connection is None:
            raise StepAborted("The connection was disconnected; nothing was synced.")
        if connection.business_id != self.run_row.business_id:
            raise StepAborted(
                "The connection switched business before this sync ran; the next sync follows it."
            )
        self.connection = connection

    def run(self) -> None:
        if not settings.RECORDS_SYNC_READ_AHEAD:
            self.read_ahead = None
            self._run()
            return
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sync-read-ahead") as self.read_ahead:
            try:
                self._run()
            finally:
                # The thread's own database connection (request log, token refresh) ends with the step.
                self.read_ahead.submit(db_connections.close_all).result()

    def _run(self) -> None:
        if self.step.kind == Kind.FULL:
            self._full()
        else:
            self._incremental()

    def _full(self) -> None:
        seen: set[str] = set()
        params = {"attributes": ",".join(self.resource.attributes)}
        for items in self._pages(params):
            seen.update(str(item.get("id")) for item in items if isinstance(item, dict))
            self._write(items)
        # Only after every page arrived: what the mirror holds and Sage did not list is gone at Sage.
        self.step.deleted_count += mirror.delete_missing(
            connection=self.connection,
            business_id=self.run_row.business_id,
            resource=self.resource,
            seen=seen,
        )

    def _incremental(self) -> None:
        since = self.step.since.isoformat()
        changed = {"attributes": ",".join(self.resource.attributes), "updated_or_created_since": since}
        for items in self._pages(changed, listings_after=1):
            self._write(items)
        for items in self._pages({"deleted_since": since}):
            self.step.deleted_count += mirror.delete_items(
                connection=self.connection,
                business_id=self.run_row.business_id,
                resource=self.resource,
                sage_ids=[str(item["id"]) for item in items if isinstance(item, dict) and item.get("id")],
            )
            self._save_progress()

    def _write(self, items: list) -> None:
        written = mirror.upsert_items(
            connection=self.connection,
            business_id=self.run_row.business_id,
            business_name=self.run_row.business_name,
            resource=self.resource,
            items=items,
        )
        self.step.created_count += written.created
        self.step.updated_count += written.updated
        self._save_progress()

    def _pages(self, params: dict, *, listings_after: int = 0):
        """Each page's items of one listing. Progress: pages done so far, and pages to do from `$total`
        (a listing not asked yet counts as one page). With read-ahead, the next page is asked for before this
        one is handed over to be written, so Sage's answer time and the database writes overlap."""
        done_before = self.step.pages_done
        page = 1
        pending = self._ask({**params, "items_per_page": self.items_per_page, "page": page})
        while True:
            envelope = self._answer(pending)
            total = envelope.get("$total")
            pages = max(1, math.ceil(total / self.items_per_page)) if isinstance(total, int) else page
            self.step.pages_done = done_before + page
            self.step.pages_total = done_before + max(pages, page) + listings_after
            items = envelope.get("$items") or []
            more = bool(envelope.get("$next")) and page < pages and bool(items)
            if more:
                pending = self._ask({**params, "items_per_page": self.items_per_page, "page": page + 1})
            yield items
            if not more:
                break
            page += 1
        self.step.pages_total = self.step.pages_done + listings_after

    def _ask(self, params: dict) -> _Pending:
        """Renew the lease and take a unit of budget here, then send the call (on the read-ahead thread)."""
        self._renew_lease()
        pacing.take(business_id=self.run_row.business_id, before_wait=lambda _seconds: self._renew_lease())
        call = partial(
            proxy.request,
            self.connection.end_user,
            f"/{self.resource.name}",
            params=params,
            connection=self.connection,
        )
        if self.read_ahead is not None:
            return _Pending(params, self.read_ahead.submit(call))
        answered: Future = Future()
        try:
            answered.set_result(call())
        except Exception as error:
            answered.set_exception(error)
        return _Pending(params, answered)

    def _answer(self, pending: _Pending) -> dict:
        """The envelope of a call; a 429 is waited out and the same page asked again."""
        while True:
            response = pending.future.result()
            self.step.calls += getattr(response, "sageint_attempts", 1) or 1
            if response.status_code != 429:
                return _envelope(response, business_name=self.connection.business_name)
            self._wait_out_throttling(response)
            pending = self._ask(pending.params)

    def _wait_out_throttling(self, response) -> None:
        wait = _retry_after_seconds(response.headers.get("Retry-After"))
        if self.throttle_waited + wait > settings.RECORDS_SYNC_MAX_THROTTLE_WAIT_SECONDS:
            raise SageError(
                429, [{"$message": "Sage kept throttling this sync (429) longer than the sync waits."}]
            )
        logger.info("Sync step %s: Sage throttled (429); waiting %.1fs", self.step.pk, wait)
        self.throttle_waited += wait
        self._save_progress()
        self._renew_lease()
        pacing.sleep(wait)

    def _renew_lease(self) -> None:
        renewed = SyncLease.objects.filter(connection_id=self.connection.pk, run_id=self.run_row.pk).update(
            expires_at=timezone.now() + timedelta(seconds=settings.RECORDS_SYNC_LEASE_SECONDS)
        )
        if not renewed:
            raise StepAborted(
                "This sync lost its lock (the connection was disconnected, or the sync stalled and a newer one "
                "took over); it stopped without deleting anything."
            )

    def _save_progress(self) -> None:
        SyncStep.objects.filter(pk=self.step.pk).update(**_tallies(self.step))


# What a step counts as it goes; summed into its run when the run finishes.
TALLIES = ("pages_done", "pages_total", "created_count", "updated_count", "deleted_count", "calls")


def _tallies(step: SyncStep) -> dict[str, int]:
    return {name: getattr(step, name) for name in TALLIES}


@dataclass
class _Pending:
    params: dict
    future: Future


def _envelope(response, *, business_name: str) -> dict:
    """A list answer's envelope, or the SageError its status means."""
    if response.status_code >= 400:
        errors = sage_errors(response)
        if response.status_code == 401 and any(e.get("$source") == "X-Business" for e in errors):
            # The token is fine, the business is not reachable any more (see connections.sage_client).
            raise BusinessNotReachable(response.status_code, errors, business_name=business_name)
        raise SageError(response.status_code, errors)
    try:
        # Each item keeps its text as Sage sent it: the mirror stores that instead of encoding the item again.
        envelope = read_list_answer(response)
    except ValueError as error:
        raise SageError(
            response.status_code, [{"$message": "Sage answered with a body that is not JSON."}]
        ) from error
    if not isinstance(envelope, dict):
        raise SageError(
            response.status_code, [{"$message": "Sage answered a list call without its envelope."}]
        )
    return envelope


def _retry_after_seconds(value: str | None) -> float:
    """Retry-After as seconds (a number or an HTTP date); a missing or odd value waits the backoff base."""
    fallback = max(settings.SAGE_RETRY_BACKOFF_SECONDS, 1.0)
    if not value:
        return fallback
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        return max((parsedate_to_datetime(value) - timezone.now()).total_seconds(), 0.0)
    except (TypeError, ValueError):
        return fallback


# --- finishing ------------------------------------------------------------------------------------------------


def finish_step(step: SyncStep, *, error: str = "") -> SyncRun:
    """Save the step's outcome; the last step of a run to finish saves the run's and releases the lease."""
    now = timezone.now()
    with transaction.atomic():
        run = SyncRun.objects.select_for_update().get(pk=step.run_id)
        SyncStep.objects.filter(pk=step.pk).update(
            status=Status.FAILED if error else Status.SUCCEEDED,
            error=error,
            finished_at=now,
            **_tallies(step),
        )
        if not run.is_finished and not run.steps.exclude(status__in=SyncRun.FINISHED).exists():
            _finish_run(run, now=now)
    return run


def _finish_run(run: SyncRun, *, now, error_if_any: str = "") -> None:
    """Inside the caller's transaction: totals, final status, lease released, `sync_run_finished` sent."""
    steps = list(run.steps.all())
    failed = [step for step in steps if step.status == Status.FAILED]
    run.status = Status.FAILED if failed or error_if_any else Status.SUCCEEDED
    run.error = "\n".join(f"{step.resource}: {step.error}" for step in failed) or error_if_any
    run.finished_at = now
    run.started_at = run.started_at or now
    run.duration_ms = max(0, round((now - run.started_at).total_seconds() * 1000))
    for name in TALLIES:
        setattr(run, name, sum(getattr(step, name) for step in steps))
    run.save()
    if run.connection_id:
        SyncLease.objects.filter(connection_id=run.connection_id, run=run).update(run=None, expires_at=None)
    sync_run_finished.send(sender=SyncRun, sync_run=run)


# --- the schedule -----------------------------------------------------------------------------------------------


def sync_active_connections(*, trigger: str = "schedule") -> list[SyncRun]:
    """Start a sync for every active connection not already syncing (beat). Reconnect-needed ones are skipped."""
    started = []
    for connection in (
        Connection.objects.filter(status=Connection.Status.ACTIVE).exclude(business_id="").iterator()
    ):
        run = start_sync(connection=connection, trigger=trigger)
        if run is not None:
            started.append(run)
    return started


def running_run(connection_id: int) -> SyncRun | None:
    lease = (
        SyncLease.objects.filter(connection_id=connection_id, run__isnull=False).select_related("run").first()
    )
    return lease.run if lease is not None and not lease.run.is_finished else None
