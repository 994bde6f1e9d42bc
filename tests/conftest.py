"""Fixtures shared by every test package."""

import pytest

pytest_plugins = ["tests.fixtures_sage"]


@pytest.fixture(autouse=True)
def _forget_per_process_caches():
    """Per-process caches must not carry one test's rows (rolled back since) into the next test."""
    from connections.models import IntegrationSettings

    IntegrationSettings.forget_cached_state()
    yield
    IntegrationSettings.forget_cached_state()


@pytest.fixture
def superuser_client(db):
    """A test client logged in as a superuser (admin pages)."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    user = get_user_model().objects.create(username="boss", is_staff=True, is_superuser=True)
    browser = Client()
    browser.force_login(user)
    return browser


@pytest.fixture
def live_site(live_server, settings):
    """sageint on a live server (browser tests): its own sandbox is the Sage the product talks to."""
    from accounts.demo import ensure_demo_accounts

    settings.SITE_URL = live_server.url
    settings.SAGE_SANDBOX_URL = f"{live_server.url}/sandbox"
    settings.SAGE_SANDBOX_CALLBACK_URLS = [f"{live_server.url}/connect/sageaccounting/callback/"]
    ensure_demo_accounts()
    return live_server.url
