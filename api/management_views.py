"""The management API: the company's backend lists and manages its users' connections with a project API key.

Views parse the request, call one function of api/management.py or connections/services.py, and answer JSON.
"""

from __future__ import annotations

import functools
import logging
import re
from datetime import UTC

from django.conf import settings
from django.http import JsonResponse
from django.utils.dateparse import parse_datetime
from django.utils.timezone import is_naive, make_aware

from api import management
from api.errors import ApiError
from api.views import allowed_methods, api_endpoint, read_json_object
from connections import services
from projects.auth import authenticate_api_key

logger = logging.getLogger(__name__)

STATES = ("active", "reconnect_required")
MAX_END_USER_ID_LENGTH = 255
CONNECT_LINK_SECONDS = (60, 7 * 24 * 3600)  # shortest and longest lifetime a caller may ask for
DEFAULT_CONNECT_LINK_SECONDS = 3600
MAX_BODY_BYTES = 16 * 1024  # the bodies here are a few small fields
_ID = re.compile(r"[0-9]{1,18}")  # ASCII digits only (str.isdigit takes "²"), and within a 64-bit integer


def longest_connect_link_seconds() -> int:
    """The longest link a caller may ask for: never longer than a user token may live, or opening it would fail."""
    return min(CONNECT_LINK_SECONDS[1], settings.SAGEINT_USER_TOKEN_MAX_LIFETIME_SECONDS)


def management_endpoint(*methods: str):
    """A project API key, the allowed methods and the API's one error shape, for every management view."""

    def decorate(view):
        @api_endpoint
        @allowed_methods(*methods)
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            request.api_key = authenticate_api_key(request)
            try:
                return view(request, *args, **kwargs)
            except management.InvalidQuery as invalid:
                raise ApiError(400, "invalid_request", str(invalid)) from None

        return wrapper

    return decorate


@management_endpoint("GET")
def connections_list(request):
    filters = management.ConnectionFilters(
        state=_state(request.GET.get("state")),
        end_user_id=request.GET.get("end_user_id"),
        updated_since=_datetime(request.GET.get("updated_since"), "updated_since"),
    )
    page, next_cursor = management.list_connections(
        filters=filters, cursor=request.GET.get("cursor") or None, limit=_limit(request.GET.get("limit"))
    )
    return JsonResponse({"data": management.connections_data(page), "next_cursor": next_cursor})


@management_endpoint("GET", "DELETE")
def connection_detail(request, connection_id: str):
    connection = _connection(connection_id)
    if request.method == "DELETE":
        revoked = services.disconnect(end_user=connection.end_user)
        return JsonResponse(
            {
                "id": connection.pk,
                "end_user_id": connection.end_user.external_id,
                "disconnected": True,
                "revoked_at_sage": revoked,
            }
        )
    return JsonResponse(management.connection_data(connection))


@management_endpoint("POST")
def connection_syncs(request, connection_id: str):
    connection = _connection(connection_id)
    full = read_management_body(request).get("full", False)
    if not isinstance(full, bool):
        raise ApiError(400, "invalid_request", "'full' must be true or false.")
    try:
        run = management.start_sync(connection, full=full)
    except management.SyncNotStarted as refused:
        raise ApiError(409, refused.code, refused.message) from None
    return JsonResponse(run, status=202)


@management_endpoint("POST")
def connect_links(request):
    body = read_management_body(request)
    end_user_id = body.get("end_user_id")
    if (
        not isinstance(end_user_id, str)
        or not end_user_id.strip()
        or len(end_user_id) > MAX_END_USER_ID_LENGTH
    ):
        raise ApiError(
            400,
            "invalid_request",
            f"'end_user_id' must be a non-empty string of at most {MAX_END_USER_ID_LENGTH} characters.",
        )
    name, email = body.get("name", ""), body.get("email", "")
    if not isinstance(name, str) or not isinstance(email, str):
        raise ApiError(400, "invalid_request", "'name' and 'email' must be strings.")
    expires_in = body.get("expires_in", DEFAULT_CONNECT_LINK_SECONDS)
    shortest, longest = CONNECT_LINK_SECONDS[0], longest_connect_link_seconds()
    if (
        isinstance(expires_in, bool)
        or not isinstance(expires_in, int)
        or not shortest <= expires_in <= longest
    ):
        raise ApiError(
            400,
            "invalid_request",
            f"'expires_in' must be a whole number of seconds from {shortest} to {longest}.",
        )
    try:
        link = management.connect_link(
            end_user_id=end_user_id, name=name[:255], email=email[:255], expires_in=expires_in
        )
    except management.ConnectLinksUnavailable as unavailable:
        raise ApiError(503, "not_configured", str(unavailable)) from None
    return JsonResponse(link, status=201)


def _state(value: str | None) -> str | None:
    if value and value not in STATES:
        raise ApiError(400, "invalid_request", f"'state' must be one of {', '.join(STATES)}.")
    return value or None


def _datetime(value: str | None, name: str):
    if not value:
        return None
    try:
        parsed = parse_datetime(value)
    except ValueError:
        parsed = None
    if parsed is None:
        raise ApiError(
            400, "invalid_request", f"'{name}' must be an ISO 8601 date and time, e.g. 2026-01-31T12:00:00Z."
        )
    return make_aware(parsed, UTC) if is_naive(parsed) else parsed


def _limit(value: str | None) -> int:
    if value is None or value == "":
        return management.DEFAULT_PAGE_SIZE
    if not _ID.fullmatch(value) or not 1 <= int(value) <= management.MAX_PAGE_SIZE:
        raise ApiError(
            400, "invalid_request", f"'limit' must be a whole number from 1 to {management.MAX_PAGE_SIZE}."
        )
    return int(value)


def _connection(connection_id: str):
    connection = management.get_connection(int(connection_id)) if _ID.fullmatch(connection_id) else None
    if connection is None:
        raise ApiError(
            404,
            "unknown_connection",
            f"There is no connection {connection_id!r}: it was disconnected, or this is not a connection id "
            "(the `id` of a connection; find a user's with GET /api/v1/connections?end_user_id=…).",
        )
    return connection


def read_management_body(request) -> dict:
    return read_json_object(request, max_bytes=MAX_BODY_BYTES)
