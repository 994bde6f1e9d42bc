"""Connect sessions: the company's backend asks for one (with a project API key), its user's browser opens the
connect portal with it, once.

A session names the end user, the exact origins the portal may report its outcome to (postMessage) and the URL to
send the user back to. Its token is random, short-lived (SAGEINT_CONNECT_SESSION_SECONDS) and single use; only
its SHA-256 hash is stored, so a database reader cannot open anyone's portal.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from .end_users import external_end_user
from .exceptions import SageintError
from .models import ConnectSession

TOKEN_PREFIX = "cs_"
MAX_END_USER_ID_LENGTH = 255
MAX_ALLOWED_ORIGINS = 10
MAX_URL_LENGTH = 2000
_DEFAULT_PORTS = {"http": 80, "https": 443}
# A DNS name (letters, digits, hyphens; IDNs in their xn-- form) or an IPv4 address; IPv6 is checked apart.
_HOST_NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*")
_IPV6 = re.compile(r"[0-9a-f:.]+")


class InvalidConnectSession(ValueError):
    """A field of a connect-session request cannot be used; the message says which and why."""


class ConnectSessionRefused(SageintError):
    """A portal was opened with a token that is unknown, expired or already used.

    `session` is the row when the token was once valid (its return URL and origins are then known), else None.
    """

    MESSAGES = {
        "unknown": "This connect link is not valid. Go back to the app you came from and start connecting again.",
        "expired": "This connect link has expired. Go back to the app you came from and start connecting again.",
        "used": "This connect link was already used. Go back to the app you came from and start connecting again.",
    }

    def __init__(self, reason: str, session: ConnectSession | None = None) -> None:
        self.reason = reason
        self.session = session
        self.message = self.MESSAGES[reason]
        super().__init__(self.message)


@dataclass(frozen=True)
class IssuedSession:
    session: ConnectSession
    token: str  # handed out once, never stored

    @property
    def url(self) -> str:
        return portal_url(self.token)


def portal_url(token: str) -> str:
    """The connect link: the portal opened with this session's token (full page; connect.js adds display=popup)."""
    return f"{settings.SITE_URL}{reverse('connections:open_session')}?token={token}"


def create_connect_session(
    *,
    end_user_id,
    allowed_origins,
    return_url,
    name=None,
    email=None,
    auto_return=False,
    api_key=None,
) -> IssuedSession:
    """Check every field (InvalidConnectSession names the first bad one), then store the session's hash."""
    if (
        not isinstance(end_user_id, str)
        or not end_user_id.strip()
        or len(end_user_id) > MAX_END_USER_ID_LENGTH
    ):
        raise InvalidConnectSession(
            f"'end_user_id' must be a non-empty string of at most {MAX_END_USER_ID_LENGTH} characters."
        )
    for field, value in (("name", name), ("email", email)):
        if value is not None and not isinstance(value, str):
            raise InvalidConnectSession(f"'{field}' must be a string.")
    if not isinstance(auto_return, bool):
        raise InvalidConnectSession("'auto_return' must be true or false.")
    origins = allowed_origin_list(allowed_origins)
    return_url = checked_return_url(return_url, origins=origins)

    end_user = external_end_user(external_id=end_user_id, name=name, email=email)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session = ConnectSession.objects.create(
        end_user=end_user,
        token_hash=hash_token(token),
        allowed_origins=origins,
        return_url=return_url,
        auto_return=auto_return,
        created_by_key=api_key,
        expires_at=timezone.now() + timedelta(seconds=settings.SAGEINT_CONNECT_SESSION_SECONDS),
    )
    return IssuedSession(session=session, token=token)


def open_connect_session(token) -> ConnectSession:
    """Use the token up and return its session; ConnectSessionRefused when it is unknown, expired or used."""
    if not isinstance(token, str) or not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        raise ConnectSessionRefused("unknown")
    token_hash = hash_token(token)
    now = timezone.now()
    # One conditional UPDATE: of two browsers opening the same token at once, exactly one gets the row.
    opened = ConnectSession.objects.filter(
        token_hash=token_hash, used_at__isnull=True, expires_at__gt=now
    ).update(used_at=now)
    session = ConnectSession.objects.select_related("end_user").filter(token_hash=token_hash).first()
    if session is None:
        raise ConnectSessionRefused("unknown")
    if not opened:
        raise ConnectSessionRefused("used" if session.used_at else "expired", session)
    return session


def delete_finished_sessions() -> int:
    """Delete sessions no browser can still be bound to (see SAGEINT_CONNECT_LINK_SESSION_SECONDS)."""
    now = timezone.now()
    bound_for = timedelta(seconds=settings.SAGEINT_CONNECT_LINK_SESSION_SECONDS)
    deleted, _ = ConnectSession.objects.filter(
        Q(used_at__isnull=True, expires_at__lt=now) | Q(used_at__lt=now - bound_for)
    ).delete()
    return deleted


def hash_token(token: str) -> str:
    # 256 random bits: a fast hash cannot be brute-forced, and the lookup stays one index read.
    return hashlib.sha256(token.encode()).hexdigest()


# --- origins and URLs ----------------------------------------------------------------------------------------


def allowed_origin_list(values) -> list[str]:
    if not isinstance(values, list) or not 1 <= len(values) <= MAX_ALLOWED_ORIGINS:
        raise InvalidConnectSession(
            f"'allowed_origins' must be a list of 1 to {MAX_ALLOWED_ORIGINS} origins, e.g. "
            '["https://app.example.com"].'
        )
    origins: list[str] = []
    for value in values:
        origin = normalise_origin(value)
        if origin not in origins:
            origins.append(origin)
    return origins


def normalise_origin(value) -> str:
    """`value` as a browser writes an origin (lower case, no default port), or InvalidConnectSession.

    Exactly scheme, host and optional port: no path (not even "/"), query, fragment or user name, and never "*"
    or "null", because the portal posts its outcome to each of these origins by name.
    """
    problem = (
        "'allowed_origins' must hold origins: scheme, host and optional port, such as https://app.example.com "
        "or http://localhost:3000, with nothing after them (not even '/')"
    )
    if not isinstance(value, str):
        raise InvalidConnectSession(f"{problem}.")
    parts = _url_parts(value, problem)
    if parts.path or parts.query or parts.fragment or value.endswith(("?", "#")):
        raise InvalidConnectSession(f"{problem}; {value[:100]!r} is not one.")
    return _origin_of(parts)


def checked_return_url(value, *, origins: list[str]) -> str:
    """An absolute http(s) URL on one of the allowed origins, or InvalidConnectSession."""
    problem = "'return_url' must be an absolute http or https URL on one of 'allowed_origins'"
    if not isinstance(value, str) or not value or len(value) > MAX_URL_LENGTH:
        raise InvalidConnectSession(f"{problem}, at most {MAX_URL_LENGTH} characters.")
    origin = _origin_of(_url_parts(value, problem))
    if origin not in origins:
        raise InvalidConnectSession(f"{problem}; its origin {origin} is not one of them.")
    return value


def _url_parts(value: str, problem: str):
    if any(character <= " " or character == "\x7f" for character in value) or len(value) > MAX_URL_LENGTH:
        raise InvalidConnectSession(f"{problem}; {value[:100]!r} holds spaces or control characters.")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise InvalidConnectSession(f"{problem}; {value[:100]!r} cannot be read as one.") from None
    host = parts.hostname or ""
    host_ok = _IPV6.fullmatch(host) if ":" in host else _HOST_NAME.fullmatch(host)
    if (
        parts.scheme.lower() not in _DEFAULT_PORTS
        or not host_ok
        or parts.username is not None
        or parts.password is not None
        or port == 0
    ):
        raise InvalidConnectSession(f"{problem}; {value[:100]!r} is not one.")
    return parts


def _origin_of(parts) -> str:
    scheme = parts.scheme.lower()
    host = parts.hostname
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    return f"{scheme}://{host}" + (f":{port}" if port and port != _DEFAULT_PORTS[scheme] else "")
