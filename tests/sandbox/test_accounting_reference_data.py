"""The read-only lists a client fills ids from: ledger accounts, bank accounts, tax rates, Sage's code lists."""

import pytest

from sandbox.seed import seed_reference_data
from sandbox.seed_identities import fixed_id


def items(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return response.json()["$items"]


def test_ledger_accounts_visible_in_sales_are_the_sales_ledgers(sage, books):
    ledgers = items(sage("get", "/ledger_accounts?visible_in=sales&attributes=nominal_code,visible_in_sales"))

    assert [ledger["nominal_code"] for ledger in ledgers] == [4000, 4010, 4020, 4900]
    assert all(ledger["visible_in_sales"] for ledger in ledgers)
    assert ledgers[0]["displayed_as"] == "Sales Type A (4000)"


def test_ledger_account_search_matches_name_or_nominal_code(sage, books):
    assert [item["displayed_as"] for item in items(sage("get", "/ledger_accounts?search=1200"))] == [
        "Current (1200)"
    ]
    assert {item["displayed_as"] for item in items(sage("get", "/ledger_accounts?search=petty"))} == {
        "Petty Cash (1230)"
    }


def test_bank_account_answers_its_ledger_and_details(sage, bank_account):
    body = sage("get", f"/bank_accounts/{bank_account.id}").json()

    assert body["ledger_account"]["displayed_as"] == "Current (1200)"
    assert body["bank_account_details"]["account_name"] == "Current Account"
    assert body["bank_account_type"]["id"] == "CHECKING"
    assert body["balance"] == "0.00"


def test_tax_rates_of_a_gb_business(sage, books):
    rates = items(sage("get", "/tax_rates?attributes=percentage"))

    assert {rate["id"]: rate["percentage"] for rate in rates} == {
        "GB_STANDARD": "20.00",
        "GB_LOWER": "5.00",
        "GB_ZERO": "0.00",
        "GB_EXEMPT": "0.00",
        "GB_NO_TAX": "0.00",
    }
    assert sage("get", "/tax_rates/GB_STANDARD").json()["displayed_as"] == "Standard 20.00%"


def test_tax_rates_follow_the_business_country(sage, other_business):
    seed_reference_data(other_business)

    rates = items(sage("get", "/tax_rates", headers={"X-Business": other_business.id}))

    assert "IE_STANDARD" in {rate["id"] for rate in rates}


def test_payment_methods_include_the_ones_the_seed_uses(sage, books):
    assert {"CREDIT_DEBIT", "CASH", "CHECK", "BANK_TRANSFER"} <= {
        item["id"] for item in items(sage("get", "/payment_methods"))
    }
    assert sage("get", "/payment_methods/CREDIT_DEBIT").json() == {
        "id": "CREDIT_DEBIT",
        "displayed_as": "Credit/Debit Card",
        "$path": "/payment_methods/CREDIT_DEBIT",
    }


def test_transaction_types_include_the_payment_types(sage, books):
    found = {item["id"] for item in items(sage("get", "/transaction_types"))}

    assert {
        "SALES_INVOICE",
        "CUSTOMER_RECEIPT",
        "CUSTOMER_REFUND",
        "VENDOR_PAYMENT",
        "VENDOR_REFUND",
    } <= found


def test_unknown_code_is_sages_404(sage, books):
    response = sage("get", "/payment_methods/SEASHELLS")

    assert response.status_code == 404
    assert response.json()[0]["$dataCode"] == "RecordNotFound"


def test_sages_code_lists_are_read_only(sage, books):
    response = sage("post", "/payment_methods", json={"payment_method": {"name": "Mine"}})

    assert response.status_code == 405


def test_ledger_ids_are_stable_per_business(books, business):
    ledger = next(ledger for ledger in books.sales_ledgers if ledger.nominal_code == 4000)

    assert ledger.id == fixed_id(f"{business.id}:ledger:4000")


@pytest.mark.parametrize(
    "path",
    [
        "/tax_rates/GB_STANDARD",
        "/countries",
        "/currencies/GBP",
        "/payment_methods",
        "/payment_methods/CASH",
    ],
)
def test_read_only_resources_refuse_writes_with_sages_405(sage, books, path):
    response = sage("post", path, json={})
    assert response.status_code == 405
    assert response.json()[0]["$dataCode"] == "MethodNotAllowed"
    assert "POST" in response.json()[0]["$message"]
    assert response["X-Business"]  # answered after the business was resolved, like every API answer
