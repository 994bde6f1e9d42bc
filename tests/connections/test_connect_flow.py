"""The connect flow against the sandbox: connect page, Sage consent, callback, business choice, disconnect."""

import logging
from urllib.parse import parse_qs, parse_qsl, urlsplit

import pytest
import responses
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from connections import crypto, token_endpoint
from connections.credentials import sage_credentials
from connections.exceptions import ReconnectRequired
from connections.models import Connection, ConnectionEvent, EndUser, IntegrationSettings
from connections.sage_client import SageClient
from tests.fixtures_sage import authorize_at_sandbox, connect_through_sandbox, sandbox_user_id

CONNECT = "/connect/sageaccounting/"
CALLBACK = "/connect/sageaccounting/callback/"


@pytest.fixture
def demo_browser(db):
    user = get_user_model().objects.create(username="demo", email="demo@example.com")  # no slow hashing
    browser = Client()
    browser.force_login(user)
    browser.user = user
    return browser


def start(browser) -> str:
    started = browser.post(reverse("connections:start"))
    assert started.status_code == 302
    return started["Location"]


def consent(browser, authorize_url, decision="allow", sandbox_user="sam"):
    answered = authorize_at_sandbox(browser, authorize_url, sandbox_user=sandbox_user, decision=decision)
    assert answered.status_code == 302
    return answered["Location"]


def follow_callback(browser, callback_url):
    parts = urlsplit(callback_url)
    assert parts.path == CALLBACK
    return browser.get(parts.path, dict(parse_qsl(parts.query)))


def test_connect_page_paths_are_the_registered_ones():
    assert reverse("connections:connect") == CONNECT
    assert reverse("connections:callback") == CALLBACK


def test_anonymous_visitor_without_a_link_is_sent_to_log_in(client, db):
    response = client.get(CONNECT)
    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


def test_logged_in_user_sees_not_connected_and_a_connect_button(demo_browser):
    page = demo_browser.get(CONNECT).content.decode()
    assert "Not connected" in page
    assert 'action="/connect/sageaccounting/start/"' in page


def test_authorize_url_carries_code_flow_parameters(demo_browser, settings):
    url = urlsplit(start(demo_browser))
    params = parse_qs(url.query)
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{settings.SAGE_SANDBOX_URL}/oauth2/auth/central"
    assert params["filter"] == ["apiv3.1"]
    assert params["response_type"] == ["code"]
    assert params["client_id"] == [settings.SAGE_SANDBOX_CLIENT_ID]
    assert params["redirect_uri"] == [f"{settings.SITE_URL}{CALLBACK}"]
    assert params["scope"] == ["full_access"]
    assert len(params["state"][0]) >= 30


def test_full_connect_flow_connects_the_lead_business(demo_browser, sandbox_transport):
    finished = follow_callback(demo_browser, consent(demo_browser, start(demo_browser)))
    assert finished.status_code == 302 and finished["Location"] == CONNECT

    connection = Connection.objects.get(end_user__user=demo_browser.user)
    assert connection.is_active
    assert connection.business_name == "Sandbox Trading Ltd"
    assert connection.business_id == connection.lead_business_id
    assert {b["name"] for b in connection.businesses} == {"Sandbox Trading Ltd", "Sandbox Services Ltd"}
    assert connection.sage_user_email == "sam.sandbox@example.com"
    assert connection.scopes == "full_access"
    assert ConnectionEvent.objects.filter(kind="connected", end_user=connection.end_user).count() == 1

    page = demo_browser.get(CONNECT).content.decode()
    assert "Connected" in page and "Sandbox Trading Ltd" in page and "sam.sandbox@example.com" in page


def test_declining_at_sage_shows_a_clear_page_and_connects_nothing(demo_browser, sandbox_transport):
    declined = follow_callback(demo_browser, consent(demo_browser, start(demo_browser), decision="deny"))
    assert declined.status_code == 400
    assert "You declined the connection" in declined.content.decode()
    assert not Connection.objects.exists()
    assert sandbox_transport.count("/oauth/token") == 0


def test_sage_error_with_reason_is_shown(demo_browser, sandbox_transport):
    state = parse_qs(urlsplit(start(demo_browser)).query)["state"][0]
    response = demo_browser.get(
        CALLBACK, {"error": "Invalid request", "reason": "Email already in use", "state": state}
    )
    assert response.status_code == 400
    assert "Email already in use" in response.content.decode()


def test_forged_state_is_refused_before_any_exchange(demo_browser, sandbox_transport):
    authorize_url = start(demo_browser)
    callback = urlsplit(consent(demo_browser, authorize_url))
    params = dict(parse_qsl(callback.query))
    params["state"] = "forged-" + params["state"]
    response = demo_browser.get(CALLBACK, params)
    assert response.status_code == 400
    assert "invalid, expired or was already used" in response.content.decode()
    assert sandbox_transport.count("/oauth/token") == 0
    assert not Connection.objects.exists()


def test_missing_state_is_refused(demo_browser, sandbox_transport):
    callback = urlsplit(consent(demo_browser, start(demo_browser)))
    params = dict(parse_qsl(callback.query))
    del params["state"]
    assert demo_browser.get(CALLBACK, params).status_code == 400
    assert sandbox_transport.count("/oauth/token") == 0


def test_state_from_another_browser_session_is_refused(demo_browser, sandbox_transport, db):
    callback_url = consent(demo_browser, start(demo_browser))
    other = Client()
    other.force_login(demo_browser.user)  # same account, different session
    assert follow_callback(other, callback_url).status_code == 400
    assert sandbox_transport.count("/oauth/token") == 0


def test_expired_state_is_refused(demo_browser, sandbox_transport, settings):
    callback_url = consent(demo_browser, start(demo_browser))
    settings.SAGE_OAUTH_STATE_SECONDS = -1
    response = follow_callback(demo_browser, callback_url)
    assert response.status_code == 400
    assert sandbox_transport.count("/oauth/token") == 0


def test_reloading_the_callback_after_connecting_shows_the_connection_and_changes_nothing(
    demo_browser, sandbox_transport
):
    callback_url = consent(demo_browser, start(demo_browser))
    assert follow_callback(demo_browser, callback_url).status_code == 302
    tokens_before = Connection.objects.values_list("refresh_token_encrypted", flat=True).get()

    replay = follow_callback(demo_browser, callback_url)

    assert replay.status_code == 302 and replay["Location"] == CONNECT
    page = demo_browser.get(CONNECT).content.decode()
    assert "Connected" in page and "Sandbox Trading Ltd" in page
    assert sandbox_transport.count("/oauth/token") == 1
    assert Connection.objects.values_list("refresh_token_encrypted", flat=True).get() == tokens_before


def test_a_used_state_replayed_from_another_browser_is_still_refused(demo_browser, sandbox_transport, db):
    callback_url = consent(demo_browser, start(demo_browser))
    assert follow_callback(demo_browser, callback_url).status_code == 302
    other = Client()
    other.force_login(get_user_model().objects.create(username="other"))

    assert follow_callback(other, callback_url).status_code == 400
    assert sandbox_transport.count("/oauth/token") == 1


def test_a_used_code_is_refused_by_sage_with_a_clear_message(demo_browser, sandbox_transport):
    first_callback = urlsplit(consent(demo_browser, start(demo_browser)))
    assert demo_browser.get(CALLBACK, dict(parse_qsl(first_callback.query))).status_code == 302
    old_code = dict(parse_qsl(first_callback.query))["code"]
    # A fresh, valid state but the code that was already exchanged.
    new_state = parse_qs(urlsplit(start(demo_browser)).query)["state"][0]
    response = demo_browser.get(CALLBACK, {"code": old_code, "state": new_state})
    assert response.status_code == 400
    html = response.content.decode()
    # The sentence for people; Sage's code on a details line of its own.
    assert '<span class="message-sentence" id="connect-error">Sage did not accept the sign-in. It may' in html
    assert '<span class="sage-details">Details from Sage: <code>invalid_grant</code></span>' in html
    assert Connection.objects.get().is_active  # the earlier connection is untouched


@responses.activate
def test_token_exchange_outage_shows_a_message_and_logs_no_secret(demo_browser, settings, caplog):
    responses.post(f"{settings.SAGE_SANDBOX_URL}/oauth/token", status=503, body="<html>down</html>")
    state = parse_qs(urlsplit(start(demo_browser)).query)["state"][0]
    with caplog.at_level(logging.DEBUG):
        response = demo_browser.get(CALLBACK, {"code": "the-one-time-code", "state": state})
    assert response.status_code == 400
    assert (
        "could not be reached" in response.content.decode()
        or "Details from Sage: <code>HTTP 503</code>" in response.content.decode()
    )
    assert not Connection.objects.exists()
    assert "the-one-time-code" not in caplog.text
    assert settings.SAGE_SANDBOX_CLIENT_SECRET not in caplog.text


def test_user_with_two_businesses_can_switch_and_calls_follow(demo_browser, sandbox_transport):
    follow_callback(demo_browser, consent(demo_browser, start(demo_browser)))
    connection = Connection.objects.get()
    other = next(b for b in connection.businesses if b["id"] != connection.business_id)

    page = demo_browser.get(CONNECT).content.decode()
    assert "Sandbox Services Ltd" in page and "(lead)" in page
    response = demo_browser.post(reverse("connections:choose_business"), {"business_id": other["id"]})
    assert response.status_code == 302

    connection.refresh_from_db()
    assert connection.business_id == other["id"] and connection.business_name == "Sandbox Services Ltd"
    answer = SageClient.for_connection(connection).send("GET", "businesses/lead")
    assert answer.request.headers["X-Business"] == other["id"]
    assert answer.headers["X-Business"] == other["id"]
    assert ConnectionEvent.objects.filter(kind="business_switched").count() == 1


def test_switching_to_an_unknown_business_changes_nothing(demo_browser, sandbox_transport):
    follow_callback(demo_browser, consent(demo_browser, start(demo_browser)))
    before = Connection.objects.get().business_id
    demo_browser.post(reverse("connections:choose_business"), {"business_id": "not-mine"})
    assert Connection.objects.get().business_id == before
    assert not ConnectionEvent.objects.filter(kind="business_switched").exists()


def test_reconnecting_keeps_the_chosen_business(demo_browser, sandbox_transport):
    follow_callback(demo_browser, consent(demo_browser, start(demo_browser)))
    connection = Connection.objects.get()
    other = next(b for b in connection.businesses if b["id"] != connection.business_id)
    demo_browser.post(reverse("connections:choose_business"), {"business_id": other["id"]})
    follow_callback(demo_browser, consent(demo_browser, start(demo_browser)))
    assert Connection.objects.get().business_id == other["id"]
    assert Connection.objects.count() == 1


def test_disconnect_revokes_at_sage_deletes_tokens_and_keeps_the_audit(demo_browser, sandbox_transport):
    follow_callback(demo_browser, consent(demo_browser, start(demo_browser)))
    connection = Connection.objects.get()
    refresh_token = crypto.decrypt(connection.refresh_token_encrypted)

    response = demo_browser.post(reverse("connections:disconnect"))
    assert response.status_code == 302
    assert not Connection.objects.exists()
    assert sandbox_transport.count("/oauth/revoke") == 1
    kinds = list(ConnectionEvent.objects.filter(end_user=connection.end_user).values_list("kind", flat=True))
    assert "disconnected" in kinds and "connected" in kinds
    # The revoked refresh token no longer works at Sage.
    with pytest.raises(token_endpoint.TokenRefused):
        token_endpoint.refresh(credentials=sage_credentials(), refresh_token=refresh_token)
    assert "Not connected" in demo_browser.get(CONNECT).content.decode()


@responses.activate
def test_disconnect_still_forgets_tokens_when_revocation_fails(demo_browser, make_connection, settings):
    make_connection(sub="x")  # an unrelated connection stays
    end_user = EndUser.objects.create(
        kind=EndUser.Kind.ACCOUNT, external_id=str(demo_browser.user.pk), user=demo_browser.user
    )
    Connection.objects.create(
        end_user=end_user,
        client_id=settings.SAGE_SANDBOX_CLIENT_ID,
        refresh_token_encrypted=crypto.encrypt("r"),
    )
    revoke = responses.post(f"{settings.SAGE_SANDBOX_URL}/oauth/revoke", status=500)
    demo_browser.post(reverse("connections:disconnect"))
    assert revoke.call_count == 1
    assert not Connection.objects.filter(end_user=end_user).exists()
    assert ConnectionEvent.objects.filter(end_user=end_user, kind="revoke_failed").exists()
    assert Connection.objects.count() == 1


@responses.activate
def test_disconnect_never_sends_a_token_to_other_credentials_than_it_was_issued_to(demo_browser, settings):
    end_user = EndUser.objects.create(
        kind=EndUser.Kind.ACCOUNT, external_id=str(demo_browser.user.pk), user=demo_browser.user
    )
    Connection.objects.create(
        end_user=end_user, client_id="an-earlier-app", refresh_token_encrypted=crypto.encrypt("r")
    )
    revoke = responses.post(f"{settings.SAGE_SANDBOX_URL}/oauth/revoke", status=200)
    demo_browser.post(reverse("connections:disconnect"))
    assert revoke.call_count == 0
    assert not Connection.objects.filter(end_user=end_user).exists()
    assert ConnectionEvent.objects.filter(end_user=end_user, kind="disconnected").exists()


def test_switched_off_integration_refuses_to_start(demo_browser, sandbox_transport):
    integration = IntegrationSettings.load()
    integration.enabled = False
    integration.save()
    response = demo_browser.post(reverse("connections:start"))
    assert response.status_code == 302 and response["Location"] == CONNECT
    assert "switched off" in demo_browser.get(CONNECT).content.decode()


def test_reconnect_needed_shows_reason_and_reconnect_button(connected_end_user):
    connection = connected_end_user.connection
    connection.status = Connection.Status.RECONNECT_REQUIRED
    connection.reconnect_reason = "Sage refused the stored authorization (invalid_grant)."
    connection.save()
    browser = Client()
    from tests.fixtures_sage import make_user_token

    browser.get(CONNECT, {"user_token": make_user_token(connected_end_user.external_id)})
    page = browser.get(CONNECT).content.decode()
    assert "Reconnect needed" in page and ">Reconnect</button>" in page and "invalid_grant" in page
    with pytest.raises(ReconnectRequired):
        SageClient.for_end_user(connected_end_user)
    # Reconnecting brings it back to life.
    assert connect_through_sandbox(browser).status_code == 302
    connection.refresh_from_db()
    assert connection.is_active and connection.reconnect_reason == ""


def test_sandbox_user_without_subscription_gets_a_clear_message(demo_browser, sandbox_transport):
    sandbox_user_id("eve")
    response = follow_callback(demo_browser, consent(demo_browser, start(demo_browser), sandbox_user="eve"))
    assert response.status_code == 400
    assert "Sage refused to share your user and businesses" in response.content.decode()
    assert not Connection.objects.exists()
