"""A real browser (Debian's chromium through Playwright) connects the demo user through the sandbox."""

from pathlib import Path

import pytest

from connections.models import Connection
from tests.browsers import chromium, launched_chromium
from tests.fixtures_sage import make_user_token, sandbox_user_id

pytestmark = pytest.mark.browser


def test_missing_chromium_fails_instead_of_skipping_when_services_are_required(settings):
    settings.REQUIRE_SERVICES = True
    with pytest.raises(pytest.fail.Exception, match="chromium"):
        chromium(Path("/nonexistent/chromium"))


@pytest.fixture
def page(live_site):
    with launched_chromium() as browser:
        context = browser.new_context()
        context.set_default_timeout(15_000)
        yield context.new_page()
        context.close()


def log_in_and_open_connect_page(page, base_url: str, settings) -> None:
    page.goto(f"{base_url}/accounts/login/?next=/connect/sageaccounting/")
    page.fill("input[name=login]", "demo")
    page.fill("input[name=password]", settings.DEMO_USER_PASSWORD)
    page.locator("form button[type=submit], form input[type=submit]").last.click()
    page.wait_for_url(f"{base_url}/connect/sageaccounting/")
    assert "Not connected" in page.inner_text("#connection-status")


def test_demo_user_connects_by_allowing_at_the_sandbox(page, live_site, settings):
    log_in_and_open_connect_page(page, live_site, settings)
    page.get_by_role("button", name="Connect Sage Accounting", exact=True).click()
    page.wait_for_url("**/sandbox/oauth2/auth/central**")
    page.check(f"input[name=sandbox_user][value='{sandbox_user_id('sam')}']")
    page.get_by_role("button", name="Allow", exact=True).click()

    page.wait_for_url(f"{live_site}/connect/sageaccounting/")
    assert page.inner_text("#business-name") == "Sandbox Trading Ltd"
    assert "Connected" in page.inner_text("#connection-status")
    assert Connection.objects.get(end_user__user__username="demo").is_active


def test_demo_user_who_denies_sees_the_declined_page(page, live_site, settings):
    log_in_and_open_connect_page(page, live_site, settings)
    page.get_by_role("button", name="Connect Sage Accounting", exact=True).click()
    page.wait_for_url("**/sandbox/oauth2/auth/central**")
    page.get_by_role("button", name="Deny", exact=True).click()

    page.wait_for_url("**/connect/sageaccounting/callback/**")
    assert "You declined the connection" in page.inner_text("#connect-error")
    assert not Connection.objects.exists()


def test_a_link_asks_a_signed_in_user_before_it_takes_the_page_over(page, live_site, settings):
    log_in_and_open_connect_page(page, live_site, settings)
    link = f"{live_site}/connect/sageaccounting/?user_token={make_user_token('attacker-7', name='Mallory')}"

    page.goto(link)
    page.wait_for_url(f"{live_site}/connect/sageaccounting/link/")
    assert page.inner_text("#link-owner") == "Mallory (attacker-7)"
    page.get_by_role("button", name="Cancel", exact=True).click()
    page.wait_for_url(f"{live_site}/connect/sageaccounting/")
    assert page.inner_text("#connection-owner") == "demo"

    page.goto(link)
    page.get_by_role("button", name="Continue for Mallory", exact=True).click()
    page.wait_for_url(f"{live_site}/connect/sageaccounting/")
    assert page.inner_text("#connection-owner") == "Mallory (attacker-7)"
    assert page.get_by_role("button", name="Connect Sage Accounting for Mallory", exact=True).is_visible()
