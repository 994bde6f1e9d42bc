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
