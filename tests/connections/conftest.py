"""Fixtures for the connections tests: stored connections made directly (for `responses`-driven fault tests)."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from connections import crypto
from connections.models import Connection, EndUser

API = "http://sage.test/v3.1"  # only ever answered by `responses` mocks


@pytest.fixture
def sage_api_settings(settings):
    """Point the product at fake Sage URLs answered by `responses`; custom keys come from the environment."""
    settings.SAGE_DEV_CLIENT_ID = "dev-client"
    settings.SAGE_DEV_CLIENT_SECRET = "dev-client-secret-value"
    settings.SAGE_API_URL = API
    settings.SAGE_TOKEN_URL = "http://sage.test/token"
    settings.SAGE_REVOKE_URL = "http://sage.test/revoke"
    settings.SAGE_AUTH_URL = "http://sage.test/oauth2/auth/central?filter=apiv3.1"
    settings.SAGE_RETRY_BACKOFF_SECONDS = 0.01
    return settings


@pytest.fixture
def make_connection(db):
    def make(
        *,
        sub: str = "fault-user",
        access_token: str = "access-token-value-1",
        refresh_token: str = "refresh-token-value-1",
        expires_in: int = 300,
        client_id: str | None = None,
        business_id: str = "business-1",
    ) -> Connection:
        end_user = EndUser.objects.create(kind=EndUser.Kind.EXTERNAL, external_id=sub)
        return Connection.objects.create(
            end_user=end_user,
            client_id=client_id or settings.SAGE_DEV_CLIENT_ID or settings.SAGE_SANDBOX_CLIENT_ID,
            business_id=business_id,
            business_name="Business One",
            businesses=[{"id": business_id, "name": "Business One"}],
            access_token_encrypted=crypto.encrypt(access_token),
            access_token_expires_at=timezone.now() + timedelta(seconds=expires_in),
            refresh_token_encrypted=crypto.encrypt(refresh_token),
            scopes="full_access",
        )

    return make


@pytest.fixture
def no_sleep(monkeypatch):
    """Record the retry waits instead of sleeping them."""
    waits: list[float] = []
    monkeypatch.setattr("connections.retries.sleep", waits.append)
    return waits
