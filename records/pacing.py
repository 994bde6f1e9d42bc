"""Pacing: a per-business request budget for syncs, shared by every process on every machine.

Sage allows roughly 100 calls a minute per business (shared/sage-api.md). Syncs take at most
RECORDS_SYNC_BUDGET_REQUESTS calls per RECORDS_SYNC_BUDGET_WINDOW_SECONDS for one business, whichever worker makes
them, so they never trip Sage's limit and leave room for live proxy calls. The count lives in Redis when
RECORDS_SYNC_BUDGET_REDIS_URL is set (the default when the Celery broker is Redis), in the database otherwise.
Windows are fixed and aligned on the clock, so every process agrees on which window a call belongs to.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F

from .models import RequestBudgetWindow

logger = logging.getLogger(__name__)

# Indirection so tests can count waits instead of sleeping.
sleep = time.sleep
clock = time.time

_redis_clients: dict[str, object] = {}
_redis_lock = threading.Lock()


def take(*, business_id: str, before_wait: Callable[[float], None] | None = None) -> float:
    """Wait until the business's budget allows one more call and count it. Returns the seconds waited.

    `before_wait(seconds)` is called before each wait (the sync renews its lease there).
    """
    limit = settings.RECORDS_SYNC_BUDGET_REQUESTS
    window = settings.RECORDS_SYNC_BUDGET_WINDOW_SECONDS
    if limit <= 0 or window <= 0:
        return 0.0
    waited = 0.0
    while True:
        now = clock()
        window_index = int(now // window)
        if _count_one(business_id, window_index, limit=limit, window=window):
            return waited
        wait = max((window_index + 1) * window - now, 0.01)
        if before_wait is not None:
            before_wait(wait)
        sleep(wait)
        waited += wait


def _count_one(business_id: str, window_index: int, *, limit: int, window: float) -> bool:
    if settings.RECORDS_SYNC_BUDGET_REDIS_URL:
        return _count_in_redis(business_id, window_index, limit=limit, window=window)
    return _count_in_database(business_id, window_index, limit=limit, window=window)


def _redis():
    url = settings.RECORDS_SYNC_BUDGET_REDIS_URL
    client = _redis_clients.get(url)
    if client is None:
        import redis

        with _redis_lock:
            client = _redis_clients.setdefault(
                url, redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
            )
    return client


def _count_in_redis(business_id: str, window_index: int, *, limit: int, window: float) -> bool:
    key = f"sageint:records:budget:{business_id}:{window_index}"
    pipe = _redis().pipeline()
    pipe.incr(key)
    pipe.expire(key, int(window * 2) + 1)
    count, _ = pipe.execute()
    # Refused tries push the count past the limit too; exactly the first `limit` in the window were allowed.
    return int(count) <= limit


def _count_in_database(business_id: str, window_index: int, *, limit: int, window: float) -> bool:
    window_start = dt.datetime.fromtimestamp(window_index * window, tz=dt.UTC)
    windows = RequestBudgetWindow.objects.filter(business_id=business_id, window_start=window_start)
    # One conditional UPDATE: atomic on every database, so two processes can never both take the last call.
    if windows.filter(count__lt=limit).update(count=F("count") + 1):
        return True
    try:
        with transaction.atomic():
            RequestBudgetWindow.objects.create(business_id=business_id, window_start=window_start, count=1)
    except IntegrityError:
        return bool(windows.filter(count__lt=limit).update(count=F("count") + 1))
    # A new window: forget the old ones of this business.
    RequestBudgetWindow.objects.filter(business_id=business_id, window_start__lt=window_start).delete()
    return True
