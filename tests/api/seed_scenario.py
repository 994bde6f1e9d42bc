"""The seed's three calls (find a contact by email → invoice it → receive its payment), written once and run
through each way of calling the proxy. `call(method, path, body=None)` returns (status, parsed JSON)."""

import uuid
from collections.abc import Callable
from decimal import Decimal

Call = Callable[..., tuple[int, object]]


def first_id(call: Call, path: str) -> str:
    status, envelope = call("GET", path)
    assert status == 200, envelope
    assert envelope["$items"], f"the sandbox business has nothing at {path}"
    return envelope["$items"][0]["id"]


def run_seed_calls(call: Call) -> dict:
    email = f"buyer-{uuid.uuid4().hex[:10]}@example.com"
    status, created = call(
        "POST",
        "/contacts",
        {"contact": {"name": "Seed Buyer Ltd", "contact_type_ids": ["CUSTOMER"], "email": email}},
    )
    assert status == 201, created
    sales_ledger_id = first_id(call, "/ledger_accounts?visible_in=sales")
    bank_account_id = first_id(call, "/bank_accounts")

    # 1. Find the contact by email.
    status, found = call("GET", f"/contacts?email={email}&attributes=email")
    assert status == 200, found
    assert [item["id"] for item in found["$items"]] == [created["id"]]
    contact_id = found["$items"][0]["id"]

    # 2. Invoice it (Sage's wrapped body; amounts as decimal strings, as the seed sends them).
    status, invoice = call(
        "POST",
        "/sales_invoices",
        {
            "sales_invoice": {
                "contact_id": contact_id,
                "date": "2025-03-01",
                "due_date": "2025-03-31",
                "reference": "SEED-1",
                "invoice_lines": [
                    {
                        "description": "Consulting",
                        "ledger_account_id": sales_ledger_id,
                        "quantity": "2",
                        "unit_price": "25.99",
                    }
                ],
            }
        },
    )
    assert status == 201, invoice
    total = Decimal(str(invoice["total_amount"]))
    assert total >= Decimal("51.98")
    assert Decimal(str(invoice["outstanding_amount"])) == total

    # 3. Receive the payment, allocated to the invoice.
    status, payment = call(
        "POST",
        "/contact_payments",
        {
            "contact_payment": {
                "transaction_type_id": "CUSTOMER_RECEIPT",
                "payment_method_id": "CREDIT_DEBIT",
                "contact_id": contact_id,
                "bank_account_id": bank_account_id,
                "date": "2025-03-05",
                "total_amount": str(total),
                "allocated_artefacts": [{"artefact_id": invoice["id"], "amount": str(total)}],
            }
        },
    )
    assert status == 201, payment

    # The invoice now reads back as paid, nothing outstanding.
    status, paid = call("GET", f"/sales_invoices/{invoice['id']}")
    assert status == 200, paid
    assert paid["status"]["id"] == "PAID"
    assert Decimal(str(paid["outstanding_amount"])) == Decimal("0")
    return {"contact_id": contact_id, "invoice_id": invoice["id"], "payment_id": payment["id"]}
