"""The sandbox's revoke endpoint (Sage's /revoke, path unconfirmed): refresh and access tokens."""

from .conftest import REVOKE, form_post


def revoke(client, dev_app, token, **overrides):
    data = {
        "client_id": dev_app.client_id,
        "client_secret": dev_app.client_secret,
        "token": token,
    } | overrides
    return form_post(client, REVOKE, data)


def test_revoking_the_refresh_token_ends_it_and_the_access_token_of_the_grant(
    client, dev_app, get_tokens, exchange, api
):
    tokens = get_tokens()

    response = revoke(client, dev_app, tokens["refresh_token"])

    assert response.status_code == 200
    assert (
        exchange(grant_type="refresh_token", refresh_token=tokens["refresh_token"]).json()["error"]
        == "invalid_grant"
    )
    assert api("get", "/user", tokens["access_token"]).status_code == 401


def test_revoking_an_access_token_ends_it_but_leaves_the_refresh_token(
    client, dev_app, get_tokens, exchange, api
):
    tokens = get_tokens()

    response = revoke(client, dev_app, tokens["access_token"])

    assert response.status_code == 200
    assert api("get", "/user", tokens["access_token"]).status_code == 401
    assert exchange(grant_type="refresh_token", refresh_token=tokens["refresh_token"]).status_code == 200


def test_revoking_does_not_touch_other_grants(client, dev_app, get_tokens, api):
    first, second = get_tokens(), get_tokens()

    revoke(client, dev_app, first["refresh_token"])

    assert api("get", "/user", second["access_token"]).status_code == 200


def test_revoking_an_unknown_token_still_answers_200(client, dev_app, identities):
    assert revoke(client, dev_app, "not-a-token").status_code == 200


def test_revoke_needs_client_authentication(client, dev_app, get_tokens, api):
    tokens = get_tokens()

    response = revoke(client, dev_app, tokens["access_token"], client_secret="wrong")

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert api("get", "/user", tokens["access_token"]).status_code == 200
