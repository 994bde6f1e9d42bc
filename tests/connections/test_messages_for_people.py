"""Messages written for people: access levels by name, Sage's error codes on a details line of their own, and
the connected businesses as a list in the admin rather than JSON."""

from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from connections import crypto, token_endpoint
from connections.credentials import sage_credentials
from connections.exceptions import ReconnectRequired
from connections.models import Connection, ConnectionEvent
from connections.sage_client import SageClient
from connections.sage_details import split_sage_details, with_sage_details
from records.models import SyncRun
from tests.fixtures_sage import make_user_token

CONNECT = reverse("connections:connect")
DETAILS_LINE = '<span class="sage-details">Details from Sage: <code>invalid_grant</code></span>'


def test_sage_details_are_kept_apart_at_the_end_and_found_again():
    message = with_sage_details("Sage did not accept the sign-in.", "invalid_grant")
    assert message == "Sage did not accept the sign-in. [Sage: invalid_grant]"
    assert split_sage_details(message) == ("Sage did not accept the sign-in.", "invalid_grant")
    # Wrapped in another sentence (ReconnectRequired's), the details are still found at the end.
    assert split_sage_details(f"Sage Accounting must be reconnected: {message}")[1] == "invalid_grant"


def test_messages_without_details_are_shown_whole():
    assert with_sage_details("Nothing was connected.", "  ") == "Nothing was connected."
    assert split_sage_details("Sage refused the stored authorization (invalid_grant).") == (
        "Sage refused the stored authorization (invalid_grant).",
        "",
    )
    assert split_sage_details("") == ("", "")


def test_brackets_in_sage_text_cannot_fake_or_break_the_details():
    message = with_sage_details("Sage refused.", "bad [Sage: x] value\nsecond line")
    assert split_sage_details(message) == ("Sage refused.", "bad (Sage: x) value second line")


@pytest.mark.parametrize(
    ("scopes", "label"),
    [
        ("full_access", "Full access (read and write)"),
        ("readonly", "Read only"),
        ("", "—"),
        ("other", "other"),
    ],
)
def test_access_is_named_as_people_read_it(scopes, label):
    assert Connection(scopes=scopes).access_label == label


def open_as_end_user(end_user) -> Client:
    browser = Client()
    browser.get(CONNECT, {"user_token": make_user_token(end_user.external_id)})
    return browser


def test_connected_page_says_full_access_not_the_scope_code(connected_end_user):
    page = open_as_end_user(connected_end_user).get(CONNECT).content.decode()
    assert '<td id="access">Full access (read and write)</td>' in page
    assert "full_access" not in page


def revoke_and_expire(connection: Connection) -> None:
    """Sage forgets the grant (as when the user removes the app at Sage) and the access token runs out."""
    token_endpoint.revoke(
        credentials=sage_credentials(), token=crypto.decrypt(connection.refresh_token_encrypted)
    )
    connection.access_token_expires_at = timezone.now() - timedelta(seconds=5)
    connection.save(update_fields=["access_token_expires_at"])


@pytest.fixture
def needs_reconnect(connected_end_user) -> Connection:
    connection = connected_end_user.connection
    revoke_and_expire(connection)
    with pytest.raises(ReconnectRequired):
        SageClient.for_end_user(connected_end_user).get_json("user")
    connection.refresh_from_db()
    return connection


def test_reconnect_reason_keeps_sages_code_out_of_the_sentence(needs_reconnect):
    assert split_sage_details(needs_reconnect.reconnect_reason) == (
        "Sage refused the stored authorization: it was revoked, replaced or unused for too long. Connect again.",
        "invalid_grant",
    )
    page = open_as_end_user(needs_reconnect.end_user).get(CONNECT).content.decode()
    assert (
        '<span class="message-sentence">Sage refused the stored authorization: it was revoked, replaced or unused '
        "for too long. Connect again.</span>"
    ) in page
    assert DETAILS_LINE in page


def test_admin_connection_page_shows_access_businesses_and_reason_for_people(
    superuser_client, needs_reconnect
):
    html = superuser_client.get(
        reverse("admin:connections_connection_change", args=[needs_reconnect.pk])
    ).content.decode()
    assert "Full access (read and write)" in html and "full_access" not in html
    assert "built-in sandbox" in html  # the credentials, not "sandbox"
    # The businesses: a list of names with the lead one marked and the id beside it, not JSON.
    assert '[{"id"' not in html and "&quot;id&quot;" not in html
    lead = needs_reconnect.business_by_id(needs_reconnect.lead_business_id)
    assert f"<li>{lead['name']} <strong>(lead business)</strong> <em>(in use)</em>" in html
    other = next(b for b in needs_reconnect.businesses if b["id"] != needs_reconnect.lead_business_id)
    assert f"<li>{other['name']}\n" in html and f"<code>{other['id']}</code>" in html
    # The reason, Sage's code apart: the dashboard's state and last error, the reconnect reason and the last
    # refresh error fields.
    assert html.count(DETAILS_LINE) == 4
    assert "(invalid_grant)" not in html and "[Sage:" not in html


def test_admin_event_list_shows_sages_code_on_its_own_line(superuser_client, needs_reconnect):
    assert ConnectionEvent.objects.filter(kind="reconnect_required").exists()
    html = superuser_client.get(reverse("admin:connections_connectionevent_changelist")).content.decode()
    assert DETAILS_LINE in html and "[Sage:" not in html


def test_admin_filters_connections_by_credentials_named_for_people(superuser_client, connected_end_user):
    html = superuser_client.get(reverse("admin:connections_connection_changelist")).content.decode()
    assert "built-in sandbox" in html and "development keys from environment" in html
    filtered = superuser_client.get(
        reverse("admin:connections_connection_changelist"), {"credentials_mode": "dev_env"}
    )
    assert filtered.status_code == 200 and "0 connections" in filtered.content.decode()


def test_sage_refusing_at_the_callback_shows_its_reason_as_details(db):
    user = Client()
    user.force_login(get_user_model().objects.create(username="ann"))
    state = dict(parse_qsl(urlsplit(user.post(reverse("connections:start"))["Location"]).query))["state"]
    response = user.get(
        reverse("connections:callback"), {"state": state, "error": "server_error", "reason": "Try later"}
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert (
        '<span class="message-sentence" id="connect-error">Sage could not connect your account. Nothing was connected.</span>'
        in html
    )
    assert '<span class="sage-details">Details from Sage: <code>Try later</code></span>' in html


def test_admin_message_after_a_refused_refresh_keeps_sages_code_apart(superuser_client, connected_end_user):
    connection = connected_end_user.connection
    revoke_and_expire(connection)
    response = superuser_client.post(
        reverse("admin:records_connection_refresh_token", args=[connection.pk]), follow=True
    )
    html = response.content.decode()
    assert (
        '<li class="error"><span class="message-sentence">The token was not refreshed: Sage Accounting must be '
        "reconnected: Sage refused the stored authorization"
    ) in html
    assert DETAILS_LINE in html and "[Sage:" not in html


def test_admin_sync_run_list_keeps_sages_code_when_the_error_is_cut_short(superuser_client, needs_reconnect):
    SyncRun.objects.create(
        end_user=needs_reconnect.end_user,
        business_id=needs_reconnect.business_id,
        kind=SyncRun.Kind.FULL,
        status=SyncRun.Status.FAILED,
        error=str(ReconnectRequired(needs_reconnect.reconnect_reason)),
    )
    html = superuser_client.get(reverse("admin:records_syncrun_changelist")).content.decode()
    assert (
        '<span class="message-sentence">Sage Accounting must be reconnected: Sage refused the stored' in html
    )
    assert DETAILS_LINE in html and "[Sage:" not in html
