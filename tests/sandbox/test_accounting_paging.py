"""Sage's collection envelope over several pages: $total/$page/$next/$back/$itemsPerPage/$items, limits, attributes."""

from urllib.parse import parse_qs, urlsplit

import pytest

from sandbox.seed import seed_business

ENVELOPE_KEYS = {"$total", "$page", "$next", "$back", "$itemsPerPage", "$items"}


@pytest.fixture
def contacts_45(business, books):
    seed_business(business, contacts=45, invoices=0)


def query(link: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(link).query).items()}


def test_first_page_has_no_back_link_and_a_next_link(sage, contacts_45):
    body = sage("get", "/contacts?items_per_page=20").json()

    assert set(body) == ENVELOPE_KEYS
    assert body["$total"] == 45
    assert body["$page"] == 1
    assert body["$itemsPerPage"] == 20
    assert len(body["$items"]) == 20
    assert body["$back"] is None
    assert body["$next"] == "/contacts?page=2&items_per_page=20"


def test_middle_page_links_both_ways(sage, contacts_45):
    body = sage("get", "/contacts?page=2&items_per_page=20").json()

    assert body["$page"] == 2
    assert body["$back"] == "/contacts?page=1&items_per_page=20"
    assert body["$next"] == "/contacts?page=3&items_per_page=20"


def test_last_page_is_partial_and_has_no_next_link(sage, contacts_45):
    body = sage("get", "/contacts?page=3&items_per_page=20").json()

    assert len(body["$items"]) == 5
    assert body["$next"] is None
    assert body["$back"] == "/contacts?page=2&items_per_page=20"


def test_page_past_the_end_answers_the_last_page(sage, contacts_45):
    past = sage("get", "/contacts?page=99&items_per_page=20").json()
    last = sage("get", "/contacts?page=3&items_per_page=20").json()

    assert past["$page"] == 3
    assert past["$items"] == last["$items"]
    assert past["$next"] is None


def test_following_next_links_visits_every_record_once(sage, contacts_45):
    seen, link = [], "/contacts?items_per_page=7"
    while link:
        body = sage("get", link).json()
        seen += [item["id"] for item in body["$items"]]
        link = body["$next"]

    assert len(seen) == 45
    assert len(set(seen)) == 45


def test_items_per_page_above_200_is_capped_at_200(sage, business, books):
    seed_business(business, contacts=230, invoices=0)

    body = sage("get", "/contacts?items_per_page=500").json()

    assert body["$itemsPerPage"] == 200
    assert len(body["$items"]) == 200
    assert query(body["$next"]) == {"page": "2", "items_per_page": "200"}


def test_default_page_size_is_20(sage, contacts_45):
    body = sage("get", "/contacts").json()

    assert body["$itemsPerPage"] == 20
    assert len(body["$items"]) == 20


def test_nonsense_paging_parameters_fall_back_to_the_defaults(sage, contacts_45):
    body = sage("get", "/contacts?page=abc&items_per_page=0").json()

    assert body["$page"] == 1
    assert body["$itemsPerPage"] == 20


def test_empty_collection_is_one_empty_page(sage, books):
    body = sage("get", "/contacts").json()

    assert body == {"$total": 0, "$page": 1, "$next": None, "$back": None, "$itemsPerPage": 20, "$items": []}


def test_items_carry_only_id_displayed_as_and_path_by_default(sage, contacts_45):
    item = sage("get", "/contacts").json()["$items"][0]

    assert set(item) == {"id", "displayed_as", "$path"}
    assert item["$path"] == f"/contacts/{item['id']}"


def test_attributes_all_answers_whole_records(sage, contacts_45):
    item = sage("get", "/contacts?attributes=all").json()["$items"][0]

    assert {"name", "reference", "email", "contact_types", "balance", "created_at"} <= set(item)


def test_attributes_list_adds_only_the_named_attributes(sage, contacts_45):
    item = sage("get", "/contacts?attributes=email,balance").json()["$items"][0]

    assert set(item) == {"id", "displayed_as", "$path", "email", "balance"}


def test_next_link_keeps_filters_and_attributes(sage, contacts_45):
    body = sage("get", "/contacts?contact_type_id=CUSTOMER&attributes=email&items_per_page=10").json()

    assert query(body["$next"]) == {
        "contact_type_id": "CUSTOMER",
        "attributes": "email",
        "page": "2",
        "items_per_page": "10",
    }


def test_sort_orders_the_collection(sage, contacts_45):
    ascending = sage("get", "/contacts?sort=name:asc&attributes=name&items_per_page=200").json()["$items"]
    descending = sage("get", "/contacts?sort=name:desc&attributes=name&items_per_page=200").json()["$items"]

    names = [item["name"] for item in ascending]
    assert names == sorted(names)
    assert [item["name"] for item in descending] == sorted(names, reverse=True)


def test_sort_by_an_unknown_field_is_refused(sage, contacts_45):
    response = sage("get", "/contacts?sort=colour:asc")

    assert response.status_code == 422
    assert response.json()[0]["$source"] == "sort"


def test_every_list_answers_the_envelope(sage, books):
    for path in (
        "/contacts",
        "/sales_invoices",
        "/contact_payments",
        "/ledger_accounts",
        "/bank_accounts",
        "/tax_rates",
        "/payment_methods",
        "/transaction_types",
        "/contact_types",
        "/artefact_statuses",
    ):
        response = sage("get", path)
        assert response.status_code == 200, path
        assert set(response.json()) == ENVELOPE_KEYS, path
        assert response["X-Business"], path
