"""Rules every API v3.1 call goes through: bearer auth, scope, X-Business, Sage's error body."""

import pytest

from sandbox.api import SageApiError, read_json_body
from sandbox.models import Business


def assert_sage_error(response, status, data_code):
    assert response.status_code == status
    body = response.json()
    assert isinstance(body, list) and len(body) == 1
    assert set(body[0]) == {"$severity", "$dataCode", "$message", "$source"}
    assert body[0]["$severity"] == "error"
    assert body[0]["$dataCode"] == data_code
    assert body[0]["$message"]
    return body[0]


def test_missing_bearer_token_answers_401_with_sages_error_body(api, identities):
    response = api("get", "/user", None)

    assert_sage_error(response, 401, "AuthorizationFailure")
    assert "Bearer" in response["WWW-Authenticate"]


def test_unknown_bearer_token_answers_401(api, identities):
    assert_sage_error(api("get", "/user", "made-up"), 401, "AuthorizationFailure")


def test_a_readonly_token_can_read_but_not_write(get_tokens, api):
    token = get_tokens(scope="readonly")["access_token"]

    read = api("get", "/user", token)
    write = api("put", "/user", token, json={"user": {"first_name": "Changed"}})

    assert read.status_code == 200
    error = assert_sage_error(write, 403, "AuthorizationFailure")
    assert "full_access" in error["$message"]
    assert api("get", "/user", token).json()["first_name"] == "Sam"


def test_a_full_access_token_can_write(access_token, api):
    response = api("put", "/user", access_token, json={"user": {"first_name": "Samuel"}})

    assert response.status_code == 200
    assert response.json()["first_name"] == "Samuel"


def test_without_x_business_the_lead_business_answers(access_token, api, sam):
    response = api("get", "/businesses/lead", access_token)

    assert response["X-Business"] == sam.lead_business().id
    assert response.json()["name"] == "Sandbox Trading Ltd"


def test_x_business_selects_another_business_of_the_same_user(access_token, api):
    other = Business.objects.get(name="Sandbox Services Ltd")

    response = api("get", "/user", access_token, headers={"X-Business": other.id})

    assert response.status_code == 200
    assert response["X-Business"] == other.id


def test_unknown_x_business_answers_401_authorization_failure(access_token, api):
    response = api("get", "/user", access_token, headers={"X-Business": "0" * 32})

    error = assert_sage_error(response, 401, "AuthorizationFailure")
    assert error["$source"] == "X-Business"
    assert "X-Business" not in response  # no business served the call


def test_x_business_of_another_users_business_is_refused(access_token, api):
    unas_business = Business.objects.get(name="Single Shop Inc")

    response = api("get", "/contacts", access_token, headers={"X-Business": unas_business.id})

    assert_sage_error(response, 401, "AuthorizationFailure")


def test_a_business_without_active_subscription_answers_401_no_active_subscription(
    get_tokens, api, identities
):
    from sandbox.models import SandboxUser

    eve = SandboxUser.objects.get(email="eve.expired@example.com")
    token = get_tokens(user=eve)["access_token"]

    error = assert_sage_error(api("get", "/user", token), 401, "AuthorizationFailure")
    assert error["$message"] == "No active subscription. (MSE)"


def test_an_unknown_api_path_answers_sages_404_body(access_token, api):
    response = api("get", "/no_such_resource", access_token)

    assert_sage_error(response, 404, "RecordNotFound")
    assert response["X-Business"]


def test_a_method_the_endpoint_does_not_take_answers_405(access_token, api):
    assert_sage_error(api("delete", "/user", access_token), 405, "MethodNotAllowed")


def test_malformed_json_answers_400_in_sages_shape(access_token, client):
    response = client.put(
        "/sandbox/api/v3.1/user",
        data="{not json",
        content_type="application/json",
        headers={"Authorization": f"Bearer {access_token}"},
    )

    assert_sage_error(response, 400, "InvalidJson")


def test_read_json_body_refuses_a_json_list(rf):
    request = rf.post("/x", data="[1, 2]", content_type="application/json")

    with pytest.raises(SageApiError) as raised:
        read_json_body(request)

    assert raised.value.status == 400
