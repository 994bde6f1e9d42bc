"""Resources served by the generic engine, one behaviour per test: products, purchase invoices, journals,
settings, reference lists — records per business, Sage's envelope and filters, validation with Sage's 422."""

import pytest
from django.core.management import call_command

from sandbox.models import GenericRecord
from sandbox.seed import DEMO_CONTACTS, GENERIC_RECORDS_PER_RESOURCE
from tests.sandbox.accounting_world import errors_by_source

pytestmark = pytest.mark.django_db


@pytest.fixture
def product_body(books):
    sales = next(ledger for ledger in books.sales_ledgers if ledger.nominal_code == 4000)
    return {
        "description": "Blue Widget",
        "item_code": "WIDGET-BLUE",
        "sales_ledger_account_id": sales.id,
        "purchase_ledger_account_id": sales.id,
        "sales_tax_rate_id": "GB_STANDARD",
        "cost_price": 4.5,
        "sales_prices": [{"price_name": "Selling Price", "price": "12.99", "price_includes_tax": False}],
    }


@pytest.fixture
def vendor(make_customer):
    return make_customer("Paper Supplies Ltd", contact_type_ids=["VENDOR"])


def create(sage, path: str, wrapper: str, body: dict) -> dict:
    response = sage("post", path, json={wrapper: body})
    assert response.status_code == 201, response.content
    return response.json()


def test_product_is_created_with_sages_links_and_read_back_by_key(sage, product_body, books):
    product = create(sage, "/products", "product", product_body)

    assert len(product["id"]) == 32
    assert product["$path"] == f"/products/{product['id']}"
    assert product["displayed_as"] == "WIDGET-BLUE"
    assert product["sales_ledger_account"] == {
        "id": product_body["sales_ledger_account_id"],
        "displayed_as": "Sales Type A (4000)",
        "$path": f"/ledger_accounts/{product_body['sales_ledger_account_id']}",
    }
    assert product["sales_tax_rate"]["id"] == "GB_STANDARD"
    assert product["cost_price"] == "4.50"
    assert product["sales_prices"][0]["price"] == "12.99"
    assert len(product["sales_prices"][0]["id"]) == 32
    assert product["created_at"].endswith("Z")
    assert product["deletable"] is True
    assert sage("get", product["$path"]).json() == product


def test_a_body_without_its_wrapper_is_refused_naming_the_wrapper(sage, product_body):
    errors = errors_by_source(sage("post", "/products", json=product_body))

    assert set(errors) == {"product"}


def test_every_missing_required_field_is_named_in_one_422(sage):
    errors = errors_by_source(sage("post", "/products", json={"product": {"item_code": "X"}}))

    assert set(errors) == {"description", "sales_ledger_account_id", "purchase_ledger_account_id"}
    assert errors["description"]["$dataCode"] == "RecordInvalid"


def test_a_field_longer_than_its_max_length_is_refused(sage, product_body):
    errors = errors_by_source(
        sage("post", "/products", json={"product": {**product_body, "item_code": "x" * 256}})
    )

    assert set(errors) == {"item_code"}
    assert "255" in errors["item_code"]["$message"]


def test_a_nested_field_longer_than_its_max_length_is_named_with_its_path(sage, books):
    line = {"ledger_account_id": books.sales_ledgers[0].id, "debit": "1", "credit": "0"}
    body = {
        "date": "2025-03-01",
        "reference": "J",
        "journal_lines": [line],
        "journal_code": {"name": "n" * 256},
    }

    errors = errors_by_source(sage("post", "/journals", json={"journal": body}))

    assert set(errors) == {"journal_code.name"}
    assert errors["journal_code.name"]["$message"] == "name is too long (maximum is 255 characters)"


def test_a_value_of_the_wrong_type_is_refused(sage, product_body):
    body = {**product_body, "cost_price": "four", "active": "yes", "sales_prices": [{"price": []}]}

    errors = errors_by_source(sage("post", "/products", json={"product": body}))

    assert set(errors) == {"cost_price", "active", "sales_prices[0].price"}


def test_an_id_of_the_wrong_resource_is_refused(sage, product_body, make_customer):
    contact = make_customer("Not A Ledger Ltd")
    body = {**product_body, "sales_ledger_account_id": contact.id, "catalog_item_type_id": "SPACESHIP"}

    errors = errors_by_source(sage("post", "/products", json={"product": body}))

    assert set(errors) == {"sales_ledger_account_id", "catalog_item_type_id"}
    assert "/ledger_accounts" in errors["sales_ledger_account_id"]["$message"]


def test_nothing_is_stored_when_a_create_is_refused(sage, product_body):
    sage("post", "/products", json={"product": {**product_body, "item_code": "x" * 256}})

    assert not GenericRecord.objects.filter(resource="products").exists()


def test_put_merges_the_given_fields_and_keeps_the_others(sage, product_body):
    product = create(sage, "/products", "product", product_body)

    response = sage("put", product["$path"], json={"product": {"notes": "Fragile", "cost_price": "5"}})

    assert response.status_code == 200
    updated = response.json()
    assert updated["notes"] == "Fragile"
    assert updated["cost_price"] == "5.00"
    assert updated["item_code"] == "WIDGET-BLUE"
    assert updated["sales_ledger_account"] == product["sales_ledger_account"]
    assert updated["updated_at"] >= product["updated_at"]


def test_put_checks_what_it_is_given(sage, product_body):
    product = create(sage, "/products", "product", product_body)

    errors = errors_by_source(sage("put", product["$path"], json={"product": {"notes": "x" * 501}}))

    assert set(errors) == {"notes"}
    assert sage("get", product["$path"]).json()["notes"] is None


def test_delete_removes_the_record_and_deleted_since_lists_it(sage, product_body):
    product = create(sage, "/products", "product", product_body)
    kept = create(sage, "/products", "product", {**product_body, "item_code": "KEPT"})

    assert sage("delete", product["$path"]).status_code == 204

    assert sage("get", product["$path"]).status_code == 404
    assert [item["id"] for item in sage("get", "/products").json()["$items"]] == [kept["id"]]
    deleted = sage("get", "/products?deleted_since=2000-01-01T00:00:00Z&attributes=all").json()["$items"]
    assert [item["id"] for item in deleted] == [product["id"]]
    assert deleted[0]["deleted_at"]


def test_lists_page_search_and_filter_by_change_time(sage, product_body):
    for code in ("ALPHA", "BRAVO", "CHARLIE"):
        create(sage, "/products", "product", {**product_body, "item_code": code})

    page = sage("get", "/products?items_per_page=2&page=2").json()
    assert (page["$total"], page["$page"], page["$itemsPerPage"]) == (3, 2, 2)
    assert [item["displayed_as"] for item in page["$items"]] == ["CHARLIE"]
    assert set(page["$items"][0]) == {"id", "displayed_as", "$path"}
    assert page["$back"] == "/products?page=1&items_per_page=2"
    assert page["$next"] is None

    found = sage("get", "/products?search=brav").json()["$items"]
    assert [item["displayed_as"] for item in found] == ["BRAVO"]

    assert sage("get", "/products?updated_or_created_since=2999-01-01T00:00:00Z").json()["$total"] == 0
    assert sage("get", "/products?updated_or_created_since=2000-01-01").json()["$total"] == 3
    assert sage("get", "/products?attributes=item_code").json()["$items"][0]["item_code"] == "ALPHA"


def test_search_matches_codes_and_descriptions_and_active_filters(sage, product_body):
    create(sage, "/products", "product", {**product_body, "item_code": "A-1", "description": "Red Chair"})
    create(
        sage,
        "/products",
        "product",
        {**product_body, "item_code": "B-2", "description": "Oak Table", "active": False},
    )

    assert [item["displayed_as"] for item in sage("get", "/products?search=chair").json()["$items"]] == [
        "A-1"
    ]
    assert [item["displayed_as"] for item in sage("get", "/products?active=false").json()["$items"]] == [
        "B-2"
    ]


def test_artefacts_sort_by_date_and_search_by_contact_name(sage, books, vendor):
    line = {
        "description": "Item",
        "ledger_account_id": books.sales_ledgers[0].id,
        "quantity": 1,
        "unit_price": "1",
    }
    for reference, day in (("LATE", "2025-05-01"), ("EARLY", "2025-02-01")):
        create(
            sage,
            "/purchase_invoices",
            "purchase_invoice",
            {
                "contact_id": vendor.id,
                "date": day,
                "due_date": day,
                "reference": reference,
                "invoice_lines": [line],
            },
        )

    by_date = sage("get", "/purchase_invoices?sort=date").json()["$items"]
    assert [item["displayed_as"] for item in by_date] == ["EARLY", "LATE"]
    newest_first = sage("get", "/purchase_invoices?sort=date:desc").json()["$items"]
    assert [item["displayed_as"] for item in newest_first] == ["LATE", "EARLY"]
    assert sage("get", "/purchase_invoices?search=paper+supp").json()["$total"] == 2
    assert set(errors_by_source(sage("get", "/purchase_invoices?sort=colour"))) == {"sort"}


def test_another_business_never_sees_the_record(sage, product_body, other_business):
    product = create(sage, "/products", "product", product_body)

    response = sage("get", product["$path"], headers={"X-Business": other_business.id})

    assert response.status_code == 404
    assert response.json()[0]["$dataCode"] == "RecordNotFound"


def test_purchase_invoice_gets_totals_number_and_status_and_filters_by_contact(sage, books, vendor):
    ledger = books.sales_ledgers[0]
    lines = [
        {
            "description": "Paper",
            "ledger_account_id": ledger.id,
            "quantity": 2,
            "unit_price": "50.00",
            "tax_rate_id": "GB_STANDARD",
        },
        {"description": "Pens", "ledger_account_id": ledger.id, "quantity": "1.5", "unit_price": 10},
    ]
    invoice = create(
        sage,
        "/purchase_invoices",
        "purchase_invoice",
        {
            "contact_id": vendor.id,
            "date": "2025-03-01",
            "due_date": "2025-03-31",
            "vendor_reference": "INV-77",
            "invoice_lines": lines,
        },
    )

    assert invoice["displayed_as"] == "INV-77"
    assert invoice["contact"]["displayed_as"] == vendor.displayed_as
    amounts = (
        invoice["net_amount"],
        invoice["tax_amount"],
        invoice["total_amount"],
        invoice["outstanding_amount"],
    )
    assert amounts == ("115.00", "20.00", "135.00", "135.00")
    assert invoice["total_quantity"] == "3.50"
    assert invoice["status"]["id"] == "UNPAID"
    assert [line["total_amount"] for line in invoice["invoice_lines"]] == ["120.00", "15.00"]
    listed = sage("get", f"/purchase_invoices?contact_id={vendor.id}").json()
    assert [item["id"] for item in listed["$items"]] == [invoice["id"]]
    assert sage("get", "/purchase_invoices?contact_id=nobody").json()["$total"] == 0
    assert sage("get", "/purchase_invoices?from_date=2025-03-02").json()["$total"] == 0
    assert sage("get", "/purchase_invoices?to_date=2025-03-01").json()["$total"] == 1


def test_a_nested_line_error_names_its_index(sage, vendor):
    body = {"contact_id": vendor.id, "date": "2025-03-01", "invoice_lines": [{"description": "No price"}]}

    errors = errors_by_source(sage("post", "/purchase_invoices", json={"purchase_invoice": body}))

    assert {"invoice_lines[0].ledger_account_id", "invoice_lines[0].unit_price"} <= set(errors)


def test_release_makes_a_draft_open(sage, books, vendor):
    line = {
        "description": "Draft",
        "ledger_account_id": books.sales_ledgers[0].id,
        "quantity": 1,
        "unit_price": "5",
    }
    draft = create(
        sage,
        "/purchase_credit_notes",
        "purchase_credit_note",
        {
            "contact_id": vendor.id,
            "date": "2025-03-01",
            "status_id": "DRAFT",
            "credit_note_lines": [line],
        },
    )
    assert draft["status"]["id"] == "DRAFT"

    response = sage("post", f"{draft['$path']}/release")

    assert response.status_code == 201
    assert response.json()["status"]["id"] == "UNPAID"


def test_journal_reissue_voids_the_old_one_and_answers_a_new_one(sage, books):
    ledger = books.sales_ledgers[0]
    journal = create(
        sage,
        "/journals",
        "journal",
        {
            "date": "2025-03-01",
            "reference": "JNL-1",
            "journal_lines": [
                {"ledger_account_id": ledger.id, "debit": "10", "credit": "0"},
                {"ledger_account_id": ledger.id, "debit": "0", "credit": "10"},
            ],
        },
    )

    response = sage("post", f"{journal['$path']}/reissue")

    assert response.status_code == 201
    assert response.json()["id"] != journal["id"]
    assert response.json()["reference"] == "JNL-1"
    assert sage("get", journal["$path"]).status_code == 404


def test_attachment_file_is_answered_as_sent(sage):
    attachment = create(
        sage,
        "/attachments",
        "attachment",
        {"file": "aGVsbG8=", "file_name": "hello.txt", "mime_type": "text/plain"},
    )

    response = sage("get", f"{attachment['$path']}/file", headers={"Accept": "application/octet-stream"})

    assert response.status_code == 200
    assert response.content == b"hello"
    assert response["Content-Type"] == "text/plain"


def test_exchange_rates_are_keyed_by_currency_and_one_per_currency(sage):
    rate = create(
        sage, "/business_exchange_rates", "business_exchange_rate", {"currency_id": "USD", "rate": "1.27"}
    )

    assert rate["$path"] == "/business_exchange_rates/USD"
    assert rate["currency"]["id"] == "USD"
    assert rate["rate"] == "1.27"
    again = sage(
        "post", "/business_exchange_rates", json={"business_exchange_rate": {"currency_id": "USD", "rate": 1}}
    )
    assert set(errors_by_source(again)) == {"currency_id"}


def test_settings_are_one_record_read_and_merged(sage):
    assert sage("get", "/invoice_settings").json()["$path"] == "/invoice_settings"

    response = sage("put", "/invoice_settings", json={"invoice_settings": {"customer_credit_days": 14}})

    assert response.status_code == 200
    assert sage("get", "/invoice_settings").json()["customer_credit_days"] == 14


def test_reference_lists_are_seeded_with_sages_codes(sage):
    countries = {item["id"] for item in sage("get", "/countries?items_per_page=200").json()["$items"]}
    assert {"GB", "IE", "US"} <= countries
    assert sage("get", "/currencies/GBP").json() == {
        "id": "GBP",
        "displayed_as": "Pound Sterling (GBP)",
        "$path": "/currencies/GBP",
    }
    assert sage("get", "/catalog_item_types").json()["$total"] == 3


def test_methods_and_paths_outside_the_description_answer_405_and_404(sage):
    assert sage("put", "/countries/GB", json={}).status_code == 405
    assert sage("delete", "/journal_code_types").status_code == 405
    assert sage("get", "/spaceships").status_code == 404
    assert sage("get", "/products/x/y").status_code == 404
    assert sage("get", "/contacts/x/y").status_code == 404


def test_readonly_token_cannot_create(api, get_tokens, product_body):
    token = get_tokens(scope="readonly")["access_token"]

    response = api("post", "/products", token, json={"product": product_body})

    assert response.status_code == 403


def test_demo_seed_puts_a_few_records_in_every_writable_resource(sage):
    call_command("sandbox_seed", "--if-empty", verbosity=0)

    for path in ("/products", "/services", "/purchase_invoices", "/sales_quotes", "/journals", "/addresses"):
        assert sage("get", path).json()["$total"] == GENERIC_RECORDS_PER_RESOURCE, path
    quote = sage("get", "/sales_quotes?attributes=all").json()["$items"][0]
    assert quote["quote_number"] == "SQ-1"
    assert quote["displayed_as"] == "SQ-1"
    assert quote["contact"]["displayed_as"].startswith(DEMO_CONTACTS["demo-trading"].name)
    # Not for the business without a subscription: its API answers 401 anyway.
    assert not GenericRecord.objects.filter(business__subscription_active=False, resource="products").exists()
