"""The request log: write one row per proxied call, prune old rows."""

from __future__ import annotations

import logging
import threading
from contextlib import nullcontext
from datetime import timedelta

from django.conf import settings
from django.db import connections, router
from django.utils import timezone

from api.errors import status_and_code
from api.models import RequestLog

logger = logging.getLogger(__name__)


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
    row = RequestLog(
        created_at=timezone.now(),
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
    if _background is not None:
        _background.put(row)
    else:
        _insert(row)
    return row


def _insert(row: RequestLog) -> None:
    """One INSERT, its SQL built once per database: this runs after every proxied call, and the ORM's create()
    compiles the statement anew each time, which costs several times the write itself (bench/proxy_overhead.py
    --phases). The row gets no id back (nothing reads it); RequestLog has no save signals to miss. It runs in
    autocommit, outside any transaction of the caller's (the proxy refuses to call Sage inside one)."""
    connection = connections[router.db_for_write(RequestLog)]
    sql = _insert_sql.get(connection.vendor)
    if sql is None:
        quote = connection.ops.quote_name
        sql = (
            f"INSERT INTO {quote(RequestLog._meta.db_table)} "  # noqa: S608 (names from the model)
            f"({', '.join(quote(field.column) for field in _INSERTED_FIELDS)}) "
            f"VALUES ({', '.join(['%s'] * len(_INSERTED_FIELDS))})"
        )
        if connection.vendor == "postgresql":
            # This statement's own transaction commits without waiting for PostgreSQL to flush it to disk (a
            # wait of milliseconds on a busy disk, while the caller's next request on the connection waits too).
            # A database crash can lose the last fraction of a second of log rows, never anything else: only
            # this statement's commit is affected (set_config(..., true) is local to its transaction).
            sql += " RETURNING set_config('synchronous_commit', 'off', true)"
        _insert_sql[connection.vendor] = sql
    values = [field.get_db_prep_save(getattr(row, field.attname), connection) for field in _INSERTED_FIELDS]
    # SQLite has one writer at a time, and a writer finding the file locked sleeps (1, 2, 5, 10… ms) before
    # trying again: the web server's threads queue here instead, each woken as soon as the one before is done.
    with _sqlite_writer if connection.vendor == "sqlite" else nullcontext(), connection.cursor() as cursor:
        cursor.execute(sql, values)


_INSERTED_FIELDS = [field for field in RequestLog._meta.concrete_fields if not field.primary_key]
_insert_sql: dict[str, str] = {}
_sqlite_writer = threading.Lock()


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


# --- writing in the background (the production web server) --------------------------------------------------

# How often the waiting rows are written, and the most rows one INSERT carries.
BATCH_SECONDS = 0.2
MAX_BATCH_ROWS = 500


class _BackgroundWriter:
    """One thread per process writing the request log in batches: a proxied call only hands its row over.

    Every call writing its own row made concurrent calls queue on the database (on SQLite, one writer at a time:
    the proxy served 38 % of a bare forwarder's throughput at 16 callers, 85 % without the write). The thread
    wakes on a clock, not for each row, so it never takes the interpreter from a call in progress. The price:
    rows of the last BATCH_SECONDS are lost if the process is killed outright (a graceful stop writes them).
    """

    def __init__(self) -> None:
        self.waiting: list[RequestLog] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="request-log-writer", daemon=True)
        self.thread.start()

    def put(self, row: RequestLog) -> None:
        with self.lock:
            self.waiting.append(row)

    def stop(self, *, timeout: float) -> None:
        self.stopping.set()
        self.thread.join(timeout)

    def _run(self) -> None:
        while not self.stopping.wait(BATCH_SECONDS):
            self._write_waiting()
        self._write_waiting()

    def _write_waiting(self) -> None:
        with self.lock:
            batch, self.waiting = self.waiting, []
        if not batch:
            return
        try:
            RequestLog.objects.bulk_create(batch, batch_size=MAX_BATCH_ROWS)
        except Exception:
            logger.exception("Could not write %d request log rows", len(batch))
        finally:
            # This thread's connection goes back (to the pool, on PostgreSQL) between batches.
            connections.close_all()


_background: _BackgroundWriter | None = None


def write_in_background() -> None:
    """From now on this process writes its request log in batches (gunicorn.conf.py: each web worker)."""
    global _background
    if _background is None:
        _background = _BackgroundWriter()


def stop_writing_in_background(*, timeout: float = 10.0) -> None:
    """Write what is waiting and go back to writing each row at once (a web worker stopping)."""
    global _background
    writer, _background = _background, None
    if writer is not None:
        writer.stop(timeout=timeout)
