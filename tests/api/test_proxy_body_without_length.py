"""A proxied body without a Content-Length (sent chunked; the server ends the input where the body ends) is read,
and its size is checked on what arrives: the check after reading in api/views.py, reached through the real WSGI
application (sageint.wsgi) with its middleware. Real chunked requests on live servers are in
tests/foundation/test_chunked_request_bodies.py."""

import io
import json

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import RequestFactory

from sageint.wsgi import application

pytestmark = pytest.mark.django_db

CONTACTS = "/api/v1/proxy/sageaccounting/contacts"


class CountingInput(io.BytesIO):
    """The server's input stream, counting what the application took from it."""

    taken = 0

    def read(self, size=-1, /):
        data = super().read(size)
        self.taken += len(data)
        return data

    def readline(self, size=-1, /):
        line = super().readline(size)
        self.taken += len(line)
        return line


def post_without_length(body: bytes, headers: dict) -> tuple[int, bytes, CountingInput]:
    environ = RequestFactory().post(CONTACTS, data=body, content_type="application/json", **headers).environ
    del environ["CONTENT_LENGTH"]
    stream = CountingInput(body)
    environ.update({"wsgi.input": stream, "wsgi.input_terminated": True, "HTTP_TRANSFER_ENCODING": "chunked"})
    status = []
    # The real handler closes database connections around each request; the test's transaction must stay open
    # (Django's test client does the same).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        chunks = application(environ, lambda line, response_headers, exc_info=None: status.append(line))
        content = b"".join(chunks)
        getattr(chunks, "close", lambda: None)()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return int(status[0].split()[0]), content, stream


def test_body_over_the_limit_without_content_length_is_413_after_reading_only_past_the_limit(
    settings, connected_end_user, bearer_for, outgoing_requests
):
    settings.SAGEINT_PROXY_MAX_BODY_BYTES = 100
    body = json.dumps({"contact": {"name": "x" * 5000}}).encode()

    status, content, stream = post_without_length(body, bearer_for(connected_end_user))

    assert status == 413
    assert json.loads(content)["error"]["code"] == "body_too_large"
    assert stream.taken <= 101  # one byte past the limit tells "too large"; the rest is never read
    assert outgoing_requests == []


def test_body_within_the_limit_without_content_length_reaches_sage_byte_for_byte(
    settings, connected_end_user, bearer_for, scripted_sage
):
    sage = scripted_sage("/contacts", [(201, {"Content-Type": "application/json"}, b"{}")])
    body = b'{"contact": {"name": "Chunked Ltd", "credit_limit": "25.50"}}'

    status, _, _ = post_without_length(body, bearer_for(connected_end_user))

    assert status == 201
    assert sage.requests[0].body == body
