"""The proxy HTTP API. Views parse the request, call connections.proxy.request, and return Sage's answer."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Iterator

import requests
from django.conf import settings
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt

from api.auth import authenticate_end_user
from api.errors import ApiError, error_response, response_for_exception
from api.openapi import openapi_document
from connections import proxy
from connections.exceptions import SageUnavailable

logger = logging.getLogger(__name__)

INTEGRATION = "sageaccounting"
# Headers of Sage's answer a caller needs; the rest (cookies, Sage's infrastructure headers) stay behind.
PASSED_RESPONSE_HEADERS = ("Retry-After", "Location", "Content-Disposition", "X-Business")
METHODS_WITH_BODY = ("POST", "PUT", "DELETE")
# Sage's answers up to this size are read whole and answered with their length; a larger one (a PDF, a big page)
# is passed on as it arrives, so a worker never holds more than this much of any answer (plus one chunk).
BUFFERED_ANSWER_BYTES = 1024 * 1024
ANSWER_CHUNK_BYTES = 64 * 1024


def api_endpoint(view):
    """Every proxy rule that is not the proxying itself: CSRF handled per caller, one JSON error shape."""

    @csrf_exempt
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except Exception as exc:
            response = response_for_exception(exc)
            if response is not None:
                return response
            # A bug of ours: the traceback goes to the log (the path, never the query or a header); the caller
            # still gets the one error shape, without the exception's text.
            logger.exception("Proxy API failed on %s %s", request.method, request.path)
            return error_response(500, "internal_error", "sageint failed to handle this request.")

    return wrapper


def allowed_methods(*methods: str):
    """Answer any other HTTP method with the API's 405 (and an Allow header) before the view runs."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.method not in methods:
                response = error_response(405, "method_not_allowed", f"Use {' or '.join(methods)}.")
                response["Allow"] = ", ".join(methods)
                return response
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


def read_json_object(request, *, max_bytes: int) -> dict:
    """A request body that is one JSON object (an empty body is `{}`), read up to `max_bytes`."""
    body = request.read(max_bytes + 1)
    if len(body) > max_bytes:
        raise ApiError(413, "body_too_large", f"The request body is larger than {max_bytes} bytes.")
    if not body.strip():
        return {}
    try:
        parsed = json.loads(body)
    except ValueError:
        raise ApiError(400, "invalid_json", "The request body is not valid JSON.") from None
    if not isinstance(parsed, dict):
        raise ApiError(400, "invalid_json", "The request body must be a JSON object.")
    return parsed


def read_json_body(request) -> bytes | None:
    """The request body, unchanged, once it is known to be JSON of an acceptable size."""
    limit = settings.SAGEINT_PROXY_MAX_BODY_BYTES
    too_large = ApiError(413, "body_too_large", f"The request body is larger than {limit} bytes.")
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise ApiError(400, "invalid_request", "The Content-Length header is not a number.") from None
    if declared > limit:
        raise too_large
    if request.content_type == "multipart/form-data":
        # A form upload is not a Sage body (and a session's CSRF check may already have consumed it).
        raise ApiError(400, "invalid_json", "The request body must be JSON, not a multipart form.")
    # Read from the stream, not request.body: Django's own cap there (DATA_UPLOAD_MAX_MEMORY_SIZE) would
    # otherwise overrule SAGEINT_PROXY_MAX_BODY_BYTES. One byte more than the limit tells "too large" apart.
    body = request.read(limit + 1)
    if len(body) > limit:
        raise too_large
    if not body:
        return None
    try:
        json.loads(body)
    except ValueError:
        raise ApiError(400, "invalid_json", "The request body is not valid JSON.") from None
    # The bytes go to Sage as they came, so amounts like "25.99" or 25.99 keep their exact form.
    return body


class _AfterSend:
    """Sage's answer. The WSGI server calls close() once the body is sent: the connection to Sage goes back to
    the pool and the request-log row is written then, so the caller never waits for it."""

    def __init__(self, *args, after_send: list[Callable[[], None]], **kwargs):
        super().__init__(*args, **kwargs)
        self.after_send = after_send

    def close(self) -> None:
        try:
            _run_all(self.after_send)
        finally:
            super().close()


class ProxiedResponse(_AfterSend, HttpResponse):
    pass


class StreamedProxiedResponse(_AfterSend, StreamingHttpResponse):
    pass


def _run_all(callbacks: list[Callable[[], None]]) -> None:
    for callback in callbacks:
        try:
            callback()
        except Exception:
            logger.exception("Proxy API: a step after sending the answer failed")


def read_up_to(chunks: Iterator[bytes], limit: int) -> tuple[list[bytes], bool]:
    """The answer's first chunks, just past `limit` bytes, and whether that was all of it."""
    head: list[bytes] = []
    size = 0
    for chunk in chunks:
        head.append(chunk)
        size += len(chunk)
        if size > limit:
            return head, False
    return head, True


def _passed_on(head: list[bytes], rest: Iterator[bytes], path: str) -> Iterator[bytes]:
    yield from head
    try:
        yield from rest
    except requests.RequestException:
        # The status line is already on its way: breaking the connection is the one honest signal left (an
        # answer cut short must never look complete to the caller).
        logger.warning("Proxy API: Sage's answer for %s broke off while it was being passed on", path)
        raise


def _sage_answer(sage_response, *, after_send: list[Callable[[], None]], path: str) -> HttpResponse:
    """Sage's answer as the caller gets it: read whole when small, passed on as it arrives when large."""
    content_type = sage_response.headers.get("Content-Type", "application/octet-stream")
    chunks = sage_response.iter_content(ANSWER_CHUNK_BYTES)
    try:
        head, complete = read_up_to(chunks, BUFFERED_ANSWER_BYTES)
    except requests.RequestException as error:
        sage_response.close()
        _run_all(after_send)
        raise SageUnavailable("Sage's answer broke off before it was complete.") from error
    if complete:
        sage_response.close()
        body = b"".join(head)
        response = ProxiedResponse(
            body, status=sage_response.status_code, content_type=content_type, after_send=after_send
        )
        # Set here, not by CommonMiddleware: token calls skip it (api/middleware.py).
        response["Content-Length"] = str(len(body))
    else:
        response = StreamedProxiedResponse(
            _passed_on(head, chunks, path),
            status=sage_response.status_code,
            content_type=content_type,
            after_send=[sage_response.close, *after_send],
        )
        # Sage's length holds when requests did not decode the body (it undoes gzip, so then there is none).
        if "Content-Length" in sage_response.headers and "Content-Encoding" not in sage_response.headers:
            response["Content-Length"] = sage_response.headers["Content-Length"]
    for name in PASSED_RESPONSE_HEADERS:
        if name in sage_response.headers:
            response[name] = sage_response.headers[name]
    attempts = getattr(sage_response, "sageint_attempts", None)
    if attempts is not None:
        response["X-Sageint-Attempts"] = str(attempts)
    return response


@api_endpoint
def proxy_view(request, integration: str, sage_path: str):
    if integration != INTEGRATION:
        return error_response(404, "unknown_integration", f"Only '{INTEGRATION}' can be proxied.")
    if request.method not in proxy.ALLOWED_METHODS:
        response = error_response(
            405, "method_not_allowed", f"Use one of {', '.join(proxy.ALLOWED_METHODS)}."
        )
        response["Allow"] = ", ".join(proxy.ALLOWED_METHODS)
        return response
    end_user = authenticate_end_user(request)
    body = read_json_body(request) if request.method in METHODS_WITH_BODY else None
    # Accept (a PDF) and X-Business (another of the user's businesses, checked by the proxy) are the caller's.
    headers = {name: request.headers[name] for name in ("Accept", "X-Business") if name in request.headers}
    deferred_log: list[Callable[[], None]] = []
    sage_response = proxy.request(
        end_user,
        "/" + sage_path,
        method=request.method,
        params=[(name, value) for name, values in request.GET.lists() for value in values],
        data=body,
        headers=headers or None,
        source="http",
        defer_log=deferred_log.append,
        # Read along with the end user by the token check (or now, for a session): this request's own row.
        connection=getattr(end_user, "connection", None),
        stream=True,
    )
    return _sage_answer(sage_response, after_send=deferred_log, path="/" + sage_path)


def openapi_view(request):
    return JsonResponse(openapi_document(request), json_dumps_params={"indent": 2})
