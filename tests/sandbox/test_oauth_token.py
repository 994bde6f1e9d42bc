"""The sandbox's token endpoint (Sage: POST /token): code exchange, refresh rotation, client authentication."""

import base64
from datetime import timedelta

import pytest
from django.utils import timezone

from sandbox.models import AccessToken, AuthorizationCode, RefreshToken
from sandbox.oauth import register_app

from .conftest import REVOKE, TOKEN, form_post


def test_code_exchange_answers_sages_fields(get_code, exchange, dev_app, sam):
    code = get_code(scope="readonly")["code"]

    response = exchange(grant_type="authorization_code", code=code, redirect_uri=dev_app.redirect_uri)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "access_token",
        "expires_in",
        "token_type",
        "refresh_token",
        "refresh_token_expires_in",
        "scope",
        "requested_by_id",
    }
    assert body["expires_in"] == 300
    assert body["refresh_token_expires_in"] == 2678400
    assert body["token_type"] == "bearer"
    assert body["scope"] == "readonly"
    assert body["requested_by_id"] == sam.id
    assert response["Cache-Control"] == "no-store"


def test_tokens_are_stored_only_as_hashes(get_tokens):
    body = get_tokens()

    stored_hashes = set(AccessToken.objects.values_list("token_hash", flat=True)) | set(
        RefreshToken.objects.values_list("token_hash", flat=True)
    )
    assert body["access_token"] not in stored_hashes
    assert body["refresh_token"] not in stored_hashes
    assert len(stored_hashes) == 2


def test_a_code_works_only_once(get_code, exchange, dev_app):
    code = get_code()["code"]
    first = exchange(grant_type="authorization_code", code=code, redirect_uri=dev_app.redirect_uri)

    second = exchange(grant_type="authorization_code", code=code, redirect_uri=dev_app.redirect_uri)

    assert first.status_code == 200
    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"


def test_an_expired_code_is_refused(get_code, exchange, dev_app):
    code = get_code()["code"]
    AuthorizationCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    response = exchange(grant_type="authorization_code", code=code, redirect_uri=dev_app.redirect_uri)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_code_lifetime_defaults_to_sixty_seconds_and_follows_the_setting(get_code, settings):
    get_code()
    settings.SAGE_SANDBOX_CODE_SECONDS = 5
    get_code()

    first, second = AuthorizationCode.objects.order_by("id")
    assert first.expires_at - first.created_at == pytest.approx(
        timedelta(seconds=60), abs=timedelta(seconds=1)
    )
    assert second.expires_at - second.created_at == pytest.approx(
        timedelta(seconds=5), abs=timedelta(seconds=1)
    )


def test_a_redirect_uri_other_than_the_authorized_one_is_refused_at_the_token_endpoint(get_code, exchange):
    code = get_code()["code"]

    response = exchange(
        grant_type="authorization_code", code=code, redirect_uri="http://127.0.0.1:8000/other/"
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_a_code_issued_to_one_app_cannot_be_exchanged_by_another(get_code, client, dev_app):
    code = get_code()["code"]
    register_app(
        name="Other",
        client_id="other-app",
        client_secret="other-secret",
        callback_urls=[dev_app.redirect_uri],
    )

    response = form_post(
        client,
        TOKEN,
        {
            "client_id": "other-app",
            "client_secret": "other-secret",
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": dev_app.redirect_uri,
        },
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_a_wrong_client_secret_is_invalid_client(get_code, exchange, dev_app):
    code = get_code()["code"]

    response = exchange(
        client_secret="wrong", grant_type="authorization_code", code=code, redirect_uri=dev_app.redirect_uri
    )

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_an_unknown_client_is_invalid_client(exchange, identities):
    response = exchange(client_id="nobody", grant_type="refresh_token", refresh_token="x")

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_http_basic_client_authentication_is_accepted(get_code, client, dev_app):
    code = get_code()["code"]
    credentials = base64.b64encode(f"{dev_app.client_id}:{dev_app.client_secret}".encode()).decode()

    response = form_post(
        client,
        TOKEN,
        {"grant_type": "authorization_code", "code": code, "redirect_uri": dev_app.redirect_uri},
        headers={"Authorization": f"Basic {credentials}"},
    )

    assert response.status_code == 200
    assert response.json()["access_token"]


def test_wrong_basic_credentials_answer_401_with_a_basic_challenge(client, identities):
    credentials = base64.b64encode(b"nobody:nothing").decode()

    response = form_post(
        client,
        TOKEN,
        {"grant_type": "refresh_token", "refresh_token": "x"},
        HTTP_AUTHORIZATION=f"Basic {credentials}",
    )

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response["WWW-Authenticate"].startswith("Basic")


def test_an_unknown_grant_type_is_invalid_grant_as_at_sage(exchange, identities):
    response = exchange(grant_type="client_credentials")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_the_token_endpoint_takes_only_post(client, identities):
    assert client.get(TOKEN).status_code == 405


def test_refresh_answers_new_tokens_and_the_old_refresh_token_is_dead(get_tokens, exchange, api):
    first = get_tokens()

    refreshed = exchange(grant_type="refresh_token", refresh_token=first["refresh_token"])
    replay = exchange(grant_type="refresh_token", refresh_token=first["refresh_token"])

    assert refreshed.status_code == 200
    new = refreshed.json()
    assert new["refresh_token"] != first["refresh_token"]
    assert new["access_token"] != first["access_token"]
    assert new["scope"] == first["scope"] and new["requested_by_id"] == first["requested_by_id"]
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    assert api("get", "/user", new["access_token"]).status_code == 200
    # The newest refresh token keeps working after the old one was refused.
    assert exchange(grant_type="refresh_token", refresh_token=new["refresh_token"]).status_code == 200


def test_refresh_keeps_the_granted_scope(get_tokens, exchange):
    first = get_tokens(scope="readonly")

    new = exchange(grant_type="refresh_token", refresh_token=first["refresh_token"]).json()

    assert new["scope"] == "readonly"


def test_an_expired_refresh_token_is_invalid_grant(get_tokens, exchange):
    tokens = get_tokens()
    RefreshToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    response = exchange(grant_type="refresh_token", refresh_token=tokens["refresh_token"])

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_a_refresh_token_of_another_app_is_invalid_grant(get_tokens, client, dev_app):
    tokens = get_tokens()
    register_app(
        name="Other",
        client_id="other-app",
        client_secret="other-secret",
        callback_urls=[dev_app.redirect_uri],
    )

    response = form_post(
        client,
        TOKEN,
        {
            "client_id": "other-app",
            "client_secret": "other-secret",
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
        },
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_lifetimes_follow_the_settings(get_tokens, settings):
    settings.SAGE_SANDBOX_ACCESS_TOKEN_SECONDS = 7
    settings.SAGE_SANDBOX_REFRESH_TOKEN_SECONDS = 11

    body = get_tokens()

    assert body["expires_in"] == 7
    assert body["refresh_token_expires_in"] == 11


def test_an_expired_access_token_answers_401_on_the_api(get_tokens, api):
    token = get_tokens()["access_token"]
    AccessToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    response = api("get", "/user", token)

    assert response.status_code == 401
    assert response.json()[0]["$dataCode"] == "AuthorizationFailure"


def test_an_access_token_with_zero_lifetime_is_dead_at_once(get_tokens, api, settings):
    settings.SAGE_SANDBOX_ACCESS_TOKEN_SECONDS = 0
    token = get_tokens()["access_token"]

    assert api("get", "/user", token).status_code == 401


def test_a_custom_registered_app_completes_the_whole_flow(client, sam, api):
    register_app(
        name="Custom",
        client_id="custom-id",
        client_secret="custom-secret",
        callback_urls=["https://app.example/one", "https://app.example/two"],
    )
    consent = client.post(
        "/sandbox/oauth2/auth/central",
        {
            "client_id": "custom-id",
            "redirect_uri": "https://app.example/two",
            "response_type": "code",
            "state": "z",
            "sandbox_user": sam.id,
            "decision": "allow",
        },
    )
    code = consent["Location"].split("code=")[1].split("&")[0]

    response = form_post(
        client,
        TOKEN,
        {
            "client_id": "custom-id",
            "client_secret": "custom-secret",
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": "https://app.example/two",
        },
    )

    assert response.status_code == 200
    assert response.json()["scope"] == "full_access"  # Sage's default when no scope is asked for
    assert api("get", "/user", response.json()["access_token"]).json()["id"] == sam.id


@pytest.mark.parametrize("endpoint", [TOKEN, REVOKE])
def test_a_json_body_is_refused_with_invalid_request_not_read(get_code, client, dev_app, endpoint):
    code = get_code()["code"]
    body = {
        "client_id": dev_app.client_id,
        "client_secret": dev_app.client_secret,
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": dev_app.redirect_uri,
        "token": "x",
    }

    response = client.post(endpoint, body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert "x-www-form-urlencoded" in response.json()["error_description"]


def test_a_multipart_body_is_refused_and_the_code_stays_usable(get_code, client, exchange, dev_app):
    code = get_code()["code"]
    fields = {"grant_type": "authorization_code", "code": code, "redirect_uri": dev_app.redirect_uri}

    multipart = client.post(
        TOKEN, fields | {"client_id": dev_app.client_id, "client_secret": dev_app.client_secret}
    )
    form = exchange(**fields)

    assert multipart.status_code == 400
    assert multipart.json()["error"] == "invalid_request"
    assert form.status_code == 200


def test_token_answers_are_json_and_never_cached(get_tokens, exchange):
    refresh_token = get_tokens()["refresh_token"]

    response = exchange(grant_type="refresh_token", refresh_token=refresh_token)

    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    assert response.json()["token_type"] == "bearer"
