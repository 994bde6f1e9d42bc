"""Which OAuth client and which Sage endpoints are in effect: custom, development keys, or the built-in sandbox."""

from dataclasses import dataclass, field

from django.conf import settings
from django.urls import reverse

from . import crypto
from .models import IntegrationSettings


class CredentialsMode:
    CUSTOM = "custom"
    DEV_ENV = "dev_env"
    SANDBOX = "sandbox"

    LABELS = {
        CUSTOM: "custom",
        DEV_ENV: "development keys from environment",
        SANDBOX: "built-in sandbox",
    }


@dataclass(frozen=True)
class SageCredentials:
    mode: str
    client_id: str
    client_secret: str = field(repr=False)
    scope: str
    auth_url: str
    token_url: str
    revoke_url: str
    api_url: str

    @property
    def mode_label(self) -> str:
        return CredentialsMode.LABELS[self.mode]


def redirect_url() -> str:
    """The callback URL to register at Sage (My Account → Applications → your app → Callback URLs)."""
    return settings.SITE_URL + reverse("connections:callback")


def set_client_secret(integration: IntegrationSettings, secret: str) -> None:
    """Store a new client secret (encrypted); an empty string clears it."""
    integration.client_secret_encrypted = crypto.encrypt(secret) if secret else ""


def current_mode(integration: IntegrationSettings) -> str:
    if integration.client_id and integration.has_client_secret:
        return CredentialsMode.CUSTOM
    if settings.SAGE_DEV_CLIENT_ID and settings.SAGE_DEV_CLIENT_SECRET:
        return CredentialsMode.DEV_ENV
    return CredentialsMode.SANDBOX


def api_url_for(mode: str) -> str:
    """Sage's API base for tokens issued in this credentials mode."""
    if mode == CredentialsMode.SANDBOX:
        return f"{settings.SAGE_SANDBOX_URL}/api/v3.1"
    return settings.SAGE_API_URL


def _oauth_urls_for(mode: str) -> tuple[str, str, str]:
    """Sage's authorize, token and revoke URLs for this credentials mode."""
    if mode == CredentialsMode.SANDBOX:
        base = settings.SAGE_SANDBOX_URL
        return f"{base}/oauth2/auth/central?filter=apiv3.1", f"{base}/oauth/token", f"{base}/oauth/revoke"
    return settings.SAGE_AUTH_URL, settings.SAGE_TOKEN_URL, settings.SAGE_REVOKE_URL


def sage_credentials(integration: IntegrationSettings | None = None) -> SageCredentials:
    integration = integration or IntegrationSettings.load()
    mode = current_mode(integration)
    if mode == CredentialsMode.CUSTOM:
        client_id, client_secret = integration.client_id, crypto.decrypt(integration.client_secret_encrypted)
    elif mode == CredentialsMode.DEV_ENV:
        client_id, client_secret = settings.SAGE_DEV_CLIENT_ID, settings.SAGE_DEV_CLIENT_SECRET
    else:
        client_id, client_secret = settings.SAGE_SANDBOX_CLIENT_ID, settings.SAGE_SANDBOX_CLIENT_SECRET
    auth_url, token_url, revoke_url = _oauth_urls_for(mode)
    return SageCredentials(
        mode=mode,
        client_id=client_id,
        client_secret=client_secret,
        scope=integration.scope,
        auth_url=auth_url,
        token_url=token_url,
        revoke_url=revoke_url,
        api_url=api_url_for(mode),
    )
