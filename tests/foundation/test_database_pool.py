"""On PostgreSQL, the pool hands out a quiet connection without a health-check query (one round trip less per
request), and never one the server has ended (restart, pg_terminate_backend): that one is checked and replaced."""

import time

import psycopg
import pytest
from django.db import connection, connections
from psycopg_pool import ConnectionPool

from sageint.postgresql.base import check_pooled_connection
from tests.services import require_service, uses_postgresql

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def full_checks(monkeypatch):
    """Counts the health-check queries (psycopg_pool's own check, which sageint's calls when in doubt)."""
    require_service(uses_postgresql(), "PostgreSQL (DATABASE_URL=postgres://…)")
    calls = []
    original = ConnectionPool.check_connection

    def counted(conn):
        calls.append(conn)
        original(conn)

    monkeypatch.setattr(ConnectionPool, "check_connection", staticmethod(counted))
    return calls


def _backend_pid(conn) -> int:
    return conn.execute("SELECT pg_backend_pid()").fetchone()[0]


def _connect():
    """A connection of its own, outside the pool."""
    return psycopg.connect(**connection.get_connection_params(), autocommit=True)


def _terminate(pids) -> None:
    with _connect() as admin:
        for pid in pids:
            admin.execute("SELECT pg_terminate_backend(%s)", [pid])


def _until(condition, seconds=5.0):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the server's goodbye never reached the connection"
        time.sleep(0.01)


def _has_something_to_read(conn) -> bool:
    import select

    watch = select.poll()
    watch.register(conn.fileno(), select.POLLIN)
    return bool(watch.poll(0))


def test_a_quiet_connection_passes_without_a_query(full_checks):
    with _connect() as conn:
        check_pooled_connection(conn)
        assert full_checks == []


def test_a_connection_the_server_ended_fails_the_check(full_checks):
    conn = _connect()
    try:
        _terminate([_backend_pid(conn)])
        _until(lambda: _has_something_to_read(conn))
        with pytest.raises(psycopg.OperationalError):
            check_pooled_connection(conn)
        assert full_checks == [conn]
    finally:
        conn.close()
    with pytest.raises(psycopg.OperationalError):
        check_pooled_connection(conn)  # closed


@pytest.fixture
def own_pool_database():
    """The test database through a pool of one connection of its own, built as settings build the site's (the
    site's pool is shared with the tests' other threads)."""
    settings_dict = {**connection.settings_dict, "OPTIONS": {**connection.settings_dict["OPTIONS"]}}
    settings_dict["OPTIONS"]["pool"] = {"min_size": 1, "max_size": 1, "timeout": 10}
    database = type(connections["default"])(settings_dict, alias="test_database_pool")
    try:
        yield database
    finally:
        database.close()
        database.close_pool()


def test_the_pool_replaces_a_connection_the_server_ended(full_checks, own_pool_database):
    database = own_pool_database
    assert database.pool is not None
    with database.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        ended = cursor.fetchone()[0]
    pooled = database.connection
    database.close()  # back to the pool, where it waits for the next request
    _terminate([ended])
    _until(lambda: _has_something_to_read(pooled))

    # The next request's query works, on a connection the server still serves.
    with database.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != ended
    assert full_checks == [pooled], "the ended connection was checked with a query, and only it"
