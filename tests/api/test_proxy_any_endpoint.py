"""A newcomer on the development keys (the built-in sandbox) can call any endpoint of Sage's description through
the proxy — not only the handful of hand-written ones: `/products` and `/purchase_invoices` here, both over the
HTTP proxy and in process."""

import pytest
from django.core.management import call_command

from connections import proxy

pytestmark = pytest.mark.django_db

PROXY = "/api/v1/proxy/sageaccounting"


@pytest.fixture
def demo_world(db):
    """What `make run` does before anyone connects (bootstrap_demo seeds the sandbox when empty)."""
    call_command("sandbox_seed", "--if-empty", verbosity=0)


def test_products_list_through_the_http_proxy(client, demo_world, connected_end_user, bearer_for):
    response = client.get(f"{PROXY}/products?attributes=all", **bearer_for(connected_end_user))

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["$total"] >= 1
    assert {"id", "displayed_as", "$path", "sales_ledger_account"} <= set(body["$items"][0])


def test_purchase_invoice_created_and_read_back_through_the_proxy(
    client, demo_world, connected_end_user, bearer_for
):
    headers = bearer_for(connected_end_user)
    vendor = proxy.request(connected_end_user, "/contacts", params={"contact_type_id": "VENDOR"}).json()[
        "$items"
    ][0]
    ledger = proxy.request(connected_end_user, "/ledger_accounts", params={"search": "5000"}).json()[
        "$items"
    ][0]
    body = {
        "purchase_invoice": {
            "contact_id": vendor["id"],
            "date": "2025-05-01",
            "due_date": "2025-05-31",
            "vendor_reference": "NEWCOMER-1",
            "invoice_lines": [
                {
                    "description": "Stationery",
                    "ledger_account_id": ledger["id"],
                    "quantity": 3,
                    "unit_price": "4.00",
                }
            ],
        }
    }

    created = client.post(f"{PROXY}/purchase_invoices", body, content_type="application/json", **headers)

    assert created.status_code == 201, created.content
    invoice = created.json()
    assert (invoice["displayed_as"], invoice["total_amount"]) == ("NEWCOMER-1", "12.00")
    assert invoice["contact"]["id"] == vendor["id"]
    again = proxy.request(connected_end_user, invoice["$path"])
    assert again.status_code == 200
    assert again.json()["invoice_lines"][0]["ledger_account"]["id"] == ledger["id"]


def test_an_invalid_purchase_invoice_answers_sages_422_through_the_proxy(demo_world, connected_end_user):
    response = proxy.request(
        connected_end_user, "/purchase_invoices", method="POST", json={"purchase_invoice": {}}
    )

    assert response.status_code == 422
    assert {error["$source"] for error in response.json()} == {
        "contact_id",
        "date",
        "due_date",
        "invoice_lines",
    }
