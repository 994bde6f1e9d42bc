"""The HTTP plumbing every call to Sage goes through: one pooled session, explicit timeouts, and a seam for
transports (tests mount an in-process adapter for the sandbox's URL here).
"""

import threading

import requests
from django.conf import settings
from requests.adapters import BaseAdapter, HTTPAdapter
from requests_oauthlib import OAuth2Session

_session: requests.Session | None = None
_session_lock = threading.Lock()
# Extra transports by URL prefix, applied to the shared session and to every OAuth session.
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
                session = requests.Session()
                # Retries are ours (connections/retries.py), never urllib3's: it would re-send POSTs.
                adapter = HTTPAdapter(
                    pool_connections=4, pool_maxsize=settings.SAGE_HTTP_POOL_SIZE, max_retries=0
                )
                session.mount("https://", adapter)
                session.mount("http://", adapter)
                session.headers.update({"Accept": "application/json", "User-Agent": "sageint"})
                for prefix, mounted in _mounted.items():
                    session.mount(prefix, mounted)
                _session = session
    return _session


def oauth_session(
    *, client_id: str, redirect_uri: str | None = None, scope: str | None = None, state: str | None = None
) -> OAuth2Session:
    session = OAuth2Session(
        client_id=client_id, redirect_uri=redirect_uri, scope=[scope] if scope else None, state=state
    )
    for prefix, mounted in _mounted.items():
        session.mount(prefix, mounted)
    return session


def mount(prefix: str, adapter: BaseAdapter) -> None:
    """Route every URL starting with `prefix` through `adapter` (used by tests and the benchmark)."""
    _mounted[prefix] = adapter
    shared_session().mount(prefix, adapter)


def unmount(prefix: str) -> None:
    _mounted.pop(prefix, None)
    session = shared_session()
    session.adapters.pop(prefix, None)
