"""When a call to Sage is tried again, and how long to wait first: urllib3's Retry, taught Sage's rules.

The shared session's adapter (http_session.py) carries a SageRetry, so urllib3 itself re-sends a request; this
module only decides. The rules:

- 429 (throttled): retried for any method, since Sage refused before acting. Waits Retry-After when given (else
  exponential backoff). A wait that would take the call's total waiting past SAGE_RETRY_MAX_WAIT_SECONDS is not
  started: the 429, with its Retry-After, goes back to the caller at once.
- 5xx, and errors after the request went out (read timeout, connection dropped or reset): retried with
  exponential backoff only for GET and HEAD, at most SAGE_RETRY_MAX_ATTEMPTS attempts in all.
  POST/PUT/PATCH/DELETE are never sent twice: Sage may have acted.
- Errors while connecting (refused, unreachable, connect timeout) are retried for any method, within the same
  attempt count: urllib3 raises them (ConnectTimeoutError / NewConnectionError) only before a single byte of the
  request was written, so Sage cannot have seen, let alone acted on, that attempt. TLS and proxy failures and a
  reused connection found dead while sending are not in that class: they count as "after sending".
- Every wait (Retry-After or backoff) counts towards SAGE_RETRY_MAX_WAIT_SECONDS.
- A 401 is not this module's business: the client refreshes the token once and replays (Sage answers 401
  before acting, so the replay is safe for writes too).

Settings are read when a call needs them, not when the adapter is built, so they can change at run time.
"""

from __future__ import annotations

import logging
import time
from urllib.parse import urlsplit

from django.conf import settings
from urllib3.exceptions import ConnectTimeoutError, InvalidHeader, MaxRetryError, ProxyError, ResponseError
from urllib3.util.retry import Retry

logger = logging.getLogger(__name__)

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD"})
# A 429 without a usable Retry-After is retried this many times at most (the wait budget also applies).
MAX_THROTTLED_ATTEMPTS = 6

# Indirection so tests can count waits instead of sleeping.
sleep = time.sleep


class SageRetry(Retry):
    """urllib3's Retry with Sage's rules (see the module docstring).

    urllib3 makes a new Retry per attempt (`increment`), so the wait is decided there, where the answer is
    known, and carried on the new object: `waited` is the call's waiting so far, `planned_wait` what `sleep`
    will wait before the next attempt.
    """

    def __init__(self, *args, waited: float = 0.0, planned_wait: float = 0.0, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.waited = waited
        self.planned_wait = planned_wait

    @classmethod
    def policy(cls) -> SageRetry:
        # Counters off: attempts are counted in `increment`, over every kind of failure together.
        return cls(
            total=None,
            allowed_methods=IDEMPOTENT_METHODS,
            raise_on_status=False,  # the last answer (a 429, a 503) goes back to the caller, not an exception
            respect_retry_after_header=True,
        )

    def new(self, **kwargs) -> SageRetry:
        kwargs.setdefault("waited", self.waited)
        kwargs.setdefault("planned_wait", self.planned_wait)
        return super().new(**kwargs)

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if status_code == 429:
            return True
        return status_code >= 500 and method.upper() in IDEMPOTENT_METHODS

    def increment(self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None):
        if (
            error is not None
            and not _before_sending(error)
            and (method or "").upper() not in IDEMPOTENT_METHODS
        ):
            # Sage may have received it: a write is never sent again. (urllib3 already re-raises read errors
            # for such methods; this also covers TLS and other errors after connecting.)
            raise error.with_traceback(_stacktrace)
        retried = super().increment(method, url, response, error, _pool, _stacktrace)
        attempts = len(retried.history)
        throttled = response is not None and response.status == 429
        limit = MAX_THROTTLED_ATTEMPTS if throttled else settings.SAGE_RETRY_MAX_ATTEMPTS
        wait = retried._wait_before_next(response)
        reason = error or ResponseError(
            ResponseError.SPECIFIC_ERROR.format(status_code=getattr(response, "status", ""))
        )
        if attempts >= limit or self.waited + wait > settings.SAGE_RETRY_MAX_WAIT_SECONDS:
            raise MaxRetryError(_pool, url, reason) from error
        logger.info(
            "Sage %s %s: %s; retrying in %.1fs",
            method,
            urlsplit(url or "").path,  # never the query: its values may be personal data
            type(error).__name__ if error is not None else f"HTTP {response.status}",
            wait,
        )
        return retried.new(waited=self.waited + wait, planned_wait=wait)

    def sleep(self, response=None) -> None:
        if self.planned_wait > 0:
            sleep(self.planned_wait)  # the module's `sleep`, looked up now so tests can replace it

    def get_backoff_time(self) -> float:
        """Exponential: base, 2·base, 4·base… after the 1st, 2nd, 3rd failed attempt (urllib3's own waits
        nothing before the first retry, which would hit a struggling Sage again at once)."""
        return settings.SAGE_RETRY_BACKOFF_SECONDS * 2 ** max(len(self.history) - 1, 0)

    def _wait_before_next(self, response) -> float:
        if response is not None and response.status in self.RETRY_AFTER_STATUS_CODES:
            try:
                retry_after = self.get_retry_after(response)
            except InvalidHeader:
                retry_after = None
            if retry_after is not None:
                return float(retry_after)
        return self.get_backoff_time()


def _before_sending(error: Exception) -> bool:
    """True for errors urllib3 raises only while opening the connection, before the request is written."""
    if isinstance(error, ProxyError):
        error = error.original_error
    return isinstance(error, ConnectTimeoutError)


def attempts_made(response) -> int:
    """How many HTTP attempts produced this answer: the ones urllib3 retried, plus this one."""
    history = getattr(getattr(response.raw, "retries", None), "history", None)
    return len(history) + 1 if history else 1
