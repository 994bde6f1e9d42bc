"""Fixtures for the connections tests: stored connections made directly, and fake Sages for fault tests
(`responses` mocks, or a scripted server on a local socket when the retry policy must run for real)."""

import socket
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.conf import settings
from django.utils import timezone

from connections import crypto
from connections.models import Connection, EndUser

API = "http://sage.test/v3.1"  # only ever answered by `responses` mocks


@pytest.fixture
def sage_api_settings(settings):
    """Point the product at fake Sage URLs answered by `responses`; custom keys come from the environment."""
    settings.SAGE_DEV_CLIENT_ID = "dev-client"
    settings.SAGE_DEV_CLIENT_SECRET = "dev-client-secret-value"
    settings.SAGE_API_URL = API
    settings.SAGE_TOKEN_URL = "http://sage.test/token"
    settings.SAGE_REVOKE_URL = "http://sage.test/revoke"
    settings.SAGE_AUTH_URL = "http://sage.test/oauth2/auth/central?filter=apiv3.1"
    settings.SAGE_RETRY_BACKOFF_SECONDS = 0.01
    return settings


@pytest.fixture
def make_connection(db):
    def make(
        *,
        sub: str = "fault-user",
        access_token: str = "access-token-value-1",
        refresh_token: str = "refresh-token-value-1",
        expires_in: int = 300,
        client_id: str | None = None,
        business_id: str = "business-1",
    ) -> Connection:
        end_user = EndUser.objects.create(kind=EndUser.Kind.EXTERNAL, external_id=sub)
        return Connection.objects.create(
            end_user=end_user,
            client_id=client_id or settings.SAGE_DEV_CLIENT_ID or settings.SAGE_SANDBOX_CLIENT_ID,
            business_id=business_id,
            business_name="Business One",
            businesses=[{"id": business_id, "name": "Business One"}],
            access_token_encrypted=crypto.encrypt(access_token),
            access_token_expires_at=timezone.now() + timedelta(seconds=expires_in),
            refresh_token_encrypted=crypto.encrypt(refresh_token),
            scopes="full_access",
        )

    return make


@pytest.fixture
def superuser_browser(superuser_client):
    """A test client logged in as a superuser (admin pages); see tests/conftest.py."""
    return superuser_client


@pytest.fixture
def no_sleep(monkeypatch):
    """Record the retry waits instead of sleeping them."""
    waits: list[float] = []
    monkeypatch.setattr("connections.retries.sleep", waits.append)
    return waits


class LocalSage:
    """A real HTTP server on 127.0.0.1 answering from a script, so the retry policy runs over real sockets.

    Each request takes the next step: `(status, headers, body)`, `("drop",)` (the request is read, then the
    connection is closed without an answer) or `("slow", seconds, step)` (answer after a pause). The last step
    repeats. `requests` records (method, path) of every request that reached the server.
    """

    def __init__(self) -> None:
        self.steps: list[tuple] = []
        self.requests: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v3.1"
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self._thread.start()

    def script(self, *steps: tuple) -> "LocalSage":
        self.steps = list(steps)
        return self

    def _next_step(self, method: str, path: str) -> tuple:
        with self._lock:
            self.requests.append((method, path))
            return self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler_class(self):
        local_sage = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                step = local_sage._next_step(self.command, self.path)
                if step[0] == "slow":
                    time.sleep(step[1])
                    step = step[2]
                if step[0] == "drop":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                status, headers, body = step
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    self.close_connection = True  # the client gave up waiting (read timeout)

            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

        return Handler


@pytest.fixture
def local_sage(sage_api_settings):
    """A scripted Sage on a local socket; the product's Sage API URL points at it."""
    server = LocalSage()
    sage_api_settings.SAGE_API_URL = server.url
    yield server
    server.close()


@pytest.fixture
def closed_port_url():
    """A URL on 127.0.0.1 where nothing listens: connecting is refused before anything is sent."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/v3.1"
