"""The sandbox page's reset button over real HTTP (CSRF, message, data really reset) and the switch that
takes the whole sandbox off the site."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client

from sandbox.models import Contact, SandboxApp
from sandbox.seed import DEMO_CONTACTS

DISABLED_PROBE = """
import json, django
django.setup()
from django.test import Client
from django.test.utils import setup_test_environment
setup_test_environment()
client = Client()
paths = ["/sandbox/", "/sandbox/oauth2/auth/central", "/sandbox/oauth/token", "/sandbox/oauth/revoke",
         "/sandbox/api/v3.1/user", "/sandbox/faults/"]
answers = {path: client.get(path).status_code for path in paths}
answers["POST /sandbox/oauth/token"] = client.post("/sandbox/oauth/token", {"grant_type": "x"}).status_code
answers["nav links the sandbox"] = "/sandbox/" in client.get("/").content.decode()
print(json.dumps(answers))
"""


def test_with_the_sandbox_switched_off_every_sandbox_url_is_404(tmp_path):
    """Run in a fresh process: the URLconf reads SAGE_SANDBOX_ENABLED once, at import."""
    environment = dict(os.environ)
    environment.update(
        {
            "DJANGO_SETTINGS_MODULE": "sageint.settings",
            "SAGE_SANDBOX_ENABLED": "0",
            "DEBUG": "0",
            "SAGEINT_VAR_DIR": str(tmp_path),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'probe.sqlite3'}",
        }
    )

    probe = subprocess.run(
        [sys.executable, "-c", DISABLED_PROBE],
        cwd=Path(settings.BASE_DIR),
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert probe.returncode == 0, probe.stderr
    answers = json.loads(probe.stdout.strip().splitlines()[-1])
    assert answers.pop("nav links the sandbox") is False
    assert answers == dict.fromkeys(answers, 404)


@pytest.fixture
def browser(django_user_model):
    """A signed-in staff member's browser with CSRF checks on, as in real life."""
    person = django_user_model.objects.create_user("tryer", password="pw-for-tests", is_staff=True)
    client = Client(enforce_csrf_checks=True)
    client.force_login(person)
    return client


def test_reset_button_really_resets_over_http_with_csrf_and_says_so(browser, sage, access_token, api):
    call_command("sandbox_seed", "--if-empty", verbosity=0)
    stray = sage(
        "post", "/contacts", json={"contact": {"name": "Stray Ltd", "contact_type_ids": ["CUSTOMER"]}}
    )
    assert stray.status_code == 201
    SandboxApp.objects.create(name="Kept", client_id="kept-app", callback_urls="https://kept.example/cb")
    home = browser.get("/sandbox/")
    csrf_token = home.cookies["csrftoken"].value
    assert 'href="/sandbox/reset/"' in home.content.decode()  # to the confirmation page

    without_token = browser.post("/sandbox/reset/", {"confirmed": "yes"})
    assert without_token.status_code == 403
    assert Contact.objects.filter(name="Stray Ltd").exists()

    response = browser.post(
        "/sandbox/reset/", {"csrfmiddlewaretoken": csrf_token, "confirmed": "yes"}, follow=True
    )

    assert response.redirect_chain == [("/sandbox/", 302)]
    assert "The sandbox was reset" in response.content.decode()
    assert not Contact.objects.filter(name="Stray Ltd").exists()
    assert Contact.objects.filter(email=DEMO_CONTACTS["demo-trading"].email).count() == 1
    assert SandboxApp.objects.filter(client_id="kept-app").exists()
    assert api("get", "/user", access_token).status_code == 401  # every token forgotten
