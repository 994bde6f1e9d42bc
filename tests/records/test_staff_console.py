"""Staff console: mirrored records behind their own permission, audited views, read-only detail pages with
links, "Refresh from Sage", and the connection dashboard with its actions (admin delete = disconnect)."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection as db
from django.test import Client
from django.urls import reverse

from connections.models import Connection, ConnectionEvent
from records import sync
from records.models import Contact, ContactPayment, RecordView, SalesInvoice, SyncRun
from sandbox import models as sage
from sandbox.resources import contacts as sage_contacts
from tests.records.conftest import run_sync


def staff_browser(*permissions: str) -> Client:
    user = get_user_model().objects.create(
        username=f"staff-{'-'.join(permissions) or 'plain'}", is_staff=True
    )
    for codename in permissions:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    browser = Client()
    browser.force_login(user)
    return browser


@pytest.fixture
def synced(connection):
    run_sync(connection)
    return connection


@pytest.fixture
def admin_browser(db):
    user = get_user_model().objects.create(username="boss", is_staff=True, is_superuser=True)
    browser = Client()
    browser.force_login(user)
    return browser


CHANGELISTS = [
    "admin:records_contact_changelist",
    "admin:records_salesinvoice_changelist",
    "admin:records_contactpayment_changelist",
]


@pytest.mark.parametrize("url_name", CHANGELISTS)
def test_plain_staff_see_no_records(synced, url_name):
    browser = staff_browser("view_connection")
    assert browser.get(reverse(url_name)).status_code == 403
    assert "Mirrored Sage records" not in browser.get(reverse("admin:index")).content.decode()
    assert not RecordView.objects.exists()


@pytest.mark.parametrize("url_name", CHANGELISTS)
def test_staff_with_the_permission_browse_and_each_view_is_audited(synced, url_name):
    browser = staff_browser("browse_mirrored_records")
    response = browser.get(reverse(url_name), {"connection": synced.pk})
    assert response.status_code == 200
    view = RecordView.objects.get()
    assert view.staff_username == "staff-browse_mirrored_records"
    assert view.connection_id_viewed == synced.pk and view.end_user == synced.end_user
    assert view.business_id == synced.business_id and "list" in view.what


def test_search_contacts_by_email_and_open_the_detail(synced, admin_browser):
    found = admin_browser.get(reverse(CHANGELISTS[0]), {"q": "accounts@acme-widgets.example.com"})
    assert found.status_code == 200
    assert list(found.context["cl"].result_list.values_list("name", flat=True)) == ["Acme Widgets Ltd"]
    contact = Contact.objects.get(email="accounts@acme-widgets.example.com")
    detail = admin_browser.get(reverse("admin:records_contact_change", args=[contact.pk]))
    body = detail.content.decode()
    assert detail.status_code == 200 and "Refresh from Sage" in body
    assert f"contact_sage_id={contact.sage_id}" in body  # → its invoices and payments
    assert RecordView.objects.filter(what__contains=contact.sage_id).count() == 1
    # Read-only: no save button, and a POST changes nothing.
    assert 'name="_save"' not in body
    assert (
        admin_browser.post(
            reverse("admin:records_contact_change", args=[contact.pk]), {"name": "X"}
        ).status_code
        == 403
    )


def test_invoice_links_to_its_contact_and_payments_and_payment_links_to_invoices(synced, admin_browser):
    allocation = sage.PaymentAllocation.objects.filter(payment__business_id=synced.business_id).first()
    invoice = SalesInvoice.objects.get(sage_id=allocation.invoice_id)
    payment = ContactPayment.objects.get(sage_id=allocation.payment_id)
    contact = Contact.objects.get(sage_id=invoice.contact_sage_id)

    body = admin_browser.get(reverse("admin:records_salesinvoice_change", args=[invoice.pk])).content.decode()
    assert reverse("admin:records_contact_change", args=[contact.pk]) in body
    assert reverse("admin:records_contactpayment_change", args=[payment.pk]) in body
    assert invoice.lines.first().description in body

    body = admin_browser.get(
        reverse("admin:records_contactpayment_change", args=[payment.pk])
    ).content.decode()
    assert reverse("admin:records_salesinvoice_change", args=[invoice.pk]) in body

    contact_invoices = admin_browser.get(
        reverse(CHANGELISTS[1]), {"connection": synced.pk, "contact_sage_id": contact.sage_id}
    )
    assert invoice in contact_invoices.context["cl"].result_list


def test_invoice_filters_status_overdue_and_date_hierarchy(synced, admin_browser):
    for query in (
        {"status": "PAID"},
        {"overdue": "yes"},
        {"overdue": "no"},
        {"date__year": "2025"},
        {"q": "SI-1"},
    ):
        response = admin_browser.get(reverse(CHANGELISTS[1]), query)
        assert response.status_code == 200, query
    paid = admin_browser.get(reverse(CHANGELISTS[1]), {"status": "PAID"}).context["cl"].result_list
    assert paid and all(invoice.status == "PAID" for invoice in paid)
    overdue = admin_browser.get(reverse(CHANGELISTS[1]), {"overdue": "yes"}).context["cl"].result_list
    assert all(invoice.is_overdue for invoice in overdue)


@pytest.mark.parametrize("url_name", CHANGELISTS)
def test_changelist_queries_do_not_grow_with_rows(
    synced, admin_browser, django_assert_max_num_queries, url_name
):
    # The same number of queries for a page of 100 rows as for a page of a few.
    few = admin_browser.get(reverse(url_name), {"q": "no-such-record"})
    assert few.status_code == 200
    with django_assert_max_num_queries(12) as captured:
        full = admin_browser.get(reverse(url_name), {"connection": synced.pk})
    assert len(full.context["cl"].result_list) > 10
    with django_assert_max_num_queries(len(captured.captured_queries)):
        admin_browser.get(reverse(url_name), {"q": "Acme"})


@pytest.mark.parametrize("url_name", CHANGELISTS)
def test_changelist_pages_are_read_in_index_order_and_each_row_links_to_its_record(
    synced, admin_browser, url_name
):
    # A page costs the same at page 50 of 10 000 rows as at page 1: rows come off an index in the list's order
    # (no sort of the whole table), whether or not the list is filtered to one end user.
    for query in ({}, {"connection": synced.pk}):
        response = admin_browser.get(reverse(url_name), query)
        rows = response.context["cl"].result_list
        for record in list(rows)[:3]:
            change_url = reverse(url_name.replace("changelist", "change"), args=[record.pk])
            assert f'href="{change_url}"' in response.content.decode()
        if db.vendor == "sqlite":
            sql, params = rows.query.sql_with_params()
            with db.cursor() as cursor:
                cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
                plan = " ".join(str(row[-1]) for row in cursor.fetchall())
            assert "TEMP B-TREE" not in plan, (query, plan)


def test_refresh_from_sage_updates_one_record_live(synced, admin_browser, sandbox_transport):
    contact = Contact.objects.get(email="accounts@acme-widgets.example.com")
    sage_contacts.update_contact(
        contact=sage.Contact.objects.get(id=contact.sage_id), body={"name": "Acme Renamed"}
    )
    calls = len(sandbox_transport.calls)

    response = admin_browser.post(reverse("admin:records_contact_refresh", args=[contact.pk]), follow=True)

    assert "Refreshed from Sage: updated." in response.content.decode()
    assert Contact.objects.get(pk=contact.pk).name == "Acme Renamed"
    assert [call.path.rsplit("/", 2)[-2:] for call in sandbox_transport.calls[calls:]] == [
        ["contacts", contact.sage_id]
    ]
    # The stored item keeps the list shape, so the next sync sees nothing new.
    assert run_sync(synced).updated_count == 0


def test_refresh_of_a_record_gone_at_sage_removes_it(synced, admin_browser):
    contact = (
        Contact.objects.filter(connection=synced).exclude(email="accounts@acme-widgets.example.com").first()
    )
    sage.Contact.objects.filter(id=contact.sage_id).update(deleted_at="2026-01-01T00:00:00Z")
    response = admin_browser.post(reverse("admin:records_contact_refresh", args=[contact.pk]), follow=True)
    assert "no longer has this record" in response.content.decode()
    assert not Contact.objects.filter(pk=contact.pk).exists()


def test_dashboard_shows_state_counts_sync_and_links(synced, admin_browser):
    body = admin_browser.get(
        reverse("admin:connections_connection_change", args=[synced.pk])
    ).content.decode()
    contacts = Contact.objects.filter(connection=synced).count()
    assert "Sandbox Trading Ltd" in body and f"{contacts} contacts" in body
    assert "Last sync succeeded" in body
    for label in ("Sync now", "Refresh token now", "Check connection", "Disconnect"):
        assert label in body
    assert f"?connection={synced.pk}" in body and f"end_user__id__exact={synced.end_user_id}" in body


def test_dashboard_shows_progress_while_a_sync_runs(connection, admin_browser, monkeypatch):
    monkeypatch.setattr(sync, "_enqueue", lambda step_ids: None)
    run = sync.start_sync(connection=connection)
    sync.run_step(step_id=run.steps.get(resource="contacts").pk)
    body = admin_browser.get(
        reverse("admin:connections_connection_change", args=[connection.pk])
    ).content.decode()
    assert 'id="sync-progress"' in body and "Running" in body
    progress = admin_browser.get(reverse("admin:records_connection_progress", args=[connection.pk])).json()
    assert progress["running"] is True and progress["pages_done"] == 1 and 0 < progress["percent"] < 100


def test_sync_now_twice_starts_one_sync(
    connection, admin_browser, monkeypatch, django_capture_on_commit_callbacks
):
    queued = []
    monkeypatch.setattr(sync, "_enqueue", queued.extend)
    url = reverse("admin:records_connection_sync", args=[connection.pk])
    with django_capture_on_commit_callbacks(execute=True):
        first = admin_browser.post(url, follow=True)
        second = admin_browser.post(url, follow=True)
    assert "Sync started" in first.content.decode()
    assert "already running" in second.content.decode()
    assert SyncRun.objects.filter(connection=connection, trigger="staff").count() == 1
    assert len(queued) == 3


def test_refresh_token_and_check_connection(connection, admin_browser, sandbox_transport):
    refreshed = admin_browser.post(
        reverse("admin:records_connection_refresh_token", args=[connection.pk]), follow=True
    )
    assert "The access token was refreshed." in refreshed.content.decode()
    assert sandbox_transport.refresh_calls == 1
    checked = admin_browser.post(reverse("admin:records_connection_check", args=[connection.pk]), follow=True)
    assert "Sage answered /user" in checked.content.decode()
    assert sandbox_transport.count("/user") >= 1


def test_actions_need_the_manage_permission(connection):
    browser = staff_browser("view_connection")
    for name in ("sync", "refresh_token", "check", "disconnect"):
        assert (
            browser.post(reverse(f"admin:records_connection_{name}", args=[connection.pk])).status_code == 403
        )
    assert Connection.objects.filter(pk=connection.pk).exists() and not SyncRun.objects.exists()


def test_disconnect_asks_for_confirmation_then_revokes_and_removes_the_mirror(
    synced, admin_browser, sandbox_transport
):
    url = reverse("admin:records_connection_disconnect", args=[synced.pk])
    confirm = admin_browser.get(url)
    assert confirm.status_code == 200 and "Yes, disconnect" in confirm.content.decode()
    assert Connection.objects.filter(pk=synced.pk).exists()

    admin_browser.post(url)

    assert not Connection.objects.filter(pk=synced.pk).exists()
    assert sandbox_transport.count("/oauth/revoke") == 1
    assert ConnectionEvent.objects.filter(
        end_user=synced.end_user, kind=ConnectionEvent.Kind.DISCONNECTED
    ).exists()
    assert (
        not Contact.objects.exists()
        and not SalesInvoice.objects.exists()
        and not ContactPayment.objects.exists()
    )


def test_admin_delete_goes_through_disconnect(synced, admin_browser, sandbox_transport):
    delete_page = admin_browser.get(reverse("admin:connections_connection_delete", args=[synced.pk]))
    assert delete_page.status_code == 302 and delete_page["Location"].endswith(f"/{synced.pk}/disconnect/")

    changelist = reverse("admin:connections_connection_changelist")
    assert "delete_selected" not in admin_browser.get(changelist).content.decode()
    # The bulk action asks first, then disconnects.
    asked = admin_browser.post(changelist, {"action": "disconnect_selected", "_selected_action": [synced.pk]})
    assert "Yes, disconnect" in asked.content.decode() and Connection.objects.exists()
    admin_browser.post(
        changelist, {"action": "disconnect_selected", "_selected_action": [synced.pk], "post": "yes"}
    )

    assert not Connection.objects.exists()
    assert sandbox_transport.count("/oauth/revoke") == 1
    assert ConnectionEvent.objects.filter(kind=ConnectionEvent.Kind.DISCONNECTED).count() == 1
    assert not Contact.objects.exists()
