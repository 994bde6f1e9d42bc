"""End users: sageint accounts, and users of the company's own app who arrive with a signed user token (JWT)."""

import time
from functools import lru_cache

import jwt
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db import connection as db_connection
from django.urls import reverse

from .exceptions import InvalidUserToken, UserTokensUnavailable
from .models import Connection, EndUser

# Clock skew tolerated between the company's servers and ours when checking `exp`.
_LEEWAY_SECONDS = 30
# What decoding an untrusted token can raise besides PyJWT's own errors: claims of the wrong type (`nbf` a list:
# TypeError), numbers int() cannot take (`exp` 1e400 or NaN), JSON nested too deeply, bad base64 or UTF-8.
_MALFORMED = (jwt.InvalidTokenError, TypeError, ValueError, OverflowError, RecursionError)
_STRING_HEADERS = ("alg", "typ", "kid", "cty")


def end_user_for_user(user) -> EndUser:
    """The end user of a logged-in sageint account (created on first use)."""
    end_user = EndUser.objects.filter(user=user).first()
    if end_user:
        return end_user
    return _get_or_create(
        kind=EndUser.Kind.ACCOUNT,
        external_id=str(user.pk),
        defaults={"user": user, "display_name": user.get_username()},
    )


def end_user_from_token(token: str) -> EndUser:
    """Check a connect-link user token and return its end user (created on first use).

    Accepted: HS256 signed with SAGEINT_USER_TOKEN_SECRET, or RS256 signed with the private half of
    SAGEINT_USER_TOKEN_PUBLIC_KEY; `sub` and `exp` required. Anything else (alg none included) is refused.
    The end user's connection is read in the same query: `end_user.connection` then costs nothing (the proxy
    reads both on every call).
    """
    claims = decode_user_token(token)
    return external_end_user(external_id=claims["sub"], name=claims.get("name"), email=claims.get("email"))


def external_end_user(*, external_id: str, name=None, email=None) -> EndUser:
    """The company's user with this id (created on first use), its connection read alongside.

    The name shown on pages is `name`, else `email`, when given; a newer one replaces the stored one.
    """
    shown = [name, email]
    display_name = next((value.strip() for value in shown if isinstance(value, str) and value.strip()), "")[
        :255
    ]
    end_user = _get_or_create(
        kind=EndUser.Kind.EXTERNAL,
        external_id=external_id,
        defaults={"display_name": display_name},
        with_connection=True,
    )
    if display_name and end_user.display_name != display_name:
        end_user.display_name = display_name
        end_user.save(update_fields=["display_name"])
    return end_user


def user_token_secret() -> str:
    """The HS256 secret user tokens are signed and checked with, or "" when there is none.

    The development secret (derived in DEBUG, see settings) is never used with DEBUG off, even if it got there by
    some other way than the environment (settings refuse it from the environment).
    """
    secret = settings.SAGEINT_USER_TOKEN_SECRET
    if secret.startswith(settings.DEV_USER_TOKEN_SECRET_PREFIX) and not settings.DEBUG:
        return ""
    return secret


def mint_user_token(end_user_id: str, *, expires_in: int, name: str = "", email: str = "") -> str:
    """A user token for one of the company's users, signed as the company's backend signs them (HS256).

    Raises UserTokensUnavailable when no HS256 secret is configured.
    """
    secret = user_token_secret()
    if not secret:
        raise UserTokensUnavailable(
            "User tokens are signed with SAGEINT_USER_TOKEN_SECRET, which is not set on this sageint."
        )
    now = int(time.time())
    claims = {"sub": end_user_id, "exp": now + expires_in, "iat": now}
    if name:
        claims["name"] = name
    if email:
        claims["email"] = email
    return jwt.encode(claims, secret, algorithm="HS256")


def connect_link_url(user_token: str) -> str:
    """The connect link that opens the connect page for the token's user (README: *Connect links*)."""
    return f"{settings.SITE_URL}{reverse('connections:connect')}?user_token={user_token}"


def decode_user_token(token: str) -> dict:
    """The claims of a valid user token; InvalidUserToken (a 401) for anything else, however malformed."""
    if not token or not isinstance(token, str):
        raise InvalidUserToken("No user token was given.")
    keys = {}
    if secret := user_token_secret():
        keys["HS256"] = secret
    if settings.SAGEINT_USER_TOKEN_PUBLIC_KEY:
        keys["RS256"] = settings.SAGEINT_USER_TOKEN_PUBLIC_KEY
    claims = _verified_claims(token, tuple(sorted(keys.items())))
    # Verified once per token and key set (the cache); time passes, so `exp` is checked on every use, as
    # PyJWT checks it.
    expires_at = int(claims["exp"])
    now = time.time()
    if expires_at <= now - _LEEWAY_SECONDS:
        raise InvalidUserToken("The user token has expired. Ask for a new connect link.")
    # A leaked token is only as dangerous as it is long-lived: one valid for years is refused outright.
    longest = settings.SAGEINT_USER_TOKEN_MAX_LIFETIME_SECONDS
    if expires_at - now > longest + _LEEWAY_SECONDS:
        raise InvalidUserToken(
            f"The user token is valid for longer than {longest} seconds (SAGEINT_USER_TOKEN_MAX_LIFETIME_SECONDS):"
            " mint it with an earlier 'exp'."
        )
    return dict(claims)


# A company's service sends the same user token with every call until it expires: checking its signature once
# is enough. Only tokens that passed every check are remembered (exceptions are never cached), keyed by the
# configured keys, so changing a key takes effect at once.
@lru_cache(maxsize=1024)
def _verified_claims(token: str, key_items: tuple[tuple[str, str], ...]) -> dict:
    keys = dict(key_items)
    try:
        header = jwt.get_unverified_header(token)
    except _MALFORMED as error:
        raise InvalidUserToken("The user token is not a valid JWT.") from error
    # Header parameters of the wrong type (an `alg` that is a list…) are malformed, not a server error, and a
    # critical extension we do not know must be refused (RFC 7515 §4.1.11): we know none.
    if (
        any(name in header and not isinstance(header[name], str) for name in _STRING_HEADERS)
        or "crit" in header
    ):
        raise InvalidUserToken("The user token's header is not valid.")
    algorithm = header.get("alg")
    # The key is chosen by the algorithm the token claims, and only among the ones configured, so an
    # RS256 public key can never be used as an HMAC secret (algorithm confusion) and `none` never passes.
    if not keys:
        raise InvalidUserToken("User tokens are not accepted: no signing key is configured.")
    if algorithm not in keys:
        raise InvalidUserToken(f"User tokens signed with {algorithm!s:.20} are not accepted.")
    try:
        claims = jwt.decode(
            token,
            keys[algorithm],
            algorithms=[algorithm],
            options={"require": ["sub", "exp"], "verify_aud": False},
            leeway=_LEEWAY_SECONDS,
        )
    except jwt.ExpiredSignatureError as error:
        raise InvalidUserToken("The user token has expired. Ask for a new connect link.") from error
    except jwt.MissingRequiredClaimError as error:
        raise InvalidUserToken(f"The user token lacks the required claim '{error.claim}'.") from error
    except jwt.InvalidSignatureError as error:
        raise InvalidUserToken("The user token's signature is not valid.") from error
    except _MALFORMED as error:
        raise InvalidUserToken("The user token is not valid.") from error
    if any(
        name in claims and not isinstance(claims[name], str) for name in ("iss", "jti")
    ) or not _audience_ok(claims):
        raise InvalidUserToken("The user token has a registered claim of the wrong type.")
    subject = claims["sub"]
    if not isinstance(subject, str) or not subject.strip() or len(subject) > 255:
        raise InvalidUserToken("The user token's 'sub' must be a non-empty string of at most 255 characters.")
    return claims


def _audience_ok(claims: dict) -> bool:
    audience = claims.get("aud", "")
    return isinstance(audience, str) or (
        isinstance(audience, list) and all(isinstance(item, str) for item in audience)
    )


def _get_or_create(*, kind: str, external_id: str, defaults: dict, with_connection: bool = False) -> EndUser:
    # Looked up first, outside any transaction: this runs on every proxied call, and on SQLite an atomic
    # block takes the database's single write lock (BEGIN IMMEDIATE) even for a read.
    end_user = _connected_end_user(kind=kind, external_id=external_id) if with_connection else None
    if end_user is not None:
        return end_user
    found = EndUser.objects.filter(kind=kind, external_id=external_id)
    end_user = (found.select_related("connection") if with_connection else found).first()
    if end_user is not None:
        return end_user
    try:
        with transaction.atomic():
            end_user, _ = EndUser.objects.get_or_create(kind=kind, external_id=external_id, defaults=defaults)
    except IntegrityError:
        # Two first visits at once: the other one created it.
        end_user = EndUser.objects.get(kind=kind, external_id=external_id)
    return end_user


# The end user fields read on the proxy's hot path; the others (created_at) load on first access.
_HOT_END_USER_FIELDS = ("id", "kind", "external_id", "user_id", "display_name")


class _JoinedRead:
    """The SQL and the column conversions of the end user + connection read, built once per database."""

    def __init__(self, connection) -> None:
        quote = connection.ops.quote_name
        self.connection_fields = Connection._meta.concrete_fields
        self.end_user_fields = [EndUser._meta.get_field(name) for name in _HOT_END_USER_FIELDS]
        columns = [f"c.{quote(field.column)}" for field in self.connection_fields] + [
            f"e.{quote(field.column)}" for field in self.end_user_fields
        ]
        self.sql = (
            f"SELECT {', '.join(columns)} "  # noqa: S608 (names from the models, values are parameters)
            f"FROM {quote(Connection._meta.db_table)} c JOIN {quote(EndUser._meta.db_table)} e "
            f"ON e.{quote(EndUser._meta.pk.column)} = c.{quote(Connection._meta.get_field('end_user').column)} "
            f"WHERE e.{quote('kind')} = %s AND e.{quote('external_id')} = %s"
        )
        # What the ORM's compiler would apply to each column (SQLite dates and JSON arrive as text, say).
        self.converters = []
        for position, field in enumerate([*self.connection_fields, *self.end_user_fields]):
            column = field.get_col(field.model._meta.db_table)
            found = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
            if found:
                self.converters.append((position, column, found))
        self.connection_attnames = [field.attname for field in self.connection_fields]
        self.end_user_attnames = [field.attname for field in self.end_user_fields]

    def convert(self, row, connection) -> list:
        values = list(row)
        for position, column, converters in self.converters:
            for converter in converters:
                values[position] = converter(values[position], column, connection)
        return values


_joined_reads: dict[str, _JoinedRead] = {}


def _connected_end_user(*, kind: str, external_id: str) -> EndUser | None:
    """The end user and its connection in one query, or None when either is missing.

    Written out because it runs on every proxied call: the ORM builds and compiles the equivalent
    select_related query anew each time, which costs several times the query itself (see
    bench/proxy_overhead.py --phases). Values still get the ORM's column conversions.
    """
    read = _joined_reads.get(db_connection.vendor)
    if read is None:
        read = _joined_reads[db_connection.vendor] = _JoinedRead(db_connection)
    with db_connection.cursor() as cursor:
        cursor.execute(read.sql, [kind, external_id])
        row = cursor.fetchone()
    if row is None:
        return None
    values = read.convert(row, db_connection)
    split = len(read.connection_attnames)
    connection = Connection.from_db(db_connection.alias, read.connection_attnames, values[:split])
    end_user = EndUser.from_db(db_connection.alias, read.end_user_attnames, values[split:])
    connection.end_user = end_user  # a one-to-one: end_user.connection is now this row too
    return end_user
