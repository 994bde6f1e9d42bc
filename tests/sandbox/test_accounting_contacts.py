"""/contacts as Sage serves it: filters, get, create, update, delete and deleted_since."""

import datetime as dt

from sandbox.models import Contact
from tests.sandbox.accounting_world import errors_by_source


def ids(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {item["id"] for item in response.json()["$items"]}


def test_email_filter_finds_the_contact_whose_main_person_has_that_email(sage, make_customer):
    wanted = make_customer("Acme", email="accounts@acme.example.com")
    make_customer("Other", email="other@acme.example.com")

    assert ids(sage("get", "/contacts?email=accounts@acme.example.com")) == {wanted.id}


def test_email_filter_ignores_case(sage, make_customer):
    wanted = make_customer("Acme", email="Accounts@Acme.example.com")

    assert ids(sage("get", "/contacts?email=accounts@acme.example.com")) == {wanted.id}


def test_search_matches_name_or_reference(sage, make_customer):
    by_name = make_customer("Harbour Cafe")
    by_reference = make_customer("Somebody", reference="HARB-77")
    make_customer("Unrelated")

    assert ids(sage("get", "/contacts?search=harb")) == {by_name.id, by_reference.id}


def test_search_does_not_match_the_email_which_has_its_own_filter(sage, make_customer):
    make_customer("Somebody", email="harbour@example.com")

    assert ids(sage("get", "/contacts?search=harbour")) == set()


def test_contact_type_filter_separates_customers_and_vendors(sage, make_customer, business):
    customer = make_customer("Buyer")
    vendor = make_customer("Seller", contact_type_ids=["VENDOR"])

    assert ids(sage("get", "/contacts?contact_type_id=CUSTOMER")) == {customer.id}
    assert ids(sage("get", "/contacts?contact_type_id=VENDOR")) == {vendor.id}


def test_updated_or_created_since_is_inclusive(sage, make_customer):
    old, new = make_customer("Old"), make_customer("New")
    moment = dt.datetime(2025, 5, 1, 12, 0, tzinfo=dt.UTC)
    Contact.objects.filter(pk=old.pk).update(updated_at=moment - dt.timedelta(seconds=1))
    Contact.objects.filter(pk=new.pk).update(updated_at=moment)

    assert ids(sage("get", "/contacts?updated_or_created_since=2025-05-01T12:00:00Z")) == {new.id}


def test_updated_or_created_since_accepts_an_offset(sage, make_customer):
    contact = make_customer("Offset")
    Contact.objects.filter(pk=contact.pk).update(updated_at=dt.datetime(2025, 5, 1, 11, 0, tzinfo=dt.UTC))

    assert ids(sage("get", "/contacts?updated_or_created_since=2025-05-01T12:00:00%2B01:00")) == {contact.id}
    assert ids(sage("get", "/contacts?updated_or_created_since=2025-05-01T12:00:01%2B01:00")) == set()


def test_updated_or_created_since_takes_sages_date_with_an_offset(sage, make_customer):
    """Sage's description: a date as YYYY-MM-DDT(+|-)hh:mm means midnight at that offset."""
    contact = make_customer("Midnight")
    Contact.objects.filter(pk=contact.pk).update(updated_at=dt.datetime(2025, 4, 30, 22, 0, tzinfo=dt.UTC))

    assert ids(sage("get", "/contacts?updated_or_created_since=2025-05-01T%2B02:00")) == {contact.id}
    assert ids(sage("get", "/contacts?updated_or_created_since=2025-05-01T%2B01:00")) == set()


def test_bad_date_time_filter_is_refused_naming_the_parameter(sage, books):
    response = sage("get", "/contacts?updated_or_created_since=yesterday")

    assert errors_by_source(response).keys() == {"updated_or_created_since"}


def test_get_answers_the_whole_contact(sage, make_customer):
    contact = make_customer("Acme Widgets", email="a@acme.example.com", reference="ACME1")

    body = sage("get", f"/contacts/{contact.id}").json()

    assert body["id"] == contact.id
    assert body["displayed_as"] == "Acme Widgets (ACME1)"
    assert body["$path"] == f"/contacts/{contact.id}"
    assert body["contact_types"] == [
        {"id": "CUSTOMER", "displayed_as": "Customer", "$path": "/contact_types/CUSTOMER"}
    ]
    assert body["email"] == "a@acme.example.com"
    assert body["main_contact_person"]["email"] == "a@acme.example.com"
    assert body["balance"] == "0.00"
    assert body["currency"]["id"] == "GBP"
    assert body["deletable"] is True


def test_unknown_contact_is_sages_404(sage, books):
    response = sage("get", "/contacts/0123456789abcdef0123456789abcdef")

    assert response.status_code == 404
    assert response.json()[0]["$dataCode"] == "RecordNotFound"


def test_contact_of_another_business_is_not_found(sage, make_customer, other_business):
    theirs = make_customer("Irish customer", target=other_business)

    assert sage("get", f"/contacts/{theirs.id}").status_code == 404
    found = sage("get", f"/contacts/{theirs.id}", headers={"X-Business": other_business.id})
    assert found.status_code == 200


def test_create_answers_201_with_the_contact(sage, books):
    response = sage(
        "post",
        "/contacts",
        json={
            "contact": {
                "name": "New Customer Ltd",
                "contact_type_ids": ["CUSTOMER"],
                "reference": "NEW1",
                "main_contact_person": {"name": "Pat", "email": "pat@new.example.com"},
                "main_address": {"address_line_1": "1 Road", "city": "Leeds", "country_id": "GB"},
                "credit_limit": "500",
            }
        },
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "New Customer Ltd"
    assert body["email"] == "pat@new.example.com"
    assert body["credit_limit"] == "500.00"
    assert body["main_address"]["country"]["id"] == "GB"
    assert sage("get", f"/contacts/{body['id']}").status_code == 200


def test_create_without_a_reference_gets_one(sage, books):
    body = sage(
        "post", "/contacts", json={"contact": {"name": "Ref Less", "contact_type_ids": ["CUSTOMER"]}}
    ).json()

    assert body["reference"] == "REFLESS"


def test_create_without_name_or_type_names_both_fields(sage, books):
    response = sage("post", "/contacts", json={"contact": {"reference": "X"}})

    assert errors_by_source(response).keys() == {"name", "contact_type_ids"}
    assert not Contact.objects.exists()


def test_create_with_an_unknown_contact_type_is_refused(sage, books):
    response = sage("post", "/contacts", json={"contact": {"name": "A", "contact_type_ids": ["FRIEND"]}})

    assert errors_by_source(response).keys() == {"contact_type_ids"}


def test_create_without_the_contact_wrapper_is_refused(sage, books):
    response = sage("post", "/contacts", json={"name": "A", "contact_type_ids": ["CUSTOMER"]})

    assert errors_by_source(response).keys() == {"contact"}


def test_duplicate_reference_is_refused(sage, make_customer):
    make_customer("First", reference="DUP1")

    response = sage(
        "post",
        "/contacts",
        json={"contact": {"name": "B", "contact_type_ids": ["CUSTOMER"], "reference": "DUP1"}},
    )

    assert errors_by_source(response).keys() == {"reference"}


def test_malformed_json_is_a_sage_400(sage, books):
    response = sage("post", "/contacts", data="{not json", content_type="application/json")

    assert response.status_code == 400
    assert response.json()[0]["$severity"] == "error"


def test_update_changes_only_the_given_fields(sage, make_customer):
    contact = make_customer("Before", email="keep@example.com")

    response = sage("put", f"/contacts/{contact.id}", json={"contact": {"name": "After"}})

    assert response.status_code == 200
    assert response.json()["name"] == "After"
    assert response.json()["email"] == "keep@example.com"


def test_update_moves_updated_at(sage, make_customer):
    contact = make_customer("Before")
    Contact.objects.filter(pk=contact.pk).update(updated_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC))

    body = sage("put", f"/contacts/{contact.id}", json={"contact": {"notes": "called"}}).json()

    assert body["updated_at"] > "2025-01-01T00:00:00Z"
    assert body["notes"] == "called"


def test_delete_answers_204_and_the_contact_is_gone(sage, make_customer):
    contact = make_customer("Doomed")

    response = sage("delete", f"/contacts/{contact.id}")

    assert response.status_code == 204
    assert sage("get", f"/contacts/{contact.id}").status_code == 404
    assert contact.id not in ids(sage("get", "/contacts"))


def test_contact_with_invoices_cannot_be_deleted(sage, make_customer, make_invoice):
    contact = make_customer("Busy")
    make_invoice(contact)

    response = sage("delete", f"/contacts/{contact.id}")

    assert response.status_code == 422
    assert sage("get", f"/contacts/{contact.id}").json()["deletable"] is False


def test_deleted_since_lists_deletions_after_the_moment_only(sage, make_customer):
    before, after, alive = make_customer("Before"), make_customer("After"), make_customer("Alive")
    moment = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)
    Contact.objects.filter(pk=before.pk).update(deleted_at=moment)  # exactly at: not inclusive
    Contact.objects.filter(pk=after.pk).update(deleted_at=moment + dt.timedelta(seconds=1))

    deleted = sage("get", "/contacts?deleted_since=2025-06-01T12:00:00Z&attributes=deleted_at")

    assert ids(deleted) == {after.id}
    assert deleted.json()["$items"][0]["deleted_at"] == "2025-06-01T12:00:01Z"
    assert alive.id in ids(sage("get", "/contacts"))


def test_deleting_through_the_api_shows_up_in_deleted_since(sage, make_customer):
    contact = make_customer("Soon gone")
    sage("delete", f"/contacts/{contact.id}")

    assert ids(sage("get", "/contacts?deleted_since=2000-01-01T00:00:00Z")) == {contact.id}


def test_readonly_token_cannot_create(api, get_tokens, books):
    readonly = get_tokens(scope="readonly")["access_token"]

    response = api(
        "post", "/contacts", readonly, json={"contact": {"name": "A", "contact_type_ids": ["CUSTOMER"]}}
    )

    assert response.status_code == 403
    assert not Contact.objects.exists()


def test_contact_created_in_an_irish_business_trades_in_euro(sage, other_business):
    response = sage(
        "post",
        "/contacts",
        json={"contact": {"name": "Dublin Customer", "contact_type_ids": ["CUSTOMER"]}},
        headers={"X-Business": other_business.id},
    )

    assert response.status_code == 201
    assert response.json()["currency"]["id"] == "EUR"
    assert response["X-Business"] == other_business.id
