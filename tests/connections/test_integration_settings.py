"""Integration settings: credentials in effect, write-only encrypted secret, admin page, key rotation."""

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection as db
from django.test import Client

from connections import crypto
from connections.checks import encryption_keys_are_usable
from connections.credentials import CredentialsMode, sage_credentials, set_client_secret
from connections.models import Connection, EndUser, IntegrationSettings

ADMIN_URL = "/admin/connections/integrationsettings/"
SECRET = "custom-client-secret-9f8e7d6c5b4a"


def change_url() -> str:
    return f"{ADMIN_URL}{IntegrationSettings.load().pk}/change/"


def post_settings(browser, **fields):
    data = {"client_id": "", "client_secret": "", "scope": "full_access", "enabled": "on", **fields}
    return browser.post(change_url(), data)


def stored_secret_column() -> str:
    with db.cursor() as cursor:
        cursor.execute("SELECT client_secret_encrypted FROM connections_integrationsettings")
        return cursor.fetchone()[0]


def test_blank_credentials_use_the_built_in_sandbox(db, settings):
    credentials = sage_credentials()
    assert credentials.mode == CredentialsMode.SANDBOX
    assert credentials.client_id == settings.SAGE_SANDBOX_CLIENT_ID
    assert credentials.client_secret == settings.SAGE_SANDBOX_CLIENT_SECRET
    assert credentials.token_url == f"{settings.SAGE_SANDBOX_URL}/oauth/token"
    assert credentials.api_url == f"{settings.SAGE_SANDBOX_URL}/api/v3.1"


def test_blank_credentials_use_development_keys_from_the_environment(db, settings):
    settings.SAGE_DEV_CLIENT_ID, settings.SAGE_DEV_CLIENT_SECRET = "env-id", "env-secret"
    credentials = sage_credentials()
    assert credentials.mode == CredentialsMode.DEV_ENV
    assert (credentials.client_id, credentials.client_secret) == ("env-id", "env-secret")
    assert credentials.token_url == "https://oauth.accounting.sage.com/token"
    assert credentials.auth_url == "https://www.sageone.com/oauth2/auth/central?filter=apiv3.1"
    assert credentials.api_url == "https://api.accounting.sage.com/v3.1"


def test_custom_credentials_win_and_use_sage_production_urls(db, settings):
    settings.SAGE_DEV_CLIENT_ID, settings.SAGE_DEV_CLIENT_SECRET = "env-id", "env-secret"
    integration = IntegrationSettings.load()
    integration.client_id = "custom-id"
    set_client_secret(integration, SECRET)
    integration.save()
    credentials = sage_credentials()
    assert credentials.mode == CredentialsMode.CUSTOM
    assert (credentials.client_id, credentials.client_secret) == ("custom-id", SECRET)
    assert credentials.revoke_url == "https://oauth.accounting.sage.com/revoke"
    assert SECRET not in repr(credentials)


def test_half_filled_credentials_are_invalid_on_the_model(db):
    integration = IntegrationSettings.load()
    integration.client_id = "only-an-id"
    with pytest.raises(ValidationError, match="Fill in both"):
        integration.full_clean()


def test_admin_refuses_a_client_id_without_a_secret(superuser_browser):
    response = post_settings(superuser_browser, client_id="only-an-id")
    assert response.status_code == 200
    assert "Fill in both the client ID and the client secret" in response.content.decode()
    assert IntegrationSettings.load().client_id == ""


def test_admin_refuses_a_secret_without_a_client_id(superuser_browser):
    response = post_settings(superuser_browser, client_secret=SECRET)
    assert response.status_code == 200
    assert "Fill in both" in response.content.decode()
    assert not IntegrationSettings.load().has_client_secret


def test_admin_stores_the_secret_encrypted_and_never_shows_it(superuser_browser):
    response = post_settings(superuser_browser, client_id="custom-id", client_secret=SECRET)
    assert response.status_code == 302
    ciphertext = stored_secret_column()
    assert SECRET not in ciphertext and crypto.decrypt(ciphertext) == SECRET

    page = superuser_browser.get(change_url()).content.decode()
    assert SECRET not in page and ciphertext not in page
    assert "yes (hidden)" in page and "custom" in page


def test_blank_secret_keeps_the_stored_one(superuser_browser):
    post_settings(superuser_browser, client_id="custom-id", client_secret=SECRET)
    response = post_settings(superuser_browser, client_id="custom-id", scope="readonly")
    assert response.status_code == 302
    integration = IntegrationSettings.load()
    assert integration.scope == "readonly"
    assert sage_credentials(integration).client_secret == SECRET


def test_use_development_keys_clears_the_custom_credentials(superuser_browser):
    post_settings(superuser_browser, client_id="custom-id", client_secret=SECRET)
    response = post_settings(superuser_browser, client_id="custom-id", use_development_keys="on")
    assert response.status_code == 302
    integration = IntegrationSettings.load()
    assert integration.client_id == "" and not integration.has_client_secret
    assert sage_credentials(integration).mode == CredentialsMode.SANDBOX


def test_admin_page_shows_redirect_url_with_copy_button_and_mode(superuser_browser, settings):
    page = superuser_browser.get(ADMIN_URL, follow=True).content.decode()
    assert f"{settings.SITE_URL}/connect/sageaccounting/callback/" in page
    assert "navigator.clipboard.writeText" in page and ">Copy</button>" in page
    assert "built-in sandbox" in page
    assert "My Account → Applications → your app → Callback URLs" in page


def test_admin_page_names_development_keys_from_environment(superuser_browser, settings):
    settings.SAGE_DEV_CLIENT_ID, settings.SAGE_DEV_CLIENT_SECRET = "env-id", "env-secret-value"
    page = superuser_browser.get(change_url()).content.decode()
    assert "development keys from environment" in page
    assert "env-secret-value" not in page


def test_staff_without_the_permission_cannot_open_the_settings(db):
    user = get_user_model().objects.create(username="staff", is_staff=True)
    browser = Client()
    browser.force_login(user)
    assert browser.get(change_url()).status_code == 403


def test_staff_with_the_dedicated_permission_can_edit(db):
    user = get_user_model().objects.create(username="ops", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="change_integrationsettings"))
    browser = Client()
    browser.force_login(user)
    assert browser.get(change_url()).status_code == 200
    assert post_settings(browser, scope="readonly").status_code == 302


def test_rotate_command_reencrypts_everything_under_the_new_key(db, settings):
    old_key = settings.SAGEINT_ENCRYPTION_KEYS[0]
    integration = IntegrationSettings.load()
    integration.client_id = "custom-id"
    set_client_secret(integration, SECRET)
    integration.save()
    end_user = EndUser.objects.create(kind="external", external_id="rot")
    Connection.objects.create(
        end_user=end_user,
        client_id="custom-id",
        access_token_encrypted=crypto.encrypt("access-1"),
        refresh_token_encrypted=crypto.encrypt("refresh-1"),
    )

    new_key = Fernet.generate_key().decode()
    settings.SAGEINT_ENCRYPTION_KEYS = [new_key, old_key]
    call_command("rotate_encryption_keys")

    settings.SAGEINT_ENCRYPTION_KEYS = [new_key]  # the old key is gone: everything must still decrypt
    connection = Connection.objects.get()
    assert crypto.decrypt(connection.refresh_token_encrypted) == "refresh-1"
    assert crypto.decrypt(connection.access_token_encrypted) == "access-1"
    assert sage_credentials().client_secret == SECRET


def test_decrypting_with_a_missing_key_fails_clearly(db, settings):
    ciphertext = crypto.encrypt("value")
    settings.SAGEINT_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(crypto.DecryptionFailed, match="SAGEINT_ENCRYPTION_KEYS"):
        crypto.decrypt(ciphertext)


def test_a_remembered_decryption_is_not_used_once_its_key_is_gone(db, settings):
    old_key = settings.SAGEINT_ENCRYPTION_KEYS[0]
    ciphertext = crypto.encrypt("value")
    assert crypto.decrypt(ciphertext) == "value"  # now remembered under the old key list
    settings.SAGEINT_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(crypto.DecryptionFailed):
        crypto.decrypt(ciphertext)
    settings.SAGEINT_ENCRYPTION_KEYS = [old_key]
    assert crypto.decrypt(ciphertext) == "value"


def test_system_check_reports_an_unusable_key_without_echoing_it(settings):
    settings.SAGEINT_ENCRYPTION_KEYS = ["too-short-key"]
    errors = encryption_keys_are_usable(None)
    assert errors and errors[0].id == "connections.E001"
    assert "too-short-key" not in errors[0].msg


@pytest.mark.parametrize(
    ("mode", "label", "token_url"),
    [
        ("sandbox", "built-in sandbox", "/sandbox/oauth/token"),
        ("dev_env", "development keys from environment", "https://oauth.accounting.sage.com/token"),
        ("custom", "custom", "https://oauth.accounting.sage.com/token"),
    ],
)
def test_admin_page_shows_each_credentials_mode_and_its_endpoints(
    superuser_browser, settings, mode, label, token_url
):
    if mode == "dev_env":
        settings.SAGE_DEV_CLIENT_ID, settings.SAGE_DEV_CLIENT_SECRET = "env-id", "env-secret-value"
    if mode == "custom":
        integration = IntegrationSettings.load()
        integration.client_id = "custom-id"
        set_client_secret(integration, SECRET)
        integration.save()
    page = superuser_browser.get(change_url()).content.decode()
    in_effect = page.split("Credentials in effect:", 1)[1].split('<div class="readonly">', 1)[1]
    assert in_effect.split("</div>", 1)[0].strip() == label
    assert token_url in page
    assert SECRET not in page and "env-secret-value" not in page
