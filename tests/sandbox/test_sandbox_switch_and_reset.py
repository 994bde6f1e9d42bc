"""The sandbox page's reset button over real HTTP (CSRF, message, data really reset) and the switch that
takes the whole sandbox off the site."""

import importlib

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import clear_url_caches

from sandbox.models import Contact, SandboxApp
from sandbox.seed import DEMO_CONTACTS

SANDBOX_PATHS = [
    "/sandbox/",
    "/sandbox/oauth2/auth/central",
    "/sandbox/oauth/token",
    "/sandbox/oauth/revoke",
    "/sandbox/api/v3.1/user",
    "/sandbox/faults/",
]


@pytest.fixture
def sandbox_switched_off(settings):
    """The URLconf as it is built with SAGE_SANDBOX_ENABLED off (it reads the switch once, when it is imported):
    rebuilt here with the switch off, and rebuilt again as it was afterwards. In-process: a fresh interpreter
    importing every app cost this test most of its time."""
    import sageint.urls

    settings.SAGE_SANDBOX_ENABLED = False
    importlib.reload(sageint.urls)
    clear_url_caches()
    yield
    settings.SAGE_SANDBOX_ENABLED = True
    importlib.reload(sageint.urls)
    clear_url_caches()


@pytest.mark.django_db
def test_with_the_sandbox_switched_off_every_sandbox_url_is_404(sandbox_switched_off, client):
    answers = {path: client.get(path).status_code for path in SANDBOX_PATHS}
    answers["POST /sandbox/oauth/token"] = client.post(
        "/sandbox/oauth/token", {"grant_type": "x"}
    ).status_code

    assert answers == dict.fromkeys(answers, 404)
    assert "/sandbox/" not in client.get("/").content.decode()


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
