"""Shared Sage fixtures (a pytest plugin loaded by tests/conftest.py), for every test package:

- `sandbox_transport`: requests to settings.SAGE_SANDBOX_URL are dispatched into the Django app in-process
  (real HTTP semantics: status, headers, bodies; no server). It records each call, so tests can count them.
- `connected_end_user`: an EndUser connected to the sandbox's demo business through the real OAuth code flow.
- `user_token_for`: mints a signed connect-link user token (HS256 with SAGEINT_USER_TOKEN_SECRET) for a `sub`.
- `stampede` and `RefreshCountingAdapter`: many concurrent callers on one connection, counting refreshes (the
  rotation-race test and bench/refresh_stampede.py).
"""

import threading
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

import jwt
import pytest
import requests
from django.conf import settings
from django.test import Client
from django.urls import reverse
from requests.adapters import BaseAdapter, HTTPAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers

from connections import http_session

# Sam Sandbox: two businesses, the lead one is the sandbox's demo business ("Sandbox Trading Ltd").
DEFAULT_SANDBOX_USER = "sam"
DEMO_COMPANY_USER_SUB = "company-user-42"


@dataclass(frozen=True)
class RecordedCall:
    method: str
    path: str
    status: int
    grant_type: str = ""  # token endpoint calls only; never the token values


class InProcessSandboxAdapter(BaseAdapter):
    """A requests transport that hands each request to Django's test client instead of the network."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[RecordedCall] = []
        self._lock = threading.Lock()
        self._faults: list[dict] = []

    def inject(
        self, path_suffix: str, *, status: int, body: bytes = b"", headers=None, times: int | None = None
    ):
        """Answer requests whose path ends with `path_suffix` with this status instead of the sandbox's."""
        self._faults.append(
            {"suffix": path_suffix, "status": status, "body": body, "headers": headers or {}, "times": times}
        )

    def _injected(self, request, path: str):
        with self._lock:
            for fault in self._faults:
                if path.endswith(fault["suffix"]) and fault["times"] != 0:
                    if fault["times"] is not None:
                        fault["times"] -= 1
                    break
            else:
                return None
        result = requests.Response()
        result.status_code = fault["status"]
        result.headers = CaseInsensitiveDict(fault["headers"])
        result._content = fault["body"]
        result.url, result.request, result.connection = request.url, request, self
        return result

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        url = urlsplit(request.url)
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        grant_type = ""
        if url.path.endswith("/oauth/token"):
            grant_type = dict(parse_qsl(body.decode(errors="replace"))).get("grant_type", "")
        injected = self._injected(request, url.path)
        if injected is not None:
            with self._lock:
                self.calls.append(RecordedCall(request.method, url.path, injected.status_code, grant_type))
            return injected
        headers = {
            name: value
            for name, value in request.headers.items()
            if name.lower() not in {"content-length", "content-type", "host"}
        }
        # A fresh client per request: no cookies carried between API calls, like a server-to-server call.
        client = Client(raise_request_exception=True)
        try:
            response = client.generic(
                request.method,
                url.path + (f"?{url.query}" if url.query else ""),
                data=body,
                content_type=request.headers.get("Content-Type", "application/octet-stream"),
                headers=headers,
            )
        except ConnectionError as dropped:
            # The sandbox's "drop" fault closes the socket on a real server; in process it raises, and the
            # caller must see what it would see over the network.
            with self._lock:
                self.calls.append(RecordedCall(request.method, url.path, 0, grant_type))
            raise requests.ConnectionError(
                f"connection dropped by the sandbox: {dropped}", request=request
            ) from None
        with self._lock:
            self.calls.append(RecordedCall(request.method, url.path, response.status_code, grant_type))
        return self._to_requests_response(request, response)

    def close(self) -> None:
        pass

    def _to_requests_response(self, request, django_response) -> requests.Response:
        result = requests.Response()
        result.status_code = django_response.status_code
        result.reason = django_response.reason_phrase
        result.headers = CaseInsensitiveDict(dict(django_response.headers.items()))
        if getattr(django_response, "streaming", False):
            result._content = b"".join(django_response.streaming_content)
        else:
            result._content = django_response.content
        result.encoding = get_encoding_from_headers(result.headers)
        result.url = request.url
        result.request = request
        result.connection = self
        return result

    # --- counting helpers -------------------------------------------------------------------------------

    def count(self, path_suffix: str, *, grant_type: str | None = None, method: str | None = None) -> int:
        with self._lock:
            return sum(
                1
                for call in self.calls
                if call.path.endswith(path_suffix)
                and (grant_type is None or call.grant_type == grant_type)
                and (method is None or call.method == method)
            )

    @property
    def refresh_calls(self) -> int:
        return self.count("/oauth/token", grant_type="refresh_token")


@pytest.fixture
def sandbox_transport():
    """Route every request for settings.SAGE_SANDBOX_URL through Django in this process."""
    adapter = InProcessSandboxAdapter()
    prefix = settings.SAGE_SANDBOX_URL + "/"
    http_session.mount(prefix, adapter)
    try:
        yield adapter
    finally:
        http_session.unmount(prefix)


def make_user_token(sub: str, *, expires_in: int = 300, secret: str | None = None, **claims) -> str:
    payload = {"sub": sub, "exp": int(time.time()) + expires_in, "iat": int(time.time()), **claims}
    return jwt.encode(payload, secret or settings.SAGEINT_USER_TOKEN_SECRET, algorithm="HS256")


@pytest.fixture
def user_token_for():
    """`user_token_for("user-1", expires_in=300, name="Ann")` → a signed connect-link JWT."""
    return make_user_token


def sandbox_user_id(key: str = DEFAULT_SANDBOX_USER) -> str:
    from sandbox.seed_identities import ensure_identities, fixed_id

    ensure_identities()
    return fixed_id(f"user:{key}")


def authorize_at_sandbox(browser: Client, authorize_url: str, *, sandbox_user: str, decision: str):
    """What a person does on the sandbox consent page: pick a Sage user, press Allow or Deny."""
    parts = urlsplit(authorize_url)
    form = dict(parse_qsl(parts.query))
    form.update({"sandbox_user": sandbox_user_id(sandbox_user), "decision": decision})
    return browser.post(parts.path, form)


def connect_through_sandbox(
    browser: Client, *, sandbox_user: str = DEFAULT_SANDBOX_USER, decision: str = "allow"
):
    """Drive the connect flow in `browser` (already bound to an end user): start, consent, callback.

    Returns the callback's response.
    """
    started = browser.post(reverse("connections:start"))
    assert started.status_code == 302, started
    consent = authorize_at_sandbox(browser, started["Location"], sandbox_user=sandbox_user, decision=decision)
    assert consent.status_code == 302, consent.content[:500]
    back = urlsplit(consent["Location"])
    return browser.get(back.path, dict(parse_qsl(back.query)))


def connect_end_user_via_link(sub: str = DEMO_COMPANY_USER_SUB, *, sandbox_user: str = DEFAULT_SANDBOX_USER):
    """An EndUser (company app user) connected through a connect link and the full OAuth code flow."""
    from connections.models import EndUser

    browser = Client()
    opened = browser.get(reverse("connections:connect"), {"user_token": make_user_token(sub)})
    assert opened.status_code == 302, opened
    finished = connect_through_sandbox(browser, sandbox_user=sandbox_user)
    assert finished.status_code == 302 and finished["Location"] == reverse("connections:connect"), finished
    end_user = EndUser.objects.select_related("connection").get(kind=EndUser.Kind.EXTERNAL, external_id=sub)
    assert end_user.connection.is_active
    return end_user


@pytest.fixture
def connected_end_user(db, sandbox_transport):
    """An EndUser with a live Connection to the sandbox's demo business, made through the real code flow."""
    return connect_end_user_via_link()


# --- concurrent callers -------------------------------------------------------------------------------------


class RefreshCountingAdapter(HTTPAdapter):
    """Real HTTP (to a live server), counting the refresh-token requests on their way out."""

    def __init__(self, *, pool_size: int) -> None:
        super().__init__(pool_maxsize=pool_size)
        self.refreshes = 0
        self._lock = threading.Lock()

    def send(self, request, **kwargs):
        body = request.body or b""
        body = body.decode() if isinstance(body, bytes) else body
        if request.url.endswith("/oauth/token") and "grant_type=refresh_token" in body:
            with self._lock:
                self.refreshes += 1
        return super().send(request, **kwargs)


@dataclass
class StampedeResult:
    statuses: list[int] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)  # seconds, one per call that got an answer
    errors: list[BaseException] = field(default_factory=list)


def stampede(end_user, callers: int, *, path: str = "user") -> StampedeResult:
    """`callers` threads, each with its own client and database connection, call Sage at the same moment."""
    from django.db import connections

    from connections.sage_client import SageClient

    barrier = threading.Barrier(callers)
    result = StampedeResult()

    def call() -> None:
        try:
            client = SageClient.for_end_user(end_user)  # each thread reads the row itself
            barrier.wait(timeout=60)
            started = time.perf_counter()
            status = client.send("GET", path).status_code
            result.latencies.append(time.perf_counter() - started)
            result.statuses.append(status)
        except BaseException as error:
            result.errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=call) for _ in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return result
