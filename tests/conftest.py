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
