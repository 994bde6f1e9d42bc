"""The shipped example workflow, "Invoice and collect payment" (created by the demo bootstrap).

Find the customer by email → look up a sales ledger account and a bank account → invoice the customer → record
their receipt allocated to that invoice. Sage needs the two account ids; the lookups keep the example working
on any business, the sandbox's or a real one.
"""

from __future__ import annotations

from django.db import transaction

from workflows.models import Step, Workflow

EXAMPLE_NAME = "Invoice and collect payment"

EXAMPLE_INPUT = {
    "email": "accounts@acme-widgets.example.com",
    "description": "Consulting",
    "quantity": "2",
    "unit_price": "25.99",
    "invoice_date": "2025-03-01",
    "payment_date": "2025-03-05",
}

EXAMPLE_STEPS = [
    {"key": "find_contact", "method": "GET", "path": "/contacts", "query": {"email": "{{ trigger.email }}"}},
    {"key": "sales_ledger", "method": "GET", "path": "/ledger_accounts", "query": {"visible_in": "sales"}},
    {"key": "bank_account", "method": "GET", "path": "/bank_accounts", "query": {}},
    {
        "key": "create_invoice",
        "method": "POST",
        "path": "/sales_invoices",
        "body": {
            "sales_invoice": {
                "contact_id": "{{ steps.find_contact.response.$items.0.id }}",
                "date": "{{ trigger.invoice_date }}",
                "reference": "Workflow: {{ trigger.description }}",
                "invoice_lines": [
                    {
                        "description": "{{ trigger.description }}",
                        "ledger_account_id": "{{ steps.sales_ledger.response.$items.0.id }}",
                        "quantity": "{{ trigger.quantity }}",
                        "unit_price": "{{ trigger.unit_price }}",
                    }
                ],
            }
        },
    },
    {
        "key": "record_payment",
        "method": "POST",
        "path": "/contact_payments",
        "body": {
            "contact_payment": {
                "transaction_type_id": "CUSTOMER_RECEIPT",
                "payment_method_id": "CREDIT_DEBIT",
                "contact_id": "{{ steps.find_contact.response.$items.0.id }}",
                "bank_account_id": "{{ steps.bank_account.response.$items.0.id }}",
                "date": "{{ trigger.payment_date }}",
                "total_amount": "{{ steps.create_invoice.response.total_amount }}",
                "allocated_artefacts": [
                    {
                        "artefact_id": "{{ steps.create_invoice.response.id }}",
                        "amount": "{{ steps.create_invoice.response.total_amount }}",
                    }
                ],
            }
        },
    },
]


@transaction.atomic
def ensure_example_workflow() -> tuple[Workflow, bool]:
    """Create the example (idempotent: an existing one, perhaps edited since, is left as it is)."""
    workflow, created = Workflow.objects.get_or_create(
        name=EXAMPLE_NAME,
        defaults={
            "description": "Find the customer by email, invoice them, and record their payment against the "
            "invoice. Try it with Run now or Test run: the sample input uses the sandbox's demo customer.",
            "event_name": "invoice.requested",
            "sample_input": EXAMPLE_INPUT,
        },
    )
    if created:
        Step.objects.bulk_create(
            [
                Step(workflow=workflow, position=position, **step)
                for position, step in enumerate(EXAMPLE_STEPS)
            ]
        )
    return workflow, created
