"""Fixtures of the proxy tests: who calls, and a record of every HTTP request that leaves the process."""

import socket

import pytest
import requests
import urllib3

from connections.models import EndUser


@pytest.fixture
def outgoing_requests(monkeypatch):
    """Everything that leaves (or would leave) the process, recorded at three layers: any requests.Session send
    (Sage, the sandbox transport or elsewhere), any urllib3 pool's urlopen (the layer every transport, real or
    mounted, goes through) and any socket connect or name lookup. Items are (layer, detail)."""
    sent = []

    def recording(layer, original, describe):
        def wrapper(*args, **kwargs):
            sent.append((layer, describe(*args, **kwargs)))
            return original(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(
        requests.Session,
        "send",
        recording(
            "requests", requests.Session.send, lambda session, prepared, **kw: (prepared.method, prepared.url)
        ),
    )
    monkeypatch.setattr(
        urllib3.connectionpool.HTTPConnectionPool,
        "urlopen",
        recording(
            "urllib3",
            urllib3.connectionpool.HTTPConnectionPool.urlopen,
            lambda pool, method, url, *args, **kw: (method, f"{pool.host}{url}"),
        ),
    )
    for name in ("connect", "connect_ex"):
        monkeypatch.setattr(
            socket.socket,
            name,
            recording("socket", getattr(socket.socket, name), lambda sock, address: address),
        )
    monkeypatch.setattr(
        socket, "getaddrinfo", recording("dns", socket.getaddrinfo, lambda host, *args, **kw: host)
    )
    return sent


@pytest.fixture
def bearer_for(user_token_for):
    """Request headers (test client **extra) authenticating as `end_user` with a signed user token."""

    def headers(end_user: EndUser) -> dict:
        assert end_user.kind == EndUser.Kind.EXTERNAL, "user tokens identify company-app end users"
        return {"HTTP_AUTHORIZATION": f"Bearer {user_token_for(end_user.external_id)}"}

    return headers


class ScriptedSage(requests.adapters.BaseAdapter):
    """A transport for the few answers the sandbox cannot give (a PDF, a read timeout): each call takes the next
    scripted step, a (status, headers, body) tuple or an exception to raise."""

    def __init__(self, steps):
        super().__init__()
        self.steps = list(steps)
        self.requests = []
        self.timeouts = []

    def send(self, request, **kwargs):
        self.requests.append(request)
        self.timeouts.append(kwargs.get("timeout"))
        step = self.steps.pop(0)
        if isinstance(step, Exception):
            raise step
        status, headers, body = step
        response = requests.Response()
        response.status_code = status
        response.headers.update(headers)
        response._content = body
        response.url = request.url
        response.request = request
        response.reason = "Scripted"
        return response

    def close(self):
        pass


@pytest.fixture
def scripted_sage(settings):
    """Route one Sage API path prefix of the sandbox to a ScriptedSage: `scripted_sage("/sales_invoices/x", steps)`."""
    from connections import http_session

    mounted = []

    def mount(path_prefix: str, steps) -> ScriptedSage:
        adapter = ScriptedSage(steps)
        prefix = f"{settings.SAGE_SANDBOX_URL}/api/v3.1{path_prefix}"
        http_session.mount(prefix, adapter)
        mounted.append(prefix)
        return adapter

    yield mount
    for prefix in mounted:
        http_session.unmount(prefix)


@pytest.fixture
def connected_account_user(connected_end_user, django_user_model):
    """A logged-in-able sageint account whose end user owns the connection made for `connected_end_user`."""
    from connections.end_users import end_user_for_user
    from connections.models import Connection

    user = django_user_model.objects.create_user("session-user", password="session-user-password-1")
    Connection.objects.filter(end_user=connected_end_user).update(end_user=end_user_for_user(user))
    return user


@pytest.fixture
def seeded_sandbox(db):
    """The sandbox's demo world: reference data (ledgers, bank accounts, tax rates) and demo records."""
    from django.core.management import call_command

    call_command("sandbox_seed", "--if-empty")
