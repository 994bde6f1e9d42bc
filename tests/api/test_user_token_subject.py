"""The user token's `sub` is the end user's id: it must be a non-empty string of at most 255 characters, on every
way a token arrives (connect link, proxy API). Checked server-side, over HTTP, with nothing created."""

import time

import jwt
import pytest

from connections.models import EndUser

CONNECT = "/connect/sageaccounting/"
PROXY = "/api/v1/proxy/sageaccounting/contacts"

pytestmark = pytest.mark.django_db


def token_with_subject(settings, subject) -> str:
    claims = {"sub": subject, "exp": int(time.time()) + 300}
    return jwt.encode(claims, settings.SAGEINT_USER_TOKEN_SECRET, algorithm="HS256")


BAD_SUBJECTS = {
    "empty": "",
    "blank": "   ",
    "256 characters": "x" * 256,
    "a number": 42,
}


@pytest.mark.parametrize("subject", BAD_SUBJECTS.values(), ids=BAD_SUBJECTS.keys())
def test_connect_link_with_a_bad_sub_is_a_401_page(client, settings, subject):
    response = client.get(CONNECT, {"user_token": token_with_subject(settings, subject)})

    assert response.status_code == 401
    if isinstance(subject, str):  # PyJWT refuses a non-string `sub` itself, with its own words
        assert "&#x27;sub&#x27;" in response.content.decode() or "'sub'" in response.content.decode()
    assert not EndUser.objects.exists()


@pytest.mark.parametrize("subject", BAD_SUBJECTS.values(), ids=BAD_SUBJECTS.keys())
def test_proxy_call_with_a_bad_sub_is_401_invalid_token(client, settings, outgoing_requests, subject):
    response = client.get(PROXY, HTTP_AUTHORIZATION=f"Bearer {token_with_subject(settings, subject)}")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"
    if isinstance(subject, str):
        assert "'sub'" in response.json()["error"]["message"]
    assert not EndUser.objects.exists()
    assert outgoing_requests == []


def test_sub_of_exactly_255_characters_is_accepted(client, settings):
    subject = "x" * 255

    response = client.get(PROXY, HTTP_AUTHORIZATION=f"Bearer {token_with_subject(settings, subject)}")

    assert response.status_code == 404  # accepted as a user, who has not connected yet
    assert response.json()["error"]["code"] == "not_connected"
