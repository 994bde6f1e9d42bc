"""Fault injection for tests: "make the next N API calls answer 500/503, hang, or drop the connection".

Faults are rows (FaultRule) so a test, `manage.py sandbox_fault` or `POST /sandbox/faults/` in one process can
break the sandbox served by another (runserver, gunicorn, live_server)."""

import contextlib
import socket
import time

from django.db.models import F
from django.http import HttpRequest, HttpResponse

from sandbox.errors import SageApiError
from sandbox.models import FaultRule

KINDS = [kind for kind, _label in FaultRule.KIND_CHOICES]


class ConnectionDropped(ConnectionError):
    """Raised when a "drop" fault hits a request that has no real socket (Django's test client): an in-process
    transport can translate it into the connection error a real client would get."""


def inject_fault(
    *, kind: str, count: int = 1, hang_seconds: float = 30.0, path_prefix: str = ""
) -> FaultRule:
    if kind not in KINDS:
        raise ValueError(f"Unknown fault kind {kind!r}; choose one of {', '.join(KINDS)}.")
    if count < 1:
        raise ValueError("count must be at least 1.")
    if hang_seconds < 0:
        raise ValueError("hang_seconds cannot be negative.")
    return FaultRule.objects.create(
        kind=kind, remaining=count, hang_seconds=hang_seconds, path_prefix=path_prefix
    )


def clear_faults() -> int:
    deleted, _ = FaultRule.objects.all().delete()
    return deleted


def active_faults() -> list[FaultRule]:
    return list(FaultRule.objects.filter(remaining__gt=0))


def claim_next_fault(*, path: str) -> FaultRule | None:
    """Take one hit off the oldest matching rule. The conditional UPDATE makes each hit count once even when
    several processes serve calls at the same time."""
    for rule in FaultRule.objects.filter(remaining__gt=0):
        if rule.path_prefix and not path.startswith(rule.path_prefix):
            continue
        if FaultRule.objects.filter(pk=rule.pk, remaining__gt=0).update(remaining=F("remaining") - 1):
            FaultRule.objects.filter(remaining=0).delete()
            return rule
    return None


def apply_next_fault(request: HttpRequest, *, path: str) -> HttpResponse | None:
    """Apply the next fault for this call: raises SageApiError (500/503), sleeps (hang, then the call goes
    on), or drops the connection and returns the response the server will fail to send. None: no fault."""
    rule = claim_next_fault(path=path)
    if rule is None:
        return None
    if rule.kind == FaultRule.KIND_500:
        raise SageApiError(
            500, data_code="InternalServerError", message="Internal server error (injected fault)."
        )
    if rule.kind == FaultRule.KIND_503:
        raise SageApiError(
            503,
            data_code="ServiceUnavailable",
            message="Service unavailable, please retry later (injected fault).",
        )
    if rule.kind == FaultRule.KIND_HANG:
        time.sleep(rule.hang_seconds)
        return None
    return drop_connection(request)


def drop_connection(request: HttpRequest) -> HttpResponse:
    client_socket = _client_socket(request.environ)
    if client_socket is None:
        raise ConnectionDropped("The sandbox dropped the connection (injected fault).")
    with contextlib.suppress(OSError):
        # Shut the socket down under the server's feet: the client reads EOF instead of a status line, and the
        # server's own write of the response below fails quietly (wsgiref ignores a broken pipe).
        client_socket.shutdown(socket.SHUT_RDWR)
    response = HttpResponse(status=500)
    response["Connection"] = "close"
    return response


def _client_socket(environ: dict) -> socket.socket | None:
    """Find the client connection behind the WSGI input stream: gunicorn names it; Django's runserver and
    live_server wrap the socket's file in LimitedStream → BufferedReader → SocketIO."""
    candidate = environ.get("gunicorn.socket")
    if isinstance(candidate, socket.socket):
        return candidate
    stream = environ.get("wsgi.input")
    for _ in range(8):
        if stream is None:
            return None
        if isinstance(stream, socket.socket):
            return stream
        inner_socket = getattr(stream, "_sock", None)
        if isinstance(inner_socket, socket.socket):
            return inner_socket
        next_stream = getattr(stream, "raw", None) or getattr(stream, "stream", None)
        if next_stream is None:
            bound_read = getattr(stream, "_read", None)  # django.core.handlers.wsgi.LimitedStream
            next_stream = getattr(bound_read, "__self__", None)
        stream = next_stream
    return None
