"""Logs: one JSON object per line in production, the request id on every line of a request and of the Celery
tasks it starts, and never a token, code or secret, even at DEBUG."""

import io
import json
import logging
from urllib.parse import parse_qsl, urlsplit

import pytest
from celery.app.task import Context
from celery.signals import before_task_publish
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from connections import crypto
from connections.models import Connection
from connections.sage_client import SageClient
from sageint import logs
from sageint.celery import app
from tests.fixtures_sage import authorize_at_sandbox, make_user_token


@pytest.fixture
def json_log():
    """The production handler (JSON formatter, request-id filter) on the root logger, everything at DEBUG."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    handler.addFilter(logs.RequestIdFilter())
    root = logging.getLogger()
    saved = root.level, {name: logging.getLogger(name).level for name in ("django", "urllib3", "connections")}
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for name in saved[1]:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)
        root.setLevel(saved[0])
        for name, level in saved[1].items():
            logging.getLogger(name).setLevel(level)


def test_a_json_line_has_time_level_logger_message_and_extra_fields(json_log):
    logging.getLogger("sageint.test").warning(
        "sync of %s took %d s", "contacts", 12, extra={"business": "b-1"}
    )
    (line,) = [entry for entry in json_log() if entry["logger"] == "sageint.test"]
    assert line["level"] == "WARNING" and line["message"] == "sync of contacts took 12 s"
    assert line["business"] == "b-1" and line["request_id"] is None
    assert line["time"].endswith("Z")


def test_exceptions_are_kept_in_the_line(json_log):
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("sageint.test").exception("failed")
    (line,) = [entry for entry in json_log() if entry["logger"] == "sageint.test"]
    assert "ValueError: boom" in line["exception"]


@pytest.mark.django_db
def test_each_request_gets_an_id_in_its_answer_and_log_line_without_the_query(json_log):
    response = Client().get("/accounts/login/?user_token=a-connect-link-token-123")
    request_id = response["X-Request-ID"]
    assert len(request_id) == 32
    (line,) = [entry for entry in json_log() if entry["logger"] == "sageint.request"]
    assert line["request_id"] == request_id
    assert line["path"] == "/accounts/login/" and line["status"] == 200 and line["method"] == "GET"
    assert "a-connect-link-token-123" not in json.dumps(json_log())


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("sent", "kept"),
    [("lb-7f3a9c", True), ("has spaces in it", False), ("x" * 65, False), ("<script>", False)],
)
def test_a_callers_request_id_is_kept_only_when_it_is_a_plain_short_id(sent, kept):
    answered = Client().get("/healthz/", HTTP_X_REQUEST_ID=sent)["X-Request-ID"]
    assert (answered == sent) is kept


def test_a_task_sent_during_a_request_carries_its_id():
    token = logs.request_id.set("req-abc")
    try:
        headers = {}
        before_task_publish.send(sender="connections.keep_connections_alive", body=(), headers=headers)
    finally:
        logs.request_id.reset(token)
    assert headers["sageint_request_id"] == "req-abc"


def test_outside_a_request_no_id_is_sent():
    headers = {}
    before_task_publish.send(sender="sageint.ping", body=(), headers=headers)
    assert "sageint_request_id" not in headers


class _Task:
    def __init__(self, request):
        self.request = request


def test_the_worker_logs_a_task_under_the_id_of_the_request_that_sent_it():
    # A worker builds task.request from the message headers, so the id is an attribute there.
    task = _Task(Context({"sageint_request_id": "req-from-web", "id": "t-1"}))
    logs._take_request_id_from_task(task=task)
    try:
        assert logs.request_id.get() == "req-from-web"
    finally:
        logs._forget_request_id(task=task)
    assert logs.request_id.get() is None


def test_an_eager_task_keeps_the_id_of_the_request_it_runs_in():
    @app.task(name="tests.current_request_id", shared=False)
    def current_request_id():
        return logs.request_id.get()

    assert current_request_id.apply(headers={"sageint_request_id": "req-eager"}).get() == "req-eager"
    token = logs.request_id.set("req-outer")
    try:
        assert current_request_id.apply().get() == "req-outer"
        assert logs.request_id.get() == "req-outer"
    finally:
        logs.request_id.reset(token)


@pytest.mark.parametrize(
    "message",
    [
        "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.signature",
        'token answer {"access_token": "at-123456", "refresh_token": "rt-654321"}',
        "GET /connect/sageaccounting/callback/?code=one-time-code-42&state=s",
        "client_secret=sh-secret-77 user_token=jwt-99",
    ],
)
def test_anything_shaped_like_a_secret_is_redacted(json_log, message):
    logging.getLogger("sageint.test").info(message)
    (line,) = [entry for entry in json_log() if entry["logger"] == "sageint.test"]
    for secret in (
        "eyJhbGciOiJIUzI1NiJ9",
        "at-123456",
        "rt-654321",
        "one-time-code-42",
        "sh-secret-77",
        "jwt-99",
    ):
        assert secret not in line["message"]
    assert "[redacted]" in line["message"]


@pytest.mark.django_db
def test_a_whole_connect_call_refresh_disconnect_at_debug_logs_no_secret(
    sandbox_transport, settings, json_log
):
    user_token = make_user_token("json-logged")
    browser = Client()
    browser.get("/connect/sageaccounting/", {"user_token": user_token})
    authorize_url = browser.post(reverse("connections:start"))["Location"]
    consent = authorize_at_sandbox(browser, authorize_url, sandbox_user="sam", decision="allow")
    callback = urlsplit(consent["Location"])
    code = dict(parse_qsl(callback.query))["code"]
    assert browser.get(callback.path, dict(parse_qsl(callback.query))).status_code == 302
    connection = Connection.objects.get(end_user__external_id="json-logged")
    secrets = {
        user_token,
        code,
        settings.SAGE_SANDBOX_CLIENT_SECRET,
        crypto.decrypt(connection.access_token_encrypted),
        crypto.decrypt(connection.refresh_token_encrypted),
    }
    proxied = Client().get("/api/v1/proxy/sageaccounting/user", HTTP_AUTHORIZATION=f"Bearer {user_token}")
    assert proxied.status_code == 200
    connection.access_token_expires_at = timezone.now()
    connection.save()
    SageClient.for_end_user(connection.end_user).get_json("user")
    connection.refresh_from_db()
    secrets |= {
        crypto.decrypt(connection.access_token_encrypted),
        crypto.decrypt(connection.refresh_token_encrypted),
    }
    browser.post(reverse("connections:disconnect"))

    lines = json_log()
    assert any(line["level"] == "DEBUG" for line in lines)
    assert any(line["logger"] == "sageint.request" and line["request_id"] for line in lines)
    logged = "\n".join(json.dumps(line) for line in lines)
    for secret in secrets:
        assert secret not in logged
