"""The proxy's own errors: one JSON shape, `{"error": {"code": ..., "message": ...}}`, and one status per cause.

Sage's own error answers never come through here: they are passed to the caller unchanged.
"""

from __future__ import annotations

from django.http import JsonResponse

from connections.exceptions import (
    BusinessNotAllowed,
    IntegrationDisabled,
    InvalidUserToken,
    NotConnected,
    ReconnectRequired,
    SageintError,
    SageTimeout,
    SageUnavailable,
)
from connections.proxy import UnsafePath, UnsupportedMethod


class ApiError(Exception):
    """An error the API itself detects (auth missing, bad body, ...), answered with `status` and `code`."""

    # Extra machine-readable detail (e.g. every input error of an agent tool call), answered as error.details.
    details: list | None = None

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


# Domain exception → (HTTP status, error code). The first matching class wins, so subclasses come first.
STATUS_FOR_EXCEPTION: list[tuple[type[Exception], int, str]] = [
    (InvalidUserToken, 401, "invalid_token"),
    # Switched off by the administrator: unavailable for now, not the caller's fault (a 403 would read as "your
    # token may not do this").
    (IntegrationDisabled, 503, "integration_disabled"),
    (BusinessNotAllowed, 403, "business_not_allowed"),
    (NotConnected, 404, "not_connected"),
    (ReconnectRequired, 409, "reconnect_required"),
    (UnsafePath, 400, "invalid_path"),
    (UnsupportedMethod, 405, "method_not_allowed"),
    (SageTimeout, 504, "sage_timeout"),  # a SageUnavailable subclass, so it comes first
    (SageUnavailable, 502, "sage_unavailable"),
]

DEFAULT_MESSAGES = {
    "not_connected": "This user has not connected Sage Accounting yet.",
    "reconnect_required": "This user's Sage connection must be connected again.",
    "sage_unavailable": "Sage Accounting could not be reached.",
    "sage_timeout": "Sage Accounting did not answer in time.",
}


def status_and_code(exc: Exception) -> tuple[int, str] | None:
    for exception_class, status, code in STATUS_FOR_EXCEPTION:
        if isinstance(exc, exception_class):
            return status, code
    return None


def error_response(status: int, code: str, message: str, details: list | None = None) -> JsonResponse:
    error = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return JsonResponse({"error": error}, status=status)


def response_for_exception(exc: Exception) -> JsonResponse | None:
    """The JSON answer for an ApiError or a known domain exception; None for anything else (a real bug)."""
    if isinstance(exc, ApiError):
        return error_response(exc.status, exc.code, exc.message, exc.details)
    mapped = status_and_code(exc)
    if mapped is None or not isinstance(exc, SageintError):
        return None
    status, code = mapped
    # Exception texts are ours (never a token); ReconnectRequired carries the reason the user must reconnect.
    message = getattr(exc, "message", "") or str(exc) or DEFAULT_MESSAGES.get(code, code)
    return error_response(status, code, message)
