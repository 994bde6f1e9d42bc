"""A task sent by the web side is executed by a separate worker process (the service run's Redis + worker)."""

import pytest

from sageint.celery import app, ping
from tests.services import require_service, uses_redis_broker


@pytest.fixture
def running_worker():
    require_service(uses_redis_broker(), "A Redis broker (CELERY_BROKER_URL=redis://…)")
    replies = []
    for _ in range(10):  # the worker started by .ci/run may still be booting
        replies = app.control.ping(timeout=1.0)
        if replies:
            break
    require_service(bool(replies), "A Celery worker consuming from the Redis broker")
    return replies


@pytest.mark.services
def test_task_round_trips_through_a_real_worker(running_worker):
    result = ping.delay("round-trip")
    assert result.get(timeout=30) == "round-trip"
    assert result.successful()
