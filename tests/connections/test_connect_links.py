"""Connect links: users of the company's own app arrive with a signed user token (JWT) instead of an account."""

import base64
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.test import Client

from connections.end_users import end_user_from_token
from connections.exceptions import InvalidUserToken
from connections.models import Connection, EndUser
from tests.fixtures_sage import connect_end_user_via_link, connect_through_sandbox

CONNECT = "/connect/sageaccounting/"


def open_link(token: str) -> tuple[Client, object]:
    browser = Client()
    return browser, browser.get(CONNECT, {"user_token": token})


def test_valid_token_binds_the_session_and_hides_the_token(db, user_token_for):
    browser, opened = open_link(user_token_for("cust-7", name="Ann Customer"))
    assert opened.status_code == 302 and opened["Location"] == CONNECT  # token dropped from the address
    page = browser.get(CONNECT).content.decode()
    assert "Ann Customer" in page and "Not connected" in page
    end_user = EndUser.objects.get()
    assert (end_user.kind, end_user.external_id) == (EndUser.Kind.EXTERNAL, "cust-7")


def test_link_user_connects_without_an_account(db, sandbox_transport, user_token_for):
    browser, _ = open_link(user_token_for("cust-8"))
    assert connect_through_sandbox(browser).status_code == 302
    end_user = EndUser.objects.get(external_id="cust-8")
    assert end_user.user is None
    assert end_user.connection.business_name == "Sandbox Trading Ltd"


def test_same_sub_is_the_same_end_user(db, user_token_for):
    open_link(user_token_for("cust-9"))
    open_link(user_token_for("cust-9"))
    assert EndUser.objects.filter(external_id="cust-9").count() == 1


def test_expired_token_gets_a_clear_401_page(db, user_token_for):
    _, response = open_link(user_token_for("cust-1", expires_in=-120))
    assert response.status_code == 401
    assert "expired" in response.content.decode()
    assert not EndUser.objects.exists()


def test_an_accepted_token_is_refused_once_it_expires(db, user_token_for, monkeypatch):
    token = user_token_for("cust-1", expires_in=60)
    assert end_user_from_token(token).external_id == "cust-1"  # checked, and remembered
    later = time.time() + 60 + 31  # past `exp` and the 30 s leeway
    monkeypatch.setattr("connections.end_users.time.time", lambda: later)
    with pytest.raises(InvalidUserToken, match="expired"):
        end_user_from_token(token)


def test_an_accepted_token_is_refused_once_the_signing_secret_changes(db, user_token_for, settings):
    token = user_token_for("cust-1")
    assert end_user_from_token(token).external_id == "cust-1"
    settings.SAGEINT_USER_TOKEN_SECRET = "a-new-company-secret-0123456789abcdef"
    with pytest.raises(InvalidUserToken, match="signature"):
        end_user_from_token(token)


def test_end_user_from_token_brings_its_connection_without_another_query(
    db, sandbox_transport, user_token_for, django_assert_num_queries
):
    connected = connect_end_user_via_link("cust-7")
    with django_assert_num_queries(1):
        end_user = end_user_from_token(user_token_for("cust-7"))
        connection = end_user.connection
        assert connection.end_user is end_user

    # The same values, with the same types, as the ORM's own reading of the rows.
    stored = Connection.objects.select_related("end_user").get(pk=connected.connection.pk)
    for field in Connection._meta.concrete_fields:
        assert getattr(connection, field.attname) == getattr(stored, field.attname), field.name
    for name in ("id", "kind", "external_id", "user_id", "display_name"):
        assert getattr(end_user, name) == getattr(stored.end_user, name), name
    assert end_user.created_at == stored.end_user.created_at  # loaded on first access


def test_token_signed_with_another_secret_is_refused(db, user_token_for):
    _, response = open_link(user_token_for("cust-1", secret="not-the-company-secret-at-all-0123456789"))
    assert response.status_code == 401
    assert "signature is not valid" in response.content.decode()


def test_unsigned_alg_none_token_is_refused(db):
    header = base64.urlsafe_b64encode(json.dumps({"alg": "none", "typ": "JWT"}).encode()).rstrip(b"=")
    claims = {"sub": "attacker", "exp": int(time.time()) + 300}
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=")
    token = f"{header.decode()}.{body.decode()}."
    _, response = open_link(token)
    assert response.status_code == 401
    assert not EndUser.objects.exists()


def test_token_without_exp_is_refused(db, settings):
    token = jwt.encode({"sub": "cust-1"}, settings.SAGEINT_USER_TOKEN_SECRET, algorithm="HS256")
    with pytest.raises(InvalidUserToken, match="exp"):
        end_user_from_token(token)


def test_token_without_sub_is_refused(db, settings):
    token = jwt.encode({"exp": int(time.time()) + 60}, settings.SAGEINT_USER_TOKEN_SECRET, algorithm="HS256")
    with pytest.raises(InvalidUserToken, match="sub"):
        end_user_from_token(token)


def test_garbage_token_is_refused(db):
    _, response = open_link("not-a-jwt")
    assert response.status_code == 401


@pytest.fixture
def rsa_keys(settings):
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    settings.SAGEINT_USER_TOKEN_PUBLIC_KEY = public_pem.decode()
    return private_key, public_pem


def test_rs256_token_signed_by_the_company_key_is_accepted(db, rsa_keys):
    private_key, _ = rsa_keys
    token = jwt.encode({"sub": "rsa-user", "exp": int(time.time()) + 60}, private_key, algorithm="RS256")
    assert end_user_from_token(token).external_id == "rsa-user"


def test_public_key_used_as_hmac_secret_is_refused(db, rsa_keys, settings):
    # Algorithm confusion: HS256 "signed" with the public key must not pass as the RS256 key.
    settings.SAGEINT_USER_TOKEN_SECRET = ""
    _, public_pem = rsa_keys
    header = base64.urlsafe_b64encode(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()).rstrip(b"=")
    body = base64.urlsafe_b64encode(json.dumps({"sub": "x", "exp": int(time.time()) + 60}).encode()).rstrip(
        b"="
    )
    import hashlib
    import hmac

    signing_input = header + b"." + body
    signature = base64.urlsafe_b64encode(hmac.new(public_pem, signing_input, hashlib.sha256).digest()).rstrip(
        b"="
    )
    with pytest.raises(InvalidUserToken):
        end_user_from_token((signing_input + b"." + signature).decode())


def test_no_configured_key_refuses_every_token(db, settings, user_token_for):
    token = user_token_for("cust-1")
    settings.SAGEINT_USER_TOKEN_SECRET = ""
    with pytest.raises(InvalidUserToken, match="no signing key"):
        end_user_from_token(token)
