"""The management API: the company's backend lists and manages its users' connections with a project API key.

Views parse the request, call one function of api/management.py or connections/services.py, and answer JSON.
"""

from __future__ import annotations

import functools
import json
import logging
from datetime import UTC

from django.conf import settings
from django.http import JsonResponse
from django.utils.dateparse import parse_datetime
from django.utils.timezone import is_naive, make_aware

from api import management
from api.errors import ApiError, error_response
from api.views import api_endpoint
from connections import services
from projects.auth import authenticate_api_key

logger = logging.getLogger(__name__)

STATES = ("active", "reconnect_required")
MAX_END_USER_ID_LENGTH = 255
CONNECT_LINK_SECONDS = (60, 7 * 24 * 3600)  # shortest and longest lifetime a caller may ask for
DEFAULT_CONNECT_LINK_SECONDS = 3600


def longest_connect_link_seconds() -> int:
    """The longest link a caller may ask for: never longer than a user token may live, or opening it would fail."""
    return min(CONNECT_LINK_SECONDS[1], settings.SAGEINT_USER_TOKEN_MAX_LIFETIME_SECONDS)


def management_endpoint(*methods: str):
    """A project API key, the allowed methods and the API's one error shape, for every management view."""

    def decorate(view):
        @api_endpoint
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.method not in methods:
                response = error_response(405, "method_not_allowed", f"Use {' or '.join(methods)}.")
                response["Allow"] = ", ".join(methods)
                return response
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
    return JsonResponse(
        {"data": [management.connection_data(connection) for connection in page], "next_cursor": next_cursor}
    )


@management_endpoint("GET", "DELETE")
def connection_detail(request, end_user_id: str):
    connection = management.get_connection(end_user_id)
    if connection is None:
        raise ApiError(404, "not_connected", f"End user {end_user_id!r} has no Sage connection.")
    if request.method == "DELETE":
        revoked = services.disconnect(end_user=connection.end_user)
        return JsonResponse({"end_user_id": end_user_id, "disconnected": True, "revoked_at_sage": revoked})
    return JsonResponse(management.connection_data(connection))


@management_endpoint("POST")
def connect_links(request):
    body = _json_object(request)
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
    if not value.isdigit() or not 1 <= int(value) <= management.MAX_PAGE_SIZE:
        raise ApiError(
            400, "invalid_request", f"'limit' must be a whole number from 1 to {management.MAX_PAGE_SIZE}."
        )
    return int(value)


def _json_object(request) -> dict:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        raise ApiError(400, "invalid_json", "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", "The request body must be a JSON object.")
    return body
