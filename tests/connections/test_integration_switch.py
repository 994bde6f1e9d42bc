"""IntegrationSettings.enabled off stops everything that reaches Sage: connecting, calls, and the keep-alive."""

from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from connections.exceptions import IntegrationDisabled
from connections.models import Connection, IntegrationSettings
from connections.sage_client import SageClient
from connections.tokens import keep_connections_alive
from tests.fixtures_sage import authorize_at_sandbox, connect_through_sandbox, make_user_token

CONNECT = "/connect/sageaccounting/"


def switch_integration(*, enabled: bool) -> None:
    integration = IntegrationSettings.load()
    integration.enabled = enabled
    integration.save()


def test_switched_off_integration_refuses_calls_of_existing_connections(
    connected_end_user, sandbox_transport
):
    calls_before = len(sandbox_transport.calls)
    switch_integration(enabled=False)

    with pytest.raises(IntegrationDisabled, match="switched off by the administrator"):
        SageClient.for_end_user(connected_end_user)
    with pytest.raises(IntegrationDisabled):
        SageClient.for_connection(connected_end_user.connection)
    assert len(sandbox_transport.calls) == calls_before
    assert Connection.objects.get(pk=connected_end_user.connection.pk).is_active  # nothing lost

    switch_integration(enabled=True)
    assert SageClient.for_end_user(connected_end_user).get_json("user")["email"] == "sam.sandbox@example.com"


def test_callback_after_switching_off_exchanges_no_code(db, sandbox_transport):
    browser = Client()
    browser.get(CONNECT, {"user_token": make_user_token("late-user")})
    authorize_url = browser.post(reverse("connections:start"))["Location"]
    consent = authorize_at_sandbox(browser, authorize_url, sandbox_user="sam", decision="allow")
    switch_integration(enabled=False)  # while the user was at Sage

    callback = urlsplit(consent["Location"])
    response = browser.get(callback.path, dict(parse_qsl(callback.query)))

    assert response.status_code == 403
    assert "switched off by the administrator" in response.content.decode()
    assert sandbox_transport.count("/oauth/token") == 0
    assert not Connection.objects.exists()


def test_connect_page_of_a_switched_off_integration_offers_no_connect_button(db):
    switch_integration(enabled=False)
    browser = Client()
    browser.get(CONNECT, {"user_token": make_user_token("someone")})
    page = browser.get(CONNECT).content.decode()
    assert "switched off by the administrator" in page
    assert reverse("connections:start") not in page


def test_keep_alive_sends_nothing_while_switched_off(connected_end_user, sandbox_transport):
    connection = connected_end_user.connection
    connection.last_refreshed_at = timezone.now() - timedelta(days=2)
    connection.save()
    switch_integration(enabled=False)

    summary = keep_connections_alive()

    assert (summary.refreshed, summary.failed, summary.skipped) == (0, 0, 0)
    assert sandbox_transport.refresh_calls == 0
    switch_integration(enabled=True)
    assert keep_connections_alive().refreshed == 1


def test_disconnect_still_revokes_while_switched_off(db, sandbox_transport):
    browser = Client()
    browser.get(CONNECT, {"user_token": make_user_token("leaving")})

    connect_through_sandbox(browser)
    switch_integration(enabled=False)

    browser.post(reverse("connections:disconnect"))

    assert sandbox_transport.count("/oauth/revoke") == 1
    assert not Connection.objects.exists()


def test_other_processes_see_a_switch_off_within_the_cache_time(db):
    from connections import models

    IntegrationSettings.load()  # the row exists, switched on
    assert IntegrationSettings.integration_enabled() is True
    # Another process switches it off (a plain UPDATE: no save() in this process to clear the cache).
    IntegrationSettings.objects.filter(pk=IntegrationSettings.SINGLETON_ID).update(enabled=False)
    assert IntegrationSettings.integration_enabled() is True  # this process trusts its reading a moment
    models._enabled_cache["read_at"] -= models.ENABLED_CACHE_SECONDS + 0.1  # the moment passes
    assert IntegrationSettings.integration_enabled() is False


def test_the_process_that_saves_the_switch_sees_it_at_once(db):
    assert IntegrationSettings.integration_enabled() is True
    switch_integration(enabled=False)
    assert IntegrationSettings.integration_enabled() is False
