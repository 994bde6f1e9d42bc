"""GET /user, /businesses, /businesses/lead, /businesses/{id}: Sage's fields and envelope."""

import pytest

from sandbox.models import Business
from tests.sandbox.sage_description import USER_BUSINESSES, load_sage_description


@pytest.fixture
def sage_definitions():
    return load_sage_description(USER_BUSINESSES)["definitions"]


def test_user_answers_the_signed_in_sage_user(access_token, api, sam):
    body = api("get", "/user", access_token).json()

    assert body["id"] == sam.id
    assert body["email"] == "sam.sandbox@example.com"
    assert body["first_name"] == "Sam" and body["last_name"] == "Sandbox"
    assert body["displayed_as"] == "Sam Sandbox"
    assert body["locale"] == "en-GB"


def test_user_has_every_field_sage_describes(access_token, api, sage_definitions):
    body = api("get", "/user", access_token).json()

    assert set(sage_definitions["User"]["properties"]) <= set(body)


def test_business_has_every_field_sage_describes_with_its_type(access_token, api, sage_definitions):
    body = api("get", "/businesses/lead", access_token).json()

    properties = sage_definitions["Business"]["properties"]
    assert set(properties) <= set(body)
    python_types = {"string": str, "boolean": bool, "array": list}
    for name, spec in properties.items():
        if "$ref" in spec:
            assert isinstance(body[name], dict) and {"id", "displayed_as"} <= set(body[name])
        else:
            assert isinstance(body[name], python_types[spec["type"]]), name
    assert set(sage_definitions["Subscription"]["properties"]) <= set(body["subscriptions"][0])


def test_businesses_answers_the_users_businesses_in_the_paging_envelope(access_token, api):
    response = api("get", "/businesses", access_token)

    body = response.json()
    assert body["$total"] == 2
    assert body["$page"] == 1
    assert body["$next"] is None and body["$back"] is None
    assert body["$items_per_page"] == 20
    assert [item["displayed_as"] for item in body["$items"]] == [
        "Sandbox Trading Ltd",
        "Sandbox Services Ltd",
    ]
    assert set(body["$items"][0]) == {"id", "displayed_as", "$path"}
    assert body["$items"][0]["$path"] == f"/businesses/{body['$items'][0]['id']}"


def test_businesses_with_attributes_all_answers_whole_records(access_token, api):
    body = api("get", "/businesses", access_token, data={"attributes": "all"}).json()

    assert body["$items"][1]["country"]["id"] == "IE"


def test_businesses_pages_with_next_and_back_links(access_token, api):
    first = api("get", "/businesses", access_token, data={"items_per_page": 1}).json()
    past_the_end = api("get", "/businesses", access_token, data={"items_per_page": 1, "page": 9}).json()

    assert first["$next"] == "/businesses?page=2&items_per_page=1"
    assert first["$back"] is None
    assert past_the_end["$page"] == 2  # Sage answers the last page for a page past the end
    assert past_the_end["$back"] == "/businesses?page=1&items_per_page=1"


def test_a_user_with_one_business_sees_only_it(get_tokens, api, una):
    token = get_tokens(user=una)["access_token"]

    body = api("get", "/businesses", token).json()

    assert [item["displayed_as"] for item in body["$items"]] == ["Single Shop Inc"]


def test_lead_business_is_the_first_business_of_the_user(access_token, api):
    body = api("get", "/businesses/lead", access_token).json()

    assert body["name"] == "Sandbox Trading Ltd"
    assert body["country"] == {"id": "GB", "displayed_as": "United Kingdom (GB)", "$path": "/countries/GB"}
    assert body["subscriptions"][0]["active"] is True


def test_business_by_id(access_token, api):
    other = Business.objects.get(name="Sandbox Services Ltd")

    body = api("get", f"/businesses/{other.id}", access_token).json()

    assert body["id"] == other.id
    assert body["city"] == "Dublin"


def test_another_users_business_is_not_found(access_token, api):
    unas_business = Business.objects.get(name="Single Shop Inc")

    response = api("get", f"/businesses/{unas_business.id}", access_token)

    assert response.status_code == 404
    assert response.json()[0]["$dataCode"] == "RecordNotFound"


def test_put_business_updates_the_allowed_fields(access_token, api, sam):
    lead = sam.lead_business()

    response = api(
        "put", f"/businesses/{lead.id}", access_token, json={"business": {"city": "Bristol", "id": "x"}}
    )

    assert response.status_code == 200
    assert response.json()["city"] == "Bristol"
    assert response.json()["id"] == lead.id


def test_put_user_with_an_unknown_locale_is_422(access_token, api):
    response = api("put", "/user", access_token, json={"user": {"locale": "xx-XX"}})

    assert response.status_code == 422
    assert response.json()[0]["$source"] == "locale"


def test_put_without_the_wrapper_is_422(access_token, api):
    response = api("put", "/user", access_token, json={"first_name": "No wrapper"})

    assert response.status_code == 422
