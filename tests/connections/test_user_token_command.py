"""`manage.py user_token` / `connect_link`, the DEBUG-only development user-token secret and what make run prints."""

import time
from io import StringIO
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from connections.end_users import decode_user_token, end_user_from_token, mint_user_token
from connections.exceptions import InvalidUserToken, UserTokensUnavailable

DEV_SECRET = settings.DEV_USER_TOKEN_SECRET_PREFIX + "0" * 64


def command_output(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_user_token_prints_only_a_token_the_proxy_accepts():
    printed = command_output("user_token", "customer-42")

    assert printed.count("\n") <= 1 and " " not in printed.strip()  # fits TOKEN=$(...)
    claims = jwt.decode(printed.strip(), settings.SAGEINT_USER_TOKEN_SECRET, algorithms=["HS256"])
    assert claims["sub"] == "customer-42"
    assert 3500 < claims["exp"] - time.time() <= 3600
    assert end_user_from_token(printed.strip()).external_id == "customer-42"


@pytest.mark.django_db
def test_user_token_options_set_lifetime_and_name():
    token = command_output("user_token", "customer-7", "--lifetime", "120", "--name", "Ann Example").strip()

    claims = decode_user_token(token)
    assert 100 < claims["exp"] - time.time() <= 120
    assert claims["name"] == "Ann Example"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["customer-42", "--lifetime", "0"], "--lifetime must be 1 to"),
        (["customer-42", "--lifetime", str(8 * 24 * 3600)], "SAGEINT_USER_TOKEN_MAX_LIFETIME_SECONDS"),
        (["  "], "end user id must be 1 to 255"),
        (["x" * 256], "end user id must be 1 to 255"),
    ],
)
def test_user_token_refuses_bad_arguments_with_a_clear_message(args, message):
    with pytest.raises(CommandError, match=message):
        command_output("user_token", *args)


def test_user_token_without_a_secret_says_which_setting_is_missing(settings):
    settings.SAGEINT_USER_TOKEN_SECRET = ""

    with pytest.raises(CommandError, match="SAGEINT_USER_TOKEN_SECRET, which is not set"):
        command_output("user_token", "customer-42")


def test_connect_link_prints_a_link_to_this_site_for_the_user():
    printed = command_output("connect_link", "customer-42", "--name", "Ann Example").strip()

    link = urlsplit(printed)
    assert f"{link.scheme}://{link.netloc}" == settings.SITE_URL
    assert link.path == "/connect/sageaccounting/"
    claims = decode_user_token(parse_qs(link.query)["user_token"][0])
    assert claims["sub"] == "customer-42" and claims["name"] == "Ann Example"
    assert 24 * 3600 - 100 < claims["exp"] - time.time() <= 24 * 3600


# --- the development secret (settings: tests/foundation/test_settings.py) ---------------------------------


def test_a_development_secret_is_never_used_with_debug_off(settings):
    settings.SAGEINT_USER_TOKEN_SECRET = DEV_SECRET
    settings.DEBUG = True
    token = mint_user_token("customer-42", expires_in=60)
    assert decode_user_token(token)["sub"] == "customer-42"

    settings.DEBUG = False
    with pytest.raises(InvalidUserToken, match="no signing key is configured"):
        decode_user_token(token)
    with pytest.raises(UserTokensUnavailable):
        mint_user_token("customer-42", expires_in=60)


# --- what make run prints --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_bootstrap_prints_a_connect_link_and_the_token_command_in_debug(settings):
    settings.DEBUG = True
    printed = command_output("bootstrap_demo", "--no-sandbox-seed", "--announce-url")

    assert "DEBUG=1 .venv/bin/python manage.py user_token customer-42" in printed
    assert f"{settings.SITE_URL}/api/v1/proxy/sageaccounting/contacts" in printed
    link = next(word for word in printed.split() if "user_token=" in word)
    assert decode_user_token(parse_qs(urlsplit(link).query)["user_token"][0])["sub"] == "customer-42"


@pytest.mark.django_db
def test_bootstrap_prints_no_link_or_token_with_debug_off(settings):
    settings.DEBUG = False
    printed = command_output("bootstrap_demo", "--no-sandbox-seed", "--announce-url", "--print-credentials")

    assert "user_token=" not in printed and "manage.py user_token" not in printed
    assert "sageint is starting at" in printed
