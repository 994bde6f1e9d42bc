"""Writes to the books as Sage describes them: ledger accounts (create, update), bank accounts and tax rates
(create, update, delete), each checked against the description and the books' own rules."""

import pytest

from sandbox.models import BankAccount, LedgerAccount, TaxRate
from tests.sandbox.accounting_world import errors_by_source

pytestmark = pytest.mark.django_db

LEDGER = {
    "name": "Consulting Income",
    "display_name": "Consulting Income",
    "nominal_code": 4100,
    "ledger_account_type_id": "SALES",
    "included_in_chart": True,
    "tax_rate_id": "GB_STANDARD",
    "visible_in_sales": True,
}


def test_ledger_account_is_created_and_listed_for_sales(sage, books):
    response = sage("post", "/ledger_accounts", json={"ledger_account": LEDGER})

    assert response.status_code == 201
    ledger = response.json()
    assert (ledger["displayed_as"], ledger["ledger_account_type"]["id"]) == (
        "Consulting Income (4100)",
        "SALES",
    )
    assert ledger["tax_rate"]["id"] == "GB_STANDARD"
    sales = {item["id"] for item in sage("get", "/ledger_accounts?visible_in=sales").json()["$items"]}
    assert ledger["id"] in sales


def test_ledger_account_nominal_code_must_be_free(sage, books):
    errors = errors_by_source(
        sage("post", "/ledger_accounts", json={"ledger_account": {**LEDGER, "nominal_code": 4000}})
    )

    assert set(errors) == {"nominal_code"}
    assert not LedgerAccount.objects.filter(name="Consulting Income").exists()


def test_ledger_account_create_names_missing_and_mistyped_fields(sage, books):
    body = {"name": "Half", "nominal_code": "forty", "ledger_account_type_id": "NOPE"}

    errors = errors_by_source(sage("post", "/ledger_accounts", json={"ledger_account": body}))

    assert set(errors) == {"display_name", "included_in_chart", "nominal_code", "ledger_account_type_id"}


def test_ledger_account_update_renames_it(sage, sales_ledger):
    response = sage(
        "put", f"/ledger_accounts/{sales_ledger.id}", json={"ledger_account": {"name": "Widgets"}}
    )

    assert response.status_code == 200
    assert response.json()["displayed_as"] == "Widgets (4000)"


def test_bank_account_create_opens_its_own_bank_ledger(sage, books):
    body = {
        "bank_account_type_id": "SAVINGS",
        "bank_account_details": {
            "account_name": "Reserve",
            "account_number": "12345678",
            "sort_code": "40-11-22",
        },
        "default_payment_method_id": "BANK_TRANSFER",
    }

    response = sage("post", "/bank_accounts", json={"bank_account": body})

    assert response.status_code == 201
    account = response.json()
    assert account["bank_account_details"]["account_name"] == "Reserve"
    assert account["bank_account_type"]["id"] == "SAVINGS"
    ledger = LedgerAccount.objects.get(id=account["ledger_account"]["id"])
    assert (ledger.ledger_account_type, ledger.nominal_code) == ("BANK", 1201)
    assert account["balance"] == "0.00"


def test_bank_account_create_needs_its_type(sage, books):
    errors = errors_by_source(sage("post", "/bank_accounts", json={"bank_account": {"nominal_code": 1299}}))

    assert set(errors) == {"bank_account_type_id"}


def test_bank_account_update_and_delete(sage, books):
    account = books.bank_accounts[1]

    renamed = sage(
        "put",
        f"/bank_accounts/{account.id}",
        json={"bank_account": {"bank_account_details": {"account_name": "Rainy Day"}}},
    )
    assert renamed.json()["bank_account_details"]["account_name"] == "Rainy Day"

    assert sage("delete", f"/bank_accounts/{account.id}").status_code == 204
    assert sage("get", f"/bank_accounts/{account.id}").status_code == 404
    deleted = sage("get", "/bank_accounts?deleted_since=2000-01-01T00:00:00Z").json()["$items"]
    assert [item["id"] for item in deleted] == [account.id]


def test_bank_account_with_payments_cannot_be_deleted(sage, bank_account, make_customer, make_invoice):
    customer = make_customer("Payer Ltd")
    invoice = make_invoice(customer)
    payment = {
        "transaction_type_id": "CUSTOMER_RECEIPT",
        "contact_id": customer.id,
        "bank_account_id": bank_account.id,
        "date": "2025-04-01",
        "total_amount": "10.00",
        "allocated_artefacts": [{"artefact_id": invoice.id, "amount": "10.00"}],
    }
    assert sage("post", "/contact_payments", json={"contact_payment": payment}).status_code == 201

    response = sage("delete", f"/bank_accounts/{bank_account.id}")

    assert response.status_code == 422
    assert BankAccount.objects.alive().filter(id=bank_account.id).exists()


def test_tax_rate_create_update_and_delete(sage, books):
    created = sage("post", "/tax_rates", json={"tax_rate": {"name": "Import Duty", "percentage": "7.5"}})
    assert created.status_code == 201
    rate = created.json()
    assert (rate["displayed_as"], rate["percentage"]) == ("Import Duty 7.50%", "7.50")

    updated = sage("put", rate["$path"], json={"tax_rate": {"percentage": 8, "is_visible": False}})
    assert (updated.json()["percentage"], updated.json()["is_visible"]) == ("8.00", False)

    assert sage("delete", rate["$path"]).status_code == 204
    assert sage("get", rate["$path"]).status_code == 404


def test_tax_rate_used_on_an_invoice_cannot_be_deleted(sage, make_customer, make_invoice):
    make_invoice(make_customer("Taxed Ltd"))

    response = sage("delete", "/tax_rates/GB_STANDARD")

    assert response.status_code == 422
    assert TaxRate.objects.filter(key="GB_STANDARD").exists()


def test_tax_rate_create_needs_a_name(sage, books):
    assert set(errors_by_source(sage("post", "/tax_rates", json={"tax_rate": {"is_visible": "yes"}}))) == {
        "name",
        "is_visible",
    }
