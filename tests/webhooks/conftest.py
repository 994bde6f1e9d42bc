"""Webhook fixtures: a real HTTP receiver on a local socket, endpoints pointing at it, and queued tasks recorded
instead of sent to a broker."""

import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from webhooks import endpoints
from webhooks.models import Endpoint, EventType


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes


class Receiver:
    """Answers each POST with the next scripted step: a status code, or ("slow", seconds, status). The last
    step repeats. Everything received is kept in `received`."""

    def __init__(self) -> None:
        self.steps: list = [204]
        self.received: list[Received] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hooks/sageint"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def script(self, *steps) -> "Receiver":
        self.steps = list(steps)
        return self

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.05)
        raise AssertionError(f"received {len(self.received)} of {count} webhooks in {timeout} s")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    receiver.received.append(Received(self.path, dict(self.headers.items()), body))
                    step = receiver.steps.pop(0) if len(receiver.steps) > 1 else receiver.steps[0]
                if isinstance(step, tuple):
                    _, seconds, step = step
                    time.sleep(seconds)
                answer = b'{"ok": true}' if step < 300 else b"receiver says no"
                try:
                    self.send_response(step)
                    if 300 <= step < 400:
                        self.send_header("Location", "http://127.0.0.1:1/elsewhere")
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except OSError:
                    self.close_connection = True

        return Handler


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def queued(monkeypatch):
    """Delivery ids handed to the broker, recorded instead of sent."""
    sent: list[int] = []

    def apply_async(args, **kwargs):
        sent.append(args[0])

    monkeypatch.setattr("webhooks.tasks.deliver_task.apply_async", apply_async)
    return sent


@pytest.fixture
def make_endpoint(db):
    def make(url: str, *, events=None) -> tuple[Endpoint, str]:
        endpoint = Endpoint.objects.create(url=url, event_types=list(events or EventType.values))
        return endpoint, endpoints.add_secret(endpoint=endpoint)

    return make
