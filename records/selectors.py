"""What the connection dashboard shows, read in a fixed handful of queries."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Max

from api.models import RequestLog
from connections.models import Connection

from . import mirror
from .models import SyncRun, SyncStep, progress_percent


@dataclass
class Dashboard:
    counts: dict[str, int]
    counts_all_businesses: int
    last_used_at: datetime | None
    running: SyncRun | None
    running_pages_done: int
    running_pages_total: int
    last_finished: SyncRun | None
    last_error: str
    next_sync_at: datetime | None

    @property
    def progress_percent(self) -> int:
        return progress_percent(self.running_pages_done, self.running_pages_total, finished=False)


def dashboard_for(connection: Connection) -> Dashboard:
    from .sync import running_run

    running = running_run(connection.pk)
    done = total = 0
    if running is not None:
        done, total = _pages(SyncStep.objects.filter(run=running).values_list("pages_done", "pages_total"))
    runs = SyncRun.objects.filter(connection=connection)
    last_finished = runs.filter(status__in=SyncRun.FINISHED).order_by("-finished_at", "-id").first()
    last_started = runs.order_by("-created_at").values_list("created_at", flat=True).first()
    last_error = connection.reconnect_reason or connection.last_refresh_error
    if not last_error and last_finished is not None and last_finished.status == SyncRun.Status.FAILED:
        last_error = f"Last sync failed: {last_finished.error}"
    counts = mirror.mirror_counts(connection_id=connection.pk, business_id=connection.business_id)
    return Dashboard(
        counts=counts,
        counts_all_businesses=sum(mirror.mirror_counts(connection_id=connection.pk).values()),
        last_used_at=RequestLog.objects.filter(end_user_id=connection.end_user_id)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first(),
        running=running,
        running_pages_done=done,
        running_pages_total=total,
        last_finished=last_finished,
        last_error=last_error,
        next_sync_at=next_sync_at(connection, last_started),
    )


def next_sync_at(connection: Connection, last_started: datetime | None) -> datetime | None:
    """When beat's next sync of this connection is due: none for a connection that must be connected again
    (beat skips it), or that never synced (nothing to count from)."""
    if not connection.is_active or last_started is None:
        return None
    return last_started + timedelta(seconds=settings.RECORDS_SYNC_INTERVAL_SECONDS)


def _pages(steps) -> tuple[int, int]:
    """Pages done and to do of a running sync's steps, from (pages_done, pages_total) pairs; a step not started
    yet counts as one page to do."""
    steps = list(steps)
    return sum(done for done, _ in steps), sum(max(total, 1) for _, total in steps)


@dataclass(frozen=True)
class SyncStatus:
    """What the management API says about a connection's syncs: its latest run (running or finished) and when
    the next scheduled one is due."""

    last_run: SyncRun | None
    pages_done: int
    pages_total: int
    next_sync_at: datetime | None


def sync_statuses(connections: list[Connection]) -> dict[int, SyncStatus]:
    """The sync status of each connection (by primary key), in three queries however many there are."""
    latest_ids = (
        SyncRun.objects.filter(connection__in=connections)
        .values("connection_id")
        .annotate(latest=Max("pk"))
        .values_list("latest", flat=True)
    )
    latest = {run.connection_id: run for run in SyncRun.objects.filter(pk__in=list(latest_ids))}
    running_steps: dict[int, list[tuple[int, int]]] = defaultdict(list)
    running_ids = [run.pk for run in latest.values() if not run.is_finished]
    for run_id, done, total in SyncStep.objects.filter(run_id__in=running_ids).values_list(
        "run_id", "pages_done", "pages_total"
    ):
        running_steps[run_id].append((done, total))
    statuses = {}
    for connection in connections:
        run = latest.get(connection.pk)
        if run is None:
            statuses[connection.pk] = SyncStatus(None, 0, 0, next_sync_at(connection, None))
            continue
        done, total = (
            _pages(running_steps[run.pk]) if run.pk in running_steps else (run.pages_done, run.pages_total)
        )
        statuses[connection.pk] = SyncStatus(run, done, total, next_sync_at(connection, run.created_at))
    return statuses


def sync_run_as_json(run: SyncRun, *, pages_done: int | None = None, pages_total: int | None = None) -> dict:
    """A sync run as the management API and the sync webhooks give it. A running run's pages are read from its
    steps by the caller (sync_statuses); a finished run's totals are on the run."""
    done = run.pages_done if pages_done is None else pages_done
    total = run.pages_total if pages_total is None else pages_total
    return {
        "id": run.pk,
        "kind": run.kind,
        "trigger": run.trigger,
        "status": run.status,
        "business": {"id": run.business_id, "name": run.business_name},
        "progress": {
            "pages_done": done,
            "pages_total": total,
            "percent": progress_percent(done, total, finished=run.is_finished),
        },
        "created": run.created_count,
        "updated": run.updated_count,
        "deleted": run.deleted_count,
        "error": run.error or None,
        "created_at": _when(run.created_at),
        "started_at": _when(run.started_at),
        "finished_at": _when(run.finished_at),
        "duration_ms": run.duration_ms,
    }


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
