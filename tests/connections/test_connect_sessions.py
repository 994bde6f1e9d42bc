"""Connect sessions: the company's backend asks for one with a project API key; the user's browser opens the
branded connect portal with its single-use, short-lived token and is sent back to the company's app."""

import hashlib
import json
import threading
from datetime import timedelta
from urllib.parse import parse_qs, parse_qsl, urlsplit

import pytest
from django.db import connection as db_connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from connections import connect_sessions
from connections.models import Connection, ConnectSession, EndUser, IntegrationSettings
from connections.tasks import delete_finished_connect_sessions
from projects.models import ApiKey
from tests.fixtures_sage import connect_through_sandbox, make_user_token

pytestmark = pytest.mark.django_db

SESSIONS = "/api/v1/connect/sessions"
CONNECT = "/connect/sageaccounting/"
APP = "https://app.example.com"
RETURN_URL = f"{APP}/settings/integrations?tab=sage#top"


@pytest.fixture
def api(db):
    _, key = ApiKey.issue(name="backend")
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}")


@pytest.fixture
def brand(settings):
    settings.SAGEINT_BRAND_NAME = "Acme Books"
    settings.SAGEINT_BRAND_LOGO_URL = "https://cdn.example.com/acme.png"
    settings.SAGEINT_BRAND_COLOR = "#aa3300"
    return settings


def create(api, **fields):
    body = {"end_user_id": "customer-42", "allowed_origins": [APP], "return_url": RETURN_URL, **fields}
    return api.post(SESSIONS, body, content_type="application/json")


def issue(**fields) -> str:
    """A session made by the service directly; returns its token."""
    values = {"end_user_id": "customer-42", "allowed_origins": [APP], "return_url": RETURN_URL, **fields}
    return connect_sessions.create_connect_session(**values).token


def open_portal(browser: Client, token: str, display: str = "page"):
    return browser.get(reverse("connections:open_session"), {"token": token, "display": display})


def return_query(url: str) -> dict:
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{APP}/settings/integrations"
    assert parts.fragment == "top"
    return dict(parse_qsl(parts.query))


# --- the API ---------------------------------------------------------------------------------------------------


def test_a_session_is_created_with_a_single_use_token_and_a_connect_link(api, settings):
    response = create(api, name="Ann Example")

    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["token"].startswith("cs_") and len(body["token"]) > 40
    assert body["url"] == f"{settings.SITE_URL}{reverse('connections:open_session')}?token={body['token']}"
    assert body["end_user_id"] == "customer-42" and body["allowed_origins"] == [APP]
    assert body["return_url"] == RETURN_URL and body["auto_return"] is False
    session = ConnectSession.objects.get()
    expected_expiry = timezone.now() + timedelta(seconds=settings.SAGEINT_CONNECT_SESSION_SECONDS)
    assert abs((session.expires_at - expected_expiry).total_seconds()) < 5
    assert session.end_user.display_name == "Ann Example"
    assert session.created_by_key == ApiKey.objects.get()


def test_only_a_hash_of_the_token_is_stored(api):
    token = create(api).json()["token"]

    session = ConnectSession.objects.get()
    assert session.token_hash == hashlib.sha256(token.encode()).hexdigest()
    stored = json.dumps(list(ConnectSession.objects.values()), default=str)
    assert token not in stored and token[3:] not in stored


def test_a_project_api_key_is_required(db):
    response = Client().post(SESSIONS, {"end_user_id": "a"}, content_type="application/json")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    assert not ConnectSession.objects.exists()


def test_a_revoked_key_is_refused(db):
    api_key, key = ApiKey.issue(name="old backend")
    api_key.revoke()
    browser = Client(HTTP_AUTHORIZATION=f"Bearer {key}")

    response = create(browser)

    assert response.status_code == 401
    assert response.json()["error"] == {"code": "invalid_api_key", "message": "This API key was revoked."}
    assert not ConnectSession.objects.exists()


def test_only_post_is_offered(api):
    response = api.get(SESSIONS)

    assert response.status_code == 405 and response["Allow"] == "POST"


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"end_user_id": ""}, "end_user_id"),
        ({"end_user_id": 42}, "end_user_id"),
        ({"end_user_id": "x" * 256}, "end_user_id"),
        ({"name": ["Ann"]}, "name"),
        ({"auto_return": "yes"}, "auto_return"),
        ({"allowed_origins": []}, "allowed_origins"),
        ({"allowed_origins": APP}, "allowed_origins"),
        ({"allowed_origins": [f"https://a{n}.example.com" for n in range(11)]}, "allowed_origins"),
        ({"allowed_origins": ["*"]}, "allowed_origins"),
        ({"allowed_origins": ["null"]}, "allowed_origins"),
        ({"allowed_origins": [f"{APP}/"]}, "allowed_origins"),
        ({"allowed_origins": [f"{APP}/settings"]}, "allowed_origins"),
        ({"allowed_origins": [f"{APP}?x=1"]}, "allowed_origins"),
        ({"allowed_origins": ["ftp://app.example.com"]}, "allowed_origins"),
        ({"allowed_origins": ["https://user:pw@app.example.com"]}, "allowed_origins"),
        ({"allowed_origins": ["https://app.example.com:99999"]}, "allowed_origins"),
        ({"allowed_origins": ["https://app example.com"]}, "allowed_origins"),
        ({"allowed_origins": [42]}, "allowed_origins"),
        ({"return_url": "/settings"}, "return_url"),
        ({"return_url": "javascript:alert(1)"}, "return_url"),
        ({"return_url": "https://evil.example.net/"}, "return_url"),
        ({"return_url": f"{APP}:8443/settings"}, "return_url"),
        ({"return_url": f"{APP}/" + "x" * 2000}, "return_url"),
        ({"return_url": None}, "return_url"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_fields_get_a_clear_400_naming_them(api, fields, named):
    response = create(api, **fields)

    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert named in error["message"]
    assert not ConnectSession.objects.exists() and not EndUser.objects.exists()


def test_a_body_that_is_not_a_json_object_is_refused(api):
    response = api.post(SESSIONS, "[1, 2]", content_type="application/json")

    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_json"


def test_origins_are_kept_as_browsers_write_them(api):
    response = create(
        api,
        allowed_origins=["HTTPS://App.Example.com:443", "http://localhost:3000", "http://[::1]:8080", APP],
        return_url="http://localhost:3000/back",
    )

    assert response.status_code == 201
    assert response.json()["allowed_origins"] == [APP, "http://localhost:3000", "http://[::1]:8080"]


def test_the_openapi_document_describes_connect_sessions_with_examples(db):
    document = Client().get("/api/v1/openapi.json").json()

    operation = document["paths"]["/connect/sessions"]["post"]
    assert operation["security"] == [{"projectKey": []}]
    request_example = operation["requestBody"]["content"]["application/json"]["examples"]["popup"]["value"]
    assert set(request_example) == set(
        document["components"]["schemas"]["ConnectSessionRequest"]["properties"]
    )
    assert (
        "token"
        in operation["responses"]["201"]["content"]["application/json"]["examples"]["created"]["value"]
    )
    assert {"400", "401", "405"} <= set(operation["responses"])


# --- opening the portal ----------------------------------------------------------------------------------------


def test_opening_binds_the_browser_and_hides_the_token(brand):
    token = issue(name="Ann Example")
    browser = Client()

    opened = open_portal(browser, token)

    assert opened.status_code == 302 and opened["Location"] == CONNECT
    page = browser.get(CONNECT)
    html = page.content.decode()
    assert page.status_code == 200
    assert "Ann Example (customer-42)" in html
    assert page["Cross-Origin-Opener-Policy"] == "unsafe-none"


def test_the_portal_wears_the_companys_brand_and_no_sageint_chrome(brand):
    browser = Client()
    open_portal(browser, issue())

    html = browser.get(CONNECT).content.decode()

    assert "Acme Books" in html and 'src="https://cdn.example.com/acme.png"' in html
    assert "--brand: #aa3300" in html
    for chrome in ("Sign in", "Sign up", "Sandbox", "/accounts/login/", ">sageint<", "· sageint"):
        assert chrome not in html, chrome
    back = return_query(_back_link(html))
    assert back == {"tab": "sage", "sageint_status": "closed"}


def test_a_token_opens_the_portal_only_once():
    token = issue()
    assert open_portal(Client(), token).status_code == 302

    again = open_portal(Client(), token)

    assert again.status_code == 410
    html = again.content.decode()
    assert "already used" in html
    assert return_query(_back_link(html))["sageint_status"] == "expired"


def test_an_expired_token_is_refused_with_the_way_back():
    token = issue()
    ConnectSession.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    response = open_portal(Client(), token)

    assert response.status_code == 410
    assert "has expired" in response.content.decode()
    assert ConnectSession.objects.get().used_at is None


def test_the_lifetime_comes_from_settings(settings):
    settings.SAGEINT_CONNECT_SESSION_SECONDS = 30
    issue()

    session = ConnectSession.objects.get()
    assert 25 <= (session.expires_at - session.created_at).total_seconds() <= 30


def test_an_unknown_token_gets_a_branded_page_and_no_sign_in(brand):
    response = open_portal(Client(), "cs_not-a-token")

    assert response.status_code == 404
    html = response.content.decode()
    assert "not valid" in html and "Acme Books" in html
    assert "/accounts/login/" not in html and "back-to-app" not in html


def test_an_expired_token_with_auto_return_goes_straight_back():
    token = issue(auto_return=True)
    ConnectSession.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    response = open_portal(Client(), token)

    assert response.status_code == 302
    assert return_query(response["Location"])["sageint_status"] == "expired"


def test_a_bad_connect_link_does_not_send_the_user_to_sign_in(brand):
    response = Client().get(
        CONNECT, {"user_token": make_user_token("x", secret="not-the-secret-but-long-enough-for-hs256-0123")}
    )

    assert response.status_code == 401
    html = response.content.decode()
    assert "signature is not valid" in html and "Acme Books" in html
    assert "/accounts/login/" not in html and "Sign in" not in html


def test_a_lapsed_portal_shows_the_way_back_instead_of_a_sign_in_page(settings):
    browser = Client()
    open_portal(browser, issue())
    settings.SAGEINT_CONNECT_LINK_SESSION_SECONDS = 0
    session = browser.session
    session["sageint_connect_link"]["until"] = 0
    session.save()

    response = browser.get(CONNECT)

    assert response.status_code == 401
    html = response.content.decode()
    assert "has expired" in html and "/accounts/login/" not in html
    assert return_query(_back_link(html))["sageint_status"] == "expired"


def test_signed_connect_links_get_the_portal_too(brand):
    browser = Client()
    browser.get(CONNECT, {"user_token": make_user_token("link-user", name="Lou")})

    html = browser.get(CONNECT).content.decode()

    assert "Acme Books" in html and "Connect Sage Accounting for Lou" in html
    assert "Sign in" not in html and "back-to-app" not in html  # a link knows no return URL


def test_a_session_for_another_user_asks_before_replacing_the_binding():
    browser = Client()
    open_portal(browser, issue(end_user_id="first"))

    opened = open_portal(browser, issue(end_user_id="second", name="Sid"))

    assert opened["Location"] == reverse("connections:confirm_link")
    question = browser.get(opened["Location"]).content.decode()
    assert "Sid (second)" in question and "Sign in" not in question


# --- connecting in the portal ----------------------------------------------------------------------------------


def test_connecting_shows_the_business_and_a_way_back_carrying_the_outcome(sandbox_transport):
    browser = Client()
    open_portal(browser, issue())

    finished = connect_through_sandbox(browser)

    assert finished.status_code == 302 and finished["Location"] == CONNECT
    html = browser.get(CONNECT).content.decode()
    assert "Sage Accounting is connected: Sandbox Trading Ltd" in html
    connection = Connection.objects.get(end_user__external_id="customer-42")
    assert return_query(_back_link(html)) == {
        "tab": "sage",
        "sageint_status": "connected",
        "sageint_connection_id": str(connection.pk),
        "sageint_state": "active",
        "sageint_business_id": connection.business_id,
    }


def test_auto_return_sends_the_user_back_once_connected(sandbox_transport):
    browser = Client()
    open_portal(browser, issue(auto_return=True))
    connect_through_sandbox(browser)

    back = browser.get(CONNECT)

    assert back.status_code == 302
    assert return_query(back["Location"])["sageint_status"] == "connected"


def test_declining_shows_why_and_the_way_back(sandbox_transport):
    browser = Client()
    open_portal(browser, issue())

    declined = connect_through_sandbox(browser, decision="deny")

    assert declined.status_code == 400
    html = declined.content.decode()
    assert "You declined the connection" in html
    assert return_query(_back_link(html))["sageint_status"] == "denied"
    assert not Connection.objects.exists()


def test_reloading_the_callback_in_the_portal_shows_the_connection(sandbox_transport):
    browser = Client()
    open_portal(browser, issue())
    started = browser.post(reverse("connections:start"))
    from tests.fixtures_sage import authorize_at_sandbox

    consent = authorize_at_sandbox(browser, started["Location"], sandbox_user="sam", decision="allow")
    callback = urlsplit(consent["Location"])
    browser.get(callback.path, dict(parse_qsl(callback.query)))
    browser.get(CONNECT)

    reloaded = browser.get(callback.path, dict(parse_qsl(callback.query)), follow=True)

    assert reloaded.status_code == 200
    assert "Sandbox Trading Ltd" in reloaded.content.decode()
    assert sandbox_transport.count("/oauth/token") == 1


def test_the_popup_reports_only_to_the_allowed_origins(sandbox_transport):
    browser = Client()
    open_portal(browser, issue(allowed_origins=[APP, "http://localhost:3000"]), display="popup")
    connect_through_sandbox(browser)

    html = browser.get(CONNECT).content.decode()

    data = json.loads(
        html.split('<script id="sageint-portal" type="application/json">')[1].split("</script>")[0]
    )
    assert data["targets"] == [APP, "http://localhost:3000"]
    assert data["message"]["status"] == "connected" and data["message"]["close"] is False
    assert data["message"]["connection"]["business"]["name"] == "Sandbox Trading Ltd"
    assert "sageint/portal.js" in html and "data-close-popup" in html


def test_a_full_page_portal_posts_nothing():
    browser = Client()
    open_portal(browser, issue())

    html = browser.get(CONNECT).content.decode()

    assert "sageint-portal" not in html and "portal.js" not in html


# --- managing the connection in the portal ----------------------------------------------------------------------


def test_disconnecting_asks_first_then_reports_it(sandbox_transport):
    browser = Client()
    open_portal(browser, issue())
    connect_through_sandbox(browser)
    browser.get(CONNECT)

    question = browser.get(reverse("connections:disconnect"))

    assert question.status_code == 200
    assert "Yes, disconnect" in question.content.decode() and "Sign in" not in question.content.decode()
    assert Connection.objects.exists()
    browser.post(reverse("connections:disconnect"))
    assert not Connection.objects.exists()
    html = browser.get(CONNECT).content.decode()
    assert return_query(_back_link(html))["sageint_status"] == "disconnected"


def test_the_business_picker_works_in_the_portal(sandbox_transport):
    browser = Client()
    open_portal(browser, issue())
    connect_through_sandbox(browser)
    connection = Connection.objects.get()
    other = next(b for b in connection.businesses if b["id"] != connection.business_id)

    browser.post(reverse("connections:choose_business"), {"business_id": other["id"]})

    html = browser.get(CONNECT).content.decode()
    assert f"Sage calls now go to {other['name']}" in html
    assert return_query(_back_link(html))["sageint_business_id"] == other["id"]


def test_the_portal_says_when_the_connection_needs_reconnecting(sandbox_transport):
    browser = Client()
    open_portal(browser, issue())
    connect_through_sandbox(browser)
    Connection.objects.update(
        status=Connection.Status.RECONNECT_REQUIRED, reconnect_reason="Sage refused the stored authorization."
    )

    html = browser.get(CONNECT).content.decode()

    assert "Reconnect needed" in html and "Sage refused the stored authorization." in html
    assert ">Reconnect</button>" in html
    assert parse_qs(urlsplit(_back_link(html)).query)["sageint_state"] == ["reconnect_required"]


def test_the_portal_says_when_the_integration_is_switched_off(sandbox_transport):
    browser = Client()
    open_portal(browser, issue())
    connect_through_sandbox(browser)
    IntegrationSettings.objects.update_or_create(
        pk=IntegrationSettings.SINGLETON_ID, defaults={"enabled": False}
    )
    IntegrationSettings.forget_cached_state()

    html = browser.get(CONNECT).content.decode()

    assert "switched off by the administrator" in html and "no calls to Sage are made" in html


# --- housekeeping ------------------------------------------------------------------------------------------------


def test_finished_sessions_are_deleted(settings):
    issue(end_user_id="fresh")
    issue(end_user_id="stale")
    issue(end_user_id="long-used")
    now = timezone.now()
    ConnectSession.objects.filter(end_user__external_id="stale").update(expires_at=now - timedelta(seconds=1))
    ConnectSession.objects.filter(end_user__external_id="long-used").update(
        used_at=now - timedelta(seconds=settings.SAGEINT_CONNECT_LINK_SESSION_SECONDS + 1)
    )

    assert delete_finished_connect_sessions() == 2
    assert list(ConnectSession.objects.values_list("end_user__external_id", flat=True)) == ["fresh"]
    assert (
        settings.CELERY_BEAT_SCHEDULE["connections.delete_finished_connect_sessions"]["schedule"] == 24 * 3600
    )


def _back_link(html: str) -> str:
    anchor = html.split('id="back-to-app" href="')[1]
    return anchor.split('"')[0].replace("&amp;", "&")


@pytest.mark.django_db(transaction=True)
def test_two_browsers_opening_one_token_at_once_get_it_once():
    token = issue()
    barrier = threading.Barrier(4)
    results = []

    def open_once():
        barrier.wait()
        try:
            connect_sessions.open_connect_session(token)
            results.append("opened")
        except connect_sessions.ConnectSessionRefused as refused:
            results.append(refused.reason)
        finally:
            db_connection.close()

    threads = [threading.Thread(target=open_once) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results) == ["opened", "used", "used", "used"]


def test_the_admin_lists_sessions_without_their_token(superuser_client):
    token = issue(name="Ann Example")
    session = ConnectSession.objects.get()

    listing = superuser_client.get(reverse("admin:connections_connectsession_changelist")).content.decode()
    detail = superuser_client.get(reverse("admin:connections_connectsession_change", args=[session.pk]))

    assert "Ann Example" in listing and APP in listing and "open until" in listing
    assert detail.status_code == 200
    for page in (listing, detail.content.decode()):
        assert token not in page and session.token_hash not in page


def test_confirming_nothing_without_an_account_does_not_offer_a_sign_in(db):
    response = Client().post(reverse("connections:confirm_link"), {"decision": "continue"})

    assert response.status_code == 400
    html = response.content.decode()
    assert "No connect link is waiting" in html and "/accounts/login/" not in html


def test_the_accounts_connected_page_says_when_the_integration_is_switched_off(db):
    from django.contrib.auth import get_user_model

    from connections.end_users import end_user_for_user

    user = get_user_model().objects.create(username="owner")
    Connection.objects.create(
        end_user=end_user_for_user(user), client_id="c", business_id="b1", business_name="Business One"
    )
    IntegrationSettings.objects.update_or_create(
        pk=IntegrationSettings.SINGLETON_ID, defaults={"enabled": False}
    )
    browser = Client()
    browser.force_login(user)

    html = browser.get(CONNECT).content.decode()

    assert "Business One" in html
    assert "switched off by the administrator" in html and "no calls to Sage are made" in html
