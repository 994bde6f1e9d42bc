"""One request-log row per proxied call: who, what, how it went; never query values, bodies or tokens."""

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from api import request_log
from api.models import RequestLog
from api.request_log import prune_request_log
from api.tasks import prune_request_log_task
from connections import proxy

pytestmark = pytest.mark.django_db


def test_http_call_writes_one_row_without_query_values(client, connected_end_user, bearer_for):
    response = client.get(
        "/api/v1/proxy/sageaccounting/contacts?email=secret.person%40example.com&items_per_page=5",
        **bearer_for(connected_end_user),
    )
    assert response.status_code == 200

    row = RequestLog.objects.get()
    assert row.end_user == connected_end_user
    assert row.source == RequestLog.Source.HTTP
    assert row.method == "GET"
    assert row.path == "/contacts"
    assert row.query_names == "email,items_per_page"
    assert row.status_code == 200
    assert row.attempts == 1
    assert row.duration_ms >= 0
    assert row.created_at <= timezone.now()
    stored = " ".join(str(value) for value in RequestLog.objects.values().get().values())
    assert "secret.person" not in stored
    assert "example.com" not in stored


def test_row_never_holds_the_user_token(client, connected_end_user, bearer_for):
    headers = bearer_for(connected_end_user)
    client.get("/api/v1/proxy/sageaccounting/contacts", **headers)

    token = headers["HTTP_AUTHORIZATION"].removeprefix("Bearer ")
    stored = " ".join(str(value) for value in RequestLog.objects.values().get().values())
    assert token not in stored
    assert "Bearer" not in stored


def test_in_process_call_is_logged_as_python(connected_end_user):
    proxy.request(connected_end_user, "/contacts", params={"search": "Someone Private"})

    row = RequestLog.objects.get()
    assert row.source == RequestLog.Source.PYTHON
    assert row.query_names == "search"
    assert "Private" not in row.query_names


def test_sage_error_status_is_logged(connected_end_user):
    proxy.request(connected_end_user, "/contacts/does-not-exist")

    assert RequestLog.objects.get().status_code == 404


def test_each_call_is_one_row(connected_end_user):
    for _ in range(3):
        proxy.request(connected_end_user, "/contacts")

    assert RequestLog.objects.filter(end_user=connected_end_user, path="/contacts").count() == 3


def _row(*, age_days: float) -> RequestLog:
    return RequestLog.objects.create(
        created_at=timezone.now() - timedelta(days=age_days), method="GET", path="/contacts", duration_ms=3
    )


@override_settings(SAGEINT_REQUEST_LOG_RETENTION_DAYS=7)
def test_prune_deletes_rows_older_than_the_retention_period():
    old = _row(age_days=8)
    recent = _row(age_days=6)

    assert prune_request_log() == 1

    assert not RequestLog.objects.filter(pk=old.pk).exists()
    assert RequestLog.objects.filter(pk=recent.pk).exists()


@override_settings(SAGEINT_REQUEST_LOG_RETENTION_DAYS=1)
def test_prune_beat_task_uses_the_retention_setting():
    _row(age_days=2)
    _row(age_days=0)

    assert prune_request_log_task.apply().get() == 1
    assert RequestLog.objects.count() == 1


def test_prune_task_is_scheduled_by_beat(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["api.prune_request_log"]
    assert entry["task"] == prune_request_log_task.name


def test_admin_lists_rows_with_filters(admin_client, connected_end_user):
    proxy.request(connected_end_user, "/contacts")
    proxy.request(connected_end_user, "/contacts/nope")

    page = admin_client.get("/admin/api/requestlog/", {"status_code__exact": "404"})

    assert page.status_code == 200
    assert page.context["cl"].result_count == 1
    assert b"/contacts/nope" in page.content
    assert "status_code" in page.context["cl"].list_filter


def test_admin_cannot_add_or_edit_rows(admin_client):
    row = _row(age_days=0)

    assert admin_client.get("/admin/api/requestlog/add/").status_code == 403
    assert admin_client.post(f"/admin/api/requestlog/{row.pk}/change/", {"path": "/x"}).status_code == 403
    row.refresh_from_db()
    assert row.path == "/contacts"


def test_a_failing_log_write_never_turns_sages_answer_into_an_error(
    client, connected_end_user, bearer_for, monkeypatch, sandbox_transport
):
    def broken_insert(row):
        raise RuntimeError("database is locked")

    monkeypatch.setattr(request_log, "_insert", broken_insert)

    response = client.post(
        "/api/v1/proxy/sageaccounting/contacts",
        data={"contact": {"name": "Logged Or Not Ltd", "contact_type_ids": ["CUSTOMER"]}},
        content_type="application/json",
        **bearer_for(connected_end_user),
    )

    assert response.status_code == 201
    assert sandbox_transport.count("/contacts", method="POST") == 1
    monkeypatch.undo()
    assert RequestLog.objects.count() == 0


def test_every_proxied_method_reaches_sage_and_is_logged(
    client, connected_end_user, bearer_for, sandbox_transport
):
    headers = bearer_for(connected_end_user)
    created = client.post(
        "/api/v1/proxy/sageaccounting/contacts",
        data={"contact": {"name": "Methods Ltd", "contact_type_ids": ["CUSTOMER"]}},
        content_type="application/json",
        **headers,
    )
    contact = f"/api/v1/proxy/sageaccounting/contacts/{created.json()['id']}"

    renamed = client.put(
        contact, data={"contact": {"name": "Methods Renamed Ltd"}}, content_type="application/json", **headers
    )
    head = client.head(contact, **headers)
    deleted = client.delete(contact, **headers)
    gone = client.get(contact, **headers)

    assert (created.status_code, renamed.status_code, head.status_code) == (201, 200, 200)
    assert renamed.json()["name"] == "Methods Renamed Ltd"
    assert head.content == b""
    assert deleted.status_code in (200, 204)
    assert gone.status_code == 404
    sent = [call.method for call in sandbox_transport.calls if "/api/v3.1/contacts" in call.path]
    assert sent == ["POST", "PUT", "HEAD", "DELETE", "GET"]
    logged = list(RequestLog.objects.order_by("id").values_list("method", "status_code"))
    assert logged == [
        ("POST", 201),
        ("PUT", 200),
        ("HEAD", 200),
        ("DELETE", deleted.status_code),
        ("GET", 404),
    ]


def test_admin_finds_an_end_users_rows_and_filters_by_source_and_method(admin_client, connected_end_user):
    proxy.request(connected_end_user, "/contacts")
    RequestLog.objects.create(source=RequestLog.Source.HTTP, method="POST", path="/contacts", duration_ms=1)

    by_user = admin_client.get("/admin/api/requestlog/", {"q": connected_end_user.external_id})
    by_source = admin_client.get("/admin/api/requestlog/", {"source__exact": "http", "method__exact": "POST"})

    assert by_user.context["cl"].result_count == 1
    assert by_source.context["cl"].result_count == 1
    assert {"source", "method", "status_code", "error_code", "created_at"} <= set(
        by_user.context["cl"].list_filter
    )


def test_prune_task_is_registered_with_the_celery_app(settings):
    from sageint.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["api.prune_request_log"]

    assert entry["task"] in app.tasks
    assert 0 < entry["schedule"] <= 24 * 60 * 60
