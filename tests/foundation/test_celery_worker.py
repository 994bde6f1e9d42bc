"""A task sent by the web side is executed by a separate worker process (the service run's Redis + worker)."""

import pytest

from sageint.celery import ping


@pytest.mark.services
def test_task_round_trips_through_a_real_worker(celery_worker):
    result = ping.delay("round-trip")
    assert result.get(timeout=30) == "round-trip"
    assert result.successful()
