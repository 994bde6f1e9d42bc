"""Every rule an API v3.1 request goes through, in one place: the decorator `sage_endpoint` and Sage's
error shape.

Order of the checks (each answers as Sage would and stops): injected faults, bearer token (401),
X-Business (401), subscription (401), rate limit (429), scope (403), then the view. Every answer names its
business in the `X-Business` header.
"""

import functools
import json
from collections.abc import Callable
from datetime import UTC, datetime

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from sandbox import faults, oauth, throttling
from sandbox.errors import SageApiError, sage_error_response, sage_errors_response
from sandbox.models import Business, SandboxUser
from sandbox.models.identity import SCOPE_FULL_ACCESS

__all__ = [
    "SageApiError",
    "read_json_body",
    "sage_datetime",
    "sage_endpoint",
    "sage_error_response",
    "sage_errors_response",
]

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
API_PREFIX = "/api/v3.1"


def read_json_body(request: HttpRequest) -> dict:
    """The request's JSON object; anything else answers 400 in Sage's shape."""
    if not request.body:
        return {}
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError) as error:
        raise SageApiError(
            400, data_code="InvalidJson", message=f"The request body is not valid JSON: {error}"
        ) from None
    if not isinstance(body, dict):
        raise SageApiError(400, data_code="InvalidJson", message="The request body must be a JSON object.")
    return body


def sage_datetime(value: datetime | None) -> str | None:
    """Sage writes date-times in UTC with a Z: 2019-05-29T10:57:28Z."""
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def api_path(request: HttpRequest) -> str:
    """The request path as Sage names it (relative to /v3.1), e.g. /contacts/abc."""
    path = request.path_info
    marker = path.find(API_PREFIX + "/")
    return path[marker + len(API_PREFIX) :] if marker >= 0 else path


def method_not_allowed(method: str) -> SageApiError:
    return SageApiError(
        405, data_code="MethodNotAllowed", message=f"The method {method} is not allowed for this resource."
    )


def sage_endpoint(view: Callable | None = None, *, methods: tuple[str, ...] | None = None):
    """Decorate a function view `view(request, **kwargs)` under /api/v3.1/ (usable bare or with methods=…)."""
    if view is None:
        return functools.partial(sage_endpoint, methods=methods)

    allowed = {method.upper() for method in methods} if methods else None

    @csrf_exempt
    @functools.wraps(view)
    def wrapper(request: HttpRequest, **kwargs) -> HttpResponse:
        request.business = None
        try:
            dropped = faults.apply_next_fault(request, path=api_path(request))
            if dropped is not None:
                return dropped
            access_token = _authenticate(request)
            user: SandboxUser = access_token.grant.user
            request.sage_user = user
            request.sage_scope = access_token.grant.scope
            request.business = _resolve_business(request, user)
            _check_subscription(request.business)
            _throttle(request.business)
            if request.method not in READ_METHODS and request.sage_scope != SCOPE_FULL_ACCESS:
                raise SageApiError(
                    403,
                    data_code="AuthorizationFailure",
                    message="The access token has the readonly scope; this request needs full_access.",
                )
            if allowed is not None and request.method not in allowed and request.method != "HEAD":
                raise method_not_allowed(request.method)
            response = view(request, **kwargs)
        except SageApiError as error:
            response = error.as_response()
        if request.business is not None:
            response["X-Business"] = request.business.id
        return response

    return wrapper


def _authenticate(request: HttpRequest):
    header = request.headers.get("Authorization", "")
    scheme, _, raw_token = header.partition(" ")
    if scheme.lower() != "bearer" or not raw_token.strip():
        raise SageApiError(
            401,
            data_code="AuthorizationFailure",
            message="No access token was given (Authorization: Bearer …).",
            headers={"WWW-Authenticate": 'Bearer realm="sage-sandbox"'},
        )
    access_token = oauth.find_usable_access_token(raw_token.strip())
    if access_token is None:
        raise SageApiError(
            401,
            data_code="AuthorizationFailure",
            message="The access token is invalid, expired or revoked.",
            headers={"WWW-Authenticate": 'Bearer realm="sage-sandbox", error="invalid_token"'},
        )
    return access_token


def _resolve_business(request: HttpRequest, user: SandboxUser) -> Business:
    business_id = request.headers.get("X-Business", "").strip()
    if not business_id:
        lead = user.lead_business()
        if lead is None:
            raise SageApiError(
                401,
                data_code="AuthorizationFailure",
                message="The user has no business.",
                source="X-Business",
            )
        return lead
    business = user.businesses().filter(id=business_id).first()
    if business is None:
        # Sage keeps 404 for paths that do not exist; a business the token cannot reach is an authorisation
        # failure (401), which is also what integrators report for a missing or wrong business.
        raise SageApiError(
            401,
            data_code="AuthorizationFailure",
            message="The business given in X-Business was not found or the user has no access to it.",
            source="X-Business",
        )
    return business


def _check_subscription(business: Business) -> None:
    if not business.subscription_active:
        raise SageApiError(401, data_code="AuthorizationFailure", message="No active subscription. (MSE)")


def _throttle(business: Business) -> None:
    retry_after = throttling.seconds_until_allowed(business_id=business.id)
    if retry_after:
        raise SageApiError(
            429,
            data_code="TooManyRequests",
            message="Too many requests for this business; retry later.",
            headers={"Retry-After": str(retry_after)},
        )
