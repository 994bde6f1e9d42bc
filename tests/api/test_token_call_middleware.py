"""Proxied calls with a user token skip the browser's middleware (sessions, CSRF, login, messages); what still
applies to them (host check, security headers, request id) and what session callers keep."""

import pytest
from django.contrib.sessions.middleware import SessionMiddleware

pytestmark = pytest.mark.django_db

PROXY = "/api/v1/proxy/sageaccounting"
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def sessions_watched(monkeypatch):
    """How many requests SessionMiddleware saw."""
    seen = []
    original = SessionMiddleware.process_request

    def watched(self, request):
        seen.append(request.path)
        return original(self, request)

    monkeypatch.setattr(SessionMiddleware, "process_request", watched)
    return seen


def test_a_token_call_is_answered_without_the_browser_middleware(
    client, connected_end_user, bearer_for, scripted_sage, sessions_watched
):
    scripted_sage("/contacts", [(200, JSON, b'{"$items": []}')])

    response = client.get(f"{PROXY}/contacts", **bearer_for(connected_end_user))

    assert response.status_code == 200
    assert response.content == b'{"$items": []}'
    assert sessions_watched == []
    # What sits before the shortcut still applies: the request id and SecurityMiddleware's headers.
    assert response["X-Request-ID"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert int(response["Content-Length"]) == len(response.content)


def test_a_token_call_for_a_host_this_site_does_not_serve_is_refused(
    client, connected_end_user, bearer_for, outgoing_requests
):
    response = client.get(f"{PROXY}/contacts", HTTP_HOST="evil.example", **bearer_for(connected_end_user))

    assert response.status_code == 400
    assert outgoing_requests == []


def test_a_session_caller_still_goes_through_sessions_and_csrf(
    connected_account_user, scripted_sage, sessions_watched
):
    from django.test import Client

    scripted_sage("/contacts", [(200, JSON, b'{"$items": []}')])
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(connected_account_user)

    assert browser.get(f"{PROXY}/contacts").status_code == 200
    assert sessions_watched == [f"{PROXY}/contacts"]
    refused = browser.post(f"{PROXY}/contacts", data={}, content_type="application/json")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "csrf_failed"
