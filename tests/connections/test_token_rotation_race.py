"""Sage rotates refresh tokens, so concurrent callers on an expired token must cause exactly one refresh.

The PostgreSQL race runs against the sandbox over real HTTP (live_server) with SELECT … FOR UPDATE; the SQLite
variant runs the lease lock with the in-process transport (each thread its own SQLite connection, IMMEDIATE
transactions).
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from connections import crypto, http_session
from connections.models import Connection
from tests.fixtures_sage import RefreshCountingAdapter, connect_end_user_via_link, stampede
from tests.services import require_service, uses_postgresql

THREADS = 24


def expire(connection: Connection) -> str:
    connection.access_token_expires_at = timezone.now() - timedelta(seconds=1)
    connection.save(update_fields=["access_token_expires_at"])
    return crypto.decrypt(connection.refresh_token_encrypted)


@pytest.fixture
def live_sandbox(live_server, settings):
    """The product talks to the sandbox of a live server over real HTTP, counting refreshes."""
    settings.SITE_URL = live_server.url
    settings.SAGE_SANDBOX_URL = f"{live_server.url}/sandbox"
    settings.SAGE_SANDBOX_CALLBACK_URLS = [f"{live_server.url}/connect/sageaccounting/callback/"]
    adapter = RefreshCountingAdapter(pool_size=THREADS * 2)
    prefix = f"{live_server.url}/sandbox/"
    http_session.mount(prefix, adapter)
    yield adapter
    http_session.unmount(prefix)


@pytest.mark.services
def test_concurrent_callers_on_postgresql_cause_exactly_one_refresh(live_sandbox):
    require_service(uses_postgresql(), "PostgreSQL (DATABASE_URL=postgres://…)")
    end_user = connect_end_user_via_link("race-user")
    old_refresh_token = expire(end_user.connection)

    result = stampede(end_user, THREADS)

    assert result.errors == []
    assert result.statuses == [200] * THREADS
    assert live_sandbox.refreshes == 1
    connection = Connection.objects.get(pk=end_user.connection.pk)
    assert connection.is_active and connection.refresh_count == 1
    assert crypto.decrypt(connection.refresh_token_encrypted) != old_refresh_token


@pytest.mark.django_db(transaction=True)
def test_concurrent_callers_on_sqlite_cause_exactly_one_refresh(sandbox_transport):
    if uses_postgresql():
        pytest.skip("the SQLite lease variant; PostgreSQL runs the row-lock race above")
    end_user = connect_end_user_via_link("race-user-sqlite")
    expire(end_user.connection)

    result = stampede(end_user, 20)

    assert result.errors == []
    assert result.statuses == [200] * 20
    assert sandbox_transport.refresh_calls == 1
    connection = Connection.objects.get(pk=end_user.connection.pk)
    assert connection.is_active and connection.refresh_lease_expires_at is None
