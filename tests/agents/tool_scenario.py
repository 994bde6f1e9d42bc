"""The seed's three actions (find the customer → invoice them → record their payment) done with the agent tools,
every tool of the catalogue used once, written once and run through each way in (HTTP tools API, MCP over HTTP in
both protocol modes, MCP over stdio). `call(name, arguments)` returns (ok, output-or-error)."""

import uuid
from collections.abc import Callable
from decimal import Decimal

Call = Callable[[str, dict], tuple[bool, object]]

# The actions issue 16 names; the catalogue offers at least these.
ISSUE_TOOLS = {
    "search_contacts",
    "get_contact",
    "create_contact",
    "list_sales_invoices",
    "get_sales_invoice",
    "create_sales_invoice",
    "record_customer_receipt",
    "list_ledger_accounts",
    "list_bank_accounts",
    "list_tax_rates",
}


def ok(call: Call, name: str, arguments: dict) -> dict:
    succeeded, output = call(name, arguments)
    assert succeeded, f"{name} failed: {output}"
    return output


def run_tool_chain(call: Call) -> dict:
    email = f"agent-{uuid.uuid4().hex[:10]}@example.com"
    created = ok(
        call,
        "create_contact",
        {
            "name": "Agent Buyer Ltd",
            "contact_type_ids": ["CUSTOMER"],
            "email": email,
            "notes": "made by a tool",
        },
    )
    assert created["name"] == "Agent Buyer Ltd" and created["email"] == email
    assert [kind["id"] for kind in created["contact_types"]] == ["CUSTOMER"]

    # 1. Find the customer.
    found = ok(call, "search_contacts", {"email": email})
    assert [item["id"] for item in found["items"]] == [created["id"]]
    assert found["total"] == 1 and found["has_more"] is False
    contact = ok(call, "get_contact", {"id": created["id"]})
    assert contact["email"] == email and "$path" not in contact

    sales_ledgers = ok(call, "list_ledger_accounts", {"visible_in": "sales", "items_per_page": 5})
    assert sales_ledgers["items"] and all(
        "sales" in item["visible_scopes"] for item in sales_ledgers["items"]
    )
    bank_accounts = ok(call, "list_bank_accounts", {})
    tax_rates = ok(call, "list_tax_rates", {})
    zero_rate = next(rate for rate in tax_rates["items"] if Decimal(str(rate["percentage"])) == 0)

    # 2. Invoice them.
    invoice = ok(
        call,
        "create_sales_invoice",
        {
            "contact_id": created["id"],
            "date": "2025-03-01",
            "due_date": "2025-03-31",
            "reference": "AGENT-1",
            "invoice_lines": [
                {
                    "description": "Consulting",
                    "ledger_account_id": sales_ledgers["items"][0]["id"],
                    "quantity": "2",
                    "unit_price": "25.99",
                    "tax_rate_id": zero_rate["id"],
                }
            ],
        },
    )
    assert invoice["status"]["id"] == "UNPAID"
    total = Decimal(str(invoice["total_amount"]))
    assert total == Decimal("51.98")
    assert invoice["invoice_lines"][0]["description"] == "Consulting"

    listed = ok(
        call,
        "list_sales_invoices",
        {
            "contact_id": created["id"],
            "status_id": "UNPAID",
            "from_date": "2025-03-01",
            "to_date": "2025-03-01",
        },
    )
    assert [item["id"] for item in listed["items"]] == [invoice["id"]]
    outside = ok(call, "list_sales_invoices", {"contact_id": created["id"], "from_date": "2025-03-02"})
    assert outside["items"] == []

    # 3. Record their payment, allocated to the invoice.
    payment = ok(
        call,
        "record_customer_receipt",
        {
            "contact_id": created["id"],
            "bank_account_id": bank_accounts["items"][0]["id"],
            "date": "2025-03-05",
            "total_amount": str(total),
            "payment_method_id": "CREDIT_DEBIT",
            "allocations": [{"invoice_id": invoice["id"], "amount": str(total)}],
        },
    )
    assert payment["transaction_type"]["id"] == "CUSTOMER_RECEIPT"

    paid = ok(call, "get_sales_invoice", {"id": invoice["id"]})
    assert paid["status"]["id"] == "PAID"
    assert Decimal(str(paid["outstanding_amount"])) == 0
    return {"contact_id": created["id"], "invoice_id": invoice["id"], "payment_id": payment["id"]}
