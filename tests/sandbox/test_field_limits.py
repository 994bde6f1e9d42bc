"""Sage's maxLengths on the hand-written resources: a value over the limit is a 422 naming the field in Sage's error
list (nothing stored, nothing cut short), a value at the limit is accepted, and what the sandbox makes up itself
(contact references) always fits. The tables are held to Sage's description in test_fidelity_openapi.py."""

import pytest

from sandbox.models import Contact, ContactPayment, SalesInvoice
from sandbox.seed import seed_reference
from sandbox.validation import too_long_errors
from tests.sandbox.accounting_world import errors_by_source

CUSTOMER = {"name": "Limits Ltd", "contact_type_ids": ["CUSTOMER"]}


def assert_too_long(response, source: str, limit: int) -> None:
    errors = errors_by_source(response)
    assert source in errors, errors
    assert errors[source]["$dataCode"] == "RecordInvalid"
    assert f"maximum is {limit} characters" in errors[source]["$message"]


def test_contact_reference_over_ten_characters_is_422_and_nothing_is_created(sage, books):
    response = sage("post", "/contacts", json={"contact": {**CUSTOMER, "reference": "R" * 11}})

    assert_too_long(response, "reference", 10)
    assert not Contact.objects.filter(name="Limits Ltd").exists()


def test_contact_reference_of_exactly_ten_characters_is_accepted(sage, books):
    response = sage("post", "/contacts", json={"contact": {**CUSTOMER, "reference": "R" * 10}})

    assert response.status_code == 201, response.content
    assert response.json()["reference"] == "R" * 10


def test_every_field_over_its_limit_is_named_at_once_including_nested_ones(sage, books):
    body = {
        **CUSTOMER,
        "name": "N" * 101,
        "notes": "n" * 4001,
        "main_address": {"postal_code": "P" * 11, "city": "Bath"},
        "main_contact_person": {"email": "e" * 90 + "@example.com"},
    }

    errors = errors_by_source(sage("post", "/contacts", json={"contact": body}))

    assert set(errors) == {"name", "notes", "main_address.postal_code", "main_contact_person.email"}


def test_update_over_a_limit_is_422_and_the_contact_is_unchanged(sage, make_customer):
    contact = make_customer("Before Ltd")

    response = sage("put", f"/contacts/{contact.id}", json={"contact": {"name": "x" * 101}})

    assert_too_long(response, "name", 100)
    contact.refresh_from_db()
    assert contact.name == "Before Ltd"


def test_invoice_reference_over_its_limit_is_422(sage, make_customer, sales_ledger):
    body = {
        "contact_id": make_customer().id,
        "date": "2025-03-01",
        "reference": "PO" * 13,
        "invoice_lines": [
            {"description": "Thing", "ledger_account_id": sales_ledger.id, "unit_price": "10.00"}
        ],
    }

    assert_too_long(sage("post", "/sales_invoices", json={"sales_invoice": body}), "reference", 25)
    assert not SalesInvoice.objects.exists()


def test_invoice_update_over_a_limit_is_422(sage, make_customer, make_invoice):
    invoice = make_invoice(make_customer())

    response = sage("put", f"/sales_invoices/{invoice.id}", json={"sales_invoice": {"notes": "n" * 2001}})

    assert_too_long(response, "notes", 2000)


def test_void_reason_over_its_limit_is_422_and_the_invoice_stays(sage, make_customer, make_invoice):
    invoice = make_invoice(make_customer())

    response = sage("delete", f"/sales_invoices/{invoice.id}?void_reason={'v' * 201}")

    assert_too_long(response, "void_reason", 200)
    invoice.refresh_from_db()
    assert invoice.status != SalesInvoice.VOID


def test_payment_reference_over_its_limit_is_422(sage, make_customer, bank_account):
    body = {
        "transaction_type_id": "CUSTOMER_RECEIPT",
        "contact_id": make_customer().id,
        "bank_account_id": bank_account.id,
        "date": "2025-03-05",
        "total_amount": "10.00",
        "reference": "R" * 26,
    }

    assert_too_long(sage("post", "/contact_payments", json={"contact_payment": body}), "reference", 25)
    assert not ContactPayment.objects.exists()


def test_generated_references_fit_ten_characters_and_stay_unique(sage, books):
    references = [
        sage(
            "post",
            "/contacts",
            json={"contact": {"name": "Acme Widgets International", "contact_type_ids": ["CUSTOMER"]}},
        ).json()["reference"]
        for _ in range(12)
    ]

    assert references[:3] == ["ACMEWIDGET", "ACMEWIDG01", "ACMEWIDG02"]
    assert all(len(reference) <= 10 for reference in references)
    assert len(set(references)) == len(references)


def test_generated_reference_past_ninety_nine_gives_up_a_letter(sage, business, books):
    Contact.objects.bulk_create(
        Contact(business=business, name="Acme Widgets", reference=reference, is_customer=True)
        for reference in ["ACMEWIDGET", *(f"ACMEWIDG{number:02d}" for number in range(1, 100))]
    )

    body = sage(
        "post", "/contacts", json={"contact": {"name": "Acme Widgets", "contact_type_ids": ["CUSTOMER"]}}
    ).json()

    assert body["reference"] == "ACMEWID100"


def test_seed_references_fit_or_the_seed_refuses():
    assert seed_reference("demo", 42) == "DEMO00042"
    assert len(seed_reference("bulk", 999_999)) == 10
    with pytest.raises(ValueError, match="10-character"):
        seed_reference("bulk", 1_000_000)


def test_limits_apply_to_lists_of_objects_and_of_strings():
    limits = {"lines": {"description": 3}, "tags": 2}
    body = {
        "lines": [{"description": "ok"}, {"description": "long"}],
        "tags": ["ab", "abc"],
        "other": "x" * 99,
    }

    assert [error["$source"] for error in too_long_errors(body, limits)] == [
        "lines[1].description",
        "tags[1]",
    ]
