"""The one Sage client: every call to Sage's API from sageint goes through SageClient.send.

It adds `Authorization` and `X-Business`, refreshes the token ahead of expiry (and once on a 401, replaying
the call), applies the retry rules of retries.py, and never raises for Sage's HTTP status codes (`send`); the
JSON helpers turn error answers into SageError carrying Sage's `$message` / `$dataCode`.

Refused before anything is sent: a connection that needs reconnecting (ReconnectRequired), the integration
switched off in the admin (IntegrationDisabled), and a call made inside the caller's `transaction.atomic()`
(CalledInsideTransaction; see tokens.py for why a refresh must commit on its own).
"""

import logging
from collections.abc import Iterator
from urllib.parse import urljoin, urlsplit

import requests
from django.db import connection as db_connection
from requests.structures import CaseInsensitiveDict
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError, ReadTimeoutError

from . import http_session, retries, tokens
from .credentials import api_url_for, sage_credentials
from .exceptions import (
    BusinessNotReachable,
    IntegrationDisabled,
    NotConnected,
    ReconnectRequired,
    SageError,
    SageTimeout,
    SageUnavailable,
)
from .models import Connection, EndUser, IntegrationSettings

logger = logging.getLogger(__name__)

MAX_ITEMS_PER_PAGE = 200


class SageClient:
    def __init__(self, *, api_url: str, connection: Connection | None = None, access_token: str = "") -> None:
        # Either a stored connection (tokens refreshed as needed) or a bare access token (used once, right
        # after the code exchange, before the connection is saved).
        self.api_url = api_url.rstrip("/") + "/"
        self.connection = connection
        self._access_token = access_token
        self.session = http_session.shared_session()

    @classmethod
    def for_connection(cls, connection: Connection) -> "SageClient":
        if not IntegrationSettings.integration_enabled():
            raise IntegrationDisabled()
        if connection.needs_reconnect:
            raise ReconnectRequired.for_connection(connection)
        # The API of whoever issued the connection's tokens (the credentials mode stored when it was made):
        # a token never goes to another service's API, and no settings row is read on every call. If the
        # credentials change, the next refresh finds the client changed and asks the user to reconnect.
        mode = connection.credentials_mode or sage_credentials().mode
        return cls(api_url=api_url_for(mode), connection=connection)

    @classmethod
    def for_end_user(cls, end_user: EndUser) -> "SageClient":
        connection = Connection.objects.filter(end_user=end_user).select_related("end_user").first()
        if connection is None:
            raise NotConnected()
        return cls.for_connection(connection)

    @classmethod
    def for_access_token(cls, access_token: str, *, api_url: str) -> "SageClient":
        return cls(api_url=api_url, access_token=access_token)

    # --- raw calls -------------------------------------------------------------------------------------

    def url_for(self, path: str) -> str:
        """An API path (`contacts`, `/contacts?page=2`, or a full URL under the API base) as a full URL."""
        url = path if urlsplit(path).scheme else urljoin(self.api_url, path.lstrip("/"))
        # The bearer token must never be sent anywhere but Sage's API (a full URL elsewhere, "../oauth/token").
        if not url.startswith(self.api_url):
            raise ValueError("Only URLs under the Sage API base can be called.")
        return url

    def send(
        self,
        method: str,
        path: str,
        *,
        params: dict | None = None,
        json=None,
        data: bytes | None = None,
        headers: dict | None = None,
        timeout: float | tuple[float, float] | None = None,
        business_id: str | None = None,
        stream: bool = False,
    ) -> requests.Response:
        """`business_id` (one of the connection's businesses, checked by the caller) replaces the connection's
        chosen business for this call only. With `stream`, the body is read as the caller reads it (close the
        response when done)."""
        method = method.upper()
        url = self.url_for(path)
        request = {
            "params": params,
            "json": json,
            "data": data,
            "timeout": http_session.timeout(timeout),
            "stream": stream,
        }
        if self.connection is not None:
            tokens.ensure_outside_transaction()
        access_token = self._current_access_token()
        headers = {**(headers or {}), **({"X-Business": business_id} if business_id else {})}
        response = self._send_once(method, url, access_token=access_token, extra_headers=headers, **request)
        if response.status_code == 401 and self.connection is not None and not _business_refused(response):
            # Sage answers 401 before acting, so replaying once with a fresh token is safe even for writes.
            earlier_attempts = response.sageint_attempts
            response.close()
            access_token = tokens.refresh_access_token(
                connection=self.connection, stale_access_token=access_token
            )
            response = self._send_once(
                method, url, access_token=access_token, extra_headers=headers, **request
            )
            response.sageint_attempts += earlier_attempts
        return response

    def _send_once(
        self, method: str, url: str, *, access_token: str, extra_headers, **request
    ) -> requests.Response:
        """One call as the caller sees it; the retries of retries.py happen below, in the session's adapter."""
        _release_pooled_database_connection()
        try:
            response = self.session.request(
                method, url, headers=self._headers(access_token, extra_headers), **request
            )
        except (requests.ConnectionError, requests.Timeout) as error:
            # Path only: the query may hold personal data, and nothing of the error text is needed.
            if _timed_out(error):
                logger.warning("Sage %s %s timed out", method, urlsplit(url).path)
                raise SageTimeout() from error
            logger.warning("Sage %s %s unreachable (%s)", method, urlsplit(url).path, type(error).__name__)
            raise SageUnavailable() from error
        response.sageint_attempts = retries.attempts_made(response)
        return response

    # --- JSON helpers (raise SageError on non-2xx) ----------------------------------------------------------

    def get_json(self, path: str, params: dict | None = None):
        return self._json_or_raise(self.send("GET", path, params=params))

    def post_json(self, path: str, body):
        return self._json_or_raise(self.send("POST", path, json=body))

    def put_json(self, path: str, body):
        return self._json_or_raise(self.send("PUT", path, json=body))

    def delete(self, path: str, params: dict | None = None) -> None:
        self._json_or_raise(self.send("DELETE", path, params=params))

    def iter_collection(self, path: str, params: dict | None = None) -> Iterator[dict]:
        """Every item of a Sage collection, 200 per page, following `$next` until it is null."""
        page_params = {**(params or {}), "items_per_page": MAX_ITEMS_PER_PAGE}
        page_params.setdefault("page", 1)
        next_path: str | None = path
        seen: set[str] = set()
        while next_path:
            envelope = self.get_json(next_path, params=page_params)
            yield from envelope.get("$items") or []
            next_path = envelope.get("$next")
            # `$next` carries its own query; a repeated link would loop forever.
            if next_path in seen:
                break
            if next_path:
                seen.add(next_path)
            page_params = None

    # --- internals ---------------------------------------------------------------------------------------

    def _json_or_raise(self, response: requests.Response):
        if response.status_code >= 400:
            errors = sage_errors(response)
            if _business_refused(response, errors):
                business_name = self.connection.business_name if self.connection is not None else ""
                raise BusinessNotReachable(response.status_code, errors, business_name=business_name)
            raise SageError(response.status_code, errors)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError as error:
            raise SageError(
                response.status_code, [{"$message": "Sage answered with a body that is not JSON."}]
            ) from error

    def _current_access_token(self) -> str:
        if self.connection is None:
            return self._access_token
        return tokens.access_token_for(self.connection)

    def _headers(self, access_token: str, extra: dict | None) -> CaseInsensitiveDict:
        # Case-insensitive, so a caller's `accept` replaces the default instead of travelling beside it.
        headers = CaseInsensitiveDict({"Accept": "application/json"})
        if self.connection is not None and self.connection.business_id:
            headers["X-Business"] = self.connection.business_id
        for name, value in (extra or {}).items():
            if name.lower() != "authorization":
                headers[name] = value
        headers["Authorization"] = f"Bearer {access_token}"
        return headers


def _timed_out(error: requests.RequestException) -> bool:
    """A connect or read timeout, also when it only shows as the last reason urllib3 gave up retrying."""
    if isinstance(error, requests.Timeout):
        return True
    reason = error.args[0] if error.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(reason, ReadTimeoutError | ConnectTimeoutError) and not isinstance(
        reason, NewConnectionError
    )


def sage_errors(response: requests.Response) -> list[dict]:
    """Sage's error list from an error answer, whatever shape the body has."""
    try:
        body = response.json()
    except ValueError:
        return [
            {"$severity": "error", "$dataCode": "", "$message": f"HTTP {response.status_code}", "$source": ""}
        ]
    if isinstance(body, list):
        return [item for item in body if isinstance(item, dict)]
    if isinstance(body, dict):
        return [body]
    return [{"$message": str(body)[:200]}]


def _business_refused(response: requests.Response, errors: list[dict] | None = None) -> bool:
    """A 401 about the X-Business header (a business the user cannot reach), not about the token.

    Refreshing would not help (the token is valid) and would only spend a rotation per call, so such a 401
    goes back to the caller as it is.
    """
    if response.status_code != 401:
        return False
    return any(error.get("$source") == "X-Business" for error in errors or sage_errors(response))


def _release_pooled_database_connection() -> None:
    """With a connection pool (PostgreSQL, settings.DATABASE_POOL_MAX_SIZE), give this thread's database
    connection back before waiting on Sage: the wait is 100-300 ms against about a millisecond of queries, so a
    few pooled connections serve the web server's many threads. The next query takes one from the pool again.
    Inside a transaction (and without a pool) the connection stays, as it must."""
    if (
        db_connection.connection is not None
        and not db_connection.in_atomic_block
        and getattr(db_connection, "pool", None)
    ):
        db_connection.close()
