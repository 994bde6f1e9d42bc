"""No token or secret ever appears in a page, an admin field or a log line."""

import logging
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from connections import crypto
from connections.credentials import set_client_secret
from connections.models import Connection, IntegrationSettings
from connections.sage_client import SageClient
from tests.fixtures_sage import connect_end_user_via_link, make_user_token

CUSTOM_SECRET = "custom-secret-that-must-stay-hidden-123"


def admin_pages(browser: Client, connection: Connection) -> str:
    urls = [
        "/admin/connections/integrationsettings/",
        "/admin/connections/connection/",
        f"/admin/connections/connection/{connection.pk}/change/",
        "/admin/connections/connectionevent/",
        "/admin/connections/enduser/",
        f"/admin/connections/enduser/{connection.end_user_id}/change/",
    ]
    pages = []
    for url in urls:
        response = browser.get(url, follow=True)
        assert response.status_code == 200, url
        pages.append(response.content.decode())
    return "\n".join(pages)


@pytest.mark.django_db
def test_tokens_and_secrets_stay_out_of_pages_admin_and_logs(sandbox_transport, settings, caplog):
    seen_secrets = {settings.SAGE_SANDBOX_CLIENT_SECRET}
    with caplog.at_level(logging.DEBUG):
        end_user = connect_end_user_via_link("secret-keeper")
        connection = end_user.connection
        seen_secrets |= {
            crypto.decrypt(connection.access_token_encrypted),
            crypto.decrypt(connection.refresh_token_encrypted),
        }
        # A refresh ahead of expiry and a 401-driven one, so rotated tokens are covered too.
        connection.access_token_expires_at = timezone.now() + timedelta(seconds=5)
        connection.save()
        SageClient.for_end_user(end_user).get_json("user")
        connection.refresh_from_db()
        seen_secrets.add(crypto.decrypt(connection.refresh_token_encrypted))
        connection.access_token_encrypted = crypto.encrypt("stale-access-token-value-xyz")
        connection.save()
        SageClient.for_end_user(end_user).get_json("user")
        connection.refresh_from_db()
        seen_secrets |= {
            crypto.decrypt(connection.access_token_encrypted),
            crypto.decrypt(connection.refresh_token_encrypted),
        }

        integration = IntegrationSettings.load()
        integration.client_id = "custom-id"
        set_client_secret(integration, CUSTOM_SECRET)
        integration.save()
        seen_secrets.add(CUSTOM_SECRET)

        superuser = get_user_model().objects.create(username="root", is_staff=True, is_superuser=True)
        admin = Client()
        admin.force_login(superuser)
        rendered = admin_pages(admin, connection)

        browser = Client()
        browser.get("/connect/sageaccounting/", {"user_token": make_user_token("secret-keeper")})
        rendered += browser.get("/connect/sageaccounting/").content.decode()

    assert "Sandbox Trading Ltd" in rendered  # the pages did render the connection
    assert len(seen_secrets) == 7  # dev secret, 3 refresh tokens, 2 access tokens, custom secret
    for secret in seen_secrets:
        assert secret not in rendered
        assert secret not in caplog.text
    for ciphertext in (connection.access_token_encrypted, connection.refresh_token_encrypted):
        assert ciphertext not in rendered
