"""After creations, edits and deletions at Sage, an incremental sync brings the mirror back to equal, in a few
calls: one listing of changes (updated_or_created_since) and one of deletions (deleted_since) per resource."""

import datetime as dt
import threading
from datetime import timedelta

import pytest

from records.models import Contact, ContactPayment, SalesInvoice, SyncRun
from sandbox import models as sage
from sandbox.resources import contact_payments, contacts, sales_invoices
from tests.records.conftest import run_sync


def assert_mirror_equals_sandbox(connection):
    business = sage.Business.objects.get(id=connection.business_id)

    def alive(model):
        return model.objects.filter(business=business, deleted_at__isnull=True)

    assert dict(Contact.objects.filter(connection=connection).values_list("sage_id", "name")) == dict(
        alive(sage.Contact).values_list("id", "name")
    )
    mirrored = {
        row[0]: row[1:]
        for row in SalesInvoice.objects.filter(connection=connection).values_list(
            "sage_id", "status", "outstanding_amount", "total_amount"
        )
    }
    assert mirrored == {
        row[0]: row[1:]
        for row in alive(sage.SalesInvoice).values_list("id", "status", "outstanding_amount", "total_amount")
    }
    assert set(ContactPayment.objects.filter(connection=connection).values_list("sage_id", flat=True)) == set(
        alive(sage.ContactPayment).values_list("id", flat=True)
    )


def make_changes_at_sage(business) -> dict:
    customer = sage.Contact.objects.filter(business=business, is_customer=True).order_by("id").first()
    ledger = sage.LedgerAccount.objects.filter(business=business, visible_in_sales=True).first()
    bank = sage.BankAccount.objects.filter(business=business).first()
    new_contact = contacts.create_contact(
        business=business,
        body={"name": "Fresh Customer Ltd", "contact_type_ids": ["CUSTOMER"], "email": "fresh@example.com"},
    )
    contacts.update_contact(contact=customer, body={"name": "Renamed Customer Ltd"})
    removable = (
        sage.Contact.objects.filter(business=business, deleted_at__isnull=True, sales_invoices__isnull=True)
        .filter(payments__isnull=True)
        .exclude(pk=new_contact.pk)
        .first()
    )
    contacts.delete_contact(contact=removable)
    invoice = sales_invoices.create_invoice(
        business=business,
        body={
            "contact_id": customer.id,
            "date": "2026-11-01",
            "invoice_lines": [
                {"description": "Work", "ledger_account_id": ledger.id, "unit_price": "100.00"}
            ],
        },
    )
    voidable = (
        sage.SalesInvoice.objects.filter(business=business, status="UNPAID", allocations__isnull=True)
        .exclude(pk=invoice.pk)
        .first()
    )
    sales_invoices.void_or_delete_invoice(invoice=voidable, void_reason="Raised in error")
    payment = contact_payments.create_payment(
        business=business,
        body={
            "transaction_type_id": "CUSTOMER_RECEIPT",
            "contact_id": customer.id,
            "bank_account_id": bank.id,
            "date": "2026-11-02",
            "total_amount": "50.00",
            "allocated_artefacts": [{"artefact_id": invoice.id, "amount": "50.00"}],
        },
    )
    old_payment = sage.ContactPayment.objects.filter(business=business).exclude(pk=payment.pk).first()
    contact_payments.delete_payment(payment=old_payment)
    return {"deleted_contact": removable.id, "new_invoice": invoice.id, "deleted_payment": old_payment.id}


def test_incremental_sync_after_changes_brings_the_mirror_back_to_equal(connection, sandbox_transport):
    first = run_sync(connection)
    assert first.kind == SyncRun.Kind.FULL
    business = sage.Business.objects.get(id=connection.business_id)
    changed = make_changes_at_sage(business)
    calls_before = len(sandbox_transport.calls)

    run = run_sync(connection)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert run.kind == SyncRun.Kind.INCREMENTAL
    assert_mirror_equals_sandbox(connection)
    assert not Contact.objects.filter(sage_id=changed["deleted_contact"]).exists()
    assert not ContactPayment.objects.filter(sage_id=changed["deleted_payment"]).exists()
    invoice = SalesInvoice.objects.get(sage_id=changed["new_invoice"])
    assert invoice.status == "PART_PAID" and str(invoice.outstanding_amount) == "50.00"
    # At most 2 calls per resource: the changes and the deletions, one page each.
    assert run.calls == len(sandbox_transport.calls[calls_before:]) <= 6
    assert run.deleted_count == 2  # the contact and the payment (a voided invoice is an update)
    assert run.created_count == 3  # a contact, an invoice, a payment


def test_incremental_sync_asks_since_the_last_success_less_the_overlap(connection, settings):
    settings.RECORDS_SYNC_OVERLAP_SECONDS = 90
    first = run_sync(connection)
    run = run_sync(connection)
    for step in run.steps.all():
        previous = first.steps.get(resource=step.resource)
        assert step.kind == SyncRun.Kind.INCREMENTAL
        assert step.since == previous.started_at - timedelta(seconds=90)


def test_a_failed_sync_does_not_move_the_starting_point(connection, sandbox_transport):
    first = run_sync(connection)
    sandbox_transport.inject("/contacts", status=500, body=b"[]", times=None)
    failed = run_sync(connection)
    assert failed.status == SyncRun.Status.FAILED
    sandbox_transport._faults.clear()
    again = run_sync(connection)
    contacts_step = again.steps.get(resource="contacts")
    assert contacts_step.since < first.steps.get(resource="contacts").started_at
    assert again.status == SyncRun.Status.SUCCEEDED


def test_nothing_changed_means_nothing_written(connection):
    run_sync(connection)
    run = run_sync(connection)
    assert (run.created_count, run.updated_count, run.deleted_count) == (0, 0, 0)
    assert run.kind == SyncRun.Kind.INCREMENTAL
    assert isinstance(run.finished_at, dt.datetime)


@pytest.mark.django_db(transaction=True)
def test_read_ahead_asks_for_the_next_page_while_one_is_written_and_mirrors_the_same(
    connection, sandbox_transport, settings
):
    # Committed rows, so the read-ahead thread's own database connection sees them.
    settings.RECORDS_SYNC_READ_AHEAD = True
    settings.RECORDS_SYNC_ITEMS_PER_PAGE = 40
    threads_calling = set()
    original_send = sandbox_transport.send

    def send(request, **kwargs):
        threads_calling.add(threading.current_thread().name)
        return original_send(request, **kwargs)

    sandbox_transport.send = send
    first = run_sync(connection)
    assert first.status == SyncRun.Status.SUCCEEDED, first.error
    assert_mirror_equals_sandbox(connection)
    assert any(name.startswith("sync-read-ahead") for name in threads_calling)

    make_changes_at_sage(sage.Business.objects.get(id=connection.business_id))
    second = run_sync(connection)
    assert second.status == SyncRun.Status.SUCCEEDED, second.error
    assert_mirror_equals_sandbox(connection)
