"""Under the production web server each worker writes the request log from one thread, in batches: a call only
hands its row over, a graceful stop writes what is waiting, a failed batch is logged and the next one written."""

import runpy
import time
from pathlib import Path

import pytest
from django.conf import settings

from api import request_log
from api.models import RequestLog

pytestmark = pytest.mark.django_db(transaction=True)  # the writer thread has its own database connection


def record(path: str) -> None:
    request_log.record_call(
        end_user=None, method="GET", path=path, query_names=["email"], status_code=200, failure=None,
        attempts=1, duration_ms=12, source="http",
    )  # fmt: skip


@pytest.fixture
def background_writes():
    request_log.write_in_background()
    yield
    request_log.stop_writing_in_background()


def test_a_call_only_hands_its_row_over_and_a_stop_writes_what_is_waiting(
    background_writes, django_assert_num_queries
):
    with django_assert_num_queries(0):
        for number in range(3):
            record(f"/contacts/{number}")

    request_log.stop_writing_in_background()

    rows = RequestLog.objects.order_by("path")
    assert [(row.path, row.status_code, row.query_names) for row in rows] == [
        (f"/contacts/{number}", 200, "email") for number in range(3)
    ]


def test_rows_are_written_on_the_clock_without_a_stop(background_writes, monkeypatch):
    monkeypatch.setattr(request_log, "BATCH_SECONDS", 0.05)
    request_log.stop_writing_in_background()
    request_log.write_in_background()  # with the short clock

    record("/contacts")

    assert wait_for(lambda: RequestLog.objects.filter(path="/contacts").exists())


def test_a_failed_batch_is_logged_and_the_next_one_written(background_writes, monkeypatch, caplog):
    real_bulk_create = RequestLog.objects.bulk_create
    calls = []

    def failing_once(rows, **kwargs):
        calls.append(len(rows))
        if len(calls) == 1:
            raise RuntimeError("database is locked")
        return real_bulk_create(rows, **kwargs)

    monkeypatch.setattr(RequestLog.objects, "bulk_create", failing_once)
    record("/lost")
    assert wait_for(lambda: calls)
    record("/kept")
    request_log.stop_writing_in_background()

    assert "Could not write 1 request log rows" in caplog.text
    assert list(RequestLog.objects.values_list("path", flat=True)) == ["/kept"]


def test_the_web_servers_workers_write_in_the_background():
    config = runpy.run_path(str(Path(settings.BASE_DIR) / "gunicorn.conf.py"))
    config["post_worker_init"](None)
    try:
        assert request_log._background is not None
    finally:
        config["worker_exit"](None, None)
    assert request_log._background is None


def wait_for(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False
