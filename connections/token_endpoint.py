"""Calls to Sage's OAuth token and revoke endpoints (through requests-oauthlib), with errors made plain.

Sage wants client_id and client_secret in the form body (not HTTP Basic). Nothing here logs a token, a code or
a secret; requests-oauthlib's own DEBUG logging of bodies is silenced in settings.LOGGING.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import requests
from django.utils import timezone
from oauthlib.oauth2 import OAuth2Error

from . import http_session
from .credentials import SageCredentials
from .exceptions import SageTimeout, SageUnavailable
from .sage_details import with_sage_details

logger = logging.getLogger(__name__)

# OAuth errors that mean "these credentials or this grant will never work again": the user must reconnect.
PERMANENT_ERRORS = frozenset(
    {"invalid_grant", "invalid_client", "unauthorized_client", "unsupported_grant_type"}
)


class TokenRefused(Exception):
    """Sage's token endpoint refused the request with an OAuth error (e.g. invalid_grant)."""

    def __init__(self, error: str, description: str = "") -> None:
        self.error = error
        self.description = description
        super().__init__(error)

    @property
    def permanent(self) -> bool:
        return self.error in PERMANENT_ERRORS


@dataclass(frozen=True)
class TokenSet:
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    access_token_expires_at: datetime
    refresh_token_expires_at: datetime | None
    scope: str
    sage_user_id: str
    access_token_lifetime_seconds: int | None = None  # Sage's expires_in


def _raise_for_unavailable(response: requests.Response) -> requests.Response:
    # oauthlib only reads the body; a 5xx or 429 page must not be mistaken for an OAuth answer.
    if response.status_code >= 500 or response.status_code == 429:
        logger.warning("Sage token endpoint answered HTTP %s", response.status_code)
        raise SageUnavailable(
            with_sage_details(
                "Sage's sign-in service is not working properly. Try again later.",
                f"HTTP {response.status_code}",
            )
        )
    return response


def _token_set(token: dict, *, previous_refresh_token: str = "") -> TokenSet:
    now = timezone.now()
    expires_in = int(token.get("expires_in") or 300)
    refresh_expires_in = token.get("refresh_token_expires_in")
    scope = token.get("scope") or ""
    if isinstance(scope, list | tuple):
        scope = " ".join(scope)
    return TokenSet(
        access_token=token["access_token"],
        refresh_token=token.get("refresh_token") or previous_refresh_token,
        access_token_expires_at=now + timedelta(seconds=expires_in),
        refresh_token_expires_at=now + timedelta(seconds=int(refresh_expires_in))
        if refresh_expires_in
        else None,
        scope=str(scope),
        sage_user_id=str(token.get("requested_by_id") or ""),
        access_token_lifetime_seconds=max(expires_in, 0),
    )


def _call(action: str, operation):
    try:
        return operation()
    except requests.Timeout as error:
        logger.warning("Sage token endpoint timed out during %s", action)
        raise SageTimeout("Sage's sign-in service did not answer in time.") from error
    except requests.ConnectionError as error:
        logger.warning("Sage token endpoint unreachable during %s: %s", action, type(error).__name__)
        raise SageUnavailable("Sage's sign-in service could not be reached.") from error
    except OAuth2Error as error:
        # error.error is the OAuth error code (invalid_grant…); the description is Sage's text, no secrets.
        logger.warning("Sage token endpoint refused %s: %s", action, error.error)
        raise TokenRefused(error.error or "invalid_request", error.description or "") from error
    except (ValueError, KeyError) as error:
        # A 200 without an access token, or a body that is not JSON.
        logger.warning("Sage token endpoint gave an unreadable answer during %s", action)
        raise SageUnavailable("Sage's sign-in service gave an unreadable answer.") from error


def _token_session(credentials: SageCredentials, *, answer_hook: str, **session_options):
    """An OAuth session whose answers of 5xx/429 raise SageUnavailable instead of being read as OAuth JSON."""
    session = http_session.oauth_session(client_id=credentials.client_id, **session_options)
    session.register_compliance_hook(answer_hook, _raise_for_unavailable)
    return session


def exchange_code(*, credentials: SageCredentials, code: str, redirect_uri: str) -> TokenSet:
    session = _token_session(credentials, answer_hook="access_token_response", redirect_uri=redirect_uri)
    token = _call(
        "code exchange",
        lambda: session.fetch_token(
            credentials.token_url,
            code=code,
            client_secret=credentials.client_secret,
            include_client_id=True,
            timeout=http_session.timeout(),
        ),
    )
    return _token_set(token)


def refresh(*, credentials: SageCredentials, refresh_token: str) -> TokenSet:
    session = _token_session(credentials, answer_hook="refresh_token_response")
    token = _call(
        "token refresh",
        lambda: session.refresh_token(
            credentials.token_url,
            refresh_token=refresh_token,
            client_id=credentials.client_id,
            client_secret=credentials.client_secret,
            timeout=http_session.timeout(),
        ),
    )
    return _token_set(token, previous_refresh_token=refresh_token)


def revoke(*, credentials: SageCredentials, token: str) -> bool:
    """Best effort: True when Sage accepted the revocation."""
    try:
        response = http_session.shared_session().post(
            credentials.revoke_url,
            data={
                "client_id": credentials.client_id,
                "client_secret": credentials.client_secret,
                "token": token,
            },
            timeout=http_session.timeout(),
        )
    except requests.RequestException as error:
        logger.warning("Sage token revocation failed: %s", type(error).__name__)
        return False
    if response.status_code >= 400:
        logger.warning("Sage token revocation answered HTTP %s", response.status_code)
        return False
    return True
