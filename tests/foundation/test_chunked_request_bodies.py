"""Request bodies sent with `Transfer-Encoding: chunked` (no Content-Length), as Node's fetch and many HTTP clients
send them, are read on both servers sageint ships: `manage.py runserver` (what `make run` starts) and gunicorn
(production). Real servers in subprocesses, real sockets, for the sandbox's token endpoint and the proxy."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import jwt
import pytest
import requests
from django.conf import settings

CLIENT_ID = "sageint-sandbox-dev"
CLIENT_SECRET = "chunked-test-client-secret-0123456789"
USER_TOKEN_SECRET = "chunked-test-user-token-secret-0123456789abcdef"
PROXY_LIMIT = 1000
SERVERS = ["runserver", "gunicorn"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server_environment(tmp_path_factory) -> dict:
    """SQLite in a scratch folder, migrated once for both servers (never the test run's own database)."""
    var_dir = tmp_path_factory.mktemp("chunked-var")
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in {"DATABASE_URL", "CELERY_BROKER_URL", "SECRET_KEY", "DJANGO_SETTINGS_MODULE"}
    }
    environment.update(
        DEBUG="1",
        SAGEINT_VAR_DIR=str(var_dir),
        CELERY_BROKER_URL="filesystem://",
        SAGE_SANDBOX_CLIENT_SECRET=CLIENT_SECRET,
        SAGE_SANDBOX_CLIENT_ID=CLIENT_ID,
        SAGEINT_USER_TOKEN_SECRET=USER_TOKEN_SECRET,
        SAGEINT_PROXY_MAX_BODY_BYTES=str(PROXY_LIMIT),
        PYTHONUNBUFFERED="1",
    )
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "--verbosity", "0"],
        cwd=settings.BASE_DIR,
        env=environment,
        check=True,
        timeout=180,
    )
    return environment


@pytest.fixture(scope="module", params=SERVERS)
def server_url(request, server_environment, tmp_path_factory):
    port = free_port()
    log_path = tmp_path_factory.mktemp(request.param) / "server.log"
    if request.param == "runserver":
        command = [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"]
    else:
        gunicorn = str(Path(sys.executable).with_name("gunicorn"))
        command = [
            gunicorn,
            "sageint.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--threads",
            "2",
        ]
    environment = {**server_environment, "SITE_URL": f"http://127.0.0.1:{port}"}
    with log_path.open("w") as log:
        process = subprocess.Popen(
            command, cwd=settings.BASE_DIR, env=environment, stdout=log, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(f"{url}/api/v1/openapi.json", process, log_path)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def wait_until_serving(url: str, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited early:\n{log_path.read_text()[-3000:]}")
        try:
            if requests.get(url, timeout=10).status_code == 200:
                return
        except requests.RequestException:  # not listening yet, or still loading the app
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer in time:\n{log_path.read_text()[-3000:]}")


def in_chunks(body: bytes, size: int = 7):
    """A generator body: requests sends it with Transfer-Encoding: chunked and no Content-Length."""
    return (body[start : start + size] for start in range(0, len(body), size))


def assert_sent_chunked(response: requests.Response) -> None:
    assert response.request.headers.get("Transfer-Encoding") == "chunked"
    assert "Content-Length" not in response.request.headers


def proxy_post(server_url: str, body: bytes) -> requests.Response:
    token = jwt.encode({"sub": "chunked-caller", "exp": int(time.time()) + 300}, USER_TOKEN_SECRET, "HS256")
    return requests.post(
        f"{server_url}/api/v1/proxy/sageaccounting/contacts",
        data=in_chunks(body),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        timeout=30,
    )


def test_chunked_form_post_to_the_sandbox_token_endpoint_is_read(server_url):
    form = f"grant_type=authorization_code&code=not-a-real-code&redirect_uri=http%3A%2F%2Fx%2Fcb&client_id={CLIENT_ID}"
    form += f"&client_secret={CLIENT_SECRET}"

    response = requests.post(
        f"{server_url}/sandbox/oauth/token",
        data=in_chunks(form.encode()),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=30,
    )

    assert_sent_chunked(response)
    # The client was authenticated from the chunked body (an empty body answers 401 invalid_client): only the
    # made-up code is refused.
    assert (response.status_code, response.json()["error"]) == (400, "invalid_grant"), response.text


def test_chunked_json_body_reaches_the_proxys_checks(server_url):
    broken = proxy_post(server_url, b'{"contact": {"name": "Chunked Ltd"')
    valid = proxy_post(server_url, json.dumps({"contact": {"name": "Chunked Ltd"}}).encode())

    assert_sent_chunked(broken)
    # The body was read and found not to be JSON (read as empty, it would have passed as "no body").
    assert (broken.status_code, broken.json()["error"]["code"]) == (400, "invalid_json")
    # A good body passes every check; this caller simply has no Sage connection.
    assert (valid.status_code, valid.json()["error"]["code"]) == (404, "not_connected")


def test_chunked_body_over_the_proxy_limit_is_413_on_its_real_size(server_url):
    """No Content-Length to refuse early: the check after reading (api/views.py) is the one that answers."""
    body = json.dumps({"contact": {"name": "x" * (PROXY_LIMIT * 3)}}).encode()

    response = proxy_post(server_url, body)

    assert_sent_chunked(response)
    assert (response.status_code, response.json()["error"]["code"]) == (413, "body_too_large")


def test_an_unread_chunked_body_never_becomes_the_next_request_on_the_connection(server_url):
    """The proxy refuses an unauthenticated call before reading its body; the chunks left in the socket must not
    be parsed as the next request of a kept-alive connection."""
    host = server_url.removeprefix("http://")
    body = b"5\r\nhello\r\n0\r\n\r\n"
    first = (
        f"POST /api/v1/proxy/sageaccounting/contacts HTTP/1.1\r\nHost: {host}\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode() + body
    second = f"GET /api/v1/openapi.json HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()

    with socket.create_connection(("127.0.0.1", int(host.rsplit(":", 1)[1])), timeout=10) as connection:
        connection.sendall(first + second)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk

    head, _, rest = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 401"), received[:500]
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    after_first = rest[length:]
    # Either the server closed the connection after the chunked request, or it answered the real next request;
    # never anything made of the leftover chunks (an error page for a "request line" such as `5`).
    assert after_first == b"" or after_first.startswith(b"HTTP/1.1 200"), after_first[:300]
