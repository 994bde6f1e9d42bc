"""Sandbox admin actions on a shared site: a reset (it ends every connection made against the sandbox), new client
secrets and grant revocations need staff, a confirmation step and the CSRF token; the fault control needs the CSRF
token from a staff session."""

import pytest
from django.core.management import call_command
from django.test import Client

from sandbox.models import Contact, FaultRule, Grant, SandboxApp

RESET = "/sandbox/reset/"


def browser_of(django_user_model, username: str, *, staff: bool) -> Client:
    person = django_user_model.objects.create_user(username, password="pw-for-tests", is_staff=staff)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(person)
    return browser


@pytest.fixture
def seeded(db):
    call_command("sandbox_seed", "--if-empty", verbosity=0)
    return Contact.objects.count()


@pytest.fixture
def staff_browser(django_user_model):
    return browser_of(django_user_model, "sandbox-staff", staff=True)


@pytest.fixture
def member_browser(django_user_model):
    """Signup is open: any visitor can have an account like this one."""
    return browser_of(django_user_model, "signed-up-stranger", staff=False)


def csrf_token_of(browser: Client) -> str:
    browser.get("/sandbox/")
    return browser.cookies["csrftoken"].value


def test_a_signed_in_member_who_is_not_staff_cannot_reset(member_browser, seeded, sage):
    stray = sage("post", "/contacts", json={"contact": {"name": "Stray", "contact_type_ids": ["CUSTOMER"]}})
    token = csrf_token_of(member_browser)

    page = member_browser.get(RESET)
    refused = member_browser.post(RESET, {"csrfmiddlewaretoken": token, "confirmed": "yes"})

    assert page.status_code == refused.status_code == 403
    assert "Only staff can reset the sandbox" in refused.content.decode()
    assert Contact.objects.filter(id=stray.json()["id"]).exists()


def test_the_home_page_offers_reset_to_staff_only_and_through_the_confirmation_page(
    member_browser, staff_browser, identities
):
    assert RESET not in member_browser.get("/sandbox/").content.decode()
    staff_page = staff_browser.get("/sandbox/").content.decode()
    assert f'href="{RESET}"' in staff_page
    assert f'action="{RESET}"' not in staff_page  # no one-click reset from the home page


def test_staff_reset_asks_for_confirmation_first(staff_browser, seeded, sage):
    stray = sage("post", "/contacts", json={"contact": {"name": "Stray", "contact_type_ids": ["CUSTOMER"]}})
    token = csrf_token_of(staff_browser)

    confirm_page = staff_browser.get(RESET)
    unconfirmed = staff_browser.post(RESET, {"csrfmiddlewaretoken": token})

    assert confirm_page.status_code == unconfirmed.status_code == 200
    page = confirm_page.content.decode()
    assert "must be connected again" in page and 'name="confirmed" value="yes"' in page
    assert "csrfmiddlewaretoken" in page
    assert Contact.objects.filter(id=stray.json()["id"]).exists()


def test_a_confirmed_reset_without_the_csrf_token_is_refused(staff_browser, seeded, sage):
    stray = sage("post", "/contacts", json={"contact": {"name": "Stray", "contact_type_ids": ["CUSTOMER"]}})

    response = staff_browser.post(RESET, {"confirmed": "yes"})

    assert response.status_code == 403
    assert Contact.objects.filter(id=stray.json()["id"]).exists()


def test_a_confirmed_staff_reset_with_the_csrf_token_resets(staff_browser, seeded, sage, access_token, api):
    stray = sage("post", "/contacts", json={"contact": {"name": "Stray", "contact_type_ids": ["CUSTOMER"]}})
    token = csrf_token_of(staff_browser)

    response = staff_browser.post(RESET, {"csrfmiddlewaretoken": token, "confirmed": "yes"}, follow=True)

    assert response.redirect_chain == [("/sandbox/", 302)]
    assert "The sandbox was reset" in response.content.decode()
    assert not Contact.objects.filter(id=stray.json()["id"]).exists()
    assert api("get", "/user", access_token).status_code == 401  # every token forgotten


def test_fault_control_from_a_staff_session_needs_the_csrf_token(staff_browser, identities):
    token = csrf_token_of(staff_browser)

    forged = staff_browser.post("/sandbox/faults/", {"kind": "503"})
    sent = staff_browser.post("/sandbox/faults/", {"kind": "503"}, HTTP_X_CSRFTOKEN=token)

    assert forged.status_code == 403
    assert sent.status_code == 201
    assert FaultRule.objects.count() == 1


def test_fault_control_from_a_member_session_is_refused(member_browser, identities):
    token = csrf_token_of(member_browser)

    response = member_browser.post("/sandbox/faults/", {"kind": "503"}, HTTP_X_CSRFTOKEN=token)

    assert response.status_code == 401
    assert not FaultRule.objects.exists()


@pytest.fixture
def admin_browser(django_user_model):
    person = django_user_model.objects.create_superuser("sandbox-admin", password="pw-for-tests")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(person)
    return browser


def run_action(browser: Client, changelist: str, action: str, ids: list, **extra):
    browser.get(changelist)
    token = browser.cookies["csrftoken"].value
    data = {"action": action, "_selected_action": ids, "csrfmiddlewaretoken": token, **extra}
    return browser.post(changelist, data)


def test_generating_a_new_client_secret_asks_for_confirmation(admin_browser, db):
    app = SandboxApp.objects.create(
        name="Partner", client_id="partner-app", callback_urls="https://p.example/cb"
    )
    app.set_client_secret("the-old-secret")
    app.save()
    changelist = "/admin/sandbox/sandboxapp/"

    asked = run_action(admin_browser, changelist, "generate_new_secret", [app.pk])
    app.refresh_from_db()
    assert asked.status_code == 200
    assert "stops working at once" in asked.content.decode()
    assert app.check_client_secret("the-old-secret")

    done = run_action(admin_browser, changelist, "generate_new_secret", [app.pk], confirmed="yes")
    app.refresh_from_db()
    assert done.status_code == 302
    assert not app.check_client_secret("the-old-secret")


def test_revoking_grants_asks_for_confirmation(admin_browser, get_tokens, access_token, api):
    grant = Grant.objects.get()
    changelist = "/admin/sandbox/grant/"

    asked = run_action(admin_browser, changelist, "revoke", [grant.pk])
    assert asked.status_code == 200 and "must be connected again" in asked.content.decode()
    assert api("get", "/user", access_token).status_code == 200

    run_action(admin_browser, changelist, "revoke", [grant.pk], confirmed="yes")
    assert api("get", "/user", access_token).status_code == 401
