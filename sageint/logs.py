"""Logging: one line per record (JSON in production), each carrying the id of the request it belongs to, and
nothing that looks like a token, code or secret.

The request id comes from the caller's `X-Request-ID` (when it is a plain short id; a load balancer's, say) or is
made here, is sent back in the answer's `X-Request-ID`, and travels with every Celery task the request sends
(a message header), so the worker's log lines of that task carry it too.
"""

import json
import logging
import re
import time
import uuid
from contextvars import ContextVar

from celery.signals import before_task_publish, task_postrun, task_prerun

request_id: ContextVar[str | None] = ContextVar("sageint_request_id", default=None)

REQUEST_ID_HEADER = "X-Request-ID"
TASK_HEADER = "sageint_request_id"
_ACCEPTED_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")

request_logger = logging.getLogger("sageint.request")

# Belt and braces: the code never logs a secret on purpose, and libraries that log token bodies are silenced
# (connections/http_session.py), but a message built from a URL, an answer or an exception could still hold one.
_SECRET_PATTERNS = (
    (re.compile(r"(?i)(bearer\s+)[^\s\"',;]+"), r"\1[redacted]"),
    (
        re.compile(
            r"(?i)\b(access_token|refresh_token|id_token|client_secret|secret|password|user_token|token|code)"
            r"((?:\\?[\"'])?\s*[:=]\s*(?:\\?[\"'])?)[^\s\"'&,;}\\]+"
        ),
        r"\1\2[redacted]",
    ),
)


def redact(text: str) -> str:
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get() or "-"
        return True


class PlainFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


# Attributes every LogRecord has; anything else was passed with `extra=` and is written as a field.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": request_id.get(),
        }
        entry.update({key: value for key, value in vars(record).items() if key not in _STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return redact(json.dumps(entry, default=str))

    converter = time.gmtime


def new_request_id(candidate: str | None = None) -> str:
    if candidate and _ACCEPTED_ID.fullmatch(candidate):
        return candidate
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Gives each request an id, logs one line when it is answered (path without its query string: a query may
    hold a connect link's user_token or an OAuth code), and returns the id in `X-Request-ID`."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = request_id.set(new_request_id(request.headers.get(REQUEST_ID_HEADER)))
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = request_id.get()
            request_logger.info(
                "%s %s %s",
                request.method,
                request.path,
                response.status_code,
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
            return response
        finally:
            request_id.reset(token)


@before_task_publish.connect(dispatch_uid="sageint.logs.request_id_out")
def _send_request_id_with_task(headers=None, **kwargs) -> None:
    current = request_id.get()
    if current and headers is not None:
        headers[TASK_HEADER] = current


@task_prerun.connect(dispatch_uid="sageint.logs.request_id_in")
def _take_request_id_from_task(task=None, **kwargs) -> None:
    if task is None:
        return
    # A worker puts message headers on the request itself; an eager apply() nests them under `headers`.
    received = getattr(task.request, TASK_HEADER, None) or (task.request.headers or {}).get(TASK_HEADER)
    # A task run in place (eager) inside a request keeps that request's id.
    task.request.sageint_log_token = request_id.set(
        new_request_id(received) if received else request_id.get()
    )


@task_postrun.connect(dispatch_uid="sageint.logs.request_id_done")
def _forget_request_id(task=None, **kwargs) -> None:
    token = getattr(getattr(task, "request", None), "sageint_log_token", None)
    if token is not None:
        request_id.reset(token)
