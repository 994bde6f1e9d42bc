"""The proxy: call any Sage v3.1 endpoint on an end user's behalf, through the one Sage client.

`request()` is the in-process SDK that the company's own Python code calls; the HTTP API (api/views.py) calls it
too, so path safety, the request log and the Sage client's refresh/retry rules are the same for both.

Path safety is an allow-list, not a block-list: a path is accepted only when every segment is made of
`A-Z a-z 0-9 _ - ~` with single dots between them. Every Sage v3.1 path (resource names and hex or UPPER_SNAKE
keys) fits; nothing that could change the host, leave the `/v3.1/` base or be decoded into something else later
(`..`, `.`, `//`, `\\`, `%`, `:`, `@`, control characters, non-ASCII) does. The check runs before the Sage
client is even built, so a refused path never produces an outgoing request.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl

import requests
from django.dispatch import Signal

from connections.exceptions import BusinessNotAllowed, SageintError
from connections.models import Connection
from connections.sage_client import SageClient

logger = logging.getLogger(__name__)

# Sent once per call that reached for Sage, with end_user, method, path, query_names, status_code, failure,
# attempts, duration_ms, source, tool (the agent tool that made the call, or "") and staff_username (the staff
# account that sent it from the admin API console, or ""). The api app writes its
# request log from it, so this service needs no import of the API layer (arrows point one way).
call_finished = Signal()

ALLOWED_METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE")
# Sage answers PDFs when asked with Accept; X-Business chooses, for one call, another of the connection's own
# businesses (checked below). Nothing else a caller sends is Sage's business: Authorization is the client's.
FORWARDED_REQUEST_HEADERS = ("accept",)
BUSINESS_HEADER = "x-business"
MAX_PATH_LENGTH = 1000

_SEGMENT = re.compile(r"[A-Za-z0-9_~-]+(?:\.[A-Za-z0-9_~-]+)*")
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


class UnsafePath(SageintError):
    """The path would not stay a plain relative path under Sage's API base; nothing was sent."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class UnsupportedMethod(SageintError):
    def __init__(self, method: str):
        self.message = f"Method {method!r} is not proxied; use one of {', '.join(ALLOWED_METHODS)}."
        super().__init__(self.message)


def safe_sage_path(path: str) -> str:
    """Return `path` as `/segment/segment…` relative to Sage's API base, or raise UnsafePath.

    `contacts/abc` and `/contacts/abc` are the same path. The reasons are only there to help the caller; the
    allow-list at the end is what decides.
    """
    if not isinstance(path, str) or not path.strip("/"):
        raise UnsafePath("The Sage path is empty.")
    if len(path) > MAX_PATH_LENGTH:
        raise UnsafePath(f"The Sage path is longer than {MAX_PATH_LENGTH} characters.")
    if _CONTROL_CHARACTERS.search(path):
        raise UnsafePath("The Sage path contains control characters.")
    if "\\" in path:
        raise UnsafePath("The Sage path contains a backslash.")
    if _SCHEME.match(path) or "://" in path:
        raise UnsafePath("Give a path relative to Sage's API base, not a URL with a scheme.")
    if path.startswith("//"):
        raise UnsafePath("A path starting with // names another host.")
    if "%" in path:
        raise UnsafePath("The Sage path must not be percent-encoded (Sage paths never need it).")
    # A single trailing slash is forgiven (`contacts/`); anything else empty is refused below.
    relative = path.removeprefix("/").removesuffix("/")
    segments = relative.split("/")
    for segment in segments:
        if segment == "":
            raise UnsafePath("The Sage path has an empty segment (//).")
        if set(segment) == {"."}:
            raise UnsafePath("'.' and '..' segments are not allowed in a Sage path.")
        if not _SEGMENT.fullmatch(segment):
            raise UnsafePath(
                "Each segment of a Sage path may only hold letters, digits, '_', '-', '~' and single inner dots."
            )
    return "/" + relative


def split_sage_path(path: str) -> tuple[str, list[tuple[str, str]]]:
    """Split `/contacts?email=a@b.c` into the checked path and its query pairs (values decoded)."""
    if not isinstance(path, str):
        raise UnsafePath("The Sage path must be a string.")
    if "#" in path:
        raise UnsafePath("A Sage path cannot carry a #fragment.")
    path_part, _, query = path.partition("?")
    return safe_sage_path(path_part), parse_qsl(query, keep_blank_values=True)


def _query_pairs(params: Mapping[str, Any] | Iterable[tuple[str, Any]] | None) -> list[tuple[str, str]]:
    if not params:
        return []
    items = params.items() if isinstance(params, Mapping) else params
    pairs = []
    for name, value in items:
        values = value if isinstance(value, list | tuple) else [value]
        pairs.extend((str(name), str(one)) for one in values)
    return pairs


def request(
    end_user,
    path: str,
    method: str = "GET",
    json: Any = None,
    params: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None,
    *,
    data: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float | None = None,
    stream: bool = False,
    source: str = "python",
    defer_log: Callable[[Callable[[], None]], None] | None = None,
    connection: Connection | None = None,
    tool: str = "",
    staff_username: str = "",
) -> requests.Response:
    """Send `method path` to Sage for `end_user`'s connection and return Sage's answer, whatever its status.

    `path` is relative to the API base (`/contacts?email=a@b.c`); `params` add to its query. Give the body as
    `json` (serialised here) or `data` (bytes sent as they are, e.g. a JSON body passed through unchanged).

    Raises UnsafePath / UnsupportedMethod before anything is sent; NotConnected / ReconnectRequired when the end
    user has no usable connection; IntegrationDisabled when an administrator switched the integration off;
    SageUnavailable / SageTimeout when Sage could not be reached. Sage's own error
    answers (4xx/5xx) are returned, not raised. Retries, refresh and X-Business are the Sage client's job.

    Every call that reached for Sage writes one request-log row. `defer_log` (used by the HTTP API) receives
    the write instead of running it, so it can happen after the answer is on its way to the caller.

    `connection` is the end user's Connection row when the caller has just read it (the HTTP API reads it in the
    same query as the end user); by default it is read here. A row that is not the end user's is refused.

    `headers`: only `Accept` and `X-Business` are used. `X-Business` sends this one call to another of the
    connection's businesses; any business not among them raises BusinessNotAllowed before anything is sent.
    With `stream=True` the body is read as the caller reads it (`iter_content`); close the response after.
    The HTTP API streams this way, so a large answer (a PDF) is never held whole in memory.
    `tool` names the agent tool making the call, and `staff_username` the staff account sending it from the admin
    API console, for the request log.
    """
    method = method.upper()
    if method not in ALLOWED_METHODS:
        raise UnsupportedMethod(method)
    sage_path, query = split_sage_path(path)
    query += _query_pairs(params)
    forwarded = {
        name: value for name, value in (headers or {}).items() if name.lower() in FORWARDED_REQUEST_HEADERS
    }
    if data is not None:
        forwarded["Content-Type"] = "application/json"

    if connection is None:
        client = SageClient.for_end_user(end_user)
    elif connection.end_user_id != end_user.pk:
        raise ValueError("The connection given is not this end user's.")
    else:
        client = SageClient.for_connection(connection)
    business_id = chosen_business(client.connection, headers)
    started = time.perf_counter()
    response = None
    failure: Exception | None = None
    try:
        response = client.send(
            method,
            sage_path,
            params=query or None,
            json=json,
            data=data,
            headers=forwarded or None,
            timeout=timeout,
            business_id=business_id,
            stream=stream,
        )
        return response
    except SageintError as exc:
        failure = exc
        raise
    finally:
        _record(
            end_user=end_user,
            method=method,
            path=sage_path,
            query=query,
            response=response,
            failure=failure,
            duration_ms=round((time.perf_counter() - started) * 1000),
            source=source,
            tool=tool,
            staff_username=staff_username,
            defer_log=defer_log if response is not None else None,
        )


def chosen_business(connection: Connection, headers: Mapping[str, str] | None) -> str | None:
    """The business a caller's X-Business names for this call (None: the connection's own choice).

    A business the Sage user did not connect is refused here, before anything is sent: silently serving the
    connection's business instead would hand a caller another company's data as if it were the one asked for.
    """
    requested = next(
        (value for name, value in (headers or {}).items() if name.lower() == BUSINESS_HEADER), None
    )
    requested = (requested or "").strip()
    if not requested:
        return None
    if connection.business_by_id(requested) is None:
        raise BusinessNotAllowed(requested, allowed=connection.businesses)
    return requested


def _record(
    *, end_user, method, path, query, response, failure, duration_ms, source, tool, staff_username, defer_log
) -> None:
    def write() -> None:
        # The call to Sage has happened (a write may have been made): a failure to log must never turn
        # Sage's answer into an error, or the caller would retry a write that already succeeded.
        try:
            call_finished.send(
                sender=request,
                end_user=end_user,
                method=method,
                path=path,
                query_names=[name for name, _ in query],
                status_code=response.status_code if response is not None else None,
                failure=failure,
                attempts=getattr(response, "sageint_attempts", None),
                duration_ms=duration_ms,
                source=source,
                tool=tool,
                staff_username=staff_username,
            )
        except Exception:
            logger.exception("Could not write the request log row for %s %s", method, path)

    if defer_log is None:
        write()
    else:
        defer_log(write)
