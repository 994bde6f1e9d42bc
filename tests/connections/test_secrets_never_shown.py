"""No token or secret ever appears in a page, an admin field or a log line."""

import logging
from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.db import connection as db
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from connections import crypto
from connections.credentials import set_client_secret
from connections.models import Connection, ConnectionEvent, IntegrationSettings
from connections.sage_client import SageClient
from tests.fixtures_sage import authorize_at_sandbox, connect_end_user_via_link, make_user_token

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


DEBUG_LOGGERS = [
    "",  # root
    "django",
    "connections",
    "sandbox",
    "urllib3",
    "urllib3.connectionpool",
    "requests_oauthlib",
    "requests_oauthlib.oauth2_session",
    "oauthlib",
    "oauthlib.oauth2.rfc6749",
]


@pytest.mark.django_db
def test_nothing_secret_is_logged_even_with_every_logger_at_debug(sandbox_transport, settings, caplog):
    """LOG_LEVEL=DEBUG, and even the OAuth libraries' own loggers forced to DEBUG (they log token bodies there)."""
    for name in DEBUG_LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    browser = Client()
    browser.get("/connect/sageaccounting/", {"user_token": make_user_token("debug-logged")})
    authorize_url = browser.post(reverse("connections:start"))["Location"]
    consent = authorize_at_sandbox(browser, authorize_url, sandbox_user="sam", decision="allow")
    callback = urlsplit(consent["Location"])
    code = dict(parse_qsl(callback.query))["code"]
    assert browser.get(callback.path, dict(parse_qsl(callback.query))).status_code == 302
    connection = Connection.objects.get(end_user__external_id="debug-logged")
    secrets = {
        code,
        settings.SAGE_SANDBOX_CLIENT_SECRET,
        crypto.decrypt(connection.access_token_encrypted),
        crypto.decrypt(connection.refresh_token_encrypted),
    }
    # The used code once more: Sage refuses it, and the error page must not echo it.
    state = dict(parse_qsl(urlsplit(browser.post(reverse("connections:start"))["Location"]).query))["state"]
    error_page = browser.get(callback.path, {"code": code, "state": state})
    assert error_page.status_code == 400 and "invalid_grant" in error_page.content.decode()
    # A refresh ahead of expiry, then disconnect (revocation sends the newest refresh token).
    connection.access_token_expires_at = timezone.now()
    connection.save()
    SageClient.for_end_user(connection.end_user).get_json("user")
    connection.refresh_from_db()
    secrets |= {
        crypto.decrypt(connection.access_token_encrypted),
        crypto.decrypt(connection.refresh_token_encrypted),
    }
    browser.post(reverse("connections:disconnect"))

    assert sandbox_transport.count("/oauth/revoke") == 1
    assert len(secrets) == 6 and all(len(secret) >= 16 for secret in secrets)
    assert any(record.levelno == logging.DEBUG for record in caplog.records)  # DEBUG really was on
    logged = caplog.text + "\n".join(str(record.args) for record in caplog.records)
    for secret in secrets:
        assert secret not in logged
        assert secret not in error_page.content.decode()


@pytest.mark.django_db
def test_audit_event_pages_and_stored_columns_hold_no_plaintext(sandbox_transport):
    end_user = connect_end_user_via_link("column-check")
    connection = end_user.connection
    plaintexts = [
        crypto.decrypt(connection.access_token_encrypted),
        crypto.decrypt(connection.refresh_token_encrypted),
    ]
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT access_token_encrypted, refresh_token_encrypted FROM connections_connection WHERE id = %s",
            [connection.pk],
        )
        stored = cursor.fetchone()
    for column, plaintext in zip(stored, plaintexts, strict=True):
        assert column and plaintext not in column
        assert crypto.decrypt(column) == plaintext

    superuser = get_user_model().objects.create(username="root", is_staff=True, is_superuser=True)
    admin = Client()
    admin.force_login(superuser)
    event = ConnectionEvent.objects.get(end_user=end_user)
    page = admin.get(f"/admin/connections/connectionevent/{event.pk}/change/").content.decode()
    assert "sam.sandbox@example.com" in page  # the page did render the event
    for secret in (*plaintexts, *stored):
        assert secret not in page
