"""The HTTP plumbing every call to Sage goes through: one pooled session, explicit timeouts, the retry policy
mounted on its adapter, and a seam for transports (tests and benchmarks route a URL prefix elsewhere here).
"""

from __future__ import annotations

import io
import logging
import threading

import requests
from django.conf import settings
from requests.adapters import BaseAdapter, HTTPAdapter
from requests_oauthlib import OAuth2Session
from urllib3 import HTTPConnectionPool, HTTPResponse
from urllib3.exceptions import ConnectTimeoutError, ProtocolError, ReadTimeoutError
from urllib3.util import parse_url

from .retries import SageRetry


class _QueryStringsHidden(logging.Filter):
    """urllib3 logs the URLs it retries (a warning after a dropped connection), query included; a Sage query
    can hold personal data (`?email=…`), so only the part before `?` reaches the logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                value.partition("?")[0] if isinstance(value, str) and "?" in value else value
                for value in record.args
            )
        return True


for _logger_name in ("urllib3.connectionpool", "urllib3.util.retry"):
    logging.getLogger(_logger_name).addFilter(_QueryStringsHidden())


class _OAuthDebugDropped(logging.Filter):
    """requests-oauthlib logs token request and answer bodies (client secret, code, tokens) at DEBUG. settings
    keeps its loggers at WARNING, but a LOGGING override could lower them: this filter holds whatever the
    configuration says. Filters of a logger apply only to its own records, hence the exact module loggers."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING


for _logger_name in ("requests_oauthlib.oauth2_session", "oauthlib", "oauthlib.oauth2.rfc6749"):
    logging.getLogger(_logger_name).addFilter(_OAuthDebugDropped())

_session: requests.Session | None = None
_session_lock = threading.Lock()
# Extra transports by URL prefix (tests, benchmarks), applied to the shared session and every OAuth session.
_mounted: dict[str, BaseAdapter] = {}


def timeout(value: float | tuple[float, float] | None = None) -> float | tuple[float, float]:
    """The (connect, read) timeout of a call: the caller's, else the settings'. Never None (no endless waits)."""
    if value is not None:
        return value
    return (settings.SAGE_CONNECT_TIMEOUT_SECONDS, settings.SAGE_READ_TIMEOUT_SECONDS)


def shared_session() -> requests.Session:
    """One session per process: its connection pool is shared by every thread calling Sage."""
    global _session
    if _session is None:
        with _session_lock:
            if _session is None:
                session = _configured(requests.Session())
                adapter = HTTPAdapter(
                    pool_connections=4,
                    pool_maxsize=settings.SAGE_HTTP_POOL_SIZE,
                    max_retries=SageRetry.policy(),
                )
                session.mount("https://", adapter)
                session.mount("http://", adapter)
                session.headers.update({"Accept": "application/json", "User-Agent": "sageint"})
                for prefix, transport in _mounted.items():
                    session.mount(prefix, TransportAdapter(transport, max_retries=SageRetry.policy()))
                _session = session
    return _session


def oauth_session(
    *, client_id: str, redirect_uri: str | None = None, scope: str | None = None, state: str | None = None
) -> OAuth2Session:
    # Token requests get no automatic retries (a code is single use, a refresh token rotates); tokens.py
    # decides what a failed refresh means.
    session = OAuth2Session(
        client_id=client_id, redirect_uri=redirect_uri, scope=[scope] if scope else None, state=state
    )
    for prefix, transport in _mounted.items():
        session.mount(prefix, TransportAdapter(transport, max_retries=0))
    return _configured(session)


def _configured(session: requests.Session) -> requests.Session:
    # Explicit configuration only: requests would otherwise look up proxy variables, ~/.netrc and a CA bundle
    # in the environment on every call (a measurable slice of each proxied call). SAGE_HTTP_PROXY is the one
    # way to send Sage traffic through an outgoing proxy.
    session.trust_env = False
    if settings.SAGE_HTTP_PROXY:
        session.proxies = {"http": settings.SAGE_HTTP_PROXY, "https": settings.SAGE_HTTP_PROXY}
    return session


def mount(prefix: str, adapter: BaseAdapter) -> None:
    """Route every URL starting with `prefix` through `adapter` (used by tests and the benchmark).

    The transport only answers single attempts: it is put behind urllib3's connection pool (TransportAdapter),
    so each session's retry policy runs on it exactly as it does on the network.
    """
    _mounted[prefix] = adapter
    shared_session().mount(prefix, TransportAdapter(adapter, max_retries=SageRetry.policy()))


def unmount(prefix: str) -> None:
    _mounted.pop(prefix, None)
    session = shared_session()
    session.adapters.pop(prefix, None)


class TransportAdapter(HTTPAdapter):
    """An HTTPAdapter whose bytes go to another requests transport instead of a socket.

    requests → HTTPAdapter.send → urllib3's urlopen (the retry loop, driven by SageRetry) → one attempt →
    `transport.send`. Only the last step differs from a real call, so what tests prove about retries holds for
    the network. The transport's requests exceptions become the urllib3 errors a socket would have raised:
    ConnectTimeout → ConnectTimeoutError (nothing sent), ReadTimeout → ReadTimeoutError, any other
    ConnectionError → ProtocolError (the request may have been sent).
    """

    def __init__(self, transport: BaseAdapter, *, max_retries) -> None:
        super().__init__(max_retries=max_retries)
        self.transport = transport

    def get_connection_with_tls_context(self, request, verify, proxies=None, cert=None):
        return _TransportPool(self.transport, request)

    def close(self) -> None:
        self.transport.close()
        super().close()


class _TransportPool(HTTPConnectionPool):
    def __init__(self, transport: BaseAdapter, request: requests.PreparedRequest) -> None:
        url = parse_url(request.url)
        super().__init__(url.host or "localhost", url.port)
        self.transport = transport
        self.request = request

    def _make_request(self, conn, method, url, body=None, headers=None, retries=None, timeout=None, **kwargs):
        try:
            answer = self.transport.send(
                self.request,
                stream=False,
                timeout=(timeout.connect_timeout, timeout.read_timeout) if timeout is not None else None,
                verify=True,
                cert=None,
                proxies={},
            )
        except requests.ConnectTimeout as error:
            raise ConnectTimeoutError(self, f"Connection to {self.host} timed out.") from error
        except requests.ReadTimeout as error:
            raise ReadTimeoutError(self, url, "Read timed out.") from error
        except requests.ConnectionError as error:
            raise ProtocolError("Connection aborted.", error) from error
        return HTTPResponse(
            body=io.BytesIO(answer.content),
            headers=dict(answer.headers),
            status=answer.status_code,
            reason=answer.reason,
            preload_content=False,
            decode_content=False,
            request_method=method,
            request_url=url,
            retries=retries,
        )
