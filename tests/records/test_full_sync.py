"""A full sync mirrors exactly what the sandbox holds, in a few list calls of 200 items."""

from decimal import Decimal

import pytest

from records.models import Contact, ContactPayment, PaymentAllocation, SalesInvoice, SalesInvoiceLine, SyncRun
from records.signals import sync_run_finished
from sandbox import models as sage
from tests.records.conftest import run_sync


def sandbox_business(connection):
    return sage.Business.objects.get(id=connection.business_id)


def test_full_sync_mirrors_every_contact_invoice_and_payment(connection, sandbox_transport):
    business = sandbox_business(connection)
    calls_before = len(sandbox_transport.calls)

    run = run_sync(connection)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert run.kind == SyncRun.Kind.FULL
    alive_contacts = sage.Contact.objects.filter(business=business, deleted_at__isnull=True)
    alive_invoices = sage.SalesInvoice.objects.filter(business=business, deleted_at__isnull=True)
    alive_payments = sage.ContactPayment.objects.filter(business=business, deleted_at__isnull=True)
    assert Contact.objects.filter(connection=connection).count() == alive_contacts.count() > 0
    assert SalesInvoice.objects.filter(connection=connection).count() == alive_invoices.count() > 0
    assert ContactPayment.objects.filter(connection=connection).count() == alive_payments.count() > 0
    assert SalesInvoiceLine.objects.filter(invoice__connection=connection).count() == (
        sage.SalesInvoiceLine.objects.filter(invoice__in=alive_invoices).count()
    )
    assert PaymentAllocation.objects.filter(payment__connection=connection).count() == (
        sage.PaymentAllocation.objects.filter(payment__in=alive_payments).count()
    )
    assert run.created_count == alive_contacts.count() + alive_invoices.count() + alive_payments.count()
    # One list call per 200 items and resource, nothing per record.
    list_calls = [call for call in sandbox_transport.calls[calls_before:] if "/api/v3.1/" in call.path]
    expected_pages = sum(
        -(-max(qs.count(), 1) // 200) for qs in (alive_contacts, alive_invoices, alive_payments)
    )
    assert len(list_calls) == run.calls == expected_pages
    assert {call.path.rsplit("/", 1)[-1] for call in list_calls} == {
        "contacts",
        "sales_invoices",
        "contact_payments",
    }
    assert run.pages_done == run.pages_total == expected_pages
    assert run.duration_ms is not None and run.finished_at is not None


def test_mirrored_fields_match_sandbox_with_amounts_as_decimal(connection):
    run_sync(connection)
    business = sandbox_business(connection)

    demo = sage.Contact.objects.get(business=business, email="accounts@acme-widgets.example.com")
    mirrored = Contact.objects.get(connection=connection, sage_id=demo.id)
    assert (mirrored.name, mirrored.reference, mirrored.email) == (demo.name, demo.reference, demo.email)
    assert mirrored.is_customer == demo.is_customer and mirrored.is_vendor == demo.is_vendor
    assert isinstance(mirrored.balance, Decimal) and mirrored.balance == demo.balance
    assert mirrored.business_id == connection.business_id and mirrored.raw["id"] == demo.id

    for invoice in sage.SalesInvoice.objects.filter(business=business).order_by("number")[:25]:
        copy = SalesInvoice.objects.get(connection=connection, sage_id=invoice.id)
        assert copy.invoice_number == invoice.invoice_number
        assert copy.contact_sage_id == invoice.contact_id
        assert (copy.date, copy.due_date, copy.status) == (invoice.date, invoice.due_date, invoice.status)
        for field in ("net_amount", "tax_amount", "total_amount", "outstanding_amount"):
            assert isinstance(getattr(copy, field), Decimal)
            assert getattr(copy, field) == getattr(invoice, field), field
        assert [line.total_amount for line in copy.lines.all()] == [
            line.total_amount for line in invoice.lines.all()
        ]

    payment = sage.ContactPayment.objects.filter(business=business, allocations__isnull=False).first()
    copy = ContactPayment.objects.get(connection=connection, sage_id=payment.id)
    assert copy.total_amount == payment.total_amount and copy.contact_sage_id == payment.contact_id
    assert sorted((a.invoice_sage_id, a.amount) for a in copy.allocations.all()) == sorted(
        (a.invoice_id, a.amount) for a in payment.allocations.all()
    )


def test_syncing_again_changes_nothing(connection):
    run_sync(connection)
    before = list(SalesInvoice.objects.filter(connection=connection).values_list("pk", "synced_at"))

    again = run_sync(connection, kind=SyncRun.Kind.FULL)

    assert again.status == SyncRun.Status.SUCCEEDED
    assert (again.created_count, again.updated_count, again.deleted_count) == (0, 0, 0)
    assert list(SalesInvoice.objects.filter(connection=connection).values_list("pk", "synced_at")) == before


def test_finished_signal_is_sent_inside_the_transaction_saving_the_final_status(connection):
    from django.db import connection as db

    seen = []

    def listener(sender, sync_run, **kwargs):
        # The test's own transaction is the outermost block; the run's saving transaction is inside it.
        saved = type(sync_run).objects.get(pk=sync_run.pk).status
        seen.append((sync_run.pk, saved, len(db.atomic_blocks) >= 2))

    sync_run_finished.connect(listener)
    try:
        run = run_sync(connection)
    finally:
        sync_run_finished.disconnect(listener)
    assert seen == [(run.pk, SyncRun.Status.SUCCEEDED, True)]


@pytest.mark.parametrize("items_per_page", [7])
def test_full_sync_pages_until_the_last_page_and_counts_progress(connection, settings, items_per_page):
    settings.RECORDS_SYNC_ITEMS_PER_PAGE = items_per_page
    business = sandbox_business(connection)
    run = run_sync(connection)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    contacts = sage.Contact.objects.filter(business=business, deleted_at__isnull=True).count()
    step = run.steps.get(resource="contacts")
    assert step.pages_done == step.pages_total == -(-contacts // items_per_page)
    assert Contact.objects.filter(connection=connection).count() == contacts
