"""The sandbox home page (apps, users, businesses, reset), app registration (command, admin), fixed identities."""

import io
from unittest import mock

import pytest
from django.core.management import CommandError, call_command
from django.core.management import get_commands as real_get_commands

from sandbox.models import Business, BusinessMembership, SandboxApp, SandboxUser
from sandbox.seed_identities import ensure_identities


def test_ensure_identities_is_idempotent_and_gives_one_user_two_businesses(db):
    first = ensure_identities()
    second = ensure_identities()

    assert [business.id for business in first] == [business.id for business in second]
    assert first[0].name == "Sandbox Trading Ltd"
    assert SandboxUser.objects.count() == 3
    assert Business.objects.count() == 4
    sam = SandboxUser.objects.get(email="sam.sandbox@example.com")
    assert sam.businesses().count() == 2
    assert BusinessMembership.objects.filter(is_lead=True).count() == 3


def test_home_lists_apps_users_and_businesses_but_no_secret(client, dev_app, settings, db):
    settings.SAGE_SANDBOX_CLIENT_SECRET = "super-secret-value"
    SandboxApp.objects.create(name="Registered One", client_id="reg-1", callback_urls="https://x.example/cb")

    page = client.get("/sandbox/").content.decode()

    assert dev_app.client_id in page and "reg-1" in page and "https://x.example/cb" in page
    assert "Sam Sandbox" in page and "Sandbox Services Ltd" in page and "Single Shop Inc" in page
    assert "super-secret-value" not in page
    assert "/sandbox/oauth/token" in page


def test_reset_needs_a_signed_in_user(client, db):
    response = client.post("/sandbox/reset/")

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_reset_button_runs_sandbox_seed_reset(admin_client, db):
    commands = dict(real_get_commands(), sandbox_seed="sandbox")
    with (
        mock.patch("sandbox.views.get_commands", return_value=commands),
        mock.patch("sandbox.views.call_command") as called,
    ):
        response = admin_client.post("/sandbox/reset/", {"confirmed": "yes"})

    assert response.status_code == 302
    called.assert_called_once_with("sandbox_seed", "--reset", verbosity=0)


def test_reset_without_seed_command_restores_identities(admin_client, db):
    commands = {name: app for name, app in real_get_commands().items() if name != "sandbox_seed"}
    with mock.patch("sandbox.views.get_commands", return_value=commands):
        response = admin_client.post("/sandbox/reset/", {"confirmed": "yes"})

    assert response.status_code == 302
    assert SandboxUser.objects.count() == 3


def test_register_app_command_stores_a_hashed_secret_and_several_callbacks(db):
    out = io.StringIO()
    call_command(
        "sandbox_register_app",
        "--name=Mine",
        "--client-id=mine",
        "--client-secret=s3cret",
        "--callback-url=https://a.example/cb",
        "--callback-url=https://b.example/cb",
        stdout=out,
    )

    app = SandboxApp.objects.get(client_id="mine")
    assert app.callback_url_list == ["https://a.example/cb", "https://b.example/cb"]
    assert app.check_client_secret("s3cret") and "s3cret" not in app.client_secret_hash
    assert "s3cret" not in out.getvalue()


def test_register_app_command_generates_a_secret_and_prints_it_once(db):
    out = io.StringIO()
    call_command(
        "sandbox_register_app",
        "--name=Gen",
        "--client-id=gen",
        "--callback-url=https://a.example/",
        stdout=out,
    )

    secret = out.getvalue().split("shown once): ")[1].strip()
    assert SandboxApp.objects.get(client_id="gen").check_client_secret(secret)


def test_register_app_command_refuses_the_built_in_client_id(dev_app, db):
    with pytest.raises(CommandError):
        call_command(
            "sandbox_register_app",
            "--name=X",
            f"--client-id={dev_app.client_id}",
            "--callback-url=https://a.example/",
        )


def test_admin_add_app_shows_the_secret_once_and_stores_only_its_hash(admin_client, db):
    response = admin_client.post(
        "/admin/sandbox/sandboxapp/add/",
        {
            "name": "Admin app",
            "client_id": "admin-app",
            "client_secret": "",
            "callback_urls": "https://c.example/cb",
        },
        follow=True,
    )

    app = SandboxApp.objects.get(client_id="admin-app")
    shown = [str(message) for message in response.context["messages"]]
    assert len(shown) >= 1
    secret_message = next(message for message in shown if "Client secret" in message)
    secret = secret_message.split(": ")[1].split(" ")[0]
    assert app.check_client_secret(secret)
    change_page = admin_client.get(f"/admin/sandbox/sandboxapp/{app.pk}/change/").content.decode()
    assert secret not in change_page
    assert "client_secret" not in change_page


def test_admin_pages_of_sandbox_models_open(admin_client, identities):
    for name in ("sandboxuser", "business", "grant", "faultrule", "sandboxapp"):
        assert admin_client.get(f"/admin/sandbox/{name}/").status_code == 200


def test_home_shows_how_much_data_each_business_holds_and_its_demo_contact(client, db):
    call_command("sandbox_seed", "--if-empty", verbosity=0)

    page = client.get("/sandbox/").content.decode()

    assert "200 contacts · 150 sales invoices" in page
    assert "accounts@acme-widgets.example.com" in page
    assert "30 contacts · 20 sales invoices" in page


def test_consent_page_says_every_business_is_shared_and_where_it_returns(client, dev_app, identities):
    page = client.get(
        "/sandbox/oauth2/auth/central",
        {"client_id": dev_app.client_id, "redirect_uri": dev_app.redirect_uri, "response_type": "code"},
    ).content.decode()

    assert "every business" in page
    assert f"<code>{dev_app.redirect_uri}</code>" in page
