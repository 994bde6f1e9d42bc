"""Who is calling the proxy: a signed user token, or a logged-in session (with CSRF for writes)."""

from __future__ import annotations

from django.middleware.csrf import CsrfViewMiddleware

from api.errors import ApiError
from connections.end_users import end_user_for_user, end_user_from_token

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class _CsrfCheck(CsrfViewMiddleware):
    def _reject(self, request, reason):
        return reason


def _enforce_csrf(request) -> None:
    # The proxy view is csrf_exempt because token callers have no cookie; session callers get the same check
    # Django's middleware would have made.
    check = _CsrfCheck(lambda request: None)
    check.process_request(request)
    reason = check.process_view(request, None, (), {})
    if reason:
        raise ApiError(403, "csrf_failed", f"CSRF check failed: {reason}")


def authenticate_end_user(request):
    """The EndUser making this request. A bearer token wins over a session; nobody can name another user."""
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise ApiError(401, "invalid_token", "Send 'Authorization: Bearer <signed user token>'.")
        return end_user_from_token(token)
    if request.user.is_authenticated:
        if request.method not in SAFE_METHODS:
            _enforce_csrf(request)
        return end_user_for_user(request.user)
    raise ApiError(
        401,
        "unauthenticated",
        "Send 'Authorization: Bearer <signed user token>' or log in to this sageint site.",
    )
