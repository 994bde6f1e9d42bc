"""/sales_invoices: create with totals from lines and tax, Sage's 422 validation, filters, update, release, void."""

import datetime as dt

import pytest

from sandbox.models import SalesInvoice
from tests.sandbox.accounting_world import errors_by_source


@pytest.fixture
def customer(make_customer):
    return make_customer("Acme", email="accounts@acme.example.com")


def invoice_body(contact, ledger, **overrides) -> dict:
    body = {
        "contact_id": contact.id,
        "date": "2025-04-01",
        "invoice_lines": [
            {
                "description": "Widgets",
                "ledger_account_id": ledger.id,
                "quantity": 2,
                "unit_price": "25.99",
                "tax_rate_id": "GB_STANDARD",
            },
        ],
    }
    body.update(overrides)
    return {"sales_invoice": body}


def ids(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {item["id"] for item in response.json()["$items"]}


# --- create and totals -------------------------------------------------------------------------------


def test_create_answers_201_with_totals_from_quantity_price_and_tax(sage, customer, sales_ledger):
    response = sage("post", "/sales_invoices", json=invoice_body(customer, sales_ledger))

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["net_amount"] == "51.98"
    assert body["tax_amount"] == "10.40"  # 20% of 51.98 = 10.396, half-up
    assert body["total_amount"] == "62.38"
    assert body["outstanding_amount"] == "62.38"
    assert body["status"]["id"] == "UNPAID"
    assert body["contact"] == {
        "id": customer.id,
        "displayed_as": customer.displayed_as,
        "$path": f"/contacts/{customer.id}",
    }
    assert body["invoice_number"] == body["displayed_as"] == "SI-1"
    assert body["due_date"] == "2025-05-01"  # contact without credit days: 30 days
    assert body["invoice_lines"][0]["tax_rate"]["id"] == "GB_STANDARD"


def test_totals_add_up_lines_with_different_rates(sage, customer, sales_ledger):
    lines = [
        {
            "description": "A",
            "ledger_account_id": sales_ledger.id,
            "quantity": "3",
            "unit_price": 10.5,
            "tax_rate_id": "GB_STANDARD",
        },
        {
            "description": "B",
            "ledger_account_id": sales_ledger.id,
            "quantity": 1,
            "unit_price": "19.99",
            "tax_rate_id": "GB_LOWER",
        },
        {
            "description": "C",
            "ledger_account_id": sales_ledger.id,
            "unit_price": "7",
            "tax_rate_id": "GB_ZERO",
        },
    ]

    body = sage(
        "post", "/sales_invoices", json=invoice_body(customer, sales_ledger, invoice_lines=lines)
    ).json()

    # A: 31.50 + 6.30; B: 19.99 + 1.00 (0.9995 half-up); C: 7.00 (quantity defaults to 1) + 0
    assert [line["net_amount"] for line in body["invoice_lines"]] == ["31.50", "19.99", "7.00"]
    assert [line["tax_amount"] for line in body["invoice_lines"]] == ["6.30", "1.00", "0.00"]
    assert body["net_amount"] == "58.49"
    assert body["tax_amount"] == "7.30"
    assert body["total_amount"] == "65.79"
    assert {row["tax_rate"]["id"]: row["tax_amount"] for row in body["tax_analysis"]} == {
        "GB_STANDARD": "6.30",
        "GB_LOWER": "1.00",
        "GB_ZERO": "0.00",
    }


def test_line_without_tax_rate_has_no_tax(sage, customer, sales_ledger):
    line = {"description": "A", "ledger_account_id": sales_ledger.id, "unit_price": "10"}

    body = sage(
        "post", "/sales_invoices", json=invoice_body(customer, sales_ledger, invoice_lines=[line])
    ).json()

    assert body["total_amount"] == "10.00"
    assert body["invoice_lines"][0]["tax_rate"] is None


def test_unit_price_including_tax_is_split_into_net_and_tax(sage, customer, sales_ledger):
    line = {
        "description": "A",
        "ledger_account_id": sales_ledger.id,
        "unit_price": "120",
        "tax_rate_id": "GB_STANDARD",
        "unit_price_includes_tax": True,
    }

    body = sage(
        "post", "/sales_invoices", json=invoice_body(customer, sales_ledger, invoice_lines=[line])
    ).json()

    assert (body["net_amount"], body["tax_amount"], body["total_amount"]) == ("100.00", "20.00", "120.00")


def test_given_tax_amount_is_used_as_sent(sage, customer, sales_ledger):
    line = {
        "description": "A",
        "ledger_account_id": sales_ledger.id,
        "unit_price": "100",
        "tax_rate_id": "GB_STANDARD",
        "tax_amount": "19.99",
    }

    body = sage(
        "post", "/sales_invoices", json=invoice_body(customer, sales_ledger, invoice_lines=[line])
    ).json()

    assert body["tax_amount"] == "19.99"


def test_line_discount_reduces_the_net_amount(sage, customer, sales_ledger):
    line = {
        "description": "A",
        "ledger_account_id": sales_ledger.id,
        "quantity": 2,
        "unit_price": "50",
        "discount_amount": "10",
        "tax_rate_id": "GB_STANDARD",
    }

    body = sage(
        "post", "/sales_invoices", json=invoice_body(customer, sales_ledger, invoice_lines=[line])
    ).json()

    assert (body["net_amount"], body["tax_amount"], body["total_discount_amount"]) == (
        "90.00",
        "18.00",
        "10.00",
    )


def test_invoice_numbers_follow_each_other(sage, customer, sales_ledger):
    first = sage("post", "/sales_invoices", json=invoice_body(customer, sales_ledger)).json()
    second = sage("post", "/sales_invoices", json=invoice_body(customer, sales_ledger)).json()

    assert (first["invoice_number"], second["invoice_number"]) == ("SI-1", "SI-2")


def test_creating_an_invoice_raises_the_contact_balance(sage, customer, sales_ledger):
    sage("post", "/sales_invoices", json=invoice_body(customer, sales_ledger))

    assert sage("get", f"/contacts/{customer.id}").json()["balance"] == "62.38"


def test_draft_invoice_can_be_created_and_released(sage, customer, sales_ledger):
    draft = sage(
        "post", "/sales_invoices", json=invoice_body(customer, sales_ledger, status_id="DRAFT")
    ).json()
    assert draft["status"]["id"] == "DRAFT"
    assert sage("get", f"/contacts/{customer.id}").json()["balance"] == "0.00"

    released = sage("post", f"/sales_invoices/{draft['id']}/release")

    assert released.status_code == 201
    assert released.json()["status"]["id"] == "UNPAID"
    assert sage("get", f"/contacts/{customer.id}").json()["balance"] == "62.38"


def test_only_a_draft_can_be_released(sage, customer, make_invoice):
    unpaid = make_invoice(customer)

    response = sage("post", f"/sales_invoices/{unpaid.id}/release")

    assert response.status_code == 422
    assert sage("get", f"/sales_invoices/{unpaid.id}").json()["status"]["id"] == "UNPAID"


def test_release_takes_only_post(sage, customer, make_invoice):
    draft = make_invoice(customer, status_id="DRAFT")

    assert sage("get", f"/sales_invoices/{draft.id}/release").status_code == 405
    assert sage("get", f"/sales_invoices/{draft.id}").json()["status"]["id"] == "DRAFT"


# --- validation --------------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["contact_id", "date", "invoice_lines"])
def test_create_without_a_required_field_is_a_422_naming_it(sage, customer, sales_ledger, field):
    body = invoice_body(customer, sales_ledger)
    del body["sales_invoice"][field]

    response = sage("post", "/sales_invoices", json=body)

    assert field in errors_by_source(response)
    assert not SalesInvoice.objects.exists()


@pytest.mark.parametrize("field", ["description", "ledger_account_id", "unit_price"])
def test_line_without_a_required_field_is_a_422_naming_it(sage, customer, sales_ledger, field):
    body = invoice_body(customer, sales_ledger)
    del body["sales_invoice"]["invoice_lines"][0][field]

    response = sage("post", "/sales_invoices", json=body)

    assert f"invoice_lines[0].{field}" in errors_by_source(response)


def test_every_missing_field_is_named_in_one_answer(sage, books):
    response = sage("post", "/sales_invoices", json={"sales_invoice": {}})

    assert errors_by_source(response).keys() == {"contact_id", "date", "invoice_lines"}


def test_body_without_the_sales_invoice_wrapper_is_refused(sage, customer, sales_ledger):
    response = sage("post", "/sales_invoices", json=invoice_body(customer, sales_ledger)["sales_invoice"])

    assert errors_by_source(response).keys() == {"sales_invoice"}


def test_unknown_contact_is_refused(sage, customer, sales_ledger):
    body = invoice_body(customer, sales_ledger, contact_id="f" * 32)

    assert errors_by_source(sage("post", "/sales_invoices", json=body)).keys() == {"contact_id"}


def test_vendor_cannot_be_invoiced(sage, make_customer, sales_ledger):
    vendor = make_customer("Supplier", contact_type_ids=["VENDOR"])

    assert errors_by_source(
        sage("post", "/sales_invoices", json=invoice_body(vendor, sales_ledger))
    ).keys() == {"contact_id"}


def test_unknown_ledger_account_and_tax_rate_are_refused(sage, customer, sales_ledger):
    line = {"description": "A", "ledger_account_id": "e" * 32, "unit_price": "1", "tax_rate_id": "XX_NOPE"}

    response = sage(
        "post", "/sales_invoices", json=invoice_body(customer, sales_ledger, invoice_lines=[line])
    )

    assert errors_by_source(response).keys() == {
        "invoice_lines[0].ledger_account_id",
        "invoice_lines[0].tax_rate_id",
    }


def test_amount_that_is_not_a_number_is_refused(sage, customer, sales_ledger):
    line = {"description": "A", "ledger_account_id": sales_ledger.id, "unit_price": "ten"}

    response = sage(
        "post", "/sales_invoices", json=invoice_body(customer, sales_ledger, invoice_lines=[line])
    )

    assert errors_by_source(response).keys() == {"invoice_lines[0].unit_price"}


def test_bad_date_and_due_date_before_date_are_refused(sage, customer, sales_ledger):
    bad_date = sage("post", "/sales_invoices", json=invoice_body(customer, sales_ledger, date="01/04/2025"))
    early_due = sage(
        "post", "/sales_invoices", json=invoice_body(customer, sales_ledger, due_date="2025-03-01")
    )

    assert errors_by_source(bad_date).keys() == {"date"}
    assert errors_by_source(early_due).keys() == {"due_date"}


# --- list filters ------------------------------------------------------------------------------------


def test_contact_id_filter(sage, make_customer, make_invoice):
    mine, theirs = make_customer("Mine"), make_customer("Theirs")
    wanted = make_invoice(mine)
    make_invoice(theirs)

    assert ids(sage("get", f"/sales_invoices?contact_id={mine.id}")) == {wanted.id}


def test_status_id_filter(sage, customer, make_invoice):
    unpaid = make_invoice(customer)
    draft = make_invoice(customer, status_id="DRAFT")

    assert ids(sage("get", "/sales_invoices?status_id=UNPAID")) == {unpaid.id}
    assert ids(sage("get", "/sales_invoices?status_id=DRAFT")) == {draft.id}


def test_from_date_and_to_date_are_inclusive(sage, customer, make_invoice):
    march = make_invoice(customer, date="2025-03-01")
    april = make_invoice(customer, date="2025-04-15")
    make_invoice(customer, date="2025-05-01")

    assert ids(sage("get", "/sales_invoices?from_date=2025-03-01&to_date=2025-04-15")) == {march.id, april.id}


def test_search_finds_invoice_number_reference_and_contact_name(sage, make_customer, make_invoice):
    harbour = make_customer("Harbour Cafe")
    by_contact = make_invoice(harbour)
    by_reference = make_invoice(make_customer("Other"), reference="PO-HARB")
    by_number = make_invoice(make_customer("Third"))

    assert ids(sage("get", "/sales_invoices?search=harb")) == {by_contact.id, by_reference.id}
    assert ids(sage("get", f"/sales_invoices?search={by_number.invoice_number}")) == {by_number.id}


def test_updated_or_created_since_filter(sage, customer, make_invoice):
    old, new = make_invoice(customer), make_invoice(customer)
    SalesInvoice.objects.filter(pk=old.pk).update(updated_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
    SalesInvoice.objects.filter(pk=new.pk).update(updated_at=dt.datetime(2025, 2, 1, tzinfo=dt.UTC))

    assert ids(sage("get", "/sales_invoices?updated_or_created_since=2025-02-01T00:00:00Z")) == {new.id}


def test_sort_by_date_descending(sage, customer, make_invoice):
    make_invoice(customer, date="2025-03-01")
    make_invoice(customer, date="2025-05-01")
    make_invoice(customer, date="2025-04-01")

    items = sage("get", "/sales_invoices?sort=date:desc&attributes=date").json()["$items"]

    assert [item["date"] for item in items] == ["2025-05-01", "2025-04-01", "2025-03-01"]


def test_sort_takes_only_the_attributes_sage_lists(sage, customer, make_invoice):
    make_invoice(customer)

    response = sage("get", "/sales_invoices?sort=invoice_number")

    assert errors_by_source(response).keys() == {"sort"}


# --- update, void, delete ----------------------------------------------------------------------------


def test_update_replaces_lines_and_recomputes_totals(sage, customer, make_invoice, sales_ledger):
    invoice = make_invoice(customer)
    line = {
        "description": "New",
        "ledger_account_id": sales_ledger.id,
        "quantity": 3,
        "unit_price": "10",
        "tax_rate_id": "GB_STANDARD",
    }

    response = sage(
        "put",
        f"/sales_invoices/{invoice.id}",
        json={"sales_invoice": {"reference": "R2", "invoice_lines": [line]}},
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["reference"], body["total_amount"], body["outstanding_amount"]) == ("R2", "36.00", "36.00")
    assert [line["description"] for line in body["invoice_lines"]] == ["New"]
    assert sage("get", f"/contacts/{customer.id}").json()["balance"] == "36.00"


def test_void_needs_a_void_reason(sage, customer, make_invoice):
    invoice = make_invoice(customer)

    response = sage("delete", f"/sales_invoices/{invoice.id}")

    assert errors_by_source(response).keys() == {"void_reason"}
    assert sage("get", f"/sales_invoices/{invoice.id}").json()["status"]["id"] == "UNPAID"


def test_void_with_a_reason_answers_the_voided_invoice(sage, customer, make_invoice):
    invoice = make_invoice(customer)

    response = sage("delete", f"/sales_invoices/{invoice.id}?void_reason=Raised+in+error")

    assert response.status_code == 200
    body = response.json()
    assert (body["status"]["id"], body["void_reason"], body["outstanding_amount"]) == (
        "VOID",
        "Raised in error",
        "0.00",
    )
    assert sage("get", f"/sales_invoices/{invoice.id}").json()["status"]["id"] == "VOID"
    assert sage("get", f"/contacts/{customer.id}").json()["balance"] == "0.00"


def test_void_invoice_cannot_be_edited_or_voided_again(sage, customer, make_invoice):
    invoice = make_invoice(customer)
    sage("delete", f"/sales_invoices/{invoice.id}?void_reason=x")

    assert (
        sage("put", f"/sales_invoices/{invoice.id}", json={"sales_invoice": {"notes": "n"}}).status_code
        == 422
    )
    assert sage("delete", f"/sales_invoices/{invoice.id}?void_reason=x").status_code == 422


def test_invoice_with_payments_cannot_be_voided(sage, customer, make_invoice, bank_account):
    invoice = make_invoice(customer)
    sage(
        "post",
        "/contact_payments",
        json={
            "contact_payment": {
                "transaction_type_id": "CUSTOMER_RECEIPT",
                "contact_id": customer.id,
                "bank_account_id": bank_account.id,
                "date": "2025-04-02",
                "total_amount": "10",
                "allocated_artefacts": [{"artefact_id": invoice.id, "amount": "10"}],
            }
        },
    )

    response = sage("delete", f"/sales_invoices/{invoice.id}?void_reason=x")

    assert response.status_code == 422
    assert sage("get", f"/sales_invoices/{invoice.id}").json()["status"]["id"] == "PART_PAID"


def test_draft_is_deleted_outright_and_listed_in_deleted_since(sage, customer, make_invoice):
    draft = make_invoice(customer, status_id="DRAFT")

    response = sage("delete", f"/sales_invoices/{draft.id}")

    assert response.status_code == 204
    assert sage("get", f"/sales_invoices/{draft.id}").status_code == 404
    assert ids(sage("get", "/sales_invoices?deleted_since=2000-01-01T00:00:00Z")) == {draft.id}
    assert ids(sage("get", "/sales_invoices")) == set()


def test_deleted_since_is_not_inclusive(sage, customer, make_invoice):
    draft = make_invoice(customer, status_id="DRAFT")
    SalesInvoice.objects.filter(pk=draft.pk).update(deleted_at=dt.datetime(2025, 7, 1, 8, 0, tzinfo=dt.UTC))

    assert ids(sage("get", "/sales_invoices?deleted_since=2025-07-01T08:00:00Z")) == set()
    assert ids(sage("get", "/sales_invoices?deleted_since=2025-07-01T07:59:59Z")) == {draft.id}
