"""The admin API console: its own permission, calls through the proxy (logged with the staff member), writes only
after a confirmation, clear form errors, and never a token on the page."""

import json

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from api.models import RequestLog
from connections import crypto
from connections.models import Connection

pytestmark = pytest.mark.django_db

CONSOLE = reverse("admin:api_console")
NEW_CONTACT = json.dumps({"contact": {"name": "Console Test Ltd", "contact_type_ids": ["CUSTOMER"]}})


@pytest.fixture
def console_user(django_user_model):
    """Staff with only the console's permission (not a superuser)."""
    user = django_user_model.objects.create_user("operator", password="operator-password-1", is_staff=True)
    user.user_permissions.add(
        Permission.objects.get(codename="use_api_console", content_type__app_label="api")
    )
    browser = Client()
    browser.force_login(user)
    return browser


def call(browser, connection, method="GET", path="/contacts", body="", **extra):
    form = {"connection": connection.pk, "method": method, "path": path, "body": body, **extra}
    return browser.post(CONSOLE, form)


def text_of(response) -> str:
    return response.content.decode()


def test_staff_without_the_console_permission_are_refused(django_user_model, connected_end_user):
    staff = django_user_model.objects.create_user("clerk", password="clerk-password-1", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_requestlog"))
    browser = Client()
    browser.force_login(staff)

    assert browser.get(CONSOLE).status_code == 403
    assert call(browser, connected_end_user.connection).status_code == 403
    assert not RequestLog.objects.exists()
    # Their request log page offers no console either.
    assert CONSOLE not in text_of(browser.get(reverse("admin:api_requestlog_changelist")))


def test_the_request_log_links_to_the_console_for_those_allowed(superuser_client):
    assert CONSOLE in text_of(superuser_client.get(reverse("admin:api_requestlog_changelist")))


def test_a_get_shows_status_headers_and_the_formatted_answer_and_is_logged(
    console_user, connected_end_user, seeded_sandbox, sandbox_transport
):
    connection = connected_end_user.connection
    page = console_user.get(CONSOLE, {"connection": connection.pk})
    assert page.status_code == 200 and f'value="{connection.pk}" selected' in text_of(page)

    answered = call(console_user, connection, path="/contacts?email=accounts@acme-widgets.example.com")

    shown = text_of(answered)
    assert answered.status_code == 200
    assert "Answer: 200" in shown
    assert '<th scope="row">Content-Type</th><td>application/json' in shown
    assert '<th scope="row">X-Sageint-Attempts</th><td>1</td>' in shown
    assert "\n  &quot;$items&quot;: [\n    {\n" in shown  # indented JSON
    assert "Acme Widgets Ltd" in shown
    logged = RequestLog.objects.get()
    assert (logged.source, logged.staff_username, logged.end_user_id) == (
        "console",
        "operator",
        connected_end_user.pk,
    )
    assert (logged.method, logged.path, logged.query_names, logged.status_code) == (
        "GET",
        "/contacts",
        "email",
        200,
    )


def test_a_write_is_sent_only_after_confirmation(console_user, connected_end_user, sandbox_transport):
    connection = connected_end_user.connection

    asked = call(console_user, connection, method="POST", body=NEW_CONTACT)
    assert "Send this POST to Sage?" in text_of(asked)
    assert "Console Test Ltd" in text_of(asked)
    assert sandbox_transport.count("/contacts", method="POST") == 0 and not RequestLog.objects.exists()

    edited = call(console_user, connection, method="POST", body=NEW_CONTACT, _edit="Edit")
    assert 'id="console-form"' in text_of(edited) and "Console Test Ltd" in text_of(edited)
    assert sandbox_transport.count("/contacts", method="POST") == 0

    sent = call(console_user, connection, method="POST", body=NEW_CONTACT, _confirm="Yes")
    assert "Answer: 201" in text_of(sent)
    assert sandbox_transport.count("/contacts", method="POST") == 1
    logged = RequestLog.objects.get()
    assert (logged.method, logged.status_code, logged.staff_username) == ("POST", 201, "operator")


@pytest.mark.parametrize(
    ("method", "path", "body", "error"),
    [
        ("POST", "/contacts", '{"contact": ', "The body is not valid JSON"),
        ("GET", "/../oauth/token", "", "This path cannot be sent"),
        ("GET", "https://evil.example/contacts", "", "This path cannot be sent"),
        ("GET", "/contacts", NEW_CONTACT, "A GET sends no body"),
        ("PATCH", "/contacts", "", "Select a valid choice"),
    ],
)
def test_bad_input_is_a_form_error_and_sends_nothing(
    console_user, connected_end_user, sandbox_transport, method, path, body, error
):
    sandbox_transport.calls.clear()

    refused = call(
        console_user, connected_end_user.connection, method=method, path=path, body=body, _confirm="Yes"
    )

    assert refused.status_code == 200
    assert error in text_of(refused) and 'class="errorlist' in text_of(refused)
    assert sandbox_transport.calls == [] and not RequestLog.objects.exists()


def test_a_connection_that_needs_reconnecting_shows_the_proxys_error(console_user, connected_end_user):
    connection = connected_end_user.connection
    Connection.objects.filter(pk=connection.pk).update(
        status=Connection.Status.RECONNECT_REQUIRED, reconnect_reason="Access was revoked at Sage."
    )

    shown = text_of(call(console_user, connection))

    assert "Answer: 409" in shown and "reconnect_required" in shown and "Access was revoked at Sage." in shown


def test_no_token_is_ever_on_the_page(console_user, connected_end_user, sandbox_transport):
    connection = Connection.objects.get(pk=connected_end_user.connection.pk)
    tokens = [
        crypto.decrypt(connection.access_token_encrypted),
        crypto.decrypt(connection.refresh_token_encrypted),
    ]

    pages = [
        console_user.get(CONSOLE, {"connection": connection.pk}),
        call(console_user, connection, path="/user"),
        call(console_user, connection, method="DELETE", path="/contacts/nope"),
    ]

    for page in pages:
        assert all(token not in text_of(page) for token in tokens)


def test_the_connection_page_links_to_the_console_for_those_allowed(
    superuser_client, django_user_model, connected_end_user
):
    connection = connected_end_user.connection
    page = reverse("admin:connections_connection_change", args=[connection.pk])
    link = f"{CONSOLE}?connection={connection.pk}"
    assert link in text_of(superuser_client.get(page))

    viewer = django_user_model.objects.create_user("viewer", password="viewer-password-1", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_connection"))
    browser = Client()
    browser.force_login(viewer)
    shown = browser.get(page)
    assert shown.status_code == 200 and link not in text_of(shown)


def test_binary_and_very_large_answers_are_described_not_dumped(
    console_user, connected_end_user, scripted_sage
):
    pdf = b"%PDF-1.7 " + bytes(range(256)) * 40
    large = b'{"$items": [' + b'"x",' * 400_000 + b'"y"]}'  # about 1.6 MB of JSON
    scripted_sage(
        "/sales_invoices/",
        [
            (200, {"Content-Type": "application/pdf", "Content-Disposition": "inline; a.pdf"}, pdf),
            (200, {"Content-Type": "application/json"}, large),
        ],
    )

    as_pdf = text_of(call(console_user, connected_end_user.connection, path="/sales_invoices/a"))
    assert f"{len(pdf)} bytes of application/pdf, not shown." in as_pdf
    assert '<th scope="row">Content-Disposition</th><td>inline; a.pdf</td>' in as_pdf
    as_large = text_of(call(console_user, connected_end_user.connection, path="/sales_invoices/b"))
    assert "Only the first 1024 KiB are shown." in as_large
    assert 0 < as_large.count("&quot;x&quot;") <= 1024 * 1024 // 4  # cut at 1 MiB
    assert "&quot;y&quot;" not in as_large
