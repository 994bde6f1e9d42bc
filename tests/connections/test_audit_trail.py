"""Every connection event is recorded with its time and end user, and shown read-only in the admin."""

from datetime import timedelta

import pytest
from django.db import connection as db
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from connections.exceptions import ReconnectRequired, SageUnavailable
from connections.models import Connection, ConnectionEvent
from connections.sage_client import SageClient
from tests.fixtures_sage import connect_end_user_via_link, connect_through_sandbox, make_user_token

EVENTS_URL = "/admin/connections/connectionevent/"


def expire(connection: Connection) -> None:
    Connection.objects.filter(pk=connection.pk).update(
        access_token_expires_at=timezone.now() - timedelta(seconds=5)
    )


def test_a_connections_whole_life_is_in_the_audit_trail(db, sandbox_transport, settings):
    started = timezone.now()
    browser = Client()
    browser.get("/connect/sageaccounting/", {"user_token": make_user_token("audited")})
    connect_through_sandbox(browser)
    connection = Connection.objects.get(end_user__external_id="audited")
    end_user = connection.end_user

    other = next(b for b in connection.businesses if b["id"] != connection.business_id)
    browser.post(reverse("connections:choose_business"), {"business_id": other["id"]})
    expire(connection)
    SageClient.for_end_user(end_user).get_json("user")  # refreshed
    settings.SAGE_REFRESH_FAILURE_BACKOFF_SECONDS = 0
    settings.SAGE_REFRESH_MAX_FAILURES = 2
    sandbox_transport.inject("/oauth/token", status=503, body=b"down", times=2)
    expire(connection)
    with pytest.raises(SageUnavailable):
        SageClient.for_end_user(end_user).get_json("user")  # refresh failed
    with pytest.raises(ReconnectRequired):
        SageClient.for_end_user(end_user).get_json("user")  # second failure: reconnect required
    browser.post(reverse("connections:disconnect"))

    events = list(ConnectionEvent.objects.filter(end_user=end_user).order_by("created_at", "id"))
    assert [event.kind for event in events] == [
        "connected",
        "business_switched",
        "refreshed",
        "refresh_failed",
        "reconnect_required",
        "disconnected",
    ]
    assert all(started <= event.created_at <= timezone.now() for event in events)
    assert events[1].detail == "From Sandbox Trading Ltd to Sandbox Services Ltd"
    assert events[2].business_id == other["id"]
    assert "revoked at Sage: yes" in events[-1].detail
    assert not Connection.objects.filter(end_user=end_user).exists()  # the trail outlives the connection


def test_audit_events_are_read_only_in_the_admin(superuser_browser, make_connection):
    connection = make_connection(sub="watched")
    event = ConnectionEvent.objects.create(
        end_user=connection.end_user, kind="connected", detail="Sage user x"
    )
    change_url = f"{EVENTS_URL}{event.pk}/change/"

    page = superuser_browser.get(change_url)
    assert page.status_code == 200 and "Sage user x" in page.content.decode()
    assert 'name="detail"' not in page.content.decode()  # shown, not editable
    assert superuser_browser.post(change_url, {"kind": "disconnected", "detail": "forged"}).status_code == 403
    assert superuser_browser.get(f"{EVENTS_URL}add/").status_code == 403
    assert superuser_browser.post(f"{EVENTS_URL}{event.pk}/delete/", {"post": "yes"}).status_code == 403
    event.refresh_from_db()
    assert (event.kind, event.detail) == ("connected", "Sage user x")


def test_the_event_list_costs_the_same_queries_however_many_end_users(superuser_browser, make_connection):
    def list_queries() -> int:
        with CaptureQueriesContext(db) as queries:
            assert superuser_browser.get(EVENTS_URL).status_code == 200
        return len(queries)

    for number in range(3):
        end_user = make_connection(sub=f"few-{number}").end_user
        ConnectionEvent.objects.create(end_user=end_user, kind="refreshed")
    few = list_queries()
    for number in range(30):
        end_user = make_connection(sub=f"many-{number}").end_user
        ConnectionEvent.objects.bulk_create(
            ConnectionEvent(end_user=end_user, kind="refreshed") for _ in range(5)
        )
    assert list_queries() == few


def test_the_connection_list_costs_the_same_queries_however_many_connections(
    superuser_browser, make_connection
):
    def list_queries() -> int:
        with CaptureQueriesContext(db) as queries:
            assert superuser_browser.get("/admin/connections/connection/").status_code == 200
        return len(queries)

    make_connection(sub="only-one")
    one = list_queries()
    for number in range(20):
        make_connection(sub=f"more-{number}")
    assert list_queries() == one


def test_the_event_indexes_exist_in_the_database(make_connection):
    end_user = make_connection(sub="indexed").end_user
    ConnectionEvent.objects.bulk_create(
        ConnectionEvent(end_user=end_user, kind="refreshed") for _ in range(50)
    )
    names = {index.name for index in ConnectionEvent._meta.indexes}
    assert {"connevent_newest_first", "connevent_end_user_newest", "connevent_kind_newest"} <= names
    with db.cursor() as cursor:
        constraints = db.introspection.get_constraints(cursor, ConnectionEvent._meta.db_table)
    assert {"connevent_newest_first", "connevent_end_user_newest", "connevent_kind_newest"} <= set(
        constraints
    )


def test_connect_end_user_via_link_records_one_connected_event(db, sandbox_transport):
    end_user = connect_end_user_via_link("one-event")
    (event,) = ConnectionEvent.objects.filter(end_user=end_user)
    assert event.kind == "connected" and event.business_id == end_user.connection.business_id
    assert "sam.sandbox@example.com" in event.detail
