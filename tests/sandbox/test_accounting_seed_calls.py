"""The seed's three calls against the demo world, exactly as a client makes them at Sage:
find a contact by email, create an invoice for it, pay the invoice with a CUSTOMER_RECEIPT."""

import pytest
from django.core.management import call_command

from sandbox.seed import DEMO_CONTACTS


@pytest.fixture
def seeded(db):
    call_command("sandbox_seed", "--if-empty", verbosity=0)


def test_find_contact_create_invoice_and_pay_it(seeded, sage):
    demo = DEMO_CONTACTS["demo-trading"]

    # 1. GET /contacts?email=…
    found = sage("get", f"/contacts?email={demo.email}")
    assert found.status_code == 200
    assert found.json()["$total"] == 1
    contact = found.json()["$items"][0]
    assert set(contact) == {"id", "displayed_as", "$path"}

    ledger = sage("get", "/ledger_accounts?visible_in=sales").json()["$items"][0]
    bank = sage("get", "/bank_accounts").json()["$items"][0]

    # 2. POST /sales_invoices (wrapped), amounts as decimal strings like the seed sends them
    created = sage(
        "post",
        "/sales_invoices",
        json={
            "sales_invoice": {
                "contact_id": contact["id"],
                "date": "2025-06-01",
                "reference": "ORDER-1",
                "invoice_lines": [
                    {
                        "description": "Blue widget",
                        "ledger_account_id": ledger["id"],
                        "quantity": 1,
                        "unit_price": "25.99",
                        "tax_rate_id": "GB_STANDARD",
                    }
                ],
            }
        },
    )
    assert created.status_code == 201, created.content
    invoice = created.json()
    assert (invoice["total_amount"], invoice["outstanding_amount"], invoice["status"]["id"]) == (
        "31.19",
        "31.19",
        "UNPAID",
    )

    # 3. POST /contact_payments: CUSTOMER_RECEIPT allocated to the invoice
    paid = sage(
        "post",
        "/contact_payments",
        json={
            "contact_payment": {
                "transaction_type_id": "CUSTOMER_RECEIPT",
                "contact_id": contact["id"],
                "bank_account_id": bank["id"],
                "payment_method_id": "CREDIT_DEBIT",
                "date": "2025-06-02",
                "total_amount": invoice["total_amount"],
                "allocated_artefacts": [{"artefact_id": invoice["id"], "amount": invoice["total_amount"]}],
            }
        },
    )
    assert paid.status_code == 201, paid.content
    assert paid.json()["allocated_artefacts"][0]["artefact"]["id"] == invoice["id"]

    after = sage("get", f"/sales_invoices/{invoice['id']}").json()
    assert (after["status"]["id"], after["outstanding_amount"]) == ("PAID", "0.00")
