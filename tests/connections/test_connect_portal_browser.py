"""connect.js in a real browser, embedded in a page on another origin (the company's app): the popup flow through
the sandbox, its outcomes (connected, closed, denied, expired, blocked), postMessage only to allowed origins, and
the full-page flow back to the return URL.

The company's app is a tiny http.server on 127.0.0.1; sageint is the live server on localhost (another origin).
`http://localhost:<app port>` is the same app on an origin the session does not allow.
"""

import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import pytest

from connections import connect_sessions
from connections.models import Connection, ConnectSession
from tests.browsers import launched_chromium
from tests.fixtures_sage import sandbox_user_id
from tests.page_checks import DESKTOP, assert_page_fits_and_is_labelled

pytestmark = pytest.mark.browser

APP_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Company app</title>
<script src="{sageint}/static/sageint/connect.js"></script></head>
<body>
<button id="connect">Connect Sage Accounting</button>
<script>
  window.received = [];
  window.addEventListener("message", function (event) {{
    window.received.push({{origin: event.origin, data: event.data}});
  }});
  var params = new URLSearchParams(location.search);
  if (params.get("block")) window.open = function () {{ return null; }};
  document.getElementById("connect").addEventListener("click", function () {{
    Sageint.connect({{token: params.get("token"), redirect: params.get("redirect") !== "no"}}).then(
      function (result) {{ window.outcome = {{resolved: result}}; }},
      function (error) {{ window.outcome = {{reason: error.reason, message: error.message}}; }}
    );
  }});
  window.returned = Sageint.result();
</script>
</body></html>
"""


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        # Chromium drops its keep-alive connections when a test closes its context: not a fault of the page.
        if not isinstance(sys.exc_info()[1], ConnectionResetError):
            super().handle_error(request, client_address)


class CompanyApp:
    """The company's web app: every path answers the page above, which embeds connect.js from sageint."""

    def __init__(self, sageint_url: str) -> None:
        page = APP_PAGE.format(sageint=sageint_url).encode()

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        port = self.server.server_address[1]
        self.origin = f"http://127.0.0.1:{port}"
        self.other_origin = f"http://localhost:{port}"  # same server, an origin no session allows
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def browser():
    """One chromium for the module; each test gets its own context (cookies, popups)."""
    with launched_chromium() as launched:
        yield launched


@pytest.fixture
def app(live_site):
    company_app = CompanyApp(live_site)
    yield company_app
    company_app.close()


@pytest.fixture
def context(browser):
    browser_context = browser.new_context()
    browser_context.set_default_timeout(15_000)
    yield browser_context
    browser_context.close()


def session_token(app: CompanyApp, **fields) -> str:
    values = {
        "end_user_id": "customer-42",
        "name": "Ann Example",
        "allowed_origins": [app.origin],
        "return_url": f"{app.origin}/back",
        **fields,
    }
    return connect_sessions.create_connect_session(**values).token


def open_app(context, url: str):
    page = context.new_page()
    page.goto(url)
    return page


def press_connect(page):
    with page.expect_popup() as opened:
        page.click("#connect")
    return opened.value


def consent_at_sandbox(window, decision: str = "Allow") -> None:
    window.wait_for_url("**/sandbox/oauth2/auth/central**")
    if decision == "Allow":
        window.check(f"input[name=sandbox_user][value='{sandbox_user_id('sam')}']")
    window.get_by_role("button", name=decision, exact=True).click()


def start_in_popup(popup) -> None:
    popup.get_by_role("button", name="Connect Sage Accounting for Ann Example", exact=True).click()


def press_back_in(popup) -> None:
    """The popup's "Back to …" button, once portal.js (which makes it close the popup) has run."""
    popup.wait_for_load_state("load")
    popup.click("#back-to-app")


def outcome_of(page) -> dict:
    page.wait_for_function("window.outcome !== undefined")
    return page.evaluate("window.outcome")


def sageint_messages(page, live_site: str) -> list:
    return [message for message in page.evaluate("window.received") if message["origin"] == live_site]


def test_popup_connects_and_resolves_with_the_state_and_business(context, app, live_site):
    page = open_app(context, f"{app.origin}/settings?token={session_token(app)}")
    # A page posting a look-alike outcome to itself is not sageint: connect.js must not settle on it.
    page.evaluate(
        "window.postMessage({source: 'sageint', type: 'connect.outcome', status: 'connected', close: true}, '*')"
    )
    popup = press_connect(page)
    callbacks = []
    popup.on(
        "request", lambda request: callbacks.append(request.url) if "/callback/" in request.url else None
    )
    start_in_popup(popup)
    consent_at_sandbox(popup)
    popup.wait_for_selector("#portal-outcome")
    assert "Sandbox Trading Ltd" in popup.inner_text("#portal-outcome")
    assert "Sign in" not in popup.content()

    # Reloading the callback URL after connecting shows the connection, not an error.
    popup.goto(callbacks[0])
    assert popup.inner_text("#business-name") == "Sandbox Trading Ltd"
    assert page.evaluate("window.outcome === undefined")  # the popup is still open: nothing settled yet

    press_back_in(popup)  # closes the popup; connect.js settles with the last report
    connection = Connection.objects.get(end_user__external_id="customer-42")
    assert outcome_of(page) == {
        "resolved": {
            "state": "active",
            "business": {"id": connection.business_id, "name": "Sandbox Trading Ltd"},
            "connectionId": connection.pk,
            "endUserId": "customer-42",
        }
    }
    assert popup.is_closed()
    assert sageint_messages(page, live_site)[-1]["data"]["status"] == "connected"


def test_closing_the_popup_rejects_with_closed(context, app):
    page = open_app(context, f"{app.origin}/settings?token={session_token(app)}")
    popup = press_connect(page)
    popup.wait_for_selector("#connection-status")

    popup.close()

    assert outcome_of(page)["reason"] == "closed"
    assert not Connection.objects.exists()


def test_denying_at_the_sandbox_rejects_with_denied_and_auto_return_closes_the_popup(context, app):
    page = open_app(context, f"{app.origin}/settings?token={session_token(app, auto_return=True)}")
    popup = press_connect(page)
    start_in_popup(popup)

    consent_at_sandbox(popup, decision="Deny")

    outcome = outcome_of(page)
    assert outcome["reason"] == "denied" and "declined" in outcome["message"]
    if not popup.is_closed():
        popup.wait_for_event("close")
    assert not Connection.objects.exists()


def test_an_expired_session_rejects_with_expired(context, app):
    token = session_token(app)
    ConnectSession.objects.update(expires_at="2000-01-01T00:00:00Z")
    page = open_app(context, f"{app.origin}/settings?token={token}")
    popup = press_connect(page)
    popup.wait_for_selector("#connect-error")
    assert "expired" in popup.inner_text("#connect-error")

    press_back_in(popup)

    assert outcome_of(page)["reason"] == "expired"


def test_nothing_is_posted_to_an_origin_the_session_does_not_allow(context, app, live_site):
    # The session allows 127.0.0.1; the same app opened as localhost is another origin.
    page = open_app(context, f"{app.other_origin}/settings?token={session_token(app)}")
    popup = press_connect(page)
    start_in_popup(popup)
    consent_at_sandbox(popup)
    popup.wait_for_selector("#portal-outcome")

    press_back_in(popup)

    assert outcome_of(page)["reason"] == "closed"  # connected, but this page was never told
    assert sageint_messages(page, live_site) == []
    assert Connection.objects.get(end_user__external_id="customer-42").is_active


def test_a_blocked_popup_rejects_with_blocked_when_leaving_the_page_is_not_wanted(context, app):
    page = open_app(context, f"{app.origin}/settings?block=1&redirect=no&token={session_token(app)}")

    page.click("#connect")

    assert outcome_of(page)["reason"] == "blocked"
    assert ConnectSession.objects.get().used_at is None


def test_a_blocked_popup_becomes_a_full_page_and_the_back_button_carries_the_outcome(context, app):
    page = open_app(context, f"{app.origin}/settings?block=1&token={session_token(app)}")
    page.click("#connect")
    page.wait_for_selector("#connection-status")
    start_in_popup(page)
    consent_at_sandbox(page)
    page.wait_for_selector("#portal-outcome")

    page.set_viewport_size(DESKTOP)
    assert_page_fits_and_is_labelled(page, "portal, connected")

    page.click("#back-to-app")

    page.wait_for_url(f"{app.origin}/back?**")
    connection = Connection.objects.get()
    assert page.evaluate("window.returned") == {
        "status": "connected",
        "state": "active",
        "businessId": connection.business_id,
        "connectionId": str(connection.pk),
    }


def test_on_a_phone_the_portal_is_a_full_page_and_auto_return_comes_straight_back(browser, app):
    phone = browser.new_context(viewport={"width": 390, "height": 844})
    phone.set_default_timeout(15_000)
    try:
        page = open_app(phone, f"{app.origin}/settings?token={session_token(app, auto_return=True)}")
        page.click("#connect")
        page.wait_for_selector("#connection-status")
        assert len(phone.pages) == 1  # no popup
        assert_page_fits_and_is_labelled(page, "portal on a phone")
        start_in_popup(page)
        consent_at_sandbox(page)

        page.wait_for_url(f"{app.origin}/back?**")
        returned = dict(parse_qsl(urlsplit(page.url).query))
        assert returned["sageint_status"] == "connected" and returned["sageint_state"] == "active"
    finally:
        phone.close()


def test_managing_a_connection_in_the_portal_fits_a_phone(browser, app):
    phone = browser.new_context(viewport={"width": 390, "height": 844})
    phone.set_default_timeout(15_000)
    try:
        page = open_app(phone, f"{app.origin}/settings?token={session_token(app)}")
        page.click("#connect")
        start_in_popup(page)
        consent_at_sandbox(page)
        page.wait_for_selector("#portal-outcome")
        assert_page_fits_and_is_labelled(page, "portal, connected, on a phone")

        page.get_by_role("link", name="Disconnect").click()
        page.wait_for_selector("#disconnect-confirm")
        assert_page_fits_and_is_labelled(page, "disconnect question on a phone")
        page.get_by_role("button", name="Yes, disconnect").click()
        page.wait_for_selector("#back-to-app")

        assert not Connection.objects.exists()
        assert "sageint_status=disconnected" in page.get_attribute("#back-to-app", "href")
    finally:
        phone.close()
