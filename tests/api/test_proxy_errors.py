"""The proxy's own errors: one JSON shape, the right status, and nothing sent to Sage."""

import json

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from sageint_sdk import mint_user_token

from api.models import RequestLog
from connections import proxy
from connections.exceptions import IntegrationDisabled
from connections.models import Connection, IntegrationSettings

pytestmark = pytest.mark.django_db

CONTACTS = "/api/v1/proxy/sageaccounting/contacts"


def assert_proxy_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]


def test_missing_credentials_is_401(client, outgoing_requests):
    assert_proxy_error(client.get(CONTACTS), 401, "unauthenticated")
    assert outgoing_requests == []


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer    ", "Token abc"])
def test_malformed_authorization_header_is_401(client, header):
    assert_proxy_error(client.get(CONTACTS, HTTP_AUTHORIZATION=header), 401, "invalid_token")


def test_token_signed_with_another_secret_is_401(client, connected_end_user, outgoing_requests):
    forged = mint_user_token("not-the-deployment-secret", connected_end_user.external_id)

    assert_proxy_error(client.get(CONTACTS, HTTP_AUTHORIZATION=f"Bearer {forged}"), 401, "invalid_token")
    assert outgoing_requests == []


def test_expired_token_is_401(client, settings, connected_end_user, outgoing_requests):
    expired = mint_user_token(
        settings.SAGEINT_USER_TOKEN_SECRET, connected_end_user.external_id, expires_in=-120
    )

    response = client.get(CONTACTS, HTTP_AUTHORIZATION=f"Bearer {expired}")

    assert_proxy_error(response, 401, "invalid_token")
    assert "expired" in response.json()["error"]["message"]
    assert outgoing_requests == []


def test_unsigned_token_is_401(client, connected_end_user):
    import jwt

    unsigned = jwt.encode({"sub": connected_end_user.external_id, "exp": 4102444800}, None, algorithm="none")

    assert_proxy_error(client.get(CONTACTS, HTTP_AUTHORIZATION=f"Bearer {unsigned}"), 401, "invalid_token")


def test_user_without_connection_is_404(client, user_token_for, outgoing_requests):
    token = user_token_for("never-connected-user")

    assert_proxy_error(client.get(CONTACTS, HTTP_AUTHORIZATION=f"Bearer {token}"), 404, "not_connected")
    assert outgoing_requests == []


def test_connection_that_needs_reconnect_is_409(client, connected_end_user, bearer_for, outgoing_requests):
    Connection.objects.filter(end_user=connected_end_user).update(
        status=Connection.Status.RECONNECT_REQUIRED, reconnect_reason="Sage refused the refresh token."
    )

    assert_proxy_error(client.get(CONTACTS, **bearer_for(connected_end_user)), 409, "reconnect_required")
    assert outgoing_requests == []


@pytest.mark.parametrize("body", [b"{not json", b"\xff\xfe", b"{'single': 'quotes'}", b'{"a": 1,}'])
def test_malformed_json_body_is_400(client, connected_end_user, bearer_for, outgoing_requests, body):
    response = client.post(
        CONTACTS, data=body, content_type="application/json", **bearer_for(connected_end_user)
    )

    assert_proxy_error(response, 400, "invalid_json")
    assert outgoing_requests == []


def test_body_over_the_limit_is_413(client, settings, connected_end_user, bearer_for, outgoing_requests):
    settings.SAGEINT_PROXY_MAX_BODY_BYTES = 100
    body = json.dumps({"contact": {"name": "x" * 200, "contact_type_ids": ["CUSTOMER"]}})

    response = client.post(
        CONTACTS, data=body, content_type="application/json", **bearer_for(connected_end_user)
    )

    assert_proxy_error(response, 413, "body_too_large")
    assert outgoing_requests == []


def test_declared_content_length_over_the_limit_is_413_without_reading_the_body(
    client, settings, connected_end_user, bearer_for, outgoing_requests
):
    settings.SAGEINT_PROXY_MAX_BODY_BYTES = 100

    response = client.post(
        CONTACTS,
        data=b"{}",
        content_type="application/json",
        CONTENT_LENGTH="5000",
        **bearer_for(connected_end_user),
    )

    assert_proxy_error(response, 413, "body_too_large")
    assert outgoing_requests == []


def test_body_limit_above_djangos_upload_cap_is_honoured(
    client, settings, connected_end_user, bearer_for, scripted_sage
):
    """SAGEINT_PROXY_MAX_BODY_BYTES decides alone: Django's DATA_UPLOAD_MAX_MEMORY_SIZE does not cut it short."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    settings.SAGEINT_PROXY_MAX_BODY_BYTES = 5000
    sage = scripted_sage("/contacts", [(201, {"Content-Type": "application/json"}, b"{}")])
    body = json.dumps({"contact": {"name": "x" * 3000}}).encode()

    response = client.post(
        CONTACTS, data=body, content_type="application/json", **bearer_for(connected_end_user)
    )

    assert response.status_code == 201, response.content
    assert sage.requests[0].body == body


def test_multipart_form_body_is_400(client, connected_end_user, bearer_for, outgoing_requests):
    response = client.post(CONTACTS, data={"name": "Form Post Ltd"}, **bearer_for(connected_end_user))

    assert_proxy_error(response, 400, "invalid_json")
    assert outgoing_requests == []


def test_body_at_the_limit_is_sent(client, settings, connected_end_user, bearer_for):
    body = json.dumps({"contact": {"name": "Exactly At The Limit Ltd", "contact_type_ids": ["CUSTOMER"]}})
    settings.SAGEINT_PROXY_MAX_BODY_BYTES = len(body)

    response = client.post(
        CONTACTS, data=body, content_type="application/json", **bearer_for(connected_end_user)
    )

    assert response.status_code == 201, response.content


def test_unknown_integration_is_404(client, connected_end_user, bearer_for):
    response = client.get("/api/v1/proxy/xero/contacts", **bearer_for(connected_end_user))

    assert_proxy_error(response, 404, "unknown_integration")


def test_unsupported_method_is_405(client, connected_end_user, bearer_for, outgoing_requests):
    response = client.patch(
        CONTACTS, data=b"{}", content_type="application/json", **bearer_for(connected_end_user)
    )

    assert_proxy_error(response, 405, "method_not_allowed")
    assert "GET" in response["Allow"]
    assert outgoing_requests == []


def test_session_write_without_csrf_token_is_refused(connected_account_user, outgoing_requests):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(connected_account_user)

    response = browser.post(CONTACTS, data=b"{}", content_type="application/json")

    assert_proxy_error(response, 403, "csrf_failed")
    assert outgoing_requests == []


def test_session_read_needs_no_csrf_token(connected_account_user):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(connected_account_user)

    assert browser.get(CONTACTS).status_code == 200


def test_session_write_with_csrf_token_is_sent(connected_account_user):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(connected_account_user)
    csrf_token = "k" * 32  # a CSRF secret as Django would set it in the cookie
    browser.cookies["csrftoken"] = csrf_token
    body = json.dumps({"contact": {"name": "Session Writer Ltd", "contact_type_ids": ["CUSTOMER"]}})

    response = browser.post(CONTACTS, data=body, content_type="application/json", HTTP_X_CSRFTOKEN=csrf_token)

    assert response.status_code == 201, response.content


def test_logged_in_user_without_connection_is_404(client):
    user = get_user_model().objects.create_user("lonely", password="x-long-password-1")
    client.force_login(user)

    assert_proxy_error(client.get(CONTACTS), 404, "not_connected")


def switch_integration(*, enabled: bool) -> None:
    integration = IntegrationSettings.load()
    integration.enabled = enabled
    integration.save()


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_integration_switched_off_by_the_admin_is_503_and_sends_nothing(
    client, connected_end_user, bearer_for, outgoing_requests, method
):
    switch_integration(enabled=False)

    response = client.generic(
        method, CONTACTS, data=b"{}", content_type="application/json", **bearer_for(connected_end_user)
    )

    assert_proxy_error(response, 503, "integration_disabled")
    assert "switched off" in response.json()["error"]["message"]
    assert outgoing_requests == []
    assert RequestLog.objects.count() == 0


def test_integration_switched_back_on_is_proxied_again(client, connected_end_user, bearer_for):
    switch_integration(enabled=False)
    assert client.get(CONTACTS, **bearer_for(connected_end_user)).status_code == 503

    switch_integration(enabled=True)

    assert client.get(CONTACTS, **bearer_for(connected_end_user)).status_code == 200


def test_in_process_request_raises_integration_disabled_and_sends_nothing(
    connected_end_user, outgoing_requests
):
    switch_integration(enabled=False)

    with pytest.raises(IntegrationDisabled):
        proxy.request(connected_end_user, "/contacts")

    assert outgoing_requests == []


def test_a_bug_in_sageint_is_a_500_in_the_same_shape_without_details(
    client, connected_end_user, bearer_for, monkeypatch, caplog
):
    def broken_request(*args, **kwargs):
        raise RuntimeError("internal detail that must not reach the caller")

    monkeypatch.setattr(proxy, "request", broken_request)

    response = client.get(f"{CONTACTS}?email=private%40example.com", **bearer_for(connected_end_user))

    assert_proxy_error(response, 500, "internal_error")
    assert "internal detail" not in response.content.decode()
    assert "internal detail" in caplog.text  # the traceback is in the log
    assert "private" not in caplog.text
