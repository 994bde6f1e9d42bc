"""Fixtures for the sandbox's accounting resources: Sam's business with its books, customers and invoices.

Loaded by tests/sandbox/conftest.py. Tokens come from core's `access_token` fixture (the real OAuth code flow)."""

import pytest

from sandbox.models import Business, Contact
from sandbox.resources.contacts import create_contact
from sandbox.resources.sales_invoices import create_invoice
from sandbox.seed import Ledgers, seed_reference_data
from sandbox.seed_identities import fixed_id


@pytest.fixture
def business(sam) -> Business:
    """Sam's lead business (GB, GBP): what a request without X-Business reaches."""
    return Business.objects.get(id=fixed_id("business:demo-trading"))


@pytest.fixture
def other_business(sam) -> Business:
    """Sam's second business (IE, EUR), reached with X-Business."""
    return Business.objects.get(id=fixed_id("business:sam-services"))


@pytest.fixture
def books(business) -> Ledgers:
    return seed_reference_data(business)


@pytest.fixture
def sales_ledger(books):
    return next(ledger for ledger in books.sales_ledgers if ledger.nominal_code == 4000)


@pytest.fixture
def bank_account(books):
    return books.bank_accounts[0]


@pytest.fixture
def sage(api, access_token):
    """sage("get", "/contacts", json=…, headers=…): the sandbox API with Sam's full_access token."""

    def request(method: str, path: str, **kwargs):
        return api(method, path, access_token, **kwargs)

    return request


@pytest.fixture
def make_customer(business, books):
    counter = iter(range(1, 10_000))

    def make(
        name: str | None = None, *, email: str | None = None, target: Business | None = None, **extra
    ) -> Contact:
        number = next(counter)
        body = {"name": name or f"Customer {number}", "contact_type_ids": ["CUSTOMER"], **extra}
        if email:
            body["main_contact_person"] = {"email": email}
        return create_contact(business=target or business, body=body)

    return make


@pytest.fixture
def make_invoice(business, sales_ledger):
    def make(contact: Contact, *lines: tuple[str, str, str | None], date: str = "2025-03-01", **extra):
        """Lines as (quantity, unit_price, tax_rate_id); default one line of 1 x 100.00 at GB_STANDARD."""
        lines = lines or (("1", "100.00", "GB_STANDARD"),)
        body = {
            "contact_id": contact.id,
            "date": date,
            "invoice_lines": [
                {
                    "description": f"Line {index}",
                    "ledger_account_id": sales_ledger.id,
                    "quantity": quantity,
                    "unit_price": unit_price,
                    **({"tax_rate_id": tax_rate} if tax_rate else {}),
                }
                for index, (quantity, unit_price, tax_rate) in enumerate(lines)
            ],
            **extra,
        }
        return create_invoice(business=business, body=body)

    return make


def errors_by_source(response) -> dict[str, dict]:
    """Sage's 422 error list keyed by `$source`, after checking every entry has Sage's four keys."""
    assert response.status_code == 422, response.content
    body = response.json()
    assert isinstance(body, list) and body
    for error in body:
        assert set(error) == {"$severity", "$dataCode", "$message", "$source"}
        assert error["$severity"] == "error"
    return {error["$source"]: error for error in body}
