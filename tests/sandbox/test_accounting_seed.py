"""The demo world (`sandbox_seed`): deterministic, documented, resettable; and the fast bulk seed."""

import time
from collections import Counter

import pytest
from django.core.management import CommandError, call_command

from sandbox.models import Business, Contact, SalesInvoice, SandboxApp
from sandbox.seed import DEMO_CONTACTS
from sandbox.seed_identities import fixed_id

LEAD = fixed_id("business:demo-trading")
SECOND = fixed_id("business:sam-services")


@pytest.fixture
def seeded(db):
    call_command("sandbox_seed", "--if-empty", verbosity=0)


def snapshot(api, token: str) -> dict:
    """Everything a client can read about both of Sam's businesses, page by page."""
    world = {}
    for business in (LEAD, SECOND):
        for path in (
            "/contacts",
            "/sales_invoices",
            "/contact_payments",
            "/ledger_accounts",
            "/bank_accounts",
            "/tax_rates",
        ):
            items, link = [], f"{path}?attributes=all&items_per_page=200"
            while link:
                body = api("get", link, token, headers={"X-Business": business}).json()
                items += body["$items"]
                link = body["$next"]
            world[(business, path)] = items
    return world


def test_demo_world_has_two_businesses_for_sam_with_contacts_and_invoices_in_every_status(seeded):
    for business_id in (LEAD, SECOND):
        business = Business.objects.get(id=business_id)
        assert business.contacts.count() == 200
        assert business.sales_invoices.count() == 150
        statuses = Counter(business.sales_invoices.values_list("status", flat=True))
        assert set(statuses) == {"DRAFT", "UNPAID", "PART_PAID", "PAID", "VOID"}
        assert business.ledger_accounts.exists()
        assert business.bank_accounts.exists()
        assert business.tax_rates.exists()


def test_documented_demo_contact_is_found_by_email_in_each_of_sams_businesses(seeded, api, access_token):
    for key, business_id in (("demo-trading", LEAD), ("sam-services", SECOND)):
        demo = DEMO_CONTACTS[key]
        body = api(
            "get", f"/contacts?email={demo.email}", access_token, headers={"X-Business": business_id}
        ).json()
        assert body["$total"] == 1
        assert body["$items"][0]["displayed_as"] == f"{demo.name} ({demo.reference})"


def test_seeding_is_deterministic_across_a_reset(seeded, api, get_tokens):
    before = snapshot(api, get_tokens()["access_token"])

    call_command("sandbox_seed", "--reset", verbosity=0)
    after = snapshot(api, get_tokens()["access_token"])

    assert before == after
    assert len(before[(LEAD, "/sales_invoices")]) == 150


def test_if_empty_leaves_existing_data_alone(seeded, business):
    Contact.objects.filter(business=business).update(notes="kept")

    call_command("sandbox_seed", "--if-empty", verbosity=0)

    assert business.contacts.count() == 200
    assert set(business.contacts.values_list("notes", flat=True)) == {"kept"}


def test_reset_wipes_data_tokens_and_codes_but_keeps_registered_apps(
    seeded, api, access_token, sage, business
):
    app = SandboxApp(name="Partner app", client_id="partner", callback_urls="https://partner.example.com/cb")
    app.set_client_secret("partner-secret")
    app.save()
    extra = sage(
        "post", "/contacts", json={"contact": {"name": "Temporary", "contact_type_ids": ["CUSTOMER"]}}
    ).json()

    call_command("sandbox_seed", "--reset", verbosity=0)

    assert api("get", "/contacts", access_token).status_code == 401
    assert not Contact.objects.filter(id=extra["id"]).exists()
    assert business.contacts.count() == 200
    assert SandboxApp.objects.filter(client_id="partner").exists()


def test_bulk_seed_adds_contacts_and_invoices_quickly(seeded, business):
    started = time.monotonic()
    call_command(
        "sandbox_seed", "--business", business.id, "--contacts", "2000", "--invoices", "2000", verbosity=0
    )
    elapsed = time.monotonic() - started

    assert business.contacts.count() == 2200
    assert business.sales_invoices.count() == 2150
    assert elapsed < 20, f"2000 contacts and invoices took {elapsed:.1f}s"


def test_bulk_seed_twice_gives_distinct_records_and_numbers(db, business):
    call_command(
        "sandbox_seed", "--business", business.id, "--contacts", "10", "--invoices", "10", verbosity=0
    )
    call_command(
        "sandbox_seed", "--business", business.id, "--contacts", "10", "--invoices", "10", verbosity=0
    )

    assert business.contacts.count() == 20
    numbers = list(SalesInvoice.objects.filter(business=business).values_list("number", flat=True))
    assert sorted(numbers) == list(range(1, 21))


def test_bulk_seed_needs_a_known_business(db):
    with pytest.raises(CommandError):
        call_command("sandbox_seed", "--contacts", "5", verbosity=0)
    with pytest.raises(CommandError):
        call_command("sandbox_seed", "--business", "nope", "--contacts", "5", verbosity=0)
