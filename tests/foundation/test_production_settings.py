"""A production configuration (README and .env.example) passes `manage.py check --deploy` with no warning, and
the production web server's configuration is the one gunicorn really loads."""

import os
import subprocess
import sys

import pytest
from django.conf import settings

PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "kR3v9-Pq7zX2mN8wL5tJ1hF6gD4sA0yU_cE3bV7nM9qW2xZ5-8aHj4Lp0",
    "SAGEINT_ENCRYPTION_KEYS": "dGVzdHMtb25seS1lbmNyeXB0aW9uLWtleS0zMmJ5dGU=",
    "ALLOWED_HOSTS": "sageint.example.com",
    "SITE_URL": "https://sageint.example.com",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
    "SECURE_HSTS_PRELOAD": "1",
}


def check_deploy(**overrides) -> subprocess.CompletedProcess:
    env = {
        name: value for name, value in os.environ.items() if not name.startswith(("SECURE_", "SAGE", "DEBUG"))
    }
    env.update(PRODUCTION, SAGEINT_ENV_FILE="/nonexistent", **overrides)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_production_configuration_passes_check_deploy_with_no_warning():
    checked = check_deploy()
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "System check identified no issues" in checked.stdout


def test_without_hsts_check_deploy_warns():
    checked = check_deploy(SECURE_HSTS_SECONDS="0")
    assert checked.returncode != 0
    assert "security.W004" in checked.stdout + checked.stderr


@pytest.mark.parametrize(
    ("site_url", "redirect"), [("https://sageint.example.com", True), ("http://intranet.example.com", False)]
)
def test_https_sites_redirect_plain_http_by_default(site_url, redirect):
    code = "from django.conf import settings; print(settings.SECURE_SSL_REDIRECT, settings.SESSION_COOKIE_SECURE)"
    env = {**os.environ, **PRODUCTION, "SITE_URL": site_url, "SAGEINT_ENV_FILE": "/nonexistent"}
    env.pop("SECURE_SSL_REDIRECT", None)
    shown = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shown.stdout.split()[-2:] == [str(redirect), str(redirect)], shown.stderr


def test_gunicorn_loads_the_repository_configuration():
    code = (
        "from gunicorn.config import Config\n"
        "config = Config()\n"
        "for name, value in __import__('runpy').run_path('gunicorn.conf.py').items():\n"
        "    if name in config.settings:\n"
        "        config.set(name, value)\n"
        "print(config.worker_class_str, config.workers, config.threads, config.accesslog, config.graceful_timeout)\n"
    )
    env = {**os.environ, "WEB_WORKERS": "3", "WEB_THREADS": "40"}
    shown = subprocess.run(
        [sys.executable, "-c", code],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shown.returncode == 0, shown.stderr
    worker_class, workers, threads, accesslog, graceful = shown.stdout.split()
    assert (worker_class, workers, threads) == ("gthread", "3", "40")
    assert accesslog == "None"  # sageint's own request log line replaces it (no query strings)
    assert int(graceful) > settings.SAGE_READ_TIMEOUT_SECONDS
