"""Pending OAuth states are capped per browser session: pressing Connect again and again cannot grow the session
without bound, and only the newest few states stay usable (the oldest is refused like any stale state)."""

from urllib.parse import parse_qs, parse_qsl, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from connections import oauth
from connections.models import Connection
from tests.fixtures_sage import authorize_at_sandbox

PRESSES = 12  # well over any sensible cap


@pytest.fixture
def browser(db):
    browser = Client()
    browser.force_login(get_user_model().objects.create(username="presses-connect-often"))
    return browser


def press_connect(browser) -> str:
    started = browser.post(reverse("connections:start"))
    assert started.status_code == 302
    return started["Location"]


def finish_at_sandbox(browser, authorize_url: str):
    consented = authorize_at_sandbox(browser, authorize_url, sandbox_user="sam", decision="allow")
    callback = urlsplit(consented["Location"])
    return browser.get(callback.path, dict(parse_qsl(callback.query)))


def pending_states(browser) -> dict:
    return browser.session.get(oauth._STATES_SESSION_KEY, {})


def test_pending_states_stay_capped_however_often_connect_is_pressed(browser):
    urls = [press_connect(browser) for _ in range(PRESSES)]

    states = pending_states(browser)
    assert 1 <= len(states) == oauth._MAX_PENDING_STATES < PRESSES
    # The newest are the ones kept.
    newest = [parse_qs(urlsplit(url).query)["state"][0] for url in urls[-oauth._MAX_PENDING_STATES :]]
    assert set(states) == set(newest)


def test_a_state_pushed_out_by_newer_ones_is_refused_and_the_newest_still_connects(
    browser, sandbox_transport
):
    urls = [press_connect(browser) for _ in range(PRESSES)]

    oldest = finish_at_sandbox(browser, urls[0])
    assert oldest.status_code == 400
    assert "invalid, expired or was already used" in oldest.content.decode()
    assert sandbox_transport.count("/oauth/token") == 0
    assert not Connection.objects.exists()

    newest = finish_at_sandbox(browser, urls[-1])
    assert newest.status_code == 302 and newest["Location"] == reverse("connections:connect")
    assert Connection.objects.get().is_active
