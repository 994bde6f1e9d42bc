"""Every product page in a real browser (Debian's chromium through Playwright), at 390 px and 1280 px wide: no
sideways scrolling, every field labelled, buttons that are buttons; and the connect flow done by keyboard.

One browser for the module; each test opens its own context (cookies) on the live server.
"""

import pytest
from django.urls import reverse

from connections.models import Connection
from tests.browsers import launched_chromium
from tests.fixtures_sage import connect_end_user_via_link, make_user_token, sandbox_user_id
from tests.page_checks import PHONE, assert_page_fits_and_is_labelled, focus_is_visible, tab_to
from workflows.models import Run, StepRun, Workflow

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser():
    with launched_chromium() as launched:
        yield launched


@pytest.fixture
def page(browser, live_site):
    context = browser.new_context(viewport=PHONE)
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def check(page, base_url: str, path: str) -> None:
    page.goto(base_url + path)
    assert_page_fits_and_is_labelled(page, path)


def sign_in(page, base_url: str, username: str, password: str, next_path: str = "/") -> None:
    page.goto(f"{base_url}/accounts/login/?next={next_path}")
    page.fill("input[name=login]", username)
    page.fill("input[name=password]", password)
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url(base_url + next_path)


def test_signed_out_pages_fit_a_phone_and_a_desktop(page, live_site):
    for path in (
        "/",
        "/accounts/login/",
        "/accounts/signup/",
        "/accounts/password/reset/",
        "/sandbox/",
        "/no-such-page/",
        "/connect/sageaccounting/?user_token=not-a-token",
    ):
        check(page, live_site, path)


def test_the_first_tab_offers_to_skip_to_the_content(page, live_site):
    page.goto(live_site + "/accounts/login/")
    page.keyboard.press("Tab")
    skip = page.locator(".skip-link")
    assert page.evaluate("document.activeElement.className") == "skip-link" and skip.bounding_box()["y"] >= 0
    assert focus_is_visible(page)
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "content"
    page.keyboard.press("Tab")  # the next stop is in the content (the "sign up" link), not the header again
    assert page.evaluate("document.activeElement.closest('main') !== null")


def test_end_user_connects_by_keyboard_on_a_phone_and_every_page_on_the_way_fits(page, live_site, settings):
    connect_path = reverse("connections:connect")
    sign_in(page, live_site, "demo", settings.DEMO_USER_PASSWORD, connect_path)
    assert_page_fits_and_is_labelled(page, "connect page, not connected")

    tab_to(page, "el => el.tagName === 'BUTTON' && el.textContent.trim() === 'Connect Sage Accounting'")
    assert focus_is_visible(page)
    page.keyboard.press("Enter")
    page.wait_for_url("**/sandbox/oauth2/auth/central**")
    # The consent page shows the long OAuth redirect URL: it wraps instead of widening the page.
    assert_page_fits_and_is_labelled(page, "sandbox consent page")

    page.check(f"input[name=sandbox_user][value='{sandbox_user_id('sam')}']")
    page.get_by_role("button", name="Allow", exact=True).click()
    page.wait_for_url(live_site + connect_path)
    assert "Connected" in page.inner_text("#connection-status")
    assert_page_fits_and_is_labelled(page, "connect page, connected")

    for path in ("/accounts/password/change/", "/accounts/email/", "/accounts/logout/", "/"):
        check(page, live_site, path)

    page.goto(f"{live_site}{connect_path}?user_token={make_user_token('customer-42', name='Ann Example')}")
    page.wait_for_url(live_site + reverse("connections:confirm_link"))
    assert_page_fits_and_is_labelled(page, "confirm link page")


def finished_run(end_user) -> Run:
    """A failed workflow run with one step whose request and answer are long (the steps table is wide)."""
    workflow = Workflow.objects.create(name="Send reminders")
    run = Run.objects.create(
        workflow=workflow, end_user=end_user, trigger=Run.Trigger.MANUAL, status=Run.Status.FAILED
    )
    StepRun.objects.create(
        run=run,
        position=0,
        key="find_overdue_invoices",
        method="GET",
        status=StepRun.Status.FAILED,
        request={"path": "sales_invoices", "query": {"search": "x" * 120, "status_id": "UNPAID"}},
        response_status=422,
        response_body=[{"$message": "A long message from Sage " * 8, "$dataCode": "RecordInvalid"}],
        error="Sage answered 422.",
    )
    return run


def test_staff_pages_fit_a_phone_and_a_desktop(page, live_site, settings):
    end_user = connect_end_user_via_link("customer-7")
    connection = Connection.objects.get(end_user=end_user)
    run = finished_run(end_user)
    sign_in(page, live_site, "admin", settings.DEMO_ADMIN_PASSWORD, "/admin/")
    for path in (
        reverse("admin:connections_connection_change", args=[connection.pk]),
        reverse("admin:records_connection_disconnect", args=[connection.pk]),
        reverse("admin:connections_integrationsettings_changelist"),
        reverse("admin:workflows_workflow_add"),
        reverse("admin:workflows_workflow_run", args=[run.workflow_id]),
        reverse("admin:workflows_run_change", args=[run.pk]),
        reverse("admin:connections_connectionevent_changelist"),
        reverse("sandbox:home"),
        reverse("sandbox:reset"),
    ):
        check(page, live_site, path)

    page.goto(live_site + reverse("admin:webhooks_endpoint_add"))
    page.fill("input[name=url]", "http://127.0.0.1:9/a/rather/long/path/to/the/company/webhook/receiver")
    page.locator("input[name=event_types]").first.check()
    page.get_by_role("button", name="Save", exact=True).click()
    assert page.locator("#webhook-secret").is_visible()
    assert_page_fits_and_is_labelled(page, "webhook secret created")

    # The API console with Sage's answer (headers table and formatted body).
    page.goto(live_site + reverse("admin:api_console"))
    page.locator("select[name=connection]").select_option(str(connection.pk))
    page.fill("input[name=path]", "contacts?items_per_page=2&attributes=name,email,reference,address_line_1")
    page.get_by_role("button", name="Send", exact=True).click()
    page.locator("#console-answer").wait_for()
    assert_page_fits_and_is_labelled(page, "API console answer")

    page.goto(live_site + reverse("admin:projects_apikey_add"))
    page.fill("input[name=name]", "Backend of the company's app")
    page.get_by_role("button", name="Save", exact=True).click()
    assert page.locator("#api-key").is_visible()
    assert_page_fits_and_is_labelled(page, "API key created")
