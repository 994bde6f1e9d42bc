"""Django's PostgreSQL backend, with a pooled connection's health check that costs no round trip.

With CONN_HEALTH_CHECKS, Django's pool checks each connection it hands out with an empty query: one more round
trip to PostgreSQL per request, as many as the proxy's own work needs (bench/proxy_overhead.py: about 0.2 ms
of the web worker's CPU and 0.3 ms of a proxied call's time). Here the query is sent only when the idle connection's socket has something to read: a server
that restarted, or ended the session (pg_terminate_backend, idle_session_timeout), has said so and closed it.
A connection that is quiet is handed out unchecked; if its network path died silently the first query fails and
the pool drops it, as the empty query would have (after waiting just as long).
"""

import select

import psycopg
from django.db.backends.postgresql import base
from psycopg_pool import ConnectionPool


def check_pooled_connection(connection) -> None:
    """Raise (the pool then discards the connection and takes another) if it is closed or fails a query."""
    if connection.closed:
        raise psycopg.OperationalError("the connection is closed")
    watch = select.poll()
    watch.register(connection.fileno(), select.POLLIN)
    if watch.poll(0):
        ConnectionPool.check_connection(connection)


class DatabaseWrapper(base.DatabaseWrapper):
    @property
    def pool(self):
        pool = super().pool
        # Django passes ConnectionPool.check_connection when CONN_HEALTH_CHECKS is on. If a later psycopg_pool
        # keeps it elsewhere, this does nothing and every checkout is checked with a query, as before.
        if pool is not None and getattr(pool, "_check", None) is ConnectionPool.check_connection:
            pool._check = check_pooled_connection
        return pool
