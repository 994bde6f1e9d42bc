"""Domain errors of the connections app. Views and the API map them to pages or JSON errors in one place.

No message here ever contains a token or a secret: they are shown to users and written to logs.
"""

from .sage_details import with_sage_details


class SageintError(Exception):
    """Base of every error the connections app raises on purpose."""


class NotConnected(SageintError):
    def __init__(self, message: str = "This user has not connected Sage Accounting.") -> None:
        super().__init__(message)


class ReconnectRequired(SageintError):
    """The connection exists but its tokens no longer work: the end user must connect again."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"Sage Accounting must be reconnected: {reason}")

    @classmethod
    def for_connection(cls, connection) -> "ReconnectRequired":
        """For a connection already marked as needing reconnecting (its stored reason, else a generic one)."""
        return cls(connection.reconnect_reason or "the connection needs to be made again.")


class SageError(SageintError):
    """Sage answered with an error status; `errors` is Sage's list of `{"$message", "$dataCode", ...}`."""

    def __init__(self, status: int, errors: list[dict]) -> None:
        self.status = status
        self.errors = errors
        first = errors[0] if errors else {}
        self.message = str(first.get("$message") or f"Sage answered HTTP {status}")
        self.data_code = str(first.get("$dataCode") or "")
        super().__init__(f"Sage error {status}: {self.message}")


class BusinessNotReachable(SageError):
    """Sage refused the connection's business (X-Business): the Sage user lost access to it, or it was deleted.

    The token itself is fine, so nothing is refreshed and the connection stays active; connecting again picks
    up the businesses the Sage user can reach now.
    """

    def __init__(self, status: int, errors: list[dict], *, business_name: str = "") -> None:
        super().__init__(status, errors)
        business = f"“{business_name}”" if business_name else "chosen for this connection"
        self.message = with_sage_details(
            f"The Sage business {business} is no longer reachable by this Sage user. Connect Sage Accounting "
            "again to choose one of the businesses it can reach.",
            self.message,
        )
        self.args = (self.message,)


class BusinessNotAllowed(SageintError):
    """A caller asked (X-Business) for a Sage business that is not one of the connection's; nothing was sent."""

    def __init__(self, business_id: str, *, allowed: list[dict]) -> None:
        choices = ", ".join(f"{entry.get('id')} ({entry.get('name')})" for entry in allowed) or "none"
        self.message = (
            f"X-Business {business_id[:100]!r} is not one of the Sage businesses this user connected. Send one of: "
            f"{choices}; or no X-Business for the business chosen on the connect page."
        )
        super().__init__(self.message)


class CalledInsideTransaction(SageintError, RuntimeError):
    """Sage was called inside the caller's `transaction.atomic()`: a programming error, refused every time.

    A refresh rotates the refresh token at Sage and must commit the new one at once, on its own: committed by
    an outer transaction that then rolls back, the connection would keep a refresh token Sage has already
    killed, and the user would have to connect again. Refusing every call (not only the ones that happen to
    refresh) makes the mistake show up on the first try rather than once every few minutes.
    """

    def __init__(self) -> None:
        super().__init__(
            "Sage was called inside a database transaction (transaction.atomic). Call Sage outside a "
            "transaction: a token refresh must commit on its own, before anything else could roll it back."
        )


class SageUnavailable(SageintError):
    """Sage could not be reached (connection refused, DNS, TLS), or kept failing after the retries allowed."""

    def __init__(self, message: str = "Sage Accounting could not be reached. Try again later.") -> None:
        super().__init__(message)


class SageTimeout(SageUnavailable):
    def __init__(self, message: str = "Sage Accounting did not answer in time.") -> None:
        super().__init__(message)


class InvalidUserToken(SageintError):
    """A connect-link user token (JWT) was missing, malformed, expired or not signed by the company."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class UserTokensUnavailable(SageintError):
    """No HS256 secret is configured, so sageint cannot sign user tokens (an RS256-only installation signs its own)."""


class AuthorizationFailed(SageintError):
    """The OAuth connect flow could not finish; `message` is safe to show to the end user."""

    status_code = 400

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class InvalidState(AuthorizationFailed):
    """The callback's `state` is missing, forged, expired or already used."""


class AccessDenied(AuthorizationFailed):
    """The user declined the connection at Sage (or Sage refused it with a reason)."""


class TokenExchangeFailed(AuthorizationFailed):
    """Sage refused the authorization code or could not be reached while exchanging it."""


class IntegrationDisabled(SageintError):
    """IntegrationSettings.enabled is off: no connecting and no calls to Sage until an admin switches it on."""

    def __init__(
        self,
        message: str = "The Sage Accounting integration is switched off by the administrator: "
        "no connections or calls to Sage are made until it is switched on again.",
    ) -> None:
        super().__init__(message)
