"""The request log: write one row per proxied call, prune old rows."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from api.errors import status_and_code
from api.models import RequestLog


def record_call(
    *,
    end_user,
    method: str,
    path: str,
    query_names: list[str],
    status_code: int | None,
    failure: Exception | None,
    attempts: int | None,
    duration_ms: int,
    source: str,
    tool: str = "",
    staff_username: str = "",
) -> RequestLog:
    """Write the row for one call. Query values are dropped here on purpose: only their names are kept."""

    error_code = ""
    if failure is not None:
        mapped = status_and_code(failure)
        status_code, error_code = mapped if mapped else (None, type(failure).__name__)
    unique_names = list(dict.fromkeys(query_names))
    return RequestLog.objects.create(
        end_user=end_user,
        method=method,
        path=path[:1000],
        query_names=",".join(unique_names)[:500],
        status_code=status_code,
        error_code=error_code[:40],
        attempts=attempts,
        duration_ms=max(0, duration_ms),
        source=source,
        tool=tool[:64],
        staff_username=staff_username[:150],
    )


def record_finished_call(sender, **call) -> None:
    """Receiver of connections.proxy.call_finished (connected in ApiConfig.ready)."""
    call.pop("signal", None)
    record_call(**call)


def prune_request_log(*, older_than_days: int | None = None) -> int:
    """Delete rows older than the retention period; returns how many went."""
    days = settings.SAGEINT_REQUEST_LOG_RETENTION_DAYS if older_than_days is None else older_than_days
    cutoff = timezone.now() - timedelta(days=days)
    deleted, _ = RequestLog.objects.filter(created_at__lt=cutoff).delete()
    return deleted
