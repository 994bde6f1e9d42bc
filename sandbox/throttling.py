"""Sage-like throttling: at most SAGE_SANDBOX_RATE_LIMIT_PER_MINUTE API calls per business in each
60-second window (0 switches it off). Counted in the database so every server process shares the limit."""

import math
from datetime import timedelta

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from sandbox.models import RateLimitWindow

WINDOW = timedelta(seconds=60)


def seconds_until_allowed(*, business_id: str) -> int:
    """Count this call; 0 when it may go ahead, else the whole seconds to wait (the Retry-After value)."""
    limit = settings.SAGE_SANDBOX_RATE_LIMIT_PER_MINUTE
    if limit <= 0:
        return 0
    now = timezone.now()
    window_start = now.replace(second=0, microsecond=0)
    window, created = RateLimitWindow.objects.get_or_create(
        business_id=business_id, window_start=window_start
    )
    if created:
        RateLimitWindow.objects.filter(business_id=business_id, window_start__lt=window_start).delete()
    RateLimitWindow.objects.filter(pk=window.pk).update(count=F("count") + 1)
    window.refresh_from_db(fields=["count"])
    if window.count <= limit:
        return 0
    return max(1, math.ceil((window_start + WINDOW - now).total_seconds()))
