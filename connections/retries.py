"""When a call to Sage is tried again, and how long to wait first. The Sage client follows these rules.

- 429 (throttled): retried for any method, since Sage refused before acting. Waits Retry-After when given
  (else exponential backoff), until the total waiting would pass SAGE_RETRY_MAX_WAIT_SECONDS; then the 429
  goes back to the caller.
- 5xx and connection errors/timeouts: retried with exponential backoff only for GET and HEAD, at most
  SAGE_RETRY_MAX_ATTEMPTS attempts in all. POST/PUT/PATCH/DELETE are never sent twice: Sage may have acted.
- A 401 is not this module's business: the client refreshes the token once and replays (Sage answers 401
  before acting, so the replay is safe for writes too).
"""

import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from django.conf import settings
from django.utils import timezone

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD"})
# A 429 without a usable Retry-After is retried this many times at most (the wait budget also applies).
_MAX_THROTTLED_ATTEMPTS = 6

# Indirection so tests can count waits instead of sleeping.
sleep = time.sleep


@dataclass
class RetryState:
    method: str
    attempts: int = 0
    waited_seconds: float = 0.0

    @property
    def idempotent(self) -> bool:
        return self.method.upper() in IDEMPOTENT_METHODS


def backoff_seconds(attempt: int) -> float:
    """Exponential: base, 2·base, 4·base… after the 1st, 2nd, 3rd attempt."""
    return settings.SAGE_RETRY_BACKOFF_SECONDS * (2 ** max(attempt - 1, 0))


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds (delta-seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max((when - timezone.now()).total_seconds(), 0.0)


def wait_before_retrying_status(state: RetryState, status: int, retry_after: str | None) -> float | None:
    """Seconds to wait before trying again after an HTTP status, or None to give the answer back."""
    if status == 429:
        if state.attempts >= _MAX_THROTTLED_ATTEMPTS:
            return None
        wait = parse_retry_after(retry_after)
        if wait is None:
            wait = backoff_seconds(state.attempts)
        if state.waited_seconds + wait > settings.SAGE_RETRY_MAX_WAIT_SECONDS:
            return None
        return wait
    if status >= 500 and state.idempotent and state.attempts < settings.SAGE_RETRY_MAX_ATTEMPTS:
        return backoff_seconds(state.attempts)
    return None


def wait_before_retrying_error(state: RetryState) -> float | None:
    """Seconds to wait after a connection error or timeout, or None to raise it."""
    if state.idempotent and state.attempts < settings.SAGE_RETRY_MAX_ATTEMPTS:
        return backoff_seconds(state.attempts)
    return None


def wait(state: RetryState, seconds: float) -> None:
    state.waited_seconds += seconds
    if seconds > 0:
        sleep(seconds)
