"""Domain errors of the connections app. Views and the API map them to pages or JSON errors in one place.

No message here ever contains a token or a secret: they are shown to users and written to logs.
"""


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


class SageError(SageintError):
    """Sage answered with an error status; `errors` is Sage's list of `{"$message", "$dataCode", ...}`."""

    def __init__(self, status: int, errors: list[dict]) -> None:
        self.status = status
        self.errors = errors
        first = errors[0] if errors else {}
        self.message = str(first.get("$message") or f"Sage answered HTTP {status}")
        self.data_code = str(first.get("$dataCode") or "")
        super().__init__(f"Sage error {status}: {self.message}")


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
    def __init__(
        self, message: str = "Sage Accounting connections are switched off by the administrator."
    ) -> None:
        super().__init__(message)
