"""A real browser (Debian's chromium through Playwright): staff signs in, opens a connected user's connection,
presses Sync now and sees the sync finish, searches contacts by email, opens an invoice and follows the link to
its contact."""

import threading

import pytest
from django.core.management import call_command
from django.db import connections as db_connections

from records import sync
from records.models import Contact, SyncRun

# `page` (chromium through Playwright) uses this module's `live_site`.
from tests.connections.test_connect_browser import page  # noqa: F401
from tests.fixtures_sage import connect_end_user_via_link

pytestmark = pytest.mark.browser


@pytest.fixture
def workers_in_threads(monkeypatch):
    """Sync tasks run in background threads of this process (the live server's sandbox answers them)."""
    threads = []

    def enqueue(step_ids):
        def work():
            try:
                for step_id in step_ids:
                    sync.run_step(step_id=step_id)
            finally:
                db_connections.close_all()

        thread = threading.Thread(target=work, daemon=True)
        threads.append(thread)
        thread.start()

    monkeypatch.setattr(sync, "_enqueue", enqueue)
    yield
    for thread in threads:
        thread.join(timeout=60)


@pytest.fixture
def live_site(live_server, settings):
    from accounts.demo import ensure_demo_accounts

    settings.SITE_URL = live_server.url
    settings.SAGE_SANDBOX_URL = f"{live_server.url}/sandbox"
    settings.SAGE_SANDBOX_CALLBACK_URLS = [f"{live_server.url}/connect/sageaccounting/callback/"]
    settings.RECORDS_SYNC_BUDGET_REQUESTS = 0
    ensure_demo_accounts()
    call_command("sandbox_seed", "--if-empty", verbosity=0)
    return live_server.url


def test_staff_syncs_a_connection_and_browses_its_records(
    page,  # noqa: F811  (the imported fixture)
    live_site,
    settings,
    workers_in_threads,
):
    connection = connect_end_user_via_link("browser-customer").connection

    page.goto(f"{live_site}/admin/login/?next=/admin/connections/connection/{connection.pk}/change/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", settings.DEMO_ADMIN_PASSWORD)
    page.locator("input[type=submit]").click()
    page.wait_for_url(f"**/admin/connections/connection/{connection.pk}/change/")
    assert "Never synced" in page.inner_text("#sync-status")

    page.click("#sync-now")
    # The page polls the run's progress and reloads when it is over.
    page.wait_for_function(
        "document.getElementById('sync-status') && "
        "document.getElementById('sync-status').textContent.includes('Last sync succeeded')"
    )
    assert SyncRun.objects.get(connection=connection).status == SyncRun.Status.SUCCEEDED
    assert f"{Contact.objects.filter(connection=connection).count()} contacts" in page.inner_text(
        "#dashboard-counts"
    )

    page.click("#link-contacts")
    page.fill("#searchbar", "accounts@acme-widgets.example.com")
    page.keyboard.press("Enter")
    page.wait_for_url("**q=accounts%40acme-widgets.example.com**")
    page.get_by_role("link", name="Acme Widgets Ltd", exact=True).click()
    page.wait_for_selector("#contact-invoices")
    page.click("#contact-invoices")
    page.locator("#result_list tbody tr th a").first.click()
    page.wait_for_selector("#invoice-contact")
    page.click("#invoice-contact")

    page.wait_for_url("**/admin/records/contact/*/change/")
    assert "Acme Widgets Ltd" in page.inner_text("#content")
