"""Readiness checks: the database, the broker, and the heartbeats of a worker and of beat (heartbeats.py)."""

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.db import connection
from django.utils import timezone

from .models import Heartbeat

logger = logging.getLogger(__name__)

BROKER_TIMEOUT_SECONDS = 2.0


def check_database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return {"ok": True}


def check_broker() -> dict:
    from sageint.celery import app

    with app.connection_for_write() as broker:
        broker.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT_SECONDS)
    return {"ok": True}


def _heartbeat(name: str, what: str) -> dict:
    # Three missed heartbeats in a row mean the process is gone (or cannot reach the broker or database).
    allowed = 3 * settings.SAGEINT_HEARTBEAT_SECONDS
    beat = Heartbeat.objects.filter(name=name).first()
    if beat is None:
        return {"ok": False, "error": f"no {what} seen yet"}
    age = (timezone.now() - beat.seen_at).total_seconds()
    result = {"ok": age <= allowed, "last_seen": beat.seen_at.isoformat(), "seconds_ago": round(age, 1)}
    if not result["ok"]:
        result["error"] = f"no {what} for {age:.0f} s (expected every {settings.SAGEINT_HEARTBEAT_SECONDS} s)"
    return result


def check_worker() -> dict:
    return _heartbeat(Heartbeat.WORKER, "worker ran the heartbeat task")


def check_beat() -> dict:
    return _heartbeat(Heartbeat.BEAT, "heartbeat sent by beat")


CHECKS: dict[str, Callable[[], dict]] = {
    "database": check_database,
    "broker": check_broker,
    "worker": check_worker,
    "beat": check_beat,
}


def run_checks(names: list[str]) -> dict[str, dict]:
    results = {}
    for name in names:
        started = time.perf_counter()
        try:
            result = CHECKS[name]()
        except Exception as error:  # a failing check is reported, never a 500
            logger.warning("readiness check %s failed: %s", name, type(error).__name__)
            result = {"ok": False, "error": type(error).__name__}
        result["ms"] = round((time.perf_counter() - started) * 1000, 1)
        results[name] = result
    return results
