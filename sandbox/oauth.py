"""The sandbox's OAuth 2.0 server, shaped like Sage's: registered apps, the authorization request, codes,
token issue and rotation, revocation, and the lookup the API uses to authenticate a bearer token.

Views call these functions; they raise `AuthorizeRequestInvalid` (an error page, never a redirect) or
`OAuthError` (an RFC 6749 error answer) and never touch HTTP themselves."""

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from sandbox.models import (
    AccessToken,
    AuthorizationCode,
    Grant,
    RefreshToken,
    SandboxApp,
    SandboxUser,
    hash_secret,
)
from sandbox.models.identity import COUNTRY_NAMES, SCOPE_FULL_ACCESS, SCOPE_READONLY

SCOPES = (SCOPE_FULL_ACCESS, SCOPE_READONLY)
# Sage skips its country page when `country` is given; these are the values it knows.
COUNTRIES = tuple(code.lower() for code in COUNTRY_NAMES)
BUILTIN_APP_NAME = "sageint development app (built in)"


class AuthorizeRequestInvalid(Exception):
    """Client or redirect URI cannot be trusted: show an error page, never redirect (RFC 6749 4.1.2.1)."""


class OAuthError(Exception):
    """An RFC 6749 error: `error` is the code Sage answers (invalid_grant, invalid_client, …)."""

    def __init__(self, error: str, description: str = "", *, status: int = 400):
        super().__init__(description or error)
        self.error = error
        self.description = description
        self.status = status


@dataclass(frozen=True)
class RegisteredApp:
    """An app the sandbox knows: the built-in development app (from settings) or a SandboxApp row."""

    name: str
    client_id: str
    callback_urls: tuple[str, ...]
    is_builtin: bool
    _secret_matches: Callable[[str], bool] = field(repr=False, compare=False)

    def check_client_secret(self, secret: str) -> bool:
        return bool(secret) and self._secret_matches(secret)


def _builtin_app() -> RegisteredApp:
    # Read at call time so override_settings in tests changes the built-in app too.
    expected_hash = hash_secret(settings.SAGE_SANDBOX_CLIENT_SECRET)
    return RegisteredApp(
        name=BUILTIN_APP_NAME,
        client_id=settings.SAGE_SANDBOX_CLIENT_ID,
        callback_urls=tuple(settings.SAGE_SANDBOX_CALLBACK_URLS),
        is_builtin=True,
        _secret_matches=lambda secret: secrets.compare_digest(expected_hash, hash_secret(secret)),
    )


def _registered(app: SandboxApp) -> RegisteredApp:
    return RegisteredApp(
        name=app.name,
        client_id=app.client_id,
        callback_urls=tuple(app.callback_url_list),
        is_builtin=False,
        _secret_matches=app.check_client_secret,
    )


def find_app(client_id: str) -> RegisteredApp | None:
    if not client_id:
        return None
    if client_id == settings.SAGE_SANDBOX_CLIENT_ID:
        return _builtin_app()
    app = SandboxApp.objects.filter(client_id=client_id).first()
    return _registered(app) if app else None


def list_apps() -> list[RegisteredApp]:
    apps = [_builtin_app()]
    apps += [
        _registered(app) for app in SandboxApp.objects.exclude(client_id=settings.SAGE_SANDBOX_CLIENT_ID)
    ]
    return apps


def register_app(*, name: str, client_id: str, client_secret: str | None, callback_urls: list[str]) -> str:
    """Create or update a registered app. Returns the client secret (generated if not given): show it once."""
    if client_id == settings.SAGE_SANDBOX_CLIENT_ID:
        raise ValueError("That client id belongs to the built-in development app (configured in settings).")
    if not callback_urls:
        raise ValueError("At least one callback URL is needed.")
    secret = client_secret or secrets.token_urlsafe(30)
    app = SandboxApp.objects.filter(client_id=client_id).first() or SandboxApp(client_id=client_id)
    app.name = name
    app.callback_urls = "\n".join(callback_urls)
    app.set_client_secret(secret)
    app.save()
    return secret


# --- Authorization request (consent page) -----------------------------------------------------------------


@dataclass(frozen=True)
class AuthorizationRequest:
    app: RegisteredApp
    redirect_uri: str
    scope: str
    state: str
    country: str
    # An error that is safe to send back to the (verified) redirect URI, e.g. invalid_scope.
    error: str = ""


def validate_authorization_request(params) -> AuthorizationRequest:
    """Check the query of an authorize call. Client and redirect URI first: until both are verified nothing
    may be sent to the redirect URI."""
    for trusted in ("client_id", "redirect_uri"):
        if len(_values(params, trusted)) > 1:
            raise AuthorizeRequestInvalid(f"{trusted} is given more than once.")
    client_id = params.get("client_id", "")
    redirect_uri = params.get("redirect_uri", "")
    app = find_app(client_id)
    if app is None:
        raise AuthorizeRequestInvalid("Unknown client_id: no app with this client id is registered.")
    if not redirect_uri:
        raise AuthorizeRequestInvalid("redirect_uri is missing.")
    if redirect_uri not in app.callback_urls:
        raise AuthorizeRequestInvalid(
            "redirect_uri does not match any callback URL registered for this app (character for character)."
        )
    state = params.get("state", "")
    country = params.get("country", "").lower()
    # Sage's parameter table names it `scopes`, its example URL `scope`: both are read, `scope` first.
    scope = params.get("scope", "") or params.get("scopes", "") or SCOPE_FULL_ACCESS
    response_type = params.get("response_type", "")
    error = ""
    if any(len(_values(params, name)) > 1 for name in REPEATABLE_NEVER):
        error = "invalid_request"  # RFC 6749 §3.1: a parameter must not be sent twice
    elif not response_type:
        error = "invalid_request"
    elif response_type != "code":
        error = "unsupported_response_type"
    elif scope not in SCOPES:
        error = "invalid_scope"
    elif country and country not in COUNTRIES:
        error = "invalid_request"
    return AuthorizationRequest(
        app=app, redirect_uri=redirect_uri, scope=scope, state=state, country=country, error=error
    )


REPEATABLE_NEVER = ("response_type", "scope", "scopes", "state", "country")


def _values(params, name: str) -> list[str]:
    return params.getlist(name) if hasattr(params, "getlist") else [params[name]] if name in params else []


def redirect_with(redirect_uri: str, params: dict[str, str]) -> str:
    """redirect_uri with params added to its query (keeping any query it already has)."""
    parts = urlsplit(redirect_uri)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [(key, value) for key, value in params.items() if value != ""]
    return urlunsplit(parts._replace(query=urlencode(query)))


def error_redirect(authorization: AuthorizationRequest, error: str) -> str:
    return redirect_with(authorization.redirect_uri, {"error": error, "state": authorization.state})


def approve(*, authorization: AuthorizationRequest, user: SandboxUser) -> str:
    """The user allowed the app: issue a code and answer the redirect Sage makes (code, country, state)."""
    lead = user.lead_business()
    country = authorization.country or (lead.country_code.lower() if lead else "gb")
    raw_code = secrets.token_urlsafe(32)
    AuthorizationCode.objects.create(
        code_hash=hash_secret(raw_code),
        client_id=authorization.app.client_id,
        redirect_uri=authorization.redirect_uri,
        user=user,
        scope=authorization.scope,
        country=country,
        expires_at=timezone.now() + timedelta(seconds=settings.SAGE_SANDBOX_CODE_SECONDS),
    )
    return redirect_with(
        authorization.redirect_uri, {"code": raw_code, "country": country, "state": authorization.state}
    )


def deny(*, authorization: AuthorizationRequest) -> str:
    return error_redirect(authorization, "access_denied")


# --- Token endpoint -------------------------------------------------------------------------------------


def authenticate_client(*, client_id: str, client_secret: str) -> RegisteredApp:
    app = find_app(client_id)
    if app is None or not app.check_client_secret(client_secret):
        raise OAuthError("invalid_client", "Client authentication failed.", status=401)
    return app


def exchange_code(*, app: RegisteredApp, code: str, redirect_uri: str) -> dict:
    if not code:
        raise OAuthError("invalid_request", "code is missing.")
    now = timezone.now()
    with transaction.atomic():
        stored = AuthorizationCode.objects.select_related("user").filter(code_hash=hash_secret(code)).first()
        if stored is None or stored.client_id != app.client_id or stored.redirect_uri != redirect_uri:
            raise OAuthError("invalid_grant")
        # Single use even under concurrent exchanges: only one UPDATE can flip used_at.
        claimed = AuthorizationCode.objects.filter(
            pk=stored.pk, used_at__isnull=True, expires_at__gt=now
        ).update(used_at=now)
        if not claimed:
            raise OAuthError("invalid_grant")
        grant = Grant.objects.create(client_id=app.client_id, user=stored.user, scope=stored.scope)
        return _issue_tokens(grant=grant, now=now)


def refresh(*, app: RegisteredApp, refresh_token: str) -> dict:
    if not refresh_token:
        raise OAuthError("invalid_request", "refresh_token is missing.")
    now = timezone.now()
    with transaction.atomic():
        stored = (
            RefreshToken.objects.select_related("grant__user")
            .filter(token_hash=hash_secret(refresh_token))
            .first()
        )
        if stored is None or stored.grant.client_id != app.client_id or not stored.is_usable(now):
            raise OAuthError("invalid_grant")
        # Sage rotates refresh tokens: the first refresh wins, the same token a second time is refused.
        claimed = RefreshToken.objects.filter(pk=stored.pk, used_at__isnull=True).update(used_at=now)
        if not claimed:
            raise OAuthError("invalid_grant")
        return _issue_tokens(grant=stored.grant, now=now)


def _issue_tokens(*, grant: Grant, now) -> dict:
    access_token = secrets.token_urlsafe(48)
    refresh_token = secrets.token_urlsafe(48)
    access_seconds = settings.SAGE_SANDBOX_ACCESS_TOKEN_SECONDS
    refresh_seconds = settings.SAGE_SANDBOX_REFRESH_TOKEN_SECONDS
    AccessToken.objects.create(
        token_hash=hash_secret(access_token), grant=grant, expires_at=now + timedelta(seconds=access_seconds)
    )
    RefreshToken.objects.create(
        token_hash=hash_secret(refresh_token),
        grant=grant,
        expires_at=now + timedelta(seconds=refresh_seconds),
    )
    return {
        "access_token": access_token,
        "expires_in": access_seconds,
        "token_type": "bearer",
        "refresh_token": refresh_token,
        "refresh_token_expires_in": refresh_seconds,
        "scope": grant.scope,
        "requested_by_id": grant.user_id,
    }


def grant_tokens(*, app: RegisteredApp, grant_type: str, params) -> dict:
    if grant_type == "authorization_code":
        return exchange_code(
            app=app, code=params.get("code", ""), redirect_uri=params.get("redirect_uri", "")
        )
    if grant_type == "refresh_token":
        return refresh(app=app, refresh_token=params.get("refresh_token", ""))
    if not grant_type:
        raise OAuthError("invalid_request", "grant_type is missing.")
    # Sage answers a wrong grant type with invalid_grant (not RFC 6749's unsupported_grant_type).
    raise OAuthError("invalid_grant")


# --- Revocation and bearer lookup ---------------------------------------------------------------------------


def revoke(*, app: RegisteredApp, token: str) -> None:
    """RFC 7009: revoking a refresh token ends its grant (all its tokens); an access token ends alone.
    Unknown tokens, and tokens of another client, are ignored (the answer is 200 either way)."""
    if not token:
        raise OAuthError("invalid_request", "token is missing.")
    token_hash = hash_secret(token)
    now = timezone.now()
    refresh_token = RefreshToken.objects.select_related("grant").filter(token_hash=token_hash).first()
    if refresh_token is not None:
        if refresh_token.grant.client_id == app.client_id:
            Grant.objects.filter(pk=refresh_token.grant_id, revoked_at__isnull=True).update(revoked_at=now)
        return
    AccessToken.objects.filter(
        token_hash=token_hash, grant__client_id=app.client_id, revoked_at__isnull=True
    ).update(revoked_at=now)


def find_usable_access_token(raw_token: str) -> AccessToken | None:
    access_token = (
        AccessToken.objects.select_related("grant__user").filter(token_hash=hash_secret(raw_token)).first()
    )
    if access_token is None or not access_token.is_usable():
        return None
    return access_token
