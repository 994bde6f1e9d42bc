"""Connect links and the callback against an attacker (issue 12, items 5-8).

The attack: an attacker mints a link for their own end user and gets a victim to open it; the victim then
connects their Sage to the attacker's end user, and the attacker reads the victim's Sage data. A link must
therefore never take over a session silently, and the page must say plainly whose connection it is.
"""

import base64
import hashlib
import hmac
import json
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from connections.models import EndUser
from tests.fixtures_sage import connect_through_sandbox

CONNECT = "/connect/sageaccounting/"
CONFIRM = "/connect/sageaccounting/link/"
CALLBACK = "/connect/sageaccounting/callback/"
PROXY = "/api/v1/proxy/sageaccounting/contacts"


@pytest.fixture
def signed_in(db):
    user = get_user_model().objects.create(username="victim", email="victim@example.com")
    browser = Client()
    browser.force_login(user)
    return browser


def page(response) -> str:
    return response.content.decode()


def bound_end_user(browser: Client) -> EndUser | None:
    """Whose connect page the browser gets now (the one a Connect press would connect)."""
    started = browser.post(reverse("connections:start"))
    if started.status_code != 302 or "/accounts/login" in started["Location"]:
        return None
    state = parse_qs(urlsplit(started["Location"]).query)["state"][0]
    end_user_id = browser.session["sageint_oauth_states"][state]["end_user_id"]
    return EndUser.objects.get(pk=end_user_id)


# --- 5. a link binds a session only openly ----------------------------------------------------------------


def test_opening_a_link_gives_the_session_a_new_key(db, user_token_for):
    browser = Client()
    planted = SessionStore()
    planted["anything"] = 1
    planted.create()
    browser.cookies["sessionid"] = planted.session_key  # a key the attacker knows (session fixation)

    opened = browser.get(CONNECT, {"user_token": user_token_for("cust-1", name="Ann")})

    assert opened.status_code == 302 and opened["Location"] == CONNECT
    assert browser.cookies["sessionid"].value != planted.session_key
    assert "sageint_connect_link" not in SessionStore(planted.session_key).load()
    assert bound_end_user(browser).external_id == "cust-1"


def test_a_link_asks_before_it_overrides_a_signed_in_account(signed_in, user_token_for):
    opened = signed_in.get(CONNECT, {"user_token": user_token_for("attacker-1", name="Mallory")})

    assert opened.status_code == 302 and opened["Location"] == CONFIRM
    question = signed_in.get(CONFIRM)
    assert question.status_code == 200
    text = page(question)
    assert "Mallory" in text and "attacker-1" in text and "victim" in text
    # Nothing bound yet: Connect still connects the signed-in account.
    assert bound_end_user(signed_in).user.username == "victim"


def test_confirming_binds_the_link_user_and_rotates_the_session(signed_in, user_token_for):
    signed_in.get(CONNECT, {"user_token": user_token_for("cust-2", name="Carol")})
    key_before = signed_in.cookies["sessionid"].value

    confirmed = signed_in.post(CONFIRM, {"decision": "continue"})

    assert confirmed.status_code == 302 and confirmed["Location"] == CONNECT
    assert signed_in.cookies["sessionid"].value != key_before
    assert bound_end_user(signed_in).external_id == "cust-2"


def test_cancelling_keeps_the_signed_in_account(signed_in, user_token_for):
    signed_in.get(CONNECT, {"user_token": user_token_for("attacker-2", name="Mallory")})
    cancelled = signed_in.post(CONFIRM, {"decision": "cancel"})
    assert cancelled.status_code == 302
    assert bound_end_user(signed_in).user.username == "victim"
    assert signed_in.post(CONFIRM, {"decision": "continue"}).status_code == 400  # nothing left to confirm


def test_a_signed_in_user_can_stop_using_a_confirmed_link(signed_in, user_token_for):
    signed_in.get(CONNECT, {"user_token": user_token_for("cust-5", name="Erin")})
    signed_in.post(CONFIRM, {"decision": "continue"})
    assert "Stop using this link" in page(signed_in.get(CONNECT))

    signed_in.post(CONFIRM, {"decision": "forget"})

    assert bound_end_user(signed_in).user.username == "victim"


def test_the_question_page_without_a_waiting_link_goes_to_the_connect_page(signed_in):
    assert signed_in.get(CONFIRM)["Location"] == CONNECT


def test_a_link_asks_before_it_replaces_a_binding_to_another_end_user(db, user_token_for):
    browser = Client()
    browser.get(CONNECT, {"user_token": user_token_for("own-user", name="Victor")})

    opened = browser.get(CONNECT, {"user_token": user_token_for("attacker-3", name="Mallory")})

    assert opened["Location"] == CONFIRM
    text = page(browser.get(CONFIRM))
    assert "Mallory" in text and "Victor" in text
    assert bound_end_user(browser).external_id == "own-user"


def test_the_same_link_user_again_is_bound_without_a_question(db, user_token_for):
    browser = Client()
    browser.get(CONNECT, {"user_token": user_token_for("same-user")})
    key_before = browser.cookies["sessionid"].value
    again = browser.get(CONNECT, {"user_token": user_token_for("same-user")})
    assert again["Location"] == CONNECT
    assert browser.cookies["sessionid"].value != key_before


def test_confirmation_only_by_post(signed_in, user_token_for):
    signed_in.get(CONNECT, {"user_token": user_token_for("attacker-4")})
    signed_in.get(CONFIRM, {"decision": "continue"})
    assert bound_end_user(signed_in).user.username == "victim"


def test_confirmation_needs_the_csrf_token(db, user_token_for):
    user = get_user_model().objects.create(username="csrf-victim")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    browser.get(CONNECT, {"user_token": user_token_for("attacker-5")})
    assert browser.post(CONFIRM, {"decision": "continue"}).status_code == 403


def test_connect_page_names_who_the_connection_will_belong_to(db, user_token_for):
    browser = Client()
    browser.get(CONNECT, {"user_token": user_token_for("cust-3", name="Dana Example")})
    text = page(browser.get(CONNECT))
    assert 'id="connection-owner"' in text
    owner = text.split('id="connection-owner"', 1)[1].split("</", 1)[0]
    assert "Dana Example" in owner and "cust-3" in owner
    assert "Connect Sage Accounting for Dana Example" in text


def test_connect_page_of_an_account_names_the_account(signed_in):
    text = page(signed_in.get(CONNECT))
    owner = text.split('id="connection-owner"', 1)[1].split("</", 1)[0]
    assert "victim" in owner


def test_the_link_user_connects_after_confirming(signed_in, sandbox_transport, user_token_for):
    signed_in.get(CONNECT, {"user_token": user_token_for("cust-4")})
    signed_in.post(CONFIRM, {"decision": "continue"})
    assert connect_through_sandbox(signed_in).status_code == 302
    assert EndUser.objects.get(external_id="cust-4").connection.is_active
    assert not EndUser.objects.filter(user__username="victim", connection__isnull=False).exists()


# --- 6. the callback checks state before it shows anything of Sage's ----------------------------------------


def test_callback_with_a_forged_state_shows_none_of_the_attackers_text(signed_in, sandbox_transport):
    response = signed_in.get(
        CALLBACK,
        {"state": "forged", "error": "server_error", "reason": "Call +1 555 0100 to restore your account"},
    )
    assert response.status_code == 400
    text = page(response)
    assert "555 0100" not in text and "server_error" not in text
    assert "invalid, expired or was already used" in text


def test_callback_error_without_state_shows_none_of_it(signed_in, sandbox_transport):
    response = signed_in.get(CALLBACK, {"error": "access_denied", "error_description": "Visit evil.example"})
    assert response.status_code == 400
    assert "evil.example" not in page(response)
    assert "declined" not in page(response)


# --- 7. no session for anonymous callback hits; expired sessions pruned ------------------------------------


@pytest.mark.parametrize(
    "params",
    [{"state": "x", "code": "y"}, {"error": "access_denied", "state": "x"}, {}],
    ids=["code", "error", "bare"],
)
def test_anonymous_callback_hit_creates_no_session(db, params):
    browser = Client()
    response = browser.get(CALLBACK, params)
    assert response.status_code == 400
    assert "sessionid" not in response.cookies
    assert not Session.objects.exists()


def test_expired_sessions_are_pruned(db):
    from accounts.tasks import prune_expired_sessions

    live, expired = SessionStore(), SessionStore()
    live["a"] = expired["a"] = 1
    live.create()
    expired.create()
    Session.objects.filter(session_key=expired.session_key).update(expire_date=timezone.now() - timedelta(1))

    prune_expired_sessions()

    assert list(Session.objects.values_list("session_key", flat=True)) == [live.session_key]


def test_session_pruning_is_scheduled(settings):
    tasks = {entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert tasks.get("accounts.prune_expired_sessions") == 24 * 3600


# --- 8. every malformed user token is a 401 -----------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header, payload, *, secret: str | None = None) -> str:
    """A token with any header and payload (JSON or raw text), correctly HS256-signed with the shared secret."""
    from django.conf import settings

    def part(value) -> str:
        return _b64(value.encode() if isinstance(value, str) else json.dumps(value).encode())

    signing_input = f"{part(header)}.{part(payload)}"
    key = (secret or settings.SAGEINT_USER_TOKEN_SECRET).encode()
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def _claims(**extra):
    return {"sub": "malformed-user", "exp": int(time.time()) + 300, **extra}


HS = {"alg": "HS256", "typ": "JWT"}
MALFORMED = {
    "alg-list": lambda: forge({"alg": ["HS256"], "typ": "JWT"}, _claims()),
    "alg-dict": lambda: forge({"alg": {"HS256": 1}}, _claims()),
    "alg-number": lambda: forge({"alg": 256}, _claims()),
    "alg-null": lambda: forge({"alg": None}, _claims()),
    "alg-missing": lambda: forge({"typ": "JWT"}, _claims()),
    "kid-list": lambda: forge({**HS, "kid": ["a"]}, _claims()),
    "typ-list": lambda: forge({"alg": "HS256", "typ": ["JWT"]}, _claims()),
    "crit-string": lambda: forge({**HS, "crit": "exp"}, _claims()),
    "crit-unknown": lambda: forge({**HS, "crit": ["whatever"]}, _claims()),
    "header-list": lambda: forge(["HS256"], _claims()),
    "header-string": lambda: forge('"HS256"', _claims()),
    "header-not-json": lambda: forge("{alg", _claims()),
    "payload-list": lambda: forge(HS, [1, 2]),
    "payload-string": lambda: forge(HS, '"sub"'),
    "payload-not-json": lambda: forge(HS, "{sub"),
    "payload-deep": lambda: forge(HS, "[" * 5000 + "]" * 5000),
    "exp-string": lambda: forge(HS, _claims(exp="tomorrow")),
    "exp-list": lambda: forge(HS, _claims(exp=[1])),
    "exp-infinite": lambda: forge(HS, f'{{"sub": "malformed-user", "exp": {"1e400"}}}'),
    "exp-nan": lambda: forge(HS, '{"sub": "malformed-user", "exp": NaN}'),
    "exp-huge": lambda: forge(HS, _claims(exp=10**40)),
    "exp-far-future": lambda: forge(HS, _claims(exp=int(time.time()) + 10 * 365 * 86400)),
    "nbf-list": lambda: forge(HS, _claims(nbf=[1])),
    "iat-string": lambda: forge(HS, _claims(iat="now")),
    "iat-infinite": lambda: forge(HS, '{"sub": "malformed-user", "exp": 9999999999, "iat": 1e400}'),
    "sub-number": lambda: forge(HS, {"sub": 42, "exp": int(time.time()) + 300}),
    "sub-list": lambda: forge(HS, {"sub": ["a"], "exp": int(time.time()) + 300}),
    "aud-dict": lambda: forge(HS, _claims(aud={"a": 1})),
    "iss-list": lambda: forge(HS, _claims(iss=[1])),
    "two-segments": lambda: forge(HS, _claims()).rsplit(".", 1)[0],
    "bad-base64": lambda: "@@@." + forge(HS, _claims()).split(".", 1)[1],
    "non-ascii": lambda: "é" + forge(HS, _claims()),
    "empty-signature": lambda: forge(HS, _claims()).rsplit(".", 1)[0] + ".",
}


@pytest.mark.parametrize("name", MALFORMED)
def test_every_malformed_token_is_a_401_on_the_proxy(db, name):
    response = Client().get(PROXY, headers={"Authorization": f"Bearer {MALFORMED[name]()}"})
    assert response.status_code == 401, page(response)[:300]
    assert response.json()["error"]["code"] == "invalid_token"


@pytest.mark.parametrize("name", MALFORMED)
def test_every_malformed_token_is_a_401_on_the_connect_page(db, name):
    response = Client().get(CONNECT, {"user_token": MALFORMED[name]()})
    assert response.status_code == 401, page(response)[:300]
    assert not EndUser.objects.exists()


def test_user_token_lifetime_is_capped_by_a_setting(db, settings, user_token_for):
    settings.SAGEINT_USER_TOKEN_MAX_LIFETIME_SECONDS = 3600
    too_long = user_token_for("long-lived", expires_in=3600 + 120)
    within = user_token_for("short-lived", expires_in=3600 - 60)

    refused = Client().get(PROXY, headers={"Authorization": f"Bearer {too_long}"})
    assert refused.status_code == 401
    assert "3600" in refused.json()["error"]["message"]
    assert Client().get(CONNECT, {"user_token": too_long}).status_code == 401
    assert (
        Client().get(PROXY, headers={"Authorization": f"Bearer {within}"}).status_code == 404
    )  # not connected


def test_default_user_token_lifetime_cap_is_a_week(settings):
    assert settings.SAGEINT_USER_TOKEN_MAX_LIFETIME_SECONDS == 7 * 24 * 3600


def test_management_api_never_mints_links_longer_than_the_cap(db, settings):
    from api.management_views import longest_connect_link_seconds

    settings.SAGEINT_USER_TOKEN_MAX_LIFETIME_SECONDS = 3600
    assert longest_connect_link_seconds() == 3600
