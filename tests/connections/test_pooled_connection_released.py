"""On PostgreSQL with the connection pool, a thread gives its database connection back while it waits on Sage,
so a few pooled connections serve many threads; inside a transaction it keeps it."""

import pytest
import requests
from django.db import connection

from connections import http_session
from connections.sage_client import SageClient
from tests.services import require_service, uses_postgresql


class WatchingSage(requests.adapters.BaseAdapter):
    """Answers every call with 200 and notes whether the calling thread still held a database connection."""

    def __init__(self):
        super().__init__()
        self.held_connection = []

    def send(self, request, **kwargs):
        self.held_connection.append(connection.connection is not None)
        answer = requests.Response()
        answer.status_code, answer._content, answer.url = 200, b"{}", request.url
        answer.headers["Content-Type"] = "application/json"
        return answer

    def close(self):
        pass


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_the_database_connection_goes_back_to_the_pool_during_a_sage_call():
    require_service(uses_postgresql(), "PostgreSQL (DATABASE_URL=postgres://…)")
    assert connection.pool is not None, "settings.DATABASE_POOL_MAX_SIZE > 0 on PostgreSQL"
    watching = WatchingSage()
    http_session.mount("https://sage.invalid/", watching)
    try:
        connection.ensure_connection()
        client = SageClient.for_access_token("token", api_url="https://sage.invalid/v3.1")
        assert client.send("GET", "contacts").status_code == 200
        assert watching.held_connection == [False]
        assert connection.connection is None
        # The next query simply takes a connection from the pool again.
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        http_session.unmount("https://sage.invalid/")


@pytest.mark.django_db(transaction=True)
def test_without_a_pool_the_connection_is_kept():
    if getattr(connection, "pool", None):
        pytest.skip("this database uses the pool")
    watching = WatchingSage()
    http_session.mount("https://sage.invalid/", watching)
    try:
        connection.ensure_connection()
        SageClient.for_access_token("token", api_url="https://sage.invalid/v3.1").send("GET", "contacts")
    finally:
        http_session.unmount("https://sage.invalid/")
    assert watching.held_connection == [True]


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_inside_a_transaction_the_connection_is_kept():
    require_service(uses_postgresql(), "PostgreSQL (DATABASE_URL=postgres://…)")
    from django.db import transaction

    watching = WatchingSage()
    http_session.mount("https://sage.invalid/", watching)
    try:
        with transaction.atomic():
            connection.ensure_connection()
            # A bare access token (right after the code exchange) may be used inside one.
            SageClient.for_access_token("token", api_url="https://sage.invalid/v3.1").send("GET", "contacts")
    finally:
        http_session.unmount("https://sage.invalid/")
    assert watching.held_connection == [True]
