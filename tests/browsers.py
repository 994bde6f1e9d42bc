"""Debian's chromium through Playwright, launched the same way by every browser test."""

from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.services import require_service

CHROMIUM = Path("/usr/bin/chromium")

# Debian's chromium run as root in a container: no setuid sandbox (--no-sandbox), a small /dev/shm
# (--disable-dev-shm-usage), no GPU, and no calls home during the test.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-dev-shm-usage",
    "--disable-gpu",
    "--disable-background-networking",
]


def chromium(path: Path = CHROMIUM) -> Path:
    """Debian's chromium; skipped when missing, a failure when REQUIRE_SERVICES=1 (CI)."""
    require_service(path.exists(), f"chromium ({path}; apt-get install -y chromium)")
    return path


@contextmanager
def launched_chromium():
    """A headless chromium, closed on the way out."""
    executable = chromium()
    with pytest.MonkeyPatch.context() as patch:
        # Playwright's sync API runs an event loop in this thread; the tests' ORM calls are plain synchronous ones.
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(executable), headless=True, args=CHROMIUM_ARGS
            )
            try:
                yield browser
            finally:
                browser.close()
