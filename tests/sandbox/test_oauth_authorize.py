"""The sandbox's authorize page (Sage: /oauth2/auth/central): validation, consent, Allow and Deny."""

from urllib.parse import urlencode

import pytest
from django.test import Client

from sandbox.models import AuthorizationCode

from .conftest import AUTHORIZE, TOKEN, form_post, query_of


@pytest.fixture
def get_tokens_with_params(client, sam, authorize_params, dev_app):
    """Consent with any authorize parameters, then exchange the code: the token answer."""

    def run(**overrides) -> dict:
        data = authorize_params(**overrides) | {"sandbox_user": sam.id, "decision": "allow"}
        redirect = client.post(AUTHORIZE, data)
        assert redirect.status_code == 302, redirect.content
        code = query_of(redirect["Location"])["code"]
        answer = form_post(
            client,
            TOKEN,
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": dev_app.redirect_uri,
                "client_id": dev_app.client_id,
                "client_secret": dev_app.client_secret,
            },
        )
        assert answer.status_code == 200, answer.content
        return answer.json()

    return run


def test_consent_page_shows_app_scope_users_their_businesses_and_the_two_buttons(
    client, authorize_params, sam
):
    response = client.get(AUTHORIZE, authorize_params(scope="readonly"))

    assert response.status_code == 200
    page = response.content.decode()
    assert "sageint development app" in page
    assert "read only" in page
    assert 'name="sandbox_user"' in page and f'value="{sam.id}"' in page
    assert "Sandbox Trading Ltd" in page and "Sandbox Services Ltd" in page
    assert "lead business" in page
    assert ">Allow</button>" in page and ">Deny</button>" in page


def test_allow_redirects_to_the_callback_with_code_country_and_the_same_state(client, authorize_params, sam):
    data = authorize_params(state="keep-me") | {"sandbox_user": sam.id, "decision": "allow"}

    response = client.post(AUTHORIZE, data)

    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith(authorize_params()["redirect_uri"] + "?code=")
    query = query_of(location)
    assert query["state"] == "keep-me"
    assert query["country"] == "gb"  # Sage adds the country; here the lead business's
    assert len(query["code"]) > 20
    assert list(query) == ["code", "country", "state"]


def test_country_asked_for_in_the_request_is_the_one_sent_back(get_code):
    assert get_code(country="IE")["country"] == "ie"


def test_deny_redirects_with_access_denied_and_the_state_and_issues_no_code(client, authorize_params, sam):
    data = authorize_params(state="s-1") | {"sandbox_user": sam.id, "decision": "deny"}

    response = client.post(AUTHORIZE, data)

    assert response.status_code == 302
    assert query_of(response["Location"]) == {"error": "access_denied", "state": "s-1"}
    assert not AuthorizationCode.objects.exists()


def test_unknown_client_gets_an_error_page_never_a_redirect(client, authorize_params, identities):
    response = client.get(AUTHORIZE, authorize_params(client_id="no-such-app"))

    assert response.status_code == 400
    assert "Location" not in response
    assert "Unknown client_id" in response.content.decode()


def test_redirect_uri_not_registered_gets_an_error_page_never_a_redirect(
    client, authorize_params, identities
):
    response = client.get(AUTHORIZE, authorize_params(redirect_uri="https://evil.example/callback"))

    assert response.status_code == 400
    assert "Location" not in response
    assert "redirect_uri does not match" in response.content.decode()


def test_redirect_uri_must_match_character_for_character(client, authorize_params, dev_app, identities):
    response = client.get(AUTHORIZE, authorize_params(redirect_uri=dev_app.redirect_uri.rstrip("/")))

    assert response.status_code == 400
    assert "Location" not in response


def test_allow_with_an_unregistered_redirect_uri_is_refused_too(client, authorize_params, sam):
    data = authorize_params(redirect_uri="https://evil.example/cb") | {
        "sandbox_user": sam.id,
        "decision": "allow",
    }

    response = client.post(AUTHORIZE, data)

    assert response.status_code == 400
    assert not AuthorizationCode.objects.exists()


def test_missing_redirect_uri_gets_an_error_page(client, authorize_params, identities):
    response = client.get(AUTHORIZE, authorize_params(redirect_uri=None))

    assert response.status_code == 400
    assert "Location" not in response


def test_wrong_response_type_redirects_with_unsupported_response_type(client, authorize_params, identities):
    response = client.get(AUTHORIZE, authorize_params(response_type="token", state="s-2"))

    assert response.status_code == 302
    assert query_of(response["Location"]) == {"error": "unsupported_response_type", "state": "s-2"}


def test_unknown_scope_redirects_with_invalid_scope(client, authorize_params, identities):
    response = client.get(AUTHORIZE, authorize_params(scope="admin"))

    assert response.status_code == 302
    assert query_of(response["Location"])["error"] == "invalid_scope"


def test_allow_without_choosing_a_user_shows_the_page_again(client, authorize_params, identities):
    response = client.post(AUTHORIZE, authorize_params() | {"decision": "allow"})

    assert response.status_code == 400
    assert "Choose the Sage user" in response.content.decode()
    assert not AuthorizationCode.objects.exists()


def test_the_chosen_user_is_preselected_next_time(client, get_code, authorize_params, una):
    get_code(user=una)

    page = client.get(AUTHORIZE, authorize_params()).content.decode()

    assert f'value="{una.id}" checked' in page


def test_code_is_stored_only_as_a_hash(get_code):
    code = get_code()["code"]

    stored = AuthorizationCode.objects.get()
    assert stored.code_hash != code and code not in stored.code_hash


def test_missing_response_type_redirects_with_invalid_request(client, authorize_params, identities):
    response = client.get(AUTHORIZE, authorize_params(response_type=None, state="s-3"))

    assert response.status_code == 302
    assert query_of(response["Location"]) == {"error": "invalid_request", "state": "s-3"}


def test_unknown_country_redirects_with_invalid_request(client, authorize_params, identities):
    response = client.get(AUTHORIZE, authorize_params(country="zz", state="s-4"))

    assert response.status_code == 302
    assert query_of(response["Location"]) == {"error": "invalid_request", "state": "s-4"}


def test_a_parameter_sent_twice_redirects_with_invalid_request(client, authorize_params, identities):
    query = urlencode(authorize_params(), doseq=True) + "&scope=readonly"

    response = client.get(f"{AUTHORIZE}?{query}")

    assert response.status_code == 302
    assert query_of(response["Location"])["error"] == "invalid_request"


def test_a_redirect_uri_sent_twice_gets_an_error_page(client, authorize_params, identities):
    query = urlencode(authorize_params()) + "&" + urlencode({"redirect_uri": "https://evil.example/cb"})

    response = client.get(f"{AUTHORIZE}?{query}")

    assert response.status_code == 400
    assert "Location" not in response


def test_scopes_as_sages_parameter_table_spells_it_is_read_too(get_tokens_with_params):
    assert get_tokens_with_params(scope=None, scopes="readonly")["scope"] == "readonly"


def test_state_with_special_characters_comes_back_unchanged(get_code):
    state = "a b&c=d/é?"

    assert get_code(state=state)["state"] == state


def test_consent_form_is_csrf_protected_and_keeps_the_state(authorize_params, sam):
    client_with_csrf = Client(enforce_csrf_checks=True)
    page = client_with_csrf.get(AUTHORIZE, authorize_params(state="csrf-state"))
    token = page.cookies["csrftoken"].value
    data = authorize_params(state="csrf-state") | {"sandbox_user": sam.id, "decision": "allow"}

    refused = client_with_csrf.post(AUTHORIZE, data)
    allowed = client_with_csrf.post(AUTHORIZE, data | {"csrfmiddlewaretoken": token})

    assert refused.status_code == 403
    assert allowed.status_code == 302
    assert query_of(allowed["Location"])["state"] == "csrf-state"
