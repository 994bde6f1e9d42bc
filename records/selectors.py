"""What the connection dashboard shows, read in a fixed handful of queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from api.models import RequestLog
from connections.models import Connection

from . import mirror
from .models import SyncRun, SyncStep


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
        if not self.running_pages_total:
            return 0
        return min(100, round(100 * self.running_pages_done / self.running_pages_total))


def dashboard_for(connection: Connection) -> Dashboard:
    from .sync import running_run

    running = running_run(connection.pk)
    done = total = 0
    if running is not None:
        steps = list(SyncStep.objects.filter(run=running).values_list("pages_done", "pages_total"))
        # A step not started yet counts as one page to do.
        done = sum(pages_done for pages_done, _ in steps)
        total = sum(max(pages_total, 1) for _, pages_total in steps)
    runs = SyncRun.objects.filter(connection=connection)
    last_finished = runs.filter(status__in=SyncRun.FINISHED).order_by("-finished_at", "-id").first()
    last_started = runs.order_by("-created_at").values_list("created_at", flat=True).first()
    last_error = connection.reconnect_reason or connection.last_refresh_error
    if not last_error and last_finished is not None and last_finished.status == SyncRun.Status.FAILED:
        last_error = f"Last sync failed: {last_finished.error}"
    next_sync_at = None
    if connection.is_active:
        interval = timedelta(seconds=settings.RECORDS_SYNC_INTERVAL_SECONDS)
        next_sync_at = (last_started + interval) if last_started else None
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
        next_sync_at=next_sync_at,
    )
